//! `umedata inspect`: a readable summary of a dataset.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};
use umedata::splits::{counts_map, SplitCounts, Splits};
use umedata::world::ArrayKind;
use umedata::Reader;

use crate::common::{human_bytes, lib, load_manifest, world_ids, CONFIG_DRAWS_KEY};

/// Facts about one world.
fn world_facts(dir: &Path, id: &str) -> Result<Value> {
    let reader = lib(Reader::open(dir, id))?;
    let d = reader.desc();
    let written = lib(reader.samples_written())?;
    let mut arrays = Vec::new();
    let (mut raw_total, mut stored_total) = (0u64, 0u64);
    for kind in ArrayKind::ALL {
        let s = lib(reader.stored(kind))?;
        let (chunks, stored, samples) = (s.chunks, s.bytes, s.samples);
        // Raw: float32 bytes of the samples the stored chunks hold (as the writer counts).
        let raw = samples * d.sample_len(kind) as u64 * 4;
        raw_total += raw;
        stored_total += stored;
        let chunk: Vec<u64> = std::iter::once(reader.chunk_samples())
            .chain(d.sample_dims(kind).iter().map(|&x| x as u64))
            .collect();
        let shape: Vec<u64> = std::iter::once(d.n_samples)
            .chain(d.sample_dims(kind).iter().map(|&x| x as u64))
            .collect();
        arrays.push(json!({
            "name": kind.name(),
            "shape": shape,
            "dims": kind.dimension_names(),
            "dtype": "float32",
            "chunk": chunk,
            "chunks_stored": chunks,
            "raw_bytes": raw,
            "stored_bytes": stored,
            "ratio": if raw > 0 { stored as f64 / raw as f64 } else { 0.0 },
        }));
    }
    let split = match Splits::load_assignment(reader.world()) {
        Ok(a) => SplitCounts::of(&a).ok().map(|c| json!(counts_map(&c))),
        Err(_) => None,
    };
    Ok(json!({
        "world_id": id,
        "n_samples": d.n_samples,
        "samples_written": written,
        "samples_missing": d.n_samples - written,
        "T": d.t,
        "H": d.h,
        "params": d.param_names,
        "shocks": d.shock_names,
        "observables": d.obs_names,
        "codec": reader.codec(),
        "chunk_samples": reader.chunk_samples(),
        "inner_chunk_samples": reader.inner_chunk_samples(),
        "n_chunks": reader.n_chunks(),
        "arrays": arrays,
        "raw_bytes": raw_total,
        "stored_bytes": stored_total,
        "ratio": if raw_total > 0 { stored_total as f64 / raw_total as f64 } else { 0.0 },
        "split_counts": split,
    }))
}

