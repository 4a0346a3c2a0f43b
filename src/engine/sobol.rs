//! The scrambled Sobol design: point `i` of an Owen-scrambled Sobol sequence, computed from
//! the index alone (no sequential state), so any thread, part, order or resume gives the
//! same theta for sample `i`.
//!
//! # The exact formula (what `validate --reproduce` repeats)
//!
//! For the global seed `g`, attempt `a` of sample `i` (`a` = 0 is the first draw, `a` = 1
//! the first redraw, ...; `i < 2^32`) and parameter `j` (`j < 1024`), all integer
//! arithmetic modulo 2^32 on `u32` and modulo 2^64 on `u64`:
//!
//! 1. **Direction numbers** `v_j[0..32]` (u32). `j = 0`: `v[k] = 2^(31−k)`. `j ≥ 1`: line
//!    `d = j + 1` of Joe and Kuo's `new-joe-kuo-6.21201` (embedded unchanged for `d ≤ 1024`
//!    in `src/engine/joe-kuo/`) gives the degree `s`, the coefficients `c` and `m_1..m_s`:
//!    `v[k] = m_(k+1) · 2^(31−k)` for `k < s`, and for `k ≥ s`
//!    `v[k] = v[k−s] ⊕ (v[k−s] >> s) ⊕ ⊕_(l=1..s−1) ((c >> (s−1−l)) & 1) · v[k−l]`.
//! 2. **Sobol point** (binary order, no Gray code; its first `2^m` points are the same set as
//!    the Gray-code order's): `x = ⊕ v_j[k]` over the bits `k` set in `i`.
//! 3. **Seed** of `(g, a, j)`: `h = mix64(mix64(g ⊕ 0x736F626F6C000001) + γ · (2^32·a + j + 1))`
//!    with `mix64` and `γ = 0x9E3779B97F4A7C15` of SplitMix64 ([`crate::seeds`]); `s = h >> 32`.
//! 4. **Owen scrambling** of the 32 digits (nested uniform scrambling by the Laine–Karras
//!    hash, Burley 2020, "Practical Hash-based Owen Scrambling", with the constants of
//!    Vegdahl 2021, "Building a Better LK Hash"): `y = rev(lk(rev(x), s))`, where `rev`
//!    reverses the 32 bits and `lk(n, s)`: `n ^= n·0x3D20ADEA; n += s; n *= (s >> 16) | 1;
//!    n ^= n·0x05526C56; n ^= n·0x53A22864`. Each digit of `y` is the digit of `x` flipped by
//!    a function of the digits above it, so the scrambled points keep every stratification
//!    of the sequence.
//! 5. **Digits 33..53** (a nested scramble to full depth permutes them by a function of the
//!    32 digits above, which differ for every `i < 2^32`): `t = mix64(h ⊕ x·γ) >> 43`.
//! 6. `u = (y · 2^21 + t) · 2^−53`, in `[0, 1)`; `theta_j = lo_j + (hi_j − lo_j) · u`.
//!
//! Attempt `a` is an independently scrambled copy of the same sequence. A rejected draw of
//! sample `i` is redrawn as point `i` of copy `a + 1`. Each copy's points are exactly
//! stratified; after rejections the accepted set is the stratified points of copy 0 outside
//! the rejected region plus, for the rejected samples (a fraction about the rejection rate),
//! points of later copies that are spread like independent uniform draws on the accepted
//! region. The theta of every sample is still exactly uniform on the accepted region.
//!
//! Limits: [`MAX_DIMENSION`] parameters (the embedded direction numbers) and
//! [`MAX_POINTS`] samples (32 digits).

use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};
use crate::seeds::mix64;

/// Most parameters of a Sobol design: the dimensions of the embedded direction numbers.
pub const MAX_DIMENSION: u32 = 1024;
/// Most samples of a Sobol design (the sequence has 32 binary digits).
pub const MAX_POINTS: u64 = 1 << 32;

/// Separates the Sobol seeds from other SplitMix64 uses of the global seed.
const TAG: u64 = 0x736F_626F_6C00_0001;
/// SplitMix64's increment (as in `crate::seeds`).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The first 1024 lines of new-joe-kuo-6.21201 (header + dimensions 2..=1024), unchanged.
const JOE_KUO: &str = include_str!("joe-kuo/new-joe-kuo-6.1024");

/// Direction numbers of every dimension, computed once from [`JOE_KUO`].
fn directions() -> &'static [[u32; 32]] {
    static DIRECTIONS: OnceLock<Vec<[u32; 32]>> = OnceLock::new();
    DIRECTIONS.get_or_init(|| parse_directions(JOE_KUO))
}

