//! The root group, the arrays' metadata, and one pass over every chunk.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use super::{first, Report};
use crate::storage::dataset::{DataArray, World};
use crate::world::{ArrayKind, WRITTEN};

/// The root group says it is a umedata dataset.
pub(super) fn check_root(dir: &Path) -> Result<String, String> {
    let (file, pointer) = if dir.join("zarr.json").is_file() {
        (dir.join("zarr.json"), "/attributes/umedata/format_version")
    } else if dir.join(".zattrs").is_file() {
        (dir.join(".zattrs"), "/umedata/format_version")
    } else {
        return Err(format!(
            "'{}' has no root zarr.json (not a Zarr v3 group)",
            dir.display()
        ));
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read '{}': {e}", file.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("'{}' is not JSON: {e}", file.display()))?;
    match v.pointer(pointer).and_then(Value::as_str) {
        Some(ver) => Ok(format!("umedata format {ver}")),
        None => Err(format!(
            "'{}' has no umedata format_version attribute",
            file.display()
        )),
    }
}

/// An array to check: name, array, dimension names, chunk shape, float32 (else uint8).
struct ArraySpec<'a> {
    name: String,
    array: &'a DataArray,
    dims: Vec<String>,
    chunk: Vec<u64>,
    float: bool,
}

/// The strings of a JSON array (empty when it is not one).
fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect()
    })
}

