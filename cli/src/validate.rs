//! `umedata validate`: every check a dataset must pass, one line each. The checks are the
//! library's ([`umedata::validate`]); this command parses arguments and prints the report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use umedata::validate::{validate, ValidateOptions};

use crate::common::lib;

/// Arguments of `umedata validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset directory.
    pub dir: PathBuf,
    /// Re-simulate this many random written samples of built-in worlds from their recorded
    /// seeds and compare them bit for bit.
    #[arg(long, default_value_t = 0)]
    pub reproduce: u64,
    /// Seed choosing which samples --reproduce re-simulates.
    #[arg(long, default_value_t = 0)]
    pub reproduce_seed: u64,
    /// Threads reading chunks (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs `umedata validate`; the exit code is 1 when any check fails.
pub fn run(a: &Args) -> Result<ExitCode> {
    let opts = ValidateOptions {
        reproduce: a.reproduce,
        reproduce_seed: a.reproduce_seed,
        threads: a.threads,
    };
    let report = lib(validate(&a.dir, &opts))?;
    let failed = report.failed();
    if a.json {
        println!("{}", report.to_json());
    } else {
        for c in &report.checks {
            println!("{}  {}: {}", c.status.as_str(), c.name, c.detail);
        }
        if failed == 0 {
            println!("all {} checks passed", report.checks.len());
        } else {
            println!("{failed} of {} checks FAILED", report.checks.len());
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
