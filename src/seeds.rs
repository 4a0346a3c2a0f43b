//! Deterministic per-sample seeding and a portable counter-based generator.
//!
//! # Seed derivations (recorded in the manifest as `rng_seeds.derivation_algorithm`)
//!
//! | flag | name in the manifest | per-sample seed of sample `i` |
//! |---|---|---|
//! | 0 `UME_SEED_ADD` | `global_seed + sample_index` | `global_seed + i` (mod 2^64): the prototype's rule |
//! | 1 `UME_SEED_SPLITMIX64` | `splitmix64(global_seed, sample_index)` | `mix64(global_seed + (i + 1) · γ)` (mod 2^64) |
//! | 2 `UME_SEED_CHACHA20` | `chacha20(key=global_seed, stream=sample_index)` | no integer seed: sample `i` draws from [`SampleRng::new`]`(global_seed, i)` |
//!
//! `γ = 0x9E3779B97F4A7C15` and `mix64(z)`: `z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9;
//! z = (z ^ (z >> 27)) · 0x94D049BB133111EB; z ^ (z >> 31)` (all mod 2^64): output `i` of
//! a SplitMix64 generator started at `global_seed`. `mix64` is a bijection and `γ` is odd,
//! so within one dataset no two samples share a seed, and datasets with neighbouring global
//! seeds (42, 43) do not share seeds either (with `global_seed + i` they share all but one).
//!
//! # The generator ([`SampleRng`], `ume_rng` in C)
//!
//! ChaCha20 (20 rounds, D. J. Bernstein's original layout: 64-bit block counter in state
//! words 12–13, 64-bit stream id in words 14–15), as implemented by
//! `rand_chacha::ChaCha20Rng`:
//! - key (32 bytes) = `global_seed` as 8 bytes little-endian, then 24 zero bytes;
//! - stream id = `sample_index`; block counter starts at 0;
//! - 64-bit output `k` (k = 0, 1, ...) = words `2(k mod 8)` (low half) and `2(k mod 8)+1`
//!   (high half) of the block with counter `⌊k/8⌋` (words are the little-endian 32-bit
//!   words of the 64-byte ChaCha20 keystream block).
//! - uniform: `(x >> 11) · 2^-53` for the next 64-bit output `x`, in `[0, 1)`.
//! - standard normal: Marsaglia's polar method. Repeat: `u = 2·U1 − 1`, `v = 2·U2 − 1`
//!   (two uniforms as above, U1 first), `s = u·u + v·v` (no fused multiply-add) until
//!   `0 < s < 1`; then `f = sqrt(−2·ln(s) / s)`, the draw is `u·f` and the next normal
//!   drawn is `v·f` (kept in the generator; a uniform drawn in between does not discard
//!   it). `ln` is the musl/FreeBSD `log` (the `libm` crate, only IEEE-754 basic operations)
//!   and `sqrt` is the correctly rounded IEEE-754 square root, so the library gives the
//!   same bits on every machine. A reimplementation with another `log` may differ in the
//!   last bit of some normals.
//!
//! Check values for a few `(global_seed, sample_index)` are in `tests/vectors/`.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::error::{Error, Result};

/// SplitMix64 increment (the golden ratio in 64-bit fixed point).
const SPLITMIX64_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// How per-sample seeds derive from the global seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedDerivation {
    /// `global_seed + sample_index` (the prototype's rule, kept for compatibility).
    Add,
    /// Output `sample_index` of SplitMix64 started at `global_seed` (collision-free).
    SplitMix64,
    /// Sample `i` draws from a ChaCha20 stream keyed by the global seed, stream id `i`.
    ChaCha20,
}

impl SeedDerivation {
    /// All derivations, in flag order.
    pub const ALL: [SeedDerivation; 3] = [
        SeedDerivation::Add,
        SeedDerivation::SplitMix64,
        SeedDerivation::ChaCha20,
    ];

