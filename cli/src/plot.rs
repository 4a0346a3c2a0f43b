//! `umedata plot`: PNG figures for a quick look at a dataset world.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use umedata::splits::{self, Splits, CODES};
use umedata::world::ArrayKind;
use umedata::{Layout, Reader};

use crate::common::{lib, load_manifest, world_ids};

/// Arguments of `umedata plot`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset directory.
    pub dir: PathBuf,
    /// Output directory for the PNG files (created if needed).
    #[arg(short = 'o', long)]
    pub out: PathBuf,
    /// World to plot (default: the first world of the dataset).
    #[arg(long)]
    pub world: Option<String>,
    /// Trajectories drawn per observable.
    #[arg(long, default_value_t = 5)]
    pub trajectories: usize,
    /// Samples the IRF quantile bands are computed from.
    #[arg(long, default_value_t = 2000)]
    pub irf_samples: usize,
    /// Points drawn in the theta coverage plot.
    #[arg(long, default_value_t = 5000)]
    pub points: usize,
}

const FONT: &str = "sans-serif";

fn palette(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    P[i % P.len()]
}

/// Written samples of the first chunks: `(index, per-array rows)` for up to `max` samples.
fn first_written(
    reader: &Reader,
    max: usize,
    kinds: &[ArrayKind],
) -> Result<(Vec<u64>, Vec<Vec<f32>>)> {
    let d = reader.desc();
    let cs = reader.chunk_samples();
    let mut idx = Vec::new();
    let mut data: Vec<Vec<f32>> = kinds.iter().map(|_| Vec::new()).collect();
    let mut start = 0;
    while start < d.n_samples && idx.len() < max {
        let count = cs.min(d.n_samples - start);
        let mask = lib(reader.mask(start, count))?;
        // Runs of written samples, read a run at a time (row-major, as stored).
        let mut j = 0;
        while j < mask.len() && idx.len() < max {
            if mask[j] == 0 {
                j += 1;
                continue;
            }
            let mut end = j;
            while end < mask.len() && mask[end] != 0 && idx.len() + (end - j) < max {
                end += 1;
            }
            let (lo, n) = (start + j as u64, (end - j) as u64);
            for (a, kind) in kinds.iter().enumerate() {
                let per = d.sample_len(*kind);
                let mut buf = vec![0f32; n as usize * per];
                let mut out: [Option<&mut [f32]>; 4] = [None, None, None, None];
                let slot = ArrayKind::ALL.iter().position(|k| k == kind).unwrap_or(0);
                out[slot] = Some(&mut buf);
                lib(reader.read_range(lo, n, Layout::C, out))?;
                data[a].extend_from_slice(&buf);
            }
            idx.extend(lo..lo + n);
            j = end;
        }
        start += count;
    }
    Ok((idx, data))
}

fn range_of(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

fn trajectories_png(reader: &Reader, path: &Path, n: usize) -> Result<()> {
    let d = reader.desc();
    let (idx, data) = first_written(reader, n, &[ArrayKind::Trajectories])?;
    let t = d.t as usize;
    let o = d.n_obs as usize;
    let root = BitMapBackend::new(path, (1000, 280 * o as u32 + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "{}: trajectories of samples {}",
            d.world_id,
            idx.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (FONT, 20),
    )?;
    let areas = root.split_evenly((o, 1));
    for (k, area) in areas.iter().enumerate() {
        let vals = data[0]
            .chunks_exact(t * o)
            .flat_map(|s| (0..t).map(move |tt| s[tt * o + k]));
        let (lo, hi) = range_of(vals);
        let mut chart = ChartBuilder::on(area)
            .caption(&d.obs_names[k], (FONT, 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0f32..(t.max(2) - 1) as f32, lo..hi)?;
        chart
            .configure_mesh()
            .x_desc("t")
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (s, sample) in data[0].chunks_exact(t * o).enumerate() {
            chart
                .draw_series(LineSeries::new(
                    (0..t).map(|tt| (tt as f32, sample[tt * o + k])),
                    palette(s).stroke_width(1),
                ))?
                .label(format!("sample {}", idx[s]))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], palette(s)));
        }
        if k == 0 {
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

fn quantile(sorted: &[f32], q: f64) -> f32 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos - pos.floor());
    let j = (i + 1).min(sorted.len() - 1);
    (sorted[i] as f64 * (1.0 - f) + sorted[j] as f64 * f) as f32
}

fn irfs_png(reader: &Reader, path: &Path, n: usize) -> Result<usize> {
    let d = reader.desc();
    let (idx, data) = first_written(reader, n, &[ArrayKind::Irfs])?;
    let m = idx.len();
    if m == 0 {
        bail!("no written sample to plot");
    }
    let (s, h1, o) = (d.n_shocks as usize, d.h as usize + 1, d.n_obs as usize);
    let per = s * h1 * o;
    let root = BitMapBackend::new(path, (360 * o as u32, 260 * s as u32 + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "{}: impulse responses (median, 25-75% and 5-95% bands over {m} samples)",
            d.world_id
        ),
        (FONT, 20),
    )?;
    let areas = root.split_evenly((s, o));
    let qs = [0.05, 0.25, 0.5, 0.75, 0.95];
    for j in 0..s {
        for k in 0..o {
            // Quantiles per horizon.
            let mut bands = vec![[0f32; 5]; h1];
            let mut col = Vec::with_capacity(m);
            for (hh, band) in bands.iter_mut().enumerate() {
                col.clear();
                col.extend(
                    data[0]
                        .chunks_exact(per)
                        .map(|smp| smp[(j * h1 + hh) * o + k])
                        .filter(|v| v.is_finite()),
                );
                col.sort_by(f32::total_cmp);
                if !col.is_empty() {
                    for (b, q) in band.iter_mut().zip(qs) {
                        *b = quantile(&col, q);
                    }
                }
            }
            let (lo, hi) = range_of(bands.iter().flat_map(|b| b.iter().copied()).chain([0.0]));
            let area = &areas[j * o + k];
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{} -> {}", d.shock_names[j], d.obs_names[k]),
                    (FONT, 15),
                )
                .margin(6)
                .x_label_area_size(26)
                .y_label_area_size(64)
                .build_cartesian_2d(0f32..(h1.max(2) - 1) as f32, lo..hi)?;
            chart
                .configure_mesh()
                .x_desc("h")
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            let color = palette(j);
            for (a, b, alpha) in [(0usize, 4usize, 0.18), (1, 3, 0.35)] {
                let pts: Vec<(f32, f32)> = (0..h1)
                    .map(|hh| (hh as f32, bands[hh][b]))
                    .chain((0..h1).rev().map(|hh| (hh as f32, bands[hh][a])))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(
                    pts,
                    color.mix(alpha).filled(),
                )))?;
            }
            chart.draw_series(LineSeries::new(
                (0..h1).map(|hh| (hh as f32, bands[hh][2])),
                color.stroke_width(2),
            ))?;
            chart.draw_series(LineSeries::new(
                [(0.0, 0.0), ((h1 - 1) as f32, 0.0)],
                BLACK.mix(0.5),
            ))?;
        }
    }
    root.present()?;
    Ok(m)
}

