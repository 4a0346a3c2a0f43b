//! Memory layouts of caller buffers and the conversions between them and the stored,
//! row-major float32 form.
//!
//! A sample block of logical shape `dims` (e.g. `[T, n_obs]`) arrives in C order
//! (row-major: last index fastest) or Fortran/Julia order (column-major: first index
//! fastest). Storage is always C order float32, so a Fortran `traj(T, n_obs)` is
//! transposed here, not by the caller.

use crate::error::{Error, ErrorKind, Result};

/// Order of the elements of a caller buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Row-major (C, C++, NumPy default): the last index varies fastest.
    C,
    /// Column-major (Fortran, Julia): the first index varies fastest.
    F,
}

/// Element types accepted from callers; stored as float32.
pub trait Float: Copy + Send + Sync + 'static {
    /// Rounds to float32 (round to nearest, as C's `(float)x`).
    fn to_f32(self) -> f32;
    /// Widens from float32.
    fn from_f32(v: f32) -> Self;
    /// Whether the value is neither NaN nor infinite.
    fn is_finite_value(self) -> bool;
    /// Narrows from float64 (only called where the value is exact in `Self`).
    fn from_f64(v: f64) -> Self;
    /// Whether `Self` is float64 (so float64 data need not be rounded).
    const IS_F64: bool;
}

impl Float for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v
    }
    #[inline]
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    const IS_F64: bool = false;
}

impl Float for f64 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
    #[inline]
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    const IS_F64: bool = true;
}

/// Index of the first non-finite element, if any.
///
/// Runs on every value written, so the common case (all finite) is a branch-free count
/// the compiler vectorises; the exact position is searched only when there is one.
pub fn first_non_finite<T: Float>(src: &[T]) -> Option<usize> {
    let bad: usize = src.iter().map(|v| usize::from(!v.is_finite_value())).sum();
    if bad == 0 {
        return None;
    }
    src.iter().position(|v| !v.is_finite_value())
}

/// Appends one block of logical shape `dims` from `src` (in `layout`) to `dst` as
/// row-major float32. `src.len()` must equal the product of `dims`. C order is converted
/// straight onto the end of `dst`, without filling the space first.
pub fn extend_row_major_f32<T: Float>(
    dst: &mut Vec<f32>,
    src: &[T],
    dims: &[usize],
    layout: Layout,
) {
    if layout == Layout::C || dims.len() <= 1 {
        dst.extend(src.iter().map(|s| s.to_f32()));
        return;
    }
    let at = dst.len();
    dst.resize(at + src.len(), 0.0);
    let dst = &mut dst[at..];
    let strides = f_strides(dims);
    for_each_c_index(
        dims,
        |c_pos, f_pos| dst[c_pos] = src[f_pos].to_f32(),
        &strides,
    );
}

/// Copies one row-major float32 block of logical shape `dims` into `dst` in `layout`.
pub fn from_row_major_f32<T: Float>(dst: &mut [T], src: &[f32], dims: &[usize], layout: Layout) {
    debug_assert_eq!(dst.len(), src.len());
    if layout == Layout::C || dims.len() <= 1 {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = T::from_f32(*s);
        }
        return;
    }
    let strides = f_strides(dims);
    for_each_c_index(
        dims,
        |c_pos, f_pos| dst[f_pos] = T::from_f32(src[c_pos]),
        &strides,
    );
}

/// Copies one row-major block of logical shape `dims` (any element type, converted by
/// `conv`) into `dst` in `layout`.
pub fn from_row_major<S: Copy, T>(
    dst: &mut [T],
    src: &[S],
    dims: &[usize],
    layout: Layout,
    conv: impl Fn(S) -> T,
) {
    debug_assert_eq!(dst.len(), src.len());
    if layout == Layout::C || dims.len() <= 1 {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = conv(*s);
        }
        return;
    }
    let strides = f_strides(dims);
    for_each_c_index(dims, |c_pos, f_pos| dst[f_pos] = conv(src[c_pos]), &strides);
}

/// Column-major strides of `dims`.
fn f_strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = Vec::with_capacity(dims.len());
    let mut s = 1;
    for &d in dims {
        strides.push(s);
        s *= d;
    }
    strides
}

/// Walks all positions of `dims` in row-major order, calling `f(c_pos, f_pos)`.
/// The innermost loop is unrolled by hand for the common 2-d and 3-d cases.
fn for_each_c_index(dims: &[usize], mut f: impl FnMut(usize, usize), f_strides: &[usize]) {
    let n: usize = dims.iter().product();
    if n == 0 {
        return;
    }
    let last = dims.len() - 1;
    let inner = dims[last];
    let inner_stride = f_strides[last];
    let mut idx = vec![0usize; dims.len()];
    let mut c_pos = 0;
    while c_pos < n {
        let base: usize = idx[..last].iter().zip(f_strides).map(|(i, s)| i * s).sum();
        for k in 0..inner {
            f(c_pos + k, base + k * inner_stride);
        }
        c_pos += inner;
        // advance the outer index (odometer)
        let mut ax = last;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < dims[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}

/// Checks that a caller buffer has `expected` elements; names the array in the message.
pub fn check_len(array: &str, given: usize, expected: usize) -> Result<()> {
    if given == expected {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::LengthMismatch,
            format!("{array} buffer has {given} elements, expected {expected}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_block_is_transposed() {
        // logical (2, 3): C order 0..6 ; F order lists column by column
        let f: [f64; 6] = [0., 3., 1., 4., 2., 5.];
        let mut dst = Vec::new();
        extend_row_major_f32(&mut dst, &f, &[2, 3], Layout::F);
        assert_eq!(dst, [0., 1., 2., 3., 4., 5.]);
        let mut back = [0f64; 6];
        from_row_major_f32(&mut back, &dst, &[2, 3], Layout::F);
        assert_eq!(back, f);
    }

    #[test]
    fn three_d_round_trip_matches_index_formula() {
        let dims = [3usize, 4, 5];
        // F element (a,b,c) at a + 3*(b + 4*c); value = 100a + 10b + c
        let mut f = vec![0f32; 60];
        for a in 0..3 {
            for b in 0..4 {
                for c in 0..5 {
                    f[a + 3 * (b + 4 * c)] = (100 * a + 10 * b + c) as f32;
                }
            }
        }
        let mut dst = vec![7f32]; // appended after what is there
        extend_row_major_f32(&mut dst, &f, &dims, Layout::F);
        assert_eq!(dst.remove(0), 7.0);
        for a in 0..3 {
            for b in 0..4 {
                for c in 0..5 {
                    assert_eq!(dst[(a * 4 + b) * 5 + c], (100 * a + 10 * b + c) as f32);
                }
            }
        }
        let mut back = vec![0f32; 60];
        from_row_major_f32(&mut back, &dst, &dims, Layout::F);
        assert_eq!(back, f);
    }

    #[test]
    fn f64_rounds_to_nearest_f32() {
        let src = [0.1f64, 1.0 / 3.0];
        let mut dst = Vec::new();
        extend_row_major_f32(&mut dst, &src, &[2], Layout::C);
        assert_eq!(dst, [0.1f32, (1.0f64 / 3.0) as f32]);
    }

    #[test]
    fn finds_non_finite() {
        assert_eq!(first_non_finite(&[1.0f64, f64::NAN]), Some(1));
        assert_eq!(first_non_finite(&[1.0f32, 2.0]), None);
    }
}
