//! `--reproduce`: re-simulation of built-in worlds from their recorded seeds.

use serde_json::Value;

use super::{first, Report, Status, ValidateOptions};
use crate::convert::Layout;
use crate::manifest::Manifest;
use crate::reader::Reader;
use crate::reference::{self, nk, CONFIG_DRAWS_KEY};
use crate::seeds::{SampleRng, SeedDerivation};
use crate::storage::dataset::World;
use crate::world::ArrayKind;

/// Re-simulates `k` written samples of a reference world and compares bits.
pub(super) fn check_reproduce(
    report: &mut Report,
    a: &ValidateOptions,
    threads: usize,
    id: &str,
    world: &World,
    m: &Manifest,
    mask: &[u8],
) {
    let name = format!("{id}: reproduce {}", a.reproduce);
    let cfg = match reference::config_from_manifest(m, id) {
        None => {
            report.add(
                name,
                Status::Skip,
                "not a built-in world (no reference configuration in the manifest)",
            );
            return;
        }
        Some(Err(e)) => {
            report.add(name, Status::Fail, e.message().to_string());
            return;
        }
        Some(Ok(c)) => c,
    };
    if m.rng_seeds.derivation_algorithm != SeedDerivation::ChaCha20.name() {
        report.add(
            name,
            Status::Fail,
            format!(
                "seed derivation '{}' is not the one generate uses",
                m.rng_seeds.derivation_algorithm
            ),
        );
        return;
    }
    let written: Vec<u64> = mask
        .iter()
        .enumerate()
        .filter(|(_, &x)| x != 0)
        .map(|(i, _)| i as u64)
        .collect();
    let mut chosen: Vec<u64> = if a.reproduce as usize >= written.len() {
        written.clone()
    } else {
        let mut rng = SampleRng::new(a.reproduce_seed, u64::MAX - 1);
        let mut pick = std::collections::BTreeSet::new();
        while pick.len() < a.reproduce as usize {
            pick.insert(written[rng.below(written.len() as u64) as usize]);
        }
        pick.into_iter().collect()
    };
    chosen.sort_unstable();
    let reader = match Reader::open(&world.root, id) {
        Ok(r) => r,
        Err(e) => {
            report.add(name, Status::Fail, e.message().to_string());
            return;
        }
    };
    let d = &world.desc;
    let seed = m.rng_seeds.global;
    let mut diffs = Vec::new();
    for &i in &chosen {
        let sample = match cfg.sample(seed, i) {
            Ok(s) => s,
            Err(e) => {
                diffs.push(format!("sample {i}: cannot re-simulate: {}", e.message()));
                continue;
            }
        };
        let mut bufs: Vec<Vec<f32>> = ArrayKind::ALL
            .iter()
            .map(|k| vec![0f32; d.sample_len(*k)])
            .collect();
        let [t, tr, ir, sh] = &mut bufs[..] else {
            unreachable!()
        };
        if let Err(e) = reader.read_range(i, 1, Layout::C, [Some(t), Some(tr), Some(ir), Some(sh)])
        {
            diffs.push(format!("sample {i}: cannot read: {}", e.message()));
            continue;
        }
        let fresh: [&[f64]; 4] = [
            &sample.theta,
            &sample.trajectories,
            &sample.irfs,
            &sample.shocks,
        ];
        for (kind, (stored, new)) in ArrayKind::ALL.iter().zip(bufs.iter().zip(fresh)) {
            if stored.len() != new.len() {
                diffs.push(format!(
                    "sample {i}: {} has {} values, the world {} ",
                    kind.name(),
                    new.len(),
                    stored.len()
                ));
                continue;
            }
            if let Some(p) = stored
                .iter()
                .zip(new)
                .position(|(s, n)| s.to_bits() != (*n as f32).to_bits())
            {
                diffs.push(format!(
                    "sample {i}: {} element {p} is {} on disk, {} re-simulated",
                    kind.name(),
                    stored[p],
                    new[p] as f32
                ));
            }
        }
    }
    report.result(
        name,
        if diffs.is_empty() {
            Ok(format!(
                "{} samples re-simulated from seed {seed} (ChaCha20 stream per sample) match bit for bit",
                chosen.len()
            ))
        } else {
            Err(first(&diffs, 3))
        },
    );
    // The redraw counts recorded in the manifest.
    if let Some(rec) = m.config.as_ref().and_then(|c| c.get(CONFIG_DRAWS_KEY)) {
        let (total, err) = match cfg.count_rejections(seed, d.n_samples, threads) {
            Ok(t) => (t, None),
            Err(e) => (nk::Rejections::default(), Some(e.message().to_string())),
        };
        let want = (
            rec.get("indeterminate_redrawn").and_then(Value::as_u64),
            rec.get("no_stable_solution_redrawn")
                .and_then(Value::as_u64),
        );
        report.result(
            format!("{id}: theta redraw counts"),
            match err {
                Some(e) => Err(e),
                None if want == (Some(total.indeterminate), Some(total.other)) => Ok(format!(
                    "{} indeterminate and {} unstable draws redrawn, as recorded",
                    total.indeterminate, total.other
                )),
                None => Err(format!(
                    "redrawing gives {} indeterminate / {} unstable, the manifest records {:?} / {:?}",
                    total.indeterminate, total.other, want.0, want.1
                )),
            },
        );
    }
}
