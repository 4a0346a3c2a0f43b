//! The check of a manifest against the dataset on disk: the worlds it lists (or finds),
//! their shapes, names, real chunking and codec as the arrays' metadata says, the written
//! count and the splits. Separate because it reads the stored arrays, which nothing else in
//! the manifest does.

use std::collections::BTreeMap;
use std::path::Path;

use super::{provenance, Manifest};
use crate::error::{Error, ErrorKind, Result};
use crate::splits::{SplitCounts, Splits};
use crate::storage::dataset::World;
use crate::world::{ArrayKind, WRITTEN};

/// The world ids of the dataset at `dataset`: those `manifest` lists when it is given and
/// lists any, otherwise the sub-directories that open as worlds, sorted. Fails only when
/// the directory cannot be listed.
pub fn world_ids(dataset: &Path, manifest: Option<&Manifest>) -> Result<Vec<String>> {
    if let Some(m) = manifest {
        if !m.simulators.is_empty() {
            return Ok(m.simulators.keys().cloned().collect());
        }
    }
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot list dataset directory '{}': {e}", dataset.display()),
        )
    };
    let mut ids = Vec::new();
    for e in std::fs::read_dir(dataset).map_err(io)? {
        let e = e.map_err(io)?;
        if e.path().join("zarr.json").is_file() || e.path().join(".zgroup").is_file() {
            if let Some(name) = e.file_name().to_str() {
                if World::open(dataset, name).is_ok() {
                    ids.push(name.to_string());
                }
            }
        }
    }
    ids.sort();
    Ok(ids)
}

impl Manifest {
    /// Compares the manifest with the dataset on disk: every world's shapes, names,
    /// chunking, codec and written count, and every split's array, counts and hash.
    /// Returns the differences (empty = consistent).
    pub fn check_dataset(&self, dataset: &Path) -> Result<Vec<String>> {
        let mut diffs = Vec::new();
        for (id, w) in &self.simulators {
            let world = match World::open(dataset, id) {
                Ok(world) => world,
                Err(e) => {
                    diffs.push(format!("world '{id}': cannot be opened: {}", e.message()));
                    continue;
                }
            };
            let d = &world.desc;
            let mut cmp = |what: &str, manifest: String, disk: String| {
                if manifest != disk {
                    diffs.push(format!(
                        "world '{id}': {what} is {manifest} in the manifest, {disk} on disk"
                    ));
                }
            };
            cmp(
                "n_samples",
                w.n_samples.to_string(),
                d.n_samples.to_string(),
            );
            cmp("T", w.t.to_string(), d.t.to_string());
            cmp("H", w.h.to_string(), d.h.to_string());
            cmp(
                "parameter names",
                format!("{:?}", w.parameters.names),
                format!("{:?}", d.param_names),
            );
            cmp(
                "shock names",
                format!("{:?}", w.shocks.names),
                format!("{:?}", d.shock_names),
            );
            cmp(
                "observable names",
                format!("{:?}", w.obs_names()),
                format!("{:?}", d.obs_names),
            );
            // The arrays' own metadata, not the world attribute, says how they are stored.
            cmp(
                "chunk_samples",
                w.storage.chunk_samples.to_string(),
                disk_chunking(&world),
            );
            // Older manifests do not say; a manifest that does must match the disk.
            if let Some(inner) = w.storage.inner_chunk_samples {
                let disk = sharded_inner(&world)
                    .map_or_else(|| "absent (not sharded)".to_string(), |u| u.to_string());
                cmp("inner_chunk_samples", inner.to_string(), disk);
            }
            cmp("codec", w.storage.codec.clone(), disk_codec(&world));
            let disk_arrays: BTreeMap<String, Vec<u64>> = ArrayKind::ALL
                .iter()
                .map(|k| (k.name().to_string(), world.array(*k).shape().to_vec()))
                .chain([(WRITTEN.to_string(), world.written.shape().to_vec())])
                .collect();
            for (name, info) in &w.storage.arrays {
                let disk = disk_arrays.get(name).cloned().unwrap_or_default();
                cmp(
                    &format!("shape of '{name}'"),
                    format!("{:?}", info.shape),
                    format!("{disk:?}"),
                );
            }
            match count_written(&world) {
                Ok(n) => cmp(
                    "samples_written",
                    w.samples_written.to_string(),
                    n.to_string(),
                ),
                Err(e) => diffs.push(format!(
                    "world '{id}': written mask unreadable: {}",
                    e.message()
                )),
            }
            if let Some(rec) = self.splits.get(id) {
                match Splits::load_assignment(&world) {
                    Err(e) => diffs.push(format!("world '{id}': split: {}", e.message())),
                    Ok(a) => {
                        let sha = provenance::sha256_hex(&a);
                        if sha != rec.sha256 {
                            diffs.push(format!(
                                "world '{id}': split array has SHA-256 {sha}, the manifest records {}",
                                rec.sha256
                            ));
                        }
                        match SplitCounts::of(&a) {
                            Ok(c) if c != rec.counts => diffs.push(format!(
                                "world '{id}': split counts are {:?} on disk, {:?} in the manifest",
                                crate::splits::counts_map(&c),
                                crate::splits::counts_map(&rec.counts)
                            )),
                            Ok(_) => {}
                            Err(e) => diffs.push(format!("world '{id}': {}", e.message())),
                        }
                    }
                }
            }
        }
        // Worlds on disk that the manifest does not list.
        if let Ok(entries) = std::fs::read_dir(dataset) {
            let mut extra: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().join("zarr.json").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !self.simulators.contains_key(name))
                .filter(|name| World::open(dataset, name).is_ok())
                .collect();
            extra.sort();
            for name in extra {
                diffs.push(format!("world '{name}' is on disk but not in the manifest"));
            }
        }
        Ok(diffs)
    }
}