fn theta_png(reader: &Reader, path: &Path, max_points: usize) -> Result<(usize, bool)> {
    let d = reader.desc();
    let (theta, mask) = lib(splits::read_theta(reader.world()))?;
    let assignment = Splits::load_assignment(reader.world()).ok();
    let p = d.n_params as usize;
    let written: Vec<usize> = mask
        .iter()
        .enumerate()
        .filter(|(_, &m)| m != 0)
        .map(|(i, _)| i)
        .collect();
    let step = written.len().div_ceil(max_points.max(1)).max(1);
    let shown: Vec<usize> = written.iter().copied().step_by(step).collect();
    let pairs: Vec<(usize, usize)> = (0..p.div_ceil(2))
        .map(|k| (2 * k, (2 * k + 1) % p))
        .collect();
    let cols = 2.min(pairs.len()).max(1);
    let rows = pairs.len().div_ceil(cols);
    let root =
        BitMapBackend::new(path, (560 * cols as u32, 440 * rows as u32 + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "{}: theta coverage ({} of {} written samples{})",
            d.world_id,
            shown.len(),
            written.len(),
            if assignment.is_some() {
                ", coloured by split"
            } else {
                ", no split stored"
            }
        ),
        (FONT, 20),
    )?;
    let areas = root.split_evenly((rows, cols));
    // Draw order: train first (most points), the held-out sets on top.
    let code_of = |i: usize| assignment.as_ref().map_or(0, |a| a[i]);
    let codes: Vec<(&str, u8)> = CODES.iter().copied().filter(|(_, c)| *c != 255).collect();
    for (pi, &(a, b)) in pairs.iter().enumerate() {
        let (xlo, xhi) = range_of(shown.iter().map(|&i| theta[i * p + a]));
        let (ylo, yhi) = range_of(shown.iter().map(|&i| theta[i * p + b]));
        let mut chart = ChartBuilder::on(&areas[pi])
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
        chart
            .configure_mesh()
            .x_desc(d.param_names[a].as_str())
            .y_desc(d.param_names[b].as_str())
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (ci, (name, code)) in codes.iter().enumerate() {
            let pts: Vec<(f32, f32)> = shown
                .iter()
                .filter(|&&i| code_of(i) == *code)
                .map(|&i| (theta[i * p + a], theta[i * p + b]))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let color = palette(ci);
            let count = pts.len();
            chart
                .draw_series(
                    pts.into_iter()
                        .map(|xy| Circle::new(xy, 2, color.mix(0.7).filled())),
                )?
                .label(if assignment.is_some() {
                    format!("{name} ({count})")
                } else {
                    format!("written ({count})")
                })
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        if pi == 0 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.85))
                .draw()?;
        }
    }
    root.present()?;
    Ok((shown.len(), assignment.is_some()))
}

/// Runs `umedata plot`.
pub fn run(a: &Args) -> Result<()> {
    register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| anyhow::anyhow!("the embedded DejaVu Sans font could not be loaded"))?;
    let (manifest, _) = load_manifest(&a.dir);
    let id = match &a.world {
        Some(w) => w.clone(),
        None => world_ids(&a.dir, manifest.as_ref())?
            .into_iter()
            .next()
            .with_context(|| format!("no world in '{}'", a.dir.display()))?,
    };
    let reader = lib(Reader::open(&a.dir, &id))?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating '{}'", a.out.display()))?;
    let files = [
        a.out.join(format!("{id}_trajectories.png")),
        a.out.join(format!("{id}_irfs.png")),
        a.out.join(format!("{id}_theta_coverage.png")),
    ];
    trajectories_png(&reader, &files[0], a.trajectories).context("trajectories plot")?;
    let m = irfs_png(&reader, &files[1], a.irf_samples).context("IRF plot")?;
    let (pts, split) = theta_png(&reader, &files[2], a.points).context("theta coverage plot")?;
    println!(
        "{}  ({} trajectories per observable)",
        files[0].display(),
        a.trajectories
    );
    println!("{}  (IRF fan charts over {m} samples)", files[1].display());
    println!(
        "{}  ({pts} points{})",
        files[2].display(),
        if split { ", coloured by split" } else { "" }
    );
    Ok(())
}
