//! `umedata`: generate a dataset from a built-in reference world, inspect, validate and
//! plot datasets. Everything goes through the same library API a C user calls.

mod common;
mod generate;
mod inspect;
mod plot;
mod plugin;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "umedata",
    version,
    about = "Write, inspect, validate and plot umedata datasets (Zarr v3 + manifest.json)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a dataset from a built-in reference world or a simulator plugin (in parallel,
    /// resumable, with manifest and splits).
    Generate(Box<generate::Args>),
    /// Print a readable summary of a dataset: worlds, shapes, codecs, sizes, splits, provenance.
    Inspect {
        /// Dataset directory.
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a dataset; one line per check, exit status 1 on any failure.
    Validate(validate::Args),
    /// Draw PNG figures of a dataset world: trajectories, IRF fan charts, theta coverage.
    Plot(plot::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(a) => generate::run(&a),
        Command::Inspect { dir, json } => inspect::run(&dir, json).map(|_| ExitCode::SUCCESS),
        Command::Validate(a) => validate::run(&a),
        Command::Plot(a) => plot::run(&a).map(|_| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("umedata: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