    /// Name recorded in the manifest (`rng_seeds.derivation_algorithm`).
    pub fn name(self) -> &'static str {
        match self {
            SeedDerivation::Add => "global_seed + sample_index",
            SeedDerivation::SplitMix64 => "splitmix64(global_seed, sample_index)",
            SeedDerivation::ChaCha20 => "chacha20(key=global_seed, stream=sample_index)",
        }
    }

    /// The derivation named `name` in a manifest.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "derivation_algorithm '{name}' is not known (expected one of {:?})",
                    Self::ALL.map(|d| d.name())
                ))
            })
    }
}

/// The SplitMix64 output function (a bijection of u64).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The integer seed of sample `i` under `derivation`. ChaCha20 has none (use
/// [`SampleRng::new`]); asking for it is an error that says so.
pub fn sample_seed(global_seed: u64, i: u64, derivation: SeedDerivation) -> Result<u64> {
    match derivation {
        SeedDerivation::Add => Ok(global_seed.wrapping_add(i)),
        SeedDerivation::SplitMix64 => Ok(mix64(
            global_seed.wrapping_add(i.wrapping_add(1).wrapping_mul(SPLITMIX64_GAMMA)),
        )),
        SeedDerivation::ChaCha20 => Err(Error::invalid(
            "derivation 2 (UME_SEED_CHACHA20) has no integer seed: draw with ume_rng_new(global_seed, sample_index) instead",
        )),
    }
}

/// The portable per-sample generator (see the module documentation for the exact
/// algorithm). Identical output on every platform for the same `(global_seed, i)`.
#[derive(Debug, Clone)]
pub struct SampleRng {
    rng: ChaCha20Rng,
    spare_normal: Option<f64>,
}

