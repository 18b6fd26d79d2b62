//! `logtriage completions` and `logtriage man`: documentation generated
//! from the clap definition in `cli`, so completions and man pages list
//! exactly the subcommands and flags the binary accepts.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// The name the scripts complete and the pages are titled with.
const BIN: &str = "logtriage";

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    write_stdout(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `logtriage.1`, or writes it and one page per subcommand into
/// `args.dir`.
pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page).context("cannot render the man page")?;
            write_stdout(&page)?;
        }
        Some(dir) => {
            clap_mangen::generate_to(cmd, dir).with_context(|| {
                format!(
                    "cannot write the man pages into {}: create the directory, or choose one you can write",
                    dir.display()
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).context("cannot write to stdout")
}