/// The chunk length of the world's arrays from their metadata: one number when all data
/// arrays and the mask are chunked by whole samples alike, else each array's chunk shape.
fn disk_chunking(world: &World) -> String {
    let c = world.array_chunk_samples(0);
    let uniform = (0..4).all(|a| {
        let shape = world.array_chunk_shape(a);
        shape[0] == c && shape[1..] == world.arrays[a].shape()[1..]
    }) && world.mask_chunk_samples() == c;
    if uniform {
        return c.to_string();
    }
    let mut parts: Vec<String> = ArrayKind::ALL
        .iter()
        .enumerate()
        .map(|(a, k)| format!("{} chunks {:?}", k.name(), world.array_chunk_shape(a)))
        .collect();
    parts.push(format!("{WRITTEN} chunks [{}]", world.mask_chunk_samples()));
    parts.join(", ")
}

/// The codec of the world's data arrays from their metadata (each array's when they
/// differ).
fn disk_codec(world: &World) -> String {
    let first = world.array_codec(0);
    if (1..4).all(|a| world.array_codec(a) == first) {
        return first.to_string();
    }
    ArrayKind::ALL
        .iter()
        .enumerate()
        .map(|(a, k)| format!("{} {}", k.name(), world.array_codec(a)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Samples per inner chunk of a world whose data arrays are sharded, `None` otherwise.
pub(super) fn sharded_inner(world: &World) -> Option<u64> {
    world
        .inner_chunk_shape(1)
        .map(|shape| shape[0])
        .filter(|&u| u != world.chunk_samples)
}

/// Samples marked written in the mask on disk.
pub fn count_written(world: &World) -> Result<u64> {
    let mut total = 0;
    for c in 0..world.n_chunks() {
        let n = world.samples_in_chunk(c) as usize;
        total += world.read_mask_chunk(c)?[..n]
            .iter()
            .filter(|&&m| m != 0)
            .count() as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{nk_desc, seed_defaults, tmp};
    use crate::seeds::SeedDerivation;
    use crate::writer::{SampleRef, Writer, WriterOptions};
    use crate::Manifest;

    /// Issue 15 item 1: the check compares the arrays' real chunking and codec, not the
    /// world attribute; a mask chunked unlike the attribute is counted, not a panic.
    #[test]
    fn check_compares_the_arrays_not_the_attribute() {
        use zarrs::array::codec::GzipCodec;
        use zarrs::array::{data_type, ArrayBuilder, ArraySubset};
        let dir = tmp("real");
        let desc = nk_desc(40);
        let mut opts = WriterOptions::default();
        opts.storage.chunk_samples = Some(16);
        opts.storage.inner_chunk_samples = Some(16);
        let w = Writer::create(&dir, &desc, &opts).unwrap();
        let (p, t, o) = (desc.n_params as usize, desc.t as usize, desc.n_obs as usize);
        for i in 0..40u64 {
            let z: Vec<f64> = (0..t * o).map(|k| (i * 100 + k as u64) as f64).collect();
            let th: Vec<f64> = seed_defaults().to_vec();
            let irf = vec![0.1; desc.sample_len(crate::ArrayKind::Irfs)];
            let sh = vec![0.0; desc.sample_len(crate::ArrayKind::Shocks)];
            assert_eq!(th.len(), p);
            let s = SampleRef {
                theta: &th,
                trajectories: &z,
                irfs: &irf,
                shocks: &sh,
            };
            w.write_sample(i, crate::Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
        let mut m = Manifest::new("1.0.0", 42, SeedDerivation::Add).unwrap();
        m.record_world(w.world(), None).unwrap();
        let before = m.check_dataset(&dir).unwrap();
        assert!(before.is_empty(), "{before:?}");
        let store = w.world().store.clone();
        drop(w);
        // trajectories rewritten gzip-compressed in chunks of 16 samples x 3 steps, the
        // mask in chunks of 5: the attribute still says 16 and blosc-lz4
        std::fs::remove_dir_all(dir.join("nk/trajectories")).unwrap();
        std::fs::remove_dir_all(dir.join("nk/written")).unwrap();
        let z: Vec<f32> = (0..40u64)
            .flat_map(|i| (0..t * o).map(move |k| (i * 100 + k as u64) as f32))
            .collect();
        let shape = vec![40, t as u64, o as u64];
        let traj = ArrayBuilder::new(
            shape.clone(),
            vec![16, 3, o as u64],
            data_type::float32(),
            f32::NAN,
        )
        .bytes_to_bytes_codecs(vec![std::sync::Arc::new(GzipCodec::new(5).unwrap())])
        .build(store.clone(), "/nk/trajectories")
        .unwrap();
        traj.store_metadata().unwrap();
        traj.store_array_subset(&ArraySubset::new_with_shape(shape), z)
            .unwrap();
        let mask = ArrayBuilder::new(vec![40], vec![5], data_type::uint8(), 0u8)
            .build(store, "/nk/written")
            .unwrap();
        mask.store_metadata().unwrap();
        mask.store_array_subset(&ArraySubset::new_with_shape(vec![40]), vec![1u8; 40])
            .unwrap();
        let diffs = m.check_dataset(&dir).unwrap();
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(
            diffs[0].contains("chunk_samples is 16 in the manifest")
                && diffs[0].contains("trajectories chunks [16, 3, 3]")
                && diffs[0].contains("written chunks [5]"),
            "{diffs:?}"
        );
        assert!(
            diffs[1].contains("codec is blosc-lz4 in the manifest")
                && diffs[1].contains("trajectories gzip"),
            "{diffs:?}"
        );
        // and the rechunked world reads back exactly
        let r = crate::Reader::open(&dir, "nk").unwrap();
        let mut buf = vec![0f64; t * o];
        r.read_range(33, 1, crate::Layout::C, [None, Some(&mut buf), None, None])
            .unwrap();
        assert_eq!(buf[7], 3307.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