impl SampleRng {
    /// The stream of sample `sample_index` under `global_seed`.
    pub fn new(global_seed: u64, sample_index: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&global_seed.to_le_bytes());
        let mut rng = ChaCha20Rng::from_seed(key);
        rng.set_stream(sample_index);
        Self {
            rng,
            spare_normal: None,
        }
    }

    /// The next raw 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform draw in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (polar method).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * libm::log(s) / s).sqrt();
                self.spare_normal = Some(v * f);
                return u * f;
            }
        }
    }

    /// An unbiased integer in `[0, n)` (`n >= 1`): draws `x` until `x < 2^64 − (2^64 mod n)`
    /// and returns `x mod n`.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let rem = (u64::MAX % n + 1) % n; // 2^64 mod n
        let zone = u64::MAX - rem; // accept x <= zone  <=>  x < 2^64 - rem
        loop {
            let x = self.rng.next_u64();
            if rem == 0 || x <= zone {
                return x % n;
            }
        }
    }

    /// Fills `buf` with uniforms.
    pub fn fill_uniform(&mut self, buf: &mut [f64]) {
        buf.iter_mut().for_each(|x| *x = self.uniform());
    }

    /// Fills `buf` with standard normals (the same values as `buf.len()` calls of
    /// [`SampleRng::normal`]).
    pub fn fill_normal(&mut self, buf: &mut [f64]) {
        buf.iter_mut().for_each(|x| *x = self.normal());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors file: one value per line, `global_seed sample_index kind k bits_hex`
    /// (kind: u64, uniform, normal, seed_add, seed_splitmix64; k = draw number).
    pub(crate) const VECTORS: &str = include_str!("../tests/vectors/rng_chacha20.txt");

    pub(crate) fn generate_vectors() -> String {
        let mut out = String::from(
            "# umedata RNG test vectors (see src/seeds.rs for the algorithm).\n\
             # global_seed sample_index kind k value_bits_hex\n\
             # kind u64: k-th 64-bit output of a fresh SampleRng(global_seed, sample_index)\n\
             # kind uniform / normal: k-th uniform / normal of a fresh generator (f64 bits)\n\
             # kind seed_add / seed_splitmix64: the per-sample integer seed (k = 0)\n",
        );
        let cases: [(u64, u64); 4] = [(0, 0), (42, 0), (42, 7), (u64::MAX, 123_456_789)];
        for (g, i) in cases {
            let mut r = SampleRng::new(g, i);
            for k in 0..16 {
                out += &format!("{g} {i} u64 {k} {:016x}\n", r.next_u64());
            }
            let mut r = SampleRng::new(g, i);
            for k in 0..16 {
                out += &format!("{g} {i} uniform {k} {:016x}\n", r.uniform().to_bits());
            }
            let mut r = SampleRng::new(g, i);
            for k in 0..1000 {
                out += &format!("{g} {i} normal {k} {:016x}\n", r.normal().to_bits());
            }
            for (d, kind) in [
                (SeedDerivation::Add, "seed_add"),
                (SeedDerivation::SplitMix64, "seed_splitmix64"),
            ] {
                out += &format!("{g} {i} {kind} 0 {:016x}\n", sample_seed(g, i, d).unwrap());
            }
        }
        out
    }

    #[test]
    fn vectors_match_checked_in_file() {
        let now = generate_vectors();
        if std::env::var_os("UME_WRITE_VECTORS").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/rng_chacha20.txt"
            );
            std::fs::write(path, &now).unwrap();
        }
        let lines = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let (want, got) = (lines(VECTORS), lines(&now));
        assert_eq!(want.len(), 4 * (16 + 16 + 1000 + 2));
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(w, g);
        }
    }

    #[test]
    fn chacha20_matches_rfc_block_function() {
        // Key = 0, stream 0: the keystream of ChaCha20 with an all-zero key and nonce
        // starts 76 b8 e0 ad a0 f1 3d 90 (RFC 7539 test vector A.1 #1, 64-bit nonce form).
        let mut r = SampleRng::new(0, 0);
        assert_eq!(
            r.next_u64().to_le_bytes(),
            [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90]
        );
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = SampleRng::new(7, 3);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = u.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let m = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(
            m.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "mean {m} var {var}"
        );
    }

    #[test]
    fn fill_equals_repeated_draws() {
        let mut a = SampleRng::new(5, 9);
        let mut b = a.clone();
        let mut buf = [0.0; 7];
        a.fill_normal(&mut buf);
        let one: Vec<f64> = (0..7).map(|_| b.normal()).collect();
        assert_eq!(buf.to_vec(), one);
        // A uniform between normals does not drop the spare normal.
        let mut c = SampleRng::new(5, 9);
        let z0 = c.normal();
        let _ = c.uniform();
        assert_eq!(z0, buf[0]);
        assert_eq!(c.normal(), buf[1]);
    }

    #[test]
    fn derivations() {
        assert_eq!(sample_seed(42, 3, SeedDerivation::Add).unwrap(), 45);
        assert_eq!(sample_seed(u64::MAX, 1, SeedDerivation::Add).unwrap(), 0);
        // SplitMix64 reference: seed 0 gives 0xE220A8397B1DCDAF first.
        assert_eq!(
            sample_seed(0, 0, SeedDerivation::SplitMix64).unwrap(),
            0xE220_A839_7B1D_CDAF
        );
        let seeds: std::collections::HashSet<u64> = (0..100_000)
            .map(|i| sample_seed(42, i, SeedDerivation::SplitMix64).unwrap())
            .collect();
        assert_eq!(seeds.len(), 100_000);
        // Neighbouring global seeds share no sample seeds.
        let other: std::collections::HashSet<u64> = (0..100_000)
            .map(|i| sample_seed(43, i, SeedDerivation::SplitMix64).unwrap())
            .collect();
        assert!(seeds.is_disjoint(&other));
        assert!(sample_seed(1, 1, SeedDerivation::ChaCha20)
            .unwrap_err()
            .message()
            .contains("ume_rng_new"));
        for d in SeedDerivation::ALL {
            assert_eq!(SeedDerivation::from_name(d.name()).unwrap(), d);
        }
    }

    #[test]
    fn below_is_in_range_and_unbiased_enough() {
        let mut r = SampleRng::new(1, 2);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[r.below(3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(r.below(1), 0);
    }
}