fn parse_directions(text: &str) -> Vec<[u32; 32]> {
    let mut out = Vec::with_capacity(MAX_DIMENSION as usize);
    out.push(std::array::from_fn(|k| 1u32 << (31 - k)));
    for line in text.lines().skip(1) {
        let nums: Vec<u32> = line
            .split_whitespace()
            .map(|x| {
                x.parse()
                    .expect("the embedded Joe-Kuo table holds integers")
            })
            .collect();
        let (s, c, m) = (nums[1] as usize, nums[2], &nums[3..]);
        assert_eq!(m.len(), s, "Joe-Kuo line {line}");
        let mut v = [0u32; 32];
        for k in 0..32 {
            v[k] = if k < s {
                m[k] << (31 - k)
            } else {
                let mut x = v[k - s] ^ (v[k - s] >> s);
                for l in 1..s {
                    if (c >> (s - 1 - l)) & 1 == 1 {
                        x ^= v[k - l];
                    }
                }
                x
            };
        }
        out.push(v);
    }
    out
}

/// Point `i` of the unscrambled sequence in dimension `j`, as 32 binary digits.
fn sobol_digits(i: u32, j: u32) -> u32 {
    let v = &directions()[j as usize];
    let mut x = 0;
    let mut rest = i;
    let mut k = 0;
    while rest != 0 {
        if rest & 1 == 1 {
            x ^= v[k];
        }
        rest >>= 1;
        k += 1;
    }
    x
}

/// The Laine–Karras style hash (Vegdahl's constants): each bit is flipped by a function of
/// the bits below it, so on reversed digits it is a nested uniform scramble.
fn lk_hash(mut n: u32, s: u32) -> u32 {
    n ^= n.wrapping_mul(0x3D20_ADEA);
    n = n.wrapping_add(s);
    n = n.wrapping_mul((s >> 16) | 1);
    n ^= n.wrapping_mul(0x0552_6C56);
    n ^= n.wrapping_mul(0x53A2_2864);
    n
}

/// The 64-bit seed of copy `attempt`, dimension `j` under global seed `seed`.
fn dim_seed(seed: u64, attempt: u32, j: u32) -> u64 {
    let key = mix64(seed ^ TAG);
    let n = (u64::from(attempt) << 32) + u64::from(j) + 1;
    mix64(key.wrapping_add(GAMMA.wrapping_mul(n)))
}

/// Coordinate `j` of point `i` of the copy of the sequence scrambled by `(seed, attempt)`,
/// in `[0, 1)`: `u` of the module documentation. Attempt `a` of sample `i` of a Sobol design
/// draws `theta[j] = lo_j + (hi_j − lo_j) · point(seed, a, i, j)`.
pub fn point(seed: u64, attempt: u32, i: u64, j: u32) -> Result<f64> {
    if i >= MAX_POINTS {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!(
                "sample index {i} out of range [0, {MAX_POINTS}) of the Sobol design (2^32 points)"
            ),
        ));
    }
    if j >= MAX_DIMENSION {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("dimension {j} out of range [0, {MAX_DIMENSION}) of the Sobol design"),
        ));
    }
    Ok(coordinate(seed, attempt, i, j))
}