/// Data types, dimension names and chunk shapes of the arrays as stored.
pub(super) fn check_arrays(world: &World) -> Result<String, String> {
    let mut problems = Vec::new();
    let cs = world.chunk_samples;
    let mut specs: Vec<ArraySpec> = ArrayKind::ALL
        .iter()
        .map(|k| {
            let mut chunk = vec![cs];
            chunk.extend(world.desc.sample_dims(*k).iter().map(|&d| d as u64));
            ArraySpec {
                name: k.name().to_string(),
                array: world.array(*k),
                dims: k.dimension_names().iter().map(|s| s.to_string()).collect(),
                chunk,
                float: true,
            }
        })
        .collect();
    specs.push(ArraySpec {
        name: WRITTEN.to_string(),
        array: &world.written,
        dims: vec!["sample".into()],
        chunk: vec![cs],
        float: false,
    });
    for s in specs {
        let (name, array, dims, chunk) = (&s.name, s.array, &s.dims, &s.chunk);
        let meta = serde_json::to_value(array.metadata()).unwrap_or(Value::Null);
        let dtype = meta
            .get("data_type")
            .or_else(|| meta.get("dtype"))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default();
        let want: &[&str] = if s.float {
            &["float32", "<f4"]
        } else {
            &["uint8", "|u1"]
        };
        if !want.contains(&dtype.as_str()) {
            problems.push(format!(
                "{name} has data type {dtype}, expected {}",
                want[0]
            ));
        }
        let stored_dims: Vec<String> = strings(meta.get("dimension_names"))
            .or_else(|| strings(meta.pointer("/attributes/_ARRAY_DIMENSIONS")))
            .unwrap_or_default();
        if &stored_dims != dims {
            problems.push(format!(
                "{name} has dimension names {stored_dims:?}, expected {dims:?}"
            ));
        }
        let stored_chunk: Vec<u64> = array
            .chunk_shape(&vec![0; array.shape().len()])
            .map(|c| c.iter().map(|x| x.get()).collect())
            .unwrap_or_default();
        if &stored_chunk != chunk {
            problems.push(format!("{name} has chunk shape {stored_chunk:?}, expected {chunk:?} (whole samples along the sample axis)"));
        }
    }
    // Sharded arrays: inner chunks of whole samples, the same number for every data
    // array, dividing the chunk (what umedata writes and its reader relies on).
    let mut inner_samples = Vec::new();
    for (a, kind) in ArrayKind::ALL.iter().enumerate() {
        let Some(shape) = world.inner_chunk_shape(a) else {
            continue;
        };
        let us = shape[0];
        let mut want = vec![us];
        want.extend(world.desc.sample_dims(*kind).iter().map(|&d| d as u64));
        if shape != want || us == 0 || !cs.is_multiple_of(us) {
            problems.push(format!(
                "{} has inner chunk shape {shape:?}, expected [k, {}] with k dividing {cs} (whole samples)",
                kind.name(),
                want[1..].iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
        inner_samples.push((kind.name(), us));
    }
    if !inner_samples.is_empty() && inner_samples.len() != ArrayKind::ALL.len() {
        problems.push(format!(
            "only some data arrays are sharded ({}), expected all or none",
            inner_samples
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else if inner_samples.windows(2).any(|w| w[0].1 != w[1].1) {
        problems.push(format!(
            "data arrays have different inner chunks ({}), expected the same number of samples",
            inner_samples
                .iter()
                .map(|(n, u)| format!("{n} {u}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if problems.is_empty() {
        let inner = match inner_samples.first() {
            Some((_, us)) => format!(", shards of {us}-sample inner chunks"),
            None => String::new(),
        };
        Ok(format!(
            "theta, trajectories, irfs, shocks float32; written uint8; dimension names and chunks ({cs} samples{inner}) as expected"
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// What one pass over every chunk found.
#[derive(Default)]
pub(super) struct ChunkScan {
    /// The written mask of the whole world (0 where its chunk does not decode).
    pub(super) mask: Vec<u8>,
    missing: Vec<String>,
    undecodable: Vec<String>,
    nonfinite: Vec<String>,
    bad_mask_values: Vec<u64>,
}

/// Reads every chunk once on `threads` threads: the mask, and for chunks holding written
/// samples the four data arrays (stored, decoding, finite in written rows).
pub(super) fn scan_chunks(world: &World, threads: usize) -> ChunkScan {
    let n_chunks = world.n_chunks();
    let next = AtomicU64::new(0);
    let out = Mutex::new(ChunkScan {
        mask: vec![0; world.desc.n_samples as usize],
        ..ChunkScan::default()
    });
    let cs = world.chunk_samples;
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= n_chunks {
                    break;
                }
                let local = scan_chunk(world, c);
                let (lo, hi) = (c * cs, c * cs + local.mask.len() as u64);
                let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                o.mask[lo as usize..hi as usize].copy_from_slice(&local.mask);
                o.missing.extend(local.missing);
                o.undecodable.extend(local.undecodable);
                o.nonfinite.extend(local.nonfinite);
                o.bad_mask_values.extend(local.bad_mask_values);
            });
        }
    });
    let mut o = out.into_inner().unwrap_or_else(|p| p.into_inner());
    o.missing.sort();
    o.undecodable.sort();
    o.nonfinite.sort();
    o.bad_mask_values.sort();
    o
}

/// What chunk `c` holds (its `mask` is the chunk's part of the world's mask).
fn scan_chunk(world: &World, c: u64) -> ChunkScan {
    let cs = world.chunk_samples;
    let k = world.samples_in_chunk(c) as usize;
    let (lo, hi) = (c * cs, c * cs + k as u64);
    let mut local = ChunkScan::default();
    let mask = match world.read_mask_chunk(c) {
        Ok(m) => m[..k].to_vec(),
        Err(e) => {
            local.undecodable.push(format!(
                "written chunk {c} (samples {lo}..{hi}): {}",
                e.message()
            ));
            vec![0; k]
        }
    };
    for (j, &m) in mask.iter().enumerate() {
        if m > 1 {
            local.bad_mask_values.push(lo + j as u64);
        }
    }
    let n_written = mask.iter().filter(|&&m| m != 0).count();
    if n_written > 0 {
        for kind in ArrayKind::ALL {
            let array = world.array(kind);
            match world.chunk_stored_bytes(array, c) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    local.missing.push(format!(
                        "{} chunk {c} (samples {lo}..{hi}) is missing but the mask claims {n_written} of its samples",
                        kind.name()
                    ));
                    continue;
                }
                Err(e) => {
                    local
                        .missing
                        .push(format!("{} chunk {c}: {}", kind.name(), e.message()));
                    continue;
                }
            }
            match world.read_chunk_f32(array, c) {
                Err(e) => local.undecodable.push(format!(
                    "{} chunk {c} (samples {lo}..{hi}): {}",
                    kind.name(),
                    e.message()
                )),
                Ok(data) => {
                    let per = world.desc.sample_len(kind);
                    for (j, &m) in mask.iter().enumerate() {
                        if m == 0 {
                            continue;
                        }
                        let row = &data[j * per..(j + 1) * per];
                        if let Some(p) = row.iter().position(|x| !x.is_finite()) {
                            local.nonfinite.push(format!(
                                "{}[{}] element {p} is {}",
                                kind.name(),
                                lo + j as u64,
                                row[p]
                            ));
                        }
                    }
                }
            }
        }
    }
    local.mask = mask;
    local
}

impl ChunkScan {
    /// The checks of world `id` that the scan decides.
    pub(super) fn report(&self, report: &mut Report, id: &str, world: &World) {
        report.result(
            format!("{id}: chunks present"),
            if self.missing.is_empty() {
                Ok("every chunk the written mask claims is stored".into())
            } else {
                Err(first(&self.missing, 3))
            },
        );
        report.result(
            format!("{id}: chunks decode"),
            if self.undecodable.is_empty() {
                Ok("every stored chunk decodes (crc32c checksums verified)".into())
            } else {
                Err(first(&self.undecodable, 3))
            },
        );
        report.result(
            format!("{id}: finite values"),
            if self.nonfinite.is_empty() {
                Ok("no NaN or infinity in written samples".into())
            } else {
                Err(first(&self.nonfinite, 3))
            },
        );
        let written = self.mask.iter().filter(|&&m| m != 0).count() as u64;
        let unwritten: Vec<u64> = self
            .mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m == 0)
            .map(|(i, _)| i as u64)
            .collect();
        let n = world.desc.n_samples;
        report.result(
            format!("{id}: written mask complete"),
            if !self.bad_mask_values.is_empty() {
                Err(format!(
                    "mask values other than 0/1 at samples {}",
                    first(&self.bad_mask_values, 5)
                ))
            } else if unwritten.is_empty() {
                Ok(format!("{written}/{n} samples written"))
            } else {
                Err(format!(
                    "{} of {n} samples missing (first: {}); resume the run to complete it",
                    unwritten.len(),
                    first(&unwritten, 5)
                ))
            },
        );
    }
}
