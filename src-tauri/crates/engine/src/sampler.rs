//! Token sampling over a logits slice. Buffers are reused between tokens so
//! the generation loop does not allocate; ChaCha8 keeps seeds portable.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 means greedy.
    pub temperature: f32,
    /// 0 disables top-k.
    pub top_k: usize,
    /// 1.0 disables top-p.
    pub top_p: f32,
    /// 1.0 disables the penalty.
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, repeat_penalty: 1.0, repeat_last_n: 64, seed: 0 }
    }
}

impl SamplingParams {
    pub fn greedy() -> Self {
        Self::default()
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha8Rng,
    candidates: Vec<(u32, f32)>,
    recent: Vec<u32>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(params.seed);
        Self { params, rng, candidates: Vec::new(), recent: Vec::new() }
    }

    /// Picks the next token and returns it with its log-probability under
    /// the model's unpenalised distribution (used to rank answers).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> (u32, f32) {
        let plain = self.params.repeat_penalty == 1.0 || self.params.repeat_last_n == 0;
        if self.params.temperature <= 0.0 && plain {
            // Greedy: the maximum is the chosen logit, one pass fewer.
            let id = argmax(logits);
            return (id, logits[id as usize] - log_sum_exp_from(logits, logits[id as usize]));
        }
        let lse = log_sum_exp(logits);
        let penalty = if self.params.repeat_penalty != 1.0 && self.params.repeat_last_n > 0 {
            self.apply_repeat_penalty(logits, history);
            self.params.repeat_penalty
        } else {
            1.0
        };
        let p = &self.params;
        if p.temperature <= 0.0 {
            let id = argmax(logits);
            return (id, raw_logprob(logits, id, lse, &self.recent, penalty));
        }
        let inv_t = 1.0 / p.temperature;
        self.candidates.clear();
        self.candidates.extend(logits.iter().enumerate().map(|(i, &l)| (i as u32, l * inv_t)));
        let desc = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1);
        if p.top_k > 0 && p.top_k < self.candidates.len() {
            self.candidates.select_nth_unstable_by(p.top_k - 1, desc);
            self.candidates.truncate(p.top_k);
        }
        let max = self.candidates.iter().map(|c| c.1).fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for c in self.candidates.iter_mut() {
            c.1 = (c.1 - max).exp();
            sum += c.1;
        }
        if p.top_p < 1.0 {
            self.candidates.sort_unstable_by(desc);
            let mut acc = 0.0;
            let mut keep = self.candidates.len();
            for (i, c) in self.candidates.iter().enumerate() {
                acc += c.1 / sum;
                if acc >= p.top_p {
                    keep = i + 1;
                    break;
                }
            }
            self.candidates.truncate(keep);
            sum = self.candidates.iter().map(|c| c.1).sum();
        }
        let mut r = self.rng.random::<f32>() * sum;
        let mut id = self.candidates.last().map(|c| c.0).unwrap_or(0);
        for c in &self.candidates {
            r -= c.1;
            if r <= 0.0 {
                id = c.0;
                break;
            }
        }
        (id, raw_logprob(logits, id, lse, &self.recent, penalty))
    }

    fn apply_repeat_penalty(&mut self, logits: &mut [f32], history: &[u32]) {
        let start = history.len().saturating_sub(self.params.repeat_last_n);
        self.recent.clear();
        self.recent.extend_from_slice(&history[start..]);
        self.recent.sort_unstable();
        self.recent.dedup();
        let penalty = self.params.repeat_penalty;
        for &id in &self.recent {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = if *l >= 0.0 { *l / penalty } else { *l * penalty };
            }
        }
    }
}

/// The unpenalised log-probability of `id`, undoing the penalty if applied.
fn raw_logprob(logits: &[f32], id: u32, lse: f32, penalised: &[u32], penalty: f32) -> f32 {
    let mut l = logits[id as usize];
    if penalty != 1.0 && penalised.binary_search(&id).is_ok() {
        l = if l >= 0.0 { l * penalty } else { l / penalty };
    }
    l - lse
}

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

fn log_sum_exp(xs: &[f32]) -> f32 {
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
fn log_sum_exp_from(xs: &[f32], max: f32) -> f32 {
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

    fn logits() -> Vec<f32> {
        vec![1.0, 3.0, 2.0, -1.0, 0.5]
    }

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

    #[test]
    fn greedy_takes_the_maximum() {
        let mut s = Sampler::new(SamplingParams::greedy());
        let (id, lp) = s.sample(&mut logits(), &[]);
        assert_eq!(id, 1);
        assert!(lp < 0.0 && lp > -1.0, "{lp}");
    }

    #[test]
    fn repeat_penalty_moves_greedy_off_a_repeated_token() {
        let params = SamplingParams { repeat_penalty: 10.0, ..SamplingParams::greedy() };
        let mut s = Sampler::new(params);
        let (id, _) = s.sample(&mut logits(), &[1, 1, 1]);
        assert_eq!(id, 2);
    }

    #[test]
    fn same_seed_same_draws_different_seed_differs() {
        let params = SamplingParams { temperature: 1.5, seed: 7, ..Default::default() };
        let draw = |p: SamplingParams| {
            let mut s = Sampler::new(p);
            (0..64).map(|_| s.sample(&mut logits(), &[]).0).collect::<Vec<_>>()
        };
        assert_eq!(draw(params.clone()), draw(params.clone()));
        assert_ne!(draw(params.clone()), draw(SamplingParams { seed: 8, ..params }));
    }

    #[test]
    fn top_k_one_is_greedy() {
        let params = SamplingParams { temperature: 5.0, top_k: 1, seed: 3, ..Default::default() };
        let mut s = Sampler::new(params);
        for _ in 0..32 {
            assert_eq!(s.sample(&mut logits(), &[]).0, 1);
        }
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Token 1 holds ~97% of the mass at this temperature.
        let params = SamplingParams { temperature: 0.3, top_p: 0.9, seed: 1, ..Default::default() };
        let mut s = Sampler::new(params);
        for _ in 0..64 {
            assert_eq!(s.sample(&mut logits(), &[]).0, 1);
        }
    }

    #[test]
    fn sampling_reaches_other_tokens_at_high_temperature() {
        let params = SamplingParams { temperature: 2.0, seed: 5, ..Default::default() };
        let mut s = Sampler::new(params);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(s.sample(&mut logits(), &[]).0);
        }
        assert!(seen.len() >= 4, "{seen:?}");
    }
}
