use std::process::ExitCode;

use clap::Parser;

/// Every batch hands its buffers to Arrow arrays that are freed once encoded: glibc's
/// allocator returns such blocks to the kernel and faults fresh zeroed pages in for the
/// next batch; mimalloc keeps them for reuse (as datafusion-cli does). Built without
/// transparent huge pages: memory it gives back and takes again would otherwise be
/// zeroed 2 MiB at a time (up to a third of a run in the kernel, and 40 MiB more peak).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = halake::cli::Args::parse();
    match halake::cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            // The chain, each cause once: error messages often quote their source already.
            let mut message = error.to_string();
            for cause in error.chain().skip(1) {
                let cause = cause.to_string();
                if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            eprintln!("halake: error: {message}");
            // Object storage that refused or failed is status 2, as in a conversion:
            // scripts retry those, not bad input.
            if error.chain().any(|cause| cause.is::<halake::store::StoreError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
