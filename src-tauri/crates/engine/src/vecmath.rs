//! Vector math over the vocabulary and attention rows: reductions in lanes
//! so that they vectorize, and a branch-free exp. Used by the sampler and
//! by attention.

/// Lanes for the loops over the vocabulary: float reductions are not
/// reassociated by the compiler, so a single accumulator would keep them
/// scalar (~150,000 logits a token).
const LANES: usize = 16;

/// The first index of the largest value.
pub fn argmax(xs: &[f32]) -> u32 {
    let (mut best, mut at) = ([f32::NEG_INFINITY; LANES], [0u32; LANES]);
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for (c, chunk) in chunks.enumerate() {
        for i in 0..LANES {
            if chunk[i] > best[i] {
                best[i] = chunk[i];
                at[i] = (c * LANES + i) as u32;
            }
        }
    }
    let base = xs.len() - rest.len();
    let (mut v, mut id) = (f32::NEG_INFINITY, 0u32);
    let lanes = best.into_iter().zip(at);
    for (b, i) in lanes.chain(rest.iter().enumerate().map(|(i, &x)| (x, (base + i) as u32))) {
        if b > v || (b == v && i < id) {
            (v, id) = (b, i);
        }
    }
    id
}

pub(crate) fn log_sum_exp(xs: &[f32]) -> f32 {
    log_sum_exp_from(xs, max(xs))
}

/// The largest of `xs` (-inf for none), in lanes so that the loop
/// vectorizes.
pub(crate) fn max(xs: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            m[i] = if c[i] > m[i] { c[i] } else { m[i] };
        }
    }
    m.into_iter().chain(rest.iter().copied()).fold(f32::NEG_INFINITY, f32::max)
}

/// Log-sum-exp given the maximum of `xs`.
pub(crate) fn log_sum_exp_from(xs: &[f32], max: f32) -> f32 {
    if !max.is_finite() {
        return max;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// The same loop compiled for 16-wide vectors (the build targets AVX2).
        #[target_feature(enable = "avx512f")]
        unsafe fn wide(xs: &[f32], max: f32) -> f32 {
            sum_exp(xs, max)
        }
        // SAFETY: the CPU has AVX-512F.
        return max + unsafe { wide(xs, max) }.ln();
    }
    max + sum_exp(xs, max).ln()
}

#[inline(always)]
fn sum_exp(xs: &[f32], max: f32) -> f32 {
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    let mut acc = [0f32; LANES];
    for c in chunks {
        for i in 0..LANES {
            acc[i] += exp_le0(c[i] - max);
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|&x| exp_le0(x - max)).sum::<f32>()
}

/// e^x for x <= 0, without branches so that loops of it vectorize: with
/// x = n ln 2 + r and |r| <= ln 2 / 2, a degree-6 Taylor polynomial for e^r
/// (relative error below 2e-7). Below -87 it is 2^-126 x e^r, not 0.
#[inline(always)]
pub(crate) fn exp_le0(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    f32::from_bits((((n as i32) + 127) as u32) << 23) * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_and_log_sum_exp_match_the_standard_library() {
        for i in 0..=20_000 {
            let x = -100.0 * i as f32 / 20_000.0;
            let (a, b) = (exp_le0(x), x.exp());
            if x >= -87.0 {
                assert!((a - b).abs() <= 3e-7 * b, "exp({x}): {a} vs {b}");
            } else {
                assert!(a < 1e-37, "exp({x}) = {a}");
            }
        }
        // A vocabulary-sized row with a remainder past the lanes.
        let xs: Vec<f32> = (0..151_939).map(|i| ((i * 7919) % 1000) as f32 / 40.0 - 12.0).collect();
        let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let naive = max + xs.iter().map(|&x| ((x - max) as f64).exp()).sum::<f64>().ln() as f32;
        assert!((log_sum_exp(&xs) - naive).abs() < 1e-4, "{} vs {naive}", log_sum_exp(&xs));
        assert_eq!(log_sum_exp(&[f32::NEG_INFINITY; 3]), f32::NEG_INFINITY);
    }

    #[test]
    fn argmax_takes_the_first_of_equal_maxima_in_any_lane() {
        let mut xs = vec![0.0f32; 100];
        for at in [[3, 40], [40, 3], [17, 99], [98, 99]] {
            xs.iter_mut().for_each(|x| *x = 0.0);
            xs[at[0]] = 5.0;
            xs[at[1]] = 5.0;
            assert_eq!(argmax(&xs), at[0].min(at[1]) as u32, "{at:?}");
        }
        assert_eq!(argmax(&[1.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY; 20]), 0);
    }
}
