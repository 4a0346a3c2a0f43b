//! `umedata validate`: every check a dataset must pass, one line each. The checks are the
//! library's ([`umedata::validate`]); this command parses arguments and prints the report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use umedata::validate::{validate_with, External, ValidateOptions, CONFIG_PLUGIN_KEY};

use crate::common::lib;

/// Arguments of `umedata validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset directory.
    pub dir: PathBuf,
    /// Re-simulate this many random written samples from their recorded seeds (built-in
    /// worlds, or the plugin of --sim / the recorded plugin) and compare them bit for bit.
    #[arg(long, default_value_t = 0)]
    pub reproduce: u64,
    /// Seed choosing which samples --reproduce re-simulates.
    #[arg(long, default_value_t = 0)]
    pub reproduce_seed: u64,
    /// Simulator plugin to re-simulate with (default: the path the manifest records); its
    /// sha256 must match the recorded one, else the reproduce check FAILs.
    #[arg(long, value_name = "LIBRARY")]
    pub sim: Option<PathBuf>,
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
    // The plugin to re-simulate with: the one given, else the recorded one if it exists.
    let path = a.sim.clone().or_else(|| {
        if a.reproduce == 0 {
            return None;
        }
        let m = umedata::Manifest::load(&a.dir).ok()?;
        let p = m
            .config
            .as_ref()?
            .get(CONFIG_PLUGIN_KEY)?
            .get("path")?
            .as_str()?
            .to_string();
        Some(PathBuf::from(p)).filter(|p| p.is_file())
    });
    let plugin = match &path {
        Some(p) => Some(crate::plugin::Plugin::load(p)?),
        None => None,
    };
    let external = plugin.as_ref().map(|p| External {
        sim: &p.sim,
        simulate: p.simulate(),
        sha256: Some(p.sha256.clone()),
        label: p.path.display().to_string(),
    });
    let report = lib(validate_with(&a.dir, &opts, external.as_ref()))?;
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