/// Runs `umedata inspect`.
pub fn run(dir: &Path, as_json: bool) -> Result<()> {
    if !dir.is_dir() {
        anyhow::bail!("'{}' is not a directory", dir.display());
    }
    let (manifest, manifest_err) = load_manifest(dir);
    let ids = world_ids(dir, manifest.as_ref())?;
    let worlds: Vec<Value> = ids
        .iter()
        .map(|id| {
            world_facts(dir, id)
                .unwrap_or_else(|e| json!({"world_id": id, "error": format!("{e:#}")}))
        })
        .collect();
    let prov = manifest.as_ref().map(|m| {
        json!({
            "version": m.version,
            "created_at": m.created_at,
            "library_version": m.library_version,
            "format_version": m.umedata_format_version,
            "git_hash": m.git_hash,
            "git_dirty": m.git_dirty,
            "git_repository": m.git_repository,
            "config_hash": m.config_hash,
            "rng_seeds": m.rng_seeds,
            "theta_draws": m.config.as_ref().and_then(|c| c.get(CONFIG_DRAWS_KEY)).cloned(),
            "engine_theta_draws": m.config.as_ref().and_then(|c| c.pointer(&format!("/{}/{CONFIG_DRAWS_KEY}", umedata::engine::CONFIG_ENGINE_KEY))).cloned(),
            "plugin": m.config.as_ref().and_then(|c| c.get(umedata::validate::CONFIG_PLUGIN_KEY)).cloned(),
        })
    });
    if as_json {
        let v = json!({
            "dataset": dir.display().to_string(),
            "manifest": prov,
            "manifest_error": manifest_err,
            "worlds": worlds,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("dataset   {}", dir.display());
    match &prov {
        Some(p) => {
            println!(
                "manifest  version {}  created {}  umedata {} (format {})",
                p["version"].as_str().unwrap_or("?"),
                p["created_at"].as_str().unwrap_or("?"),
                p["library_version"].as_str().unwrap_or("?"),
                p["format_version"].as_str().unwrap_or("?")
            );
            let dirty = match p["git_dirty"].as_bool() {
                Some(true) => " (dirty)",
                Some(false) => " (clean)",
                None => "",
            };
            println!("git       {}{dirty}", p["git_hash"].as_str().unwrap_or("?"));
            println!(
                "config    sha256 {}",
                p["config_hash"].as_str().unwrap_or("?")
            );
            println!(
                "seeds     global {}  derivation {}",
                p["rng_seeds"]["global"],
                p["rng_seeds"]["derivation_algorithm"]
                    .as_str()
                    .unwrap_or("?")
            );
            if let Some(d) = p["theta_draws"].as_object() {
                println!(
                    "draws     theta redrawn: {} indeterminate, {} without a stable solution",
                    d.get("indeterminate_redrawn").unwrap_or(&json!(0)),
                    d.get("no_stable_solution_redrawn").unwrap_or(&json!(0))
                );
            }
            if let Some(d) = p["engine_theta_draws"].as_object() {
                let r: Vec<String> = d
                    .get("rejected")
                    .and_then(|r| r.as_object())
                    .map(|r| r.iter().map(|(k, v)| format!("{v} {k}")).collect())
                    .unwrap_or_default();
                println!(
                    "draws     theta redrawn: {}{}",
                    if r.is_empty() {
                        "none".to_string()
                    } else {
                        r.join(", ")
                    },
                    if d.get("complete").and_then(|c| c.as_bool()) == Some(false) {
                        " (incomplete: a killed run stored samples it did not count)"
                    } else {
                        ""
                    }
                );
            }
            if let Some(pl) = p["plugin"].as_object() {
                println!(
                    "plugin    {}  sha256 {}",
                    pl.get("path").and_then(|x| x.as_str()).unwrap_or("?"),
                    pl.get("sha256").and_then(|x| x.as_str()).unwrap_or("?")
                );
            }
        }
        None => println!(
            "manifest  none ({})",
            manifest_err.as_deref().unwrap_or("missing")
        ),
    }
    for w in &worlds {
        println!();
        if let Some(e) = w.get("error") {
            println!(
                "world '{}': cannot be read: {}",
                w["world_id"].as_str().unwrap_or("?"),
                e
            );
            continue;
        }
        println!(
            "world '{}'  n={}  T={}  H={}",
            w["world_id"].as_str().unwrap_or("?"),
            w["n_samples"],
            w["T"],
            w["H"]
        );
        let names = |k: &str| {
            w[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        println!("  params       {}", names("params"));
        println!("  shocks       {}", names("shocks"));
        println!("  observables  {}", names("observables"));
        println!(
            "  samples      {} written, {} missing",
            w["samples_written"], w["samples_missing"]
        );
        println!(
            "  storage      codec {}  chunk {} samples ({})  {} chunks  stored {} / raw {}  ratio {:.3}",
            w["codec"].as_str().unwrap_or("?"),
            w["chunk_samples"],
            if w["inner_chunk_samples"] == w["chunk_samples"] {
                "not sharded".to_string()
            } else {
                format!("shards of {}-sample inner chunks", w["inner_chunk_samples"])
            },
            w["n_chunks"],
            human_bytes(w["stored_bytes"].as_u64().unwrap_or(0)),
            human_bytes(w["raw_bytes"].as_u64().unwrap_or(0)),
            w["ratio"].as_f64().unwrap_or(0.0)
        );
        for a in w["arrays"].as_array().into_iter().flatten() {
            let dims: Vec<&str> = a["dims"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            println!(
                "  {:<13}{:<22}{:<38} {} chunk {:<16} stored {:>10}  ratio {:.3}",
                a["name"].as_str().unwrap_or("?"),
                format!("{}", a["shape"]),
                format!("({})", dims.join(", ")),
                a["dtype"].as_str().unwrap_or("?"),
                format!("{}", a["chunk"]),
                human_bytes(a["stored_bytes"].as_u64().unwrap_or(0)),
                a["ratio"].as_f64().unwrap_or(0.0)
            );
        }
        match w["split_counts"].as_object() {
            Some(c) => {
                let parts: Vec<String> = c
                    .iter()
                    .filter(|(_, v)| v.as_u64() != Some(0))
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                println!("  splits       {}", parts.join(", "));
            }
            None => println!("  splits       none stored"),
        }
    }
    Ok(())
}
