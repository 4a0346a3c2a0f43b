//! Checks of a recorded split: stored, covering, disjoint, deterministic.

use super::{first, Report, Status};
use crate::splits::{read_theta, OodRegions, SplitCode, SplitRecord, Splits, CODES};
use crate::storage::dataset::World;

fn code_name(c: u8) -> &'static str {
    CODES
        .iter()
        .find(|(_, x)| *x == c)
        .map(|(n, _)| *n)
        .unwrap_or("invalid")
}

/// The split checks of world `id` against its manifest record `rec`.
pub(super) fn check_splits(report: &mut Report, id: &str, world: &World, rec: &SplitRecord) {
    let assignment = match Splits::load_assignment(world) {
        Ok(a) => a,
        Err(e) => {
            report.add(
                format!("{id}: splits stored"),
                Status::Fail,
                e.message().to_string(),
            );
            return;
        }
    };
    let (theta, mask) = match read_theta(world) {
        Ok(x) => x,
        Err(e) => {
            report.add(
                format!("{id}: splits"),
                Status::Fail,
                format!("theta unreadable: {}", e.message()),
            );
            return;
        }
    };
    let p = world.desc.n_params as usize;
    // Covering: every written sample has exactly one valid code, unwritten ones 255.
    let mut bad = Vec::new();
    for (i, (&c, &m)) in assignment.iter().zip(&mask).enumerate() {
        let ok = if m != 0 {
            c <= SplitCode::OOD_INTERPOLATION
        } else {
            c == SplitCode::NOT_WRITTEN
        };
        if !ok {
            bad.push(format!(
                "sample {i} (written={m}) has code {c} ({})",
                code_name(c)
            ));
        }
    }
    report.result(
        format!("{id}: splits covering"),
        if bad.is_empty() {
            let c = &rec.counts;
            Ok(format!(
                "every written sample in one split: train {} val {} test {} ood {} (not written {})",
                c.train,
                c.val,
                c.test,
                c.ood_slice + c.ood_corner + c.ood_interpolation,
                c.not_written
            ))
        } else {
            Err(first(&bad, 5))
        },
    );
    // Disjoint: in-distribution samples lie outside every held-out region, held-out ones
    // inside the region of the rule whose code they carry.
    let regions = OodRegions::new(&rec.rule.ood, &world.desc.param_names);
    let mut overlaps = Vec::new();
    let mut rule_errors = Vec::new();
    for (i, (row, &c)) in theta.chunks_exact(p).zip(&assignment).enumerate() {
        if mask[i] == 0 || c > SplitCode::OOD_INTERPOLATION {
            continue;
        }
        let regions = match &regions {
            Ok(r) => r,
            Err(e) => {
                rule_errors.push(e.message().to_string());
                break;
            }
        };
        match regions.find(row) {
            Some(r) => {
                let want = rec.rule.ood[r].code();
                if c != want {
                    overlaps.push(format!(
                        "sample {i} is {} but lies in the held-out region of ood[{r}] ({})",
                        code_name(c),
                        code_name(want)
                    ));
                }
            }
            None => {
                if c >= SplitCode::OOD_SLICE {
                    overlaps.push(format!(
                        "sample {i} is {} but lies outside every held-out region",
                        code_name(c)
                    ));
                }
            }
        }
    }
    report.result(
        format!("{id}: splits disjoint"),
        if !rule_errors.is_empty() {
            Err(rule_errors.join("; "))
        } else if overlaps.is_empty() {
            Ok(format!(
                "train, val, test and {} OOD hold-out(s) do not overlap",
                rec.rule.ood.len()
            ))
        } else {
            Err(format!("splits overlap: {}", first(&overlaps, 3)))
        },
    );
    // Deterministic: recomputing the recorded rule on the stored theta gives the stored split.
    match crate::splits::compute(id, &theta, &mask, &world.desc.param_names, &rec.rule) {
        Err(e) => report.add(
            format!("{id}: splits deterministic"),
            Status::Fail,
            format!("the recorded rule cannot be recomputed: {}", e.message()),
        ),
        Ok(again) => {
            let diff: Vec<String> = again
                .assignment
                .iter()
                .zip(&assignment)
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| {
                    format!(
                        "sample {i} stored {} recomputed {}",
                        code_name(*b),
                        code_name(*a)
                    )
                })
                .collect();
            report.result(
                format!("{id}: splits deterministic"),
                if diff.is_empty() {
                    Ok(format!(
                        "recomputing rule {} (seed {}) gives the stored split",
                        rec.rule.algorithm, rec.rule.seed
                    ))
                } else {
                    Err(format!(
                        "{} samples differ from the recomputed split: {}",
                        diff.len(),
                        first(&diff, 3)
                    ))
                },
            );
        }
    }
}
