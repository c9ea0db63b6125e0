//! The `ssogate` command line. Every command that creates or lists can print `--json`.
mod admin;
mod args;
mod audit;
mod commands;
mod connections;
mod flags;
mod output;
mod roles;
mod tenants;
mod users;
mod workbench;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
