//! The generation loop: prefill, then sample and decode token by token,
//! streaming text out. This is the hot path: per token it does one forward
//! pass, one sample over reused buffers and one atomic load for cancellation.
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::model::Model;
use crate::sampler::{Sampler, SamplingParams};
pub use crate::template::Prompt;
use crate::template::Message;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub prompt: Prompt,
    /// One completion per entry, each with its own sampling, run in order.
    pub completions: Vec<SamplingParams>,
    pub max_tokens: usize,
    /// Generation of a completion ends when its text contains one of these.
    pub stop: Vec<String>,
    /// Generate `max_tokens` even past end-of-turn (benchmarks).
    #[serde(default)]
    pub ignore_eos: bool,
}

impl Request {
    pub fn chat(messages: Vec<Message>) -> Self {
        Self {
            prompt: Prompt::Chat(messages),
            completions: vec![SamplingParams::greedy()],
            max_tokens: 128,
            stop: vec![],
            ignore_eos: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced an end-of-turn token.
    Stop,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` or the context ran out.
    Length,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values were reused from the cache.
    pub cached_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_ms: f64,
    /// From the request's start to the first generated token.
    pub first_token_ms: f64,
    pub total_ms: f64,
    /// Time spent choosing tokens from the logits (sampling), all tokens.
    pub sample_ms: f64,
}

impl Timings {
    /// Prompt tokens computed per second (reused ones don't count).
    pub fn prefill_tps(&self) -> f64 {
        per_second(self.prompt_tokens - self.cached_tokens, self.prefill_ms)
    }
}

fn per_second(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

#[derive(Debug)]
pub enum Event {
    /// A piece of completion `index`'s text.
    Token {
        index: usize,
        text: String,
    },
    /// Completion `index` is finished; `text` is all of it.
    CompletionDone {
        index: usize,
        text: String,
        finish: FinishReason,
        tokens: usize,
        mean_logprob: f32,
    },
    /// All completions are finished.
    Done(Timings),
    /// A newer request (or `Engine::cancel`) stopped this one.
    Cancelled,
    Error(EngineError),
}

/// Checked once per token; true when this request should stop.
pub trait Cancel {
    fn cancelled(&self) -> bool;
}

/// Reusable state for the loop, kept across requests.
#[derive(Default)]
pub struct Scratch {
    logits: Vec<f32>,
    pending: Vec<u8>,
}

/// Prefills `prompt` so that the next request sharing its start reuses
/// the cache; returns the tokens now cached (0 where the model cannot
/// reuse a prefix, and nothing is computed).
pub fn warm(model: &mut Model, prompt: &Prompt, scratch: &mut Scratch) -> Result<usize> {
    if !model.reuses_prefix() {
        return Ok(0);
    }
    let ids = prompt.ids(&model.tokenizer, &model.template)?;
    if ids.len() + 1 > model.info.context_length {
        return Err(EngineError::ContextOverflow { prompt_tokens: ids.len(), context: model.info.context_length });
    }
    model.prefill(&ids, &mut scratch.logits)?;
    Ok(ids.len())
}

pub fn run(
    model: &mut Model,
    req: &Request,
    cancel: &dyn Cancel,
    scratch: &mut Scratch,
    emit: &mut dyn FnMut(Event),
) -> Result<bool> {
    let start = Instant::now();
    let prompt = req.prompt.ids(&model.tokenizer, &model.template)?;
    let context = model.info.context_length;
    if prompt.len() + 1 > context {
        return Err(EngineError::ContextOverflow { prompt_tokens: prompt.len(), context });
    }
    let max_new = req.max_tokens.min(context - prompt.len());
    let mut timings = Timings { prompt_tokens: prompt.len(), ..Default::default() };

    for (index, params) in req.completions.iter().enumerate() {
        let mut sampler = Sampler::new(params.clone());
        scratch.pending.clear();
        let mut out = String::new();
        let mut logprob_sum = 0.0f32;
        let mut generated = 0usize;
        let mut finish = FinishReason::Length;

        if cancel.cancelled() {
            return Ok(false);
        }
        let t0 = Instant::now();
        let reused = model.prefill(&prompt, &mut scratch.logits)?;
        if index == 0 {
            timings.prefill_ms = ms(t0);
            timings.cached_tokens = reused;
        }
        while generated < max_new {
            // The cache holds exactly the prompt and the tokens so far.
            let ts = Instant::now();
            let (id, lp) = sampler.sample(&mut scratch.logits, model.history());
            timings.sample_ms += ms(ts);
            if index == 0 && generated == 0 {
                timings.first_token_ms = ms(start);
            }
            if !req.ignore_eos && model.tokenizer.is_stop(id) {
                finish = FinishReason::Stop;
                break;
            }
            generated += 1;
            logprob_sum += lp;
            scratch.pending.extend_from_slice(model.tokenizer.token_bytes(id));
            let piece = take_utf8(&mut scratch.pending);
            if !piece.is_empty() {
                let from = out.len();
                out.push_str(&piece);
                emit(Event::Token { index, text: piece });
                if let Some(cut) = find_stop(&out, from, &req.stop) {
                    out.truncate(cut);
                    finish = FinishReason::StopString;
                    break;
                }
            }
            if generated == max_new || cancel.cancelled() {
                break;
            }
            model.step(id, &mut scratch.logits)?;
        }
        if cancel.cancelled() {
            return Ok(false);
        }
        if !scratch.pending.is_empty() {
            out.push_str(&String::from_utf8_lossy(&scratch.pending));
        }
        timings.generated_tokens += generated;
        let mean_logprob = if generated > 0 { logprob_sum / generated as f32 } else { 0.0 };
        emit(Event::CompletionDone { index, text: out, finish, tokens: generated, mean_logprob });
    }
    timings.total_ms = ms(start);
    emit(Event::Done(timings));
    Ok(true)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Takes the longest valid UTF-8 prefix out of `buf`, leaving an incomplete
/// trailing sequence for the next token. Invalid bytes become U+FFFD.
fn take_utf8(buf: &mut Vec<u8>) -> String {
    match std::str::from_utf8(buf) {
        Ok(s) => {
            let s = s.to_string();
            buf.clear();
            s
        }
        Err(e) => {
            let valid = e.valid_up_to();
            let keep_tail = e.error_len().is_none() && buf.len() - valid < 4;
            if keep_tail {
                let s = String::from_utf8_lossy(&buf[..valid]).into_owned();
                buf.drain(..valid);
                s
            } else {
                let s = String::from_utf8_lossy(buf).into_owned();
                buf.clear();
                s
            }
        }
    }
}

/// The byte offset where the first stop string starts, looking only where the
/// newest piece (from `from`) could have completed one.
fn find_stop(out: &str, from: usize, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let mut begin = from.saturating_sub(s.len() - 1);
            while !out.is_char_boundary(begin) {
                begin -= 1;
            }
            out[begin..].find(s.as_str()).map(|i| begin + i)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_tokens_is_held_back() {
        let mut buf = "é".as_bytes()[..1].to_vec();
        assert_eq!(take_utf8(&mut buf), "");
        buf.extend_from_slice(&"é".as_bytes()[1..]);
        assert_eq!(take_utf8(&mut buf), "é");
        assert!(buf.is_empty());
    }

    #[test]
    fn invalid_bytes_do_not_stall_the_stream() {
        let mut buf = vec![b'a', 0xFF, b'b'];
        assert_eq!(take_utf8(&mut buf), "a\u{FFFD}b");
    }

    #[test]
    fn stop_string_found_across_pieces() {
        let stops = vec!["```\n".to_string()];
        let out = "ls -la\n``";
        assert_eq!(find_stop(out, 7, &stops), None);
        let out = "ls -la\n```\n";
        assert_eq!(find_stop(out, 9, &stops), Some(7));
    }
}
