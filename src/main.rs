use std::process::ExitCode;

use clap::Parser;

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
            ExitCode::FAILURE
        }
    }
}