/// [`point`] without the checks. Requires `i <` [`MAX_POINTS`] and `j <` [`MAX_DIMENSION`]
/// (checked by the design before a run).
pub(crate) fn coordinate(seed: u64, attempt: u32, i: u64, j: u32) -> f64 {
    debug_assert!(i < MAX_POINTS && j < MAX_DIMENSION);
    let x = sobol_digits(i as u32, j);
    let h = dim_seed(seed, attempt, j);
    let y = lk_hash(x.reverse_bits(), (h >> 32) as u32).reverse_bits();
    let t = mix64(h ^ u64::from(x).wrapping_mul(GAMMA)) >> 43;
    ((u64::from(y) << 21) | t) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded table is the published file's first 1024 lines, byte for byte.
    #[test]
    fn embedded_table_is_the_published_one() {
        assert_eq!(
            crate::digest::sha256_hex(JOE_KUO.as_bytes()),
            "52eeb57738dd69f5e1f593f2085c4efb3fb410c3af241d5396d7a2bef60b9257"
        );
        assert_eq!(directions().len(), MAX_DIMENSION as usize);
        for (n, line) in JOE_KUO.lines().skip(1).enumerate() {
            let d: usize = line.split_whitespace().next().unwrap().parse().unwrap();
            assert_eq!(d, n + 2, "line {line}");
        }
    }

    /// The unscrambled sequence is Sobol's: the known first points (SciPy's and Joe–Kuo's
    /// `sobol.cc` give the same sets), and every dimension a (0, m, 1)-sequence.
    #[test]
    fn unscrambled_points_are_sobol() {
        let u = |i: u32, j: u32| f64::from(sobol_digits(i, j)) / 2f64.powi(32);
        // Binary order: i = 1, 2, 3 -> (0.5, 0.5, 0.5), (0.25, 0.75, 0.75), (0.75, 0.25, 0.25)
        // (points 1, 3, 2 of the Gray-code order).
        assert_eq!([u(0, 0), u(0, 1), u(0, 2)], [0.0, 0.0, 0.0]);
        assert_eq!([u(1, 0), u(1, 1), u(1, 2)], [0.5, 0.5, 0.5]);
        assert_eq!([u(2, 0), u(2, 1), u(2, 2)], [0.25, 0.75, 0.75]);
        assert_eq!([u(3, 0), u(3, 1), u(3, 2)], [0.75, 0.25, 0.25]);
        // Dimension 3 (d = 4: s = 3, c = 1, m = 1 3 1): v = 0.5, 0.75, 0.125, ...
        let v = directions()[3];
        assert_eq!(&v[..3], &[1 << 31, 3 << 30, 1 << 29]);
        for j in [0, 1, 2, 7, 100, 1023] {
            for m in [1, 4, 10] {
                let mut seen = vec![false; 1 << m];
                for i in 0..(1u32 << m) {
                    let k = (sobol_digits(i, j) >> (32 - m)) as usize;
                    assert!(!seen[k], "dimension {j}, m {m}: cell {k} twice");
                    seen[k] = true;
                }
            }
        }
    }

    fn cell(u: f64, m: u32) -> usize {
        (u * f64::from(1u32 << m)) as usize
    }

    #[test]
    fn point_checks_its_arguments() {
        assert_eq!(point(1, 2, 3, 4).unwrap(), coordinate(1, 2, 3, 4));
        let e = point(1, 0, MAX_POINTS, 0).unwrap_err();
        assert!(
            e.message()
                .contains("sample index 4294967296 out of range [0, 4294967296)"),
            "{}",
            e.message()
        );
        let e = point(1, 0, 0, 1024).unwrap_err();
        assert!(
            e.message()
                .contains("dimension 1024 out of range [0, 1024)"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn values_are_in_the_unit_interval() {
        for seed in [0, 42, u64::MAX] {
            for i in (0..5000).chain([MAX_POINTS - 1, MAX_POINTS / 2]) {
                for j in [0, 1, 5, 1023] {
                    let u = coordinate(seed, 0, i, j);
                    assert!((0.0..1.0).contains(&u), "{seed} {i} {j}: {u}");
                }
            }
        }
    }

    /// For the first 2^m points (and for the block of 2^m after them), each coordinate has
    /// exactly one point in each interval [k/2^m, (k+1)/2^m), in every dimension, copy and
    /// seed.
    #[test]
    fn one_dimensional_projections_are_stratified() {
        for (seed, attempt) in [(42, 0), (42, 3), (7, 0)] {
            for j in [0, 1, 2, 3, 17, 511, 1023] {
                for m in [1, 5, 12] {
                    for start in [0u64, 1 << m] {
                        let mut seen = vec![false; 1 << m];
                        for i in start..start + (1 << m) {
                            let k = cell(coordinate(seed, attempt, i, j), m);
                            assert!(
                                !seen[k],
                                "seed {seed} copy {attempt} dim {j} m {m}: interval {k} twice"
                            );
                            seen[k] = true;
                        }
                    }
                }
            }
        }
    }

    /// The first two dimensions of the first 2^m points form a (0, m, 2)-net: one point in
    /// every elementary rectangle [a/2^p, (a+1)/2^p) × [b/2^q, (b+1)/2^q) with p + q = m.
    #[test]
    fn first_two_dimensions_form_a_0_m_2_net() {
        for seed in [42u64, 1234] {
            for m in [4u32, 8, 12] {
                let pts: Vec<(f64, f64)> = (0..1u64 << m)
                    .map(|i| (coordinate(seed, 0, i, 0), coordinate(seed, 0, i, 1)))
                    .collect();
                for p in 0..=m {
                    let q = m - p;
                    let mut seen = vec![false; 1 << m];
                    for &(x, y) in &pts {
                        let k = (cell(x, p) << q) | cell(y, q);
                        assert!(!seen[k], "seed {seed} m {m} p {p}: rectangle {k} twice");
                        seen[k] = true;
                    }
                }
            }
        }
    }

    #[test]
    fn seeds_and_copies_give_different_points() {
        let pts = |seed, attempt| -> Vec<f64> {
            (0..64)
                .flat_map(|i| (0..4).map(move |j| coordinate(seed, attempt, i, j)))
                .collect()
        };
        let base = pts(42, 0);
        for other in [pts(43, 0), pts(42, 1), pts(0, 0)] {
            let same = base.iter().zip(&other).filter(|(a, b)| a == b).count();
            assert_eq!(same, 0, "{same} equal coordinates");
        }
        // The scramble is not the identity: point 0 is not at the origin.
        assert!((0..8).all(|j| coordinate(42, 0, 0, j) != 0.0));
    }

    /// Point i does not depend on how it was computed: in order, backwards, or alone.
    #[test]
    fn points_are_index_addressable() {
        let n = 4096u64;
        let forward: Vec<f64> = (0..n).map(|i| coordinate(5, 2, i, 9)).collect();
        let mut backward: Vec<f64> = (0..n).rev().map(|i| coordinate(5, 2, i, 9)).collect();
        backward.reverse();
        assert_eq!(forward, backward);
        let strided: Vec<(u64, f64)> = (0..n)
            .step_by(37)
            .map(|i| (i, coordinate(5, 2, i, 9)))
            .collect();
        for (i, u) in strided {
            assert_eq!(u.to_bits(), forward[i as usize].to_bits());
        }
    }

    /// The low 21 digits are not constant: the values use the whole f64 precision.
    #[test]
    fn values_have_53_bits() {
        let low: std::collections::HashSet<u64> = (0..256)
            .map(|i| ((coordinate(42, 0, i, 0) * 2f64.powi(53)) as u64) & ((1 << 21) - 1))
            .collect();
        assert!(low.len() > 250, "{} distinct low parts", low.len());
    }

    /// Star discrepancy-style check in 2-D: the largest deviation `|#{p in box}/n − area|`
    /// over the anchored boxes [0, a/97) × [0, b/97) (a non-dyadic grid of corners, so the
    /// net property alone does not make it exact), for n = 4096 and n = 3000 (a prefix that
    /// is not a whole net): a scrambled Sobol design is far more even than independent
    /// uniforms (which deviate by about 1/sqrt(n)).
    #[test]
    fn two_dimensional_discrepancy_is_low() {
        for n in [4096u64, 3000] {
            let sobol: Vec<(f64, f64)> = (0..n)
                .map(|i| (coordinate(42, 0, i, 2), coordinate(42, 0, i, 3)))
                .collect();
            let mut rng = crate::seeds::SampleRng::new(42, 0);
            let random: Vec<(f64, f64)> = (0..n).map(|_| (rng.uniform(), rng.uniform())).collect();
            let d_sobol = grid_discrepancy(&sobol);
            let d_random = grid_discrepancy(&random);
            eprintln!("grid star discrepancy, n = {n}: sobol {d_sobol:.5}, uniform {d_random:.5}");
            assert!(d_sobol < 0.003, "n {n}: sobol {d_sobol}");
            assert!(
                d_sobol * 4.0 < d_random,
                "n {n}: sobol {d_sobol}, uniform {d_random}"
            );
        }
    }

    /// Largest `|count/n − area|` over the anchored boxes with corners on a 97 × 97 grid.
    pub(crate) fn grid_discrepancy(pts: &[(f64, f64)]) -> f64 {
        const G: usize = 97;
        // counts[a][b]: points in cell (a, b) of the grid, then cumulated.
        let mut counts = vec![[0u32; G]; G];
        for &(u, v) in pts {
            counts[(u * G as f64) as usize][(v * G as f64) as usize] += 1;
        }
        let mut worst = 0f64;
        // cum[a][b]: points in [0, (a+1)/G) × [0, (b+1)/G).
        let mut cum = vec![[0u32; G]; G];
        for a in 0..G {
            for b in 0..G {
                let up = if a > 0 { cum[a - 1][b] } else { 0 };
                let left = if b > 0 { cum[a][b - 1] } else { 0 };
                let diag = if a > 0 && b > 0 { cum[a - 1][b - 1] } else { 0 };
                cum[a][b] = counts[a][b] + up + left - diag;
                let area = (a + 1) as f64 * (b + 1) as f64 / (G * G) as f64;
                let d = (f64::from(cum[a][b]) / pts.len() as f64 - area).abs();
                worst = worst.max(d);
            }
        }
        worst
    }
}
