//! Token sampling over a logits slice. Buffers are reused between tokens so
//! the generation loop does not allocate; ChaCha8 keeps seeds portable.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::vecmath::{argmax, log_sum_exp, log_sum_exp_from};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Vec<f32> {
        vec![1.0, 3.0, 2.0, -1.0, 0.5]
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
