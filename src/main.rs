use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = halake::cli::Args::parse();
    match halake::cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("halake: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
