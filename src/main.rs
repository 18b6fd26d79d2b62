//! The CLI edge: parse arguments, run the subcommand, and turn the outcome
//! into an exit status (see `cmd`). Errors reach the user here, once, with
//! their context; a closed stdout (`| head`) ends the run quietly with 0.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    logtriage::memory::tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Rules(command) => cmd::rules::run(command),
        Command::Watch(args) => cmd::watch::run(args),
        Command::Templates(args) => cmd::templates::run(args),
        Command::Completions(args) => cmd::docs::completions(&args),
        Command::Man(args) => cmd::docs::man(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("logtriage: {err:#}");
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().filter_map(|e| e.downcast_ref::<std::io::Error>()).any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
