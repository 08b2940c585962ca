//! The generation loop: prefill, then sample and decode token by token,
//! streaming text out. This is the hot path: per token it does one forward
//! pass, one sample over reused buffers and one atomic load for cancellation.
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::lookup::{self, Drafting, DRAFT_LEN};
use crate::model::Model;
use crate::qmatmul::STEP_ROWS;
use crate::sampler::{Sampler, SamplingParams};
use crate::template::Message;
pub use crate::template::Prompt;

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
    /// Further prompts and their completions, numbered after
    /// `completions`: decoded in the same batch where the model batches.
    #[serde(default)]
    pub also: Vec<Also>,
    /// Run the completions one after another even where they could be
    /// batched (benchmarks compare the two).
    #[serde(default)]
    pub sequential: bool,
    /// Set by the caller while the request runs: a completion marked here
    /// ends at its next token (its text so far is all the caller needs,
    /// e.g. a command another completion already gave).
    #[serde(skip)]
    pub enough: Option<std::sync::Arc<Enough>>,
    /// At most this many completions decode at once (0: all); the others
    /// start, in order, as earlier ones end. The first ones' tokens then
    /// come as fast as a narrow batch allows.
    #[serde(default)]
    pub width: usize,
    /// Greedy completions draft tokens from the text so far (`lookup`) and
    /// check them in the pass that runs their newest token, on the CPU
    /// path; the output is the same.
    #[serde(default = "yes")]
    pub speculate: bool,
}

fn yes() -> bool {
    true
}

/// One flag per completion, set from another thread, read once per token.
#[derive(Debug, Default)]
pub struct Enough(Box<[std::sync::atomic::AtomicBool]>);

impl Enough {
    pub fn new(completions: usize) -> Self {
        Self((0..completions).map(|_| Default::default()).collect())
    }

    /// Completion `index` may end now; out of range is ignored.
    pub fn set(&self, index: usize) {
        if let Some(f) = self.0.get(index) {
            f.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[inline]
    pub fn is_set(&self, index: usize) -> bool {
        self.0.get(index).is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Also {
    pub prompt: Prompt,
    pub completions: Vec<SamplingParams>,
}

impl Request {
    pub fn chat(messages: Vec<Message>) -> Self {
        Self {
            prompt: Prompt::Chat(messages),
            completions: vec![SamplingParams::greedy()],
            max_tokens: 128,
            stop: vec![],
            ignore_eos: false,
            also: vec![],
            sequential: false,
            enough: None,
            width: 0,
            speculate: true,
        }
    }

    /// Whether the caller has marked completion `index` as done.
    #[inline]
    fn enough(&self, index: usize) -> bool {
        self.enough.as_ref().is_some_and(|e| e.is_set(index))
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
    /// The caller marked it in `Request::enough`.
    Enough,
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
    /// From the request's start until every command shown was complete (its
    /// closing fence), before the explanations end; set by the suggestion
    /// layer, which knows what a command is. 0 where not measured.
    #[serde(default)]
    pub commands_ms: f64,
    /// As `commands_ms`, until the first shown command was complete.
    #[serde(default)]
    pub first_command_ms: f64,
    /// Tokens drafted from the text so far (`Request::speculate`).
    #[serde(default)]
    pub drafted_tokens: usize,
    /// Drafted tokens the model agreed with, each a step saved.
    #[serde(default)]
    pub accepted_tokens: usize,
    /// Other prompts' own tokens (a batch's second prompt after what it
    /// shares with the first: the tldr examples), not in `prompt_tokens`;
    /// 0 where completions run in turn (the GPU, `sequential`).
    #[serde(default)]
    pub tail_tokens: usize,
    /// Time computing them, not in `prefill_ms`; the part computed after
    /// decoding began paused the rows decoding for that long.
    #[serde(default)]
    pub tail_ms: f64,
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
    /// Completion `index` is finished; `text` is all of it. These come in
    /// the completions' order, also when they decode together.
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
    /// A batch's logits, a row per live sequence.
    rows: Vec<f32>,
    /// Each completion's first logits (its prompt's last), until it joins.
    first: Vec<f32>,
    /// A sampled token and its drafted followers, checked together; the
    /// batch's drafts before they join its rows.
    draft: Vec<u32>,
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

/// Runs every completion of `req`, emitting events; false when cancelled.
pub fn run(
    model: &mut Model,
    req: &Request,
    cancel: &dyn Cancel,
    scratch: &mut Scratch,
    emit: &mut dyn FnMut(Event),
) -> Result<bool> {
    let start = Instant::now();
    let context = model.info.context_length;
    let mut prompts = Vec::with_capacity(1 + req.also.len());
    for (prompt, completions) in
        std::iter::once((&req.prompt, &req.completions)).chain(req.also.iter().map(|a| (&a.prompt, &a.completions)))
    {
        let ids = prompt.ids(&model.tokenizer, &model.template)?;
        if ids.len() + 1 > context {
            return Err(EngineError::ContextOverflow { prompt_tokens: ids.len(), context });
        }
        prompts.push((ids, completions.as_slice()));
    }
    let longest = prompts.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
    let max_new = req.max_tokens.min(context - longest);
    let count: usize = prompts.iter().map(|(_, c)| c.len()).sum();
    let mut timings = Timings { prompt_tokens: prompts[0].0.len(), ..Default::default() };
    let done = if count > 1 && max_new > 0 && model.batches() && !req.sequential {
        run_batch(model, req, &prompts, max_new, cancel, scratch, emit, &mut timings, start)?
    } else {
        let mut index = 0;
        let mut all = true;
        for (ids, completions) in &prompts {
            for params in completions.iter() {
                if !run_one(model, req, ids, params, index, max_new, cancel, scratch, emit, &mut timings, start)? {
                    all = false;
                    break;
                }
                index += 1;
            }
            if !all {
                break;
            }
        }
        all
    };
    if !done {
        return Ok(false);
    }
    timings.total_ms = ms(start);
    emit(Event::Done(timings));
    Ok(true)
}

/// What a completion's newest token did to it.
enum Next {
    Go,
    Finished(FinishReason),
}

/// One completion's text as it is generated.
#[derive(Default)]
struct Text {
    out: String,
    pending: Vec<u8>,
    logprob_sum: f32,
    generated: usize,
}

impl Text {
    /// Takes sampled token `id`: emits its text and says whether the
    /// completion ends with it.
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        model: &Model,
        req: &Request,
        index: usize,
        id: u32,
        lp: f32,
        max_new: usize,
        emit: &mut dyn FnMut(Event),
    ) -> Next {
        if !req.ignore_eos && model.tokenizer.is_stop(id) {
            return Next::Finished(FinishReason::Stop);
        }
        self.generated += 1;
        self.logprob_sum += lp;
        self.pending.extend_from_slice(model.tokenizer.token_bytes(id));
        let piece = take_utf8(&mut self.pending);
        if !piece.is_empty() {
            let from = self.out.len();
            self.out.push_str(&piece);
            emit(Event::Token { index, text: piece });
            if let Some(cut) = find_stop(&self.out, from, &req.stop) {
                self.out.truncate(cut);
                return Next::Finished(FinishReason::StopString);
            }
        }
        if self.generated == max_new {
            return Next::Finished(FinishReason::Length);
        }
        Next::Go
    }

    fn finish(mut self, index: usize, finish: FinishReason, timings: &mut Timings, emit: &mut dyn FnMut(Event)) {
        if !self.pending.is_empty() {
            self.out.push_str(&String::from_utf8_lossy(&self.pending));
        }
        timings.generated_tokens += self.generated;
        let g = self.generated;
        let mean_logprob = if g > 0 { self.logprob_sum / g as f32 } else { 0.0 };
        emit(Event::CompletionDone { index, text: self.out, finish, tokens: g, mean_logprob });
    }
}

/// One completion on its own: prefill (reusing the cache), then a token
/// at a time.
#[allow(clippy::too_many_arguments)]
fn run_one(
    model: &mut Model,
    req: &Request,
    prompt: &[u32],
    params: &SamplingParams,
    index: usize,
    max_new: usize,
    cancel: &dyn Cancel,
    scratch: &mut Scratch,
    emit: &mut dyn FnMut(Event),
    timings: &mut Timings,
    start: Instant,
) -> Result<bool> {
    let mut sampler = Sampler::new(params.clone());
    let mut text = Text::default();
    if cancel.cancelled() {
        return Ok(false);
    }
    let t0 = Instant::now();
    let reused = model.prefill(prompt, &mut scratch.logits)?;
    if index == 0 {
        timings.prefill_ms = ms(t0);
        timings.cached_tokens = reused;
    }
    let mut finish = FinishReason::Length;
    let mut drafting = Drafting::new(req.speculate && params.temperature <= 0.0 && model.speculates());
    // Where checking a draft chose the next token, or ended the completion.
    let mut next = Pending::Logits;
    loop {
        // The cache holds exactly the prompt and the tokens so far.
        let (id, lp) = match std::mem::replace(&mut next, Pending::Logits) {
            Pending::Finished(f) => {
                finish = f;
                break;
            }
            Pending::Chosen(id, lp) => (id, lp),
            Pending::Logits if text.generated >= max_new => break,
            Pending::Logits => {
                let ts = Instant::now();
                let c = sampler.sample(&mut scratch.logits, model.history());
                timings.sample_ms += ms(ts);
                c
            }
        };
        if index == 0 && text.generated == 0 {
            timings.first_token_ms = ms(start);
        }
        if let Next::Finished(f) = text.take(model, req, index, id, lp, max_new, emit) {
            finish = f;
            break;
        }
        if cancel.cancelled() {
            break;
        }
        if req.enough(index) {
            finish = FinishReason::Enough;
            break;
        }
        scratch.draft.clear();
        scratch.draft.push(id);
        let len = drafting.len(max_new - text.generated, 1, &model.costs);
        lookup::draft(model.history(), id, len, &mut scratch.draft);
        let drafted = scratch.draft.len() - 1;
        let tf = Instant::now();
        if drafted == 0 {
            model.step(id, &mut scratch.logits)?;
            model.costs.note(1, ms(tf) as f32);
            continue;
        }
        // The token and its draft in one pass, then the cache cut back to
        // what was taken.
        let base = model.history().len();
        model.verify(&scratch.draft, &mut scratch.rows)?;
        model.costs.note(drafted + 1, ms(tf) as f32);
        let (taken, n) = check_draft(&mut sampler, &mut scratch.rows, model.history(), drafted, timings, |id, lp| {
            match text.take(model, req, index, id, lp, max_new, emit) {
                Next::Finished(f) => Some(f),
                Next::Go => req.enough(index).then_some(FinishReason::Enough),
            }
        });
        model.rewind(base + 1 + taken);
        drafting.drafted += drafted;
        drafting.accepted += taken;
        next = n;
    }
    timings.drafted_tokens += drafting.drafted;
    timings.accepted_tokens += drafting.accepted;
    if cancel.cancelled() {
        return Ok(false);
    }
    text.finish(index, finish, timings, emit);
    Ok(true)
}

/// A completion decoding in a batch: its own branch of the cache.
struct Seq {
    index: usize,
    sampler: Sampler,
    /// The prompt and the tokens so far, for the sampler.
    history: Vec<u32>,
    text: Text,
    branch: usize,
    /// The position its next token goes to.
    pos: usize,
    /// Not yet sampled: its logits are its prompt's, in `Scratch::first`.
    fresh: bool,
    /// Its row of the step's logits (its token's; drafted ones follow).
    row: usize,
    /// Tokens drafted after its newest one this step, which end `history`
    /// until they are checked.
    drafted: usize,
    drafting: Drafting,
    /// What checking its draft left: the next token, or its end.
    next: Pending,
    /// Its prompt's entry in the batch's `Tail`s.
    tail: usize,
}

/// A prompt of a batch: its completions are `first..` in order, and it
/// shares `shared` positions with the first prompt.
struct Tail {
    prompt: usize,
    first: usize,
    shared: usize,
    ready: bool,
}

/// Computes a prompt's own positions after those it shares in its first
/// completion's branch, copies them to its other completions' branches and
/// gives each its first logits (in `Scratch::first`).
fn start_tail(
    model: &mut Model,
    tail: &mut Tail,
    prompts: &[(Vec<u32>, &[SamplingParams])],
    max_new: usize,
    vocab: usize,
    scratch: &mut Scratch,
    timings: &mut Timings,
) -> Result<()> {
    let t0 = Instant::now();
    let (ids, completions) = &prompts[tail.prompt];
    let (first, shared) = (tail.first, tail.shared);
    let own = ids.len() - shared;
    // Its own positions, then every sampled token but the last, which is
    // never run.
    model.fork(first, shared, own + max_new)?;
    if own > 0 {
        let rows: Vec<(usize, usize)> = (shared..ids.len()).map(|pos| (first, pos)).collect();
        model.forward_branches(&ids[shared..], &rows, &mut scratch.logits, false)?;
    }
    if scratch.logits.len() != vocab {
        return Err(EngineError::Inference(format!("{} logits for a vocabulary of {vocab}", scratch.logits.len())));
    }
    for branch in first..first + completions.len() {
        model.copy_branch(first, branch, own)?;
        scratch.first[branch * vocab..(branch + 1) * vocab].copy_from_slice(&scratch.logits);
    }
    if tail.prompt > 0 {
        timings.tail_tokens += own;
        timings.tail_ms += ms(t0);
    }
    tail.ready = true;
    Ok(())
}

/// A completion's next token, where checking its draft decided it.
#[derive(Clone, Copy)]
enum Pending {
    /// Sampled from its logits row.
    Logits,
    Chosen(u32, f32),
    Finished(FinishReason),
}

/// Every completion at once: each prompt is prefilled once, each
/// completion gets a branch of the cache after its prompt, and each step
/// runs one token of every unfinished completion through a single forward,
/// so the weights are read once for all of them. A finished completion
/// leaves the batch.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    model: &mut Model,
    req: &Request,
    prompts: &[(Vec<u32>, &[SamplingParams])],
    max_new: usize,
    cancel: &dyn Cancel,
    scratch: &mut Scratch,
    emit: &mut dyn FnMut(Event),
    timings: &mut Timings,
    start: Instant,
) -> Result<bool> {
    let count: usize = prompts.iter().map(|(_, c)| c.len()).sum();
    if cancel.cancelled() {
        return Ok(false);
    }
    // The first prompt in the main cache, reusing what is there.
    let t0 = Instant::now();
    let main = &prompts[0].0;
    timings.cached_tokens = model.prefill(main, &mut scratch.logits)?;
    let vocab = scratch.logits.len();
    let width = if req.width == 0 { count } else { req.width.min(count) };
    let mut seqs: Vec<Seq> = Vec::with_capacity(count);
    // Each prompt's first completion, the positions it shares with the
    // first prompt, and whether its own are computed yet.
    let mut tails: Vec<Tail> = Vec::with_capacity(prompts.len());
    scratch.first.clear();
    scratch.first.resize(count * vocab, 0.0);
    for (p, (ids, completions)) in prompts.iter().enumerate() {
        // Other prompts share what they have in common with the first.
        let shared = if p == 0 { ids.len() } else { common_prefix(main, ids).min(ids.len() - 1) };
        tails.push(Tail { prompt: p, first: seqs.len(), shared, ready: false });
        for params in completions.iter() {
            let mut history = Vec::with_capacity(ids.len() + max_new);
            history.extend_from_slice(ids);
            seqs.push(Seq {
                index: seqs.len(),
                sampler: Sampler::new(params.clone()),
                history,
                text: Text::default(),
                branch: seqs.len(),
                pos: ids.len(),
                fresh: true,
                row: 0,
                drafted: 0,
                drafting: Drafting::new(req.speculate && params.temperature <= 0.0),
                next: Pending::Logits,
                tail: p,
            });
        }
    }
    timings.prefill_ms = ms(t0);
    // A prompt whose completions wait for a row is computed when its first
    // one joins, so the first tokens don't wait for it (another prompt's
    // own positions: the tldr examples, say).
    for tail in tails.iter_mut().filter(|t| t.first < width) {
        start_tail(model, tail, prompts, max_new, vocab, scratch, timings)?;
    }
    // At most `width` decode at once; the others join, in order, as rows
    // leave. Rows of `scratch.rows` belong to `live`'s sequences that ran a
    // token, in order; the fresh ones, after them, start from `first`.
    let mut live: Vec<usize> = (0..width).collect();
    let mut waiting = width..count;
    let mut finished: Vec<Option<(Text, FinishReason)>> = (0..count).map(|_| None).collect();
    let mut emitted = 0;
    let mut next = Vec::with_capacity(count);
    let mut tokens = Vec::with_capacity(count + DRAFT_LEN);
    let mut rows = Vec::with_capacity(count + DRAFT_LEN);
    while !live.is_empty() {
        if cancel.cancelled() {
            return Ok(false);
        }
        next.clear();
        tokens.clear();
        rows.clear();
        // Drafted rows go beside the others up to one pass over the weights,
        // as many as pay by what passes cost here (`Drafting::len`).
        let mut spare = STEP_ROWS.saturating_sub(live.len());
        for &s in live.iter() {
            let seq = &mut seqs[s];
            // Marked by the caller: it ends here, before sampling.
            let f = if req.enough(seq.index) {
                FinishReason::Enough
            } else {
                let chosen = match std::mem::replace(&mut seq.next, Pending::Logits) {
                    Pending::Finished(f) => Err(f),
                    Pending::Chosen(id, lp) => Ok((id, lp)),
                    Pending::Logits => {
                        let logits = if std::mem::take(&mut seq.fresh) {
                            &mut scratch.first[s * vocab..(s + 1) * vocab]
                        } else {
                            &mut scratch.rows[seq.row * vocab..(seq.row + 1) * vocab]
                        };
                        let ts = Instant::now();
                        let c = seq.sampler.sample(logits, &seq.history);
                        timings.sample_ms += ms(ts);
                        Ok(c)
                    }
                };
                if timings.first_token_ms == 0.0 {
                    timings.first_token_ms = ms(start);
                }
                match chosen.map(|(id, lp)| (id, seq.text.take(model, req, seq.index, id, lp, max_new, emit))) {
                    Ok((id, Next::Go)) => {
                        let room = (max_new - seq.text.generated).min(spare);
                        let len = seq.drafting.len(room, live.len(), &model.costs);
                        scratch.draft.clear();
                        lookup::draft(&seq.history, id, len, &mut scratch.draft);
                        seq.drafted = scratch.draft.len();
                        spare -= seq.drafted;
                        seq.history.push(id);
                        seq.history.extend_from_slice(&scratch.draft);
                        seq.row = rows.len();
                        tokens.push(id);
                        tokens.extend_from_slice(&scratch.draft);
                        rows.extend((0..=seq.drafted).map(|j| (seq.branch, seq.pos + j)));
                        seq.pos += 1;
                        next.push(s);
                        continue;
                    }
                    Ok((_, Next::Finished(f))) | Err(f) => f,
                }
            };
            // Done events go out in the completions' order, as when they
            // run in turn: the first is the greedy one.
            finished[seq.index] = Some((std::mem::take(&mut seq.text), f));
            timings.drafted_tokens += seq.drafting.drafted;
            timings.accepted_tokens += seq.drafting.accepted;
            while let Some(Some((text, f))) = finished.get_mut(emitted).map(Option::take) {
                text.finish(emitted, f, timings, emit);
                emitted += 1;
            }
            next.extend(waiting.next());
        }
        std::mem::swap(&mut live, &mut next);
        if live.is_empty() || cancel.cancelled() {
            break;
        }
        for &s in live.iter().filter(|&&s| seqs[s].fresh) {
            let tail = &mut tails[seqs[s].tail];
            if !tail.ready {
                start_tail(model, tail, prompts, max_new, vocab, scratch, timings)?;
            }
        }
        if !tokens.is_empty() {
            let tf = Instant::now();
            model.forward_branches(&tokens, &rows, &mut scratch.rows, true)?;
            model.costs.note(tokens.len(), ms(tf) as f32);
        }
        for &s in live.iter() {
            let seq = &mut seqs[s];
            let drafted = std::mem::take(&mut seq.drafted);
            if drafted == 0 {
                continue;
            }
            let Seq { sampler, history, text, index, row, .. } = seq;
            let rows = &mut scratch.rows[*row * vocab..(*row + 1 + drafted) * vocab];
            let (taken, n) = check_draft(sampler, rows, history, drafted, timings, |id, lp| {
                match text.take(model, req, *index, id, lp, max_new, emit) {
                    Next::Finished(f) => Some(f),
                    Next::Go => None,
                }
            });
            history.truncate(history.len() - drafted + taken);
            seq.pos += taken;
            seq.drafting.drafted += drafted;
            seq.drafting.accepted += taken;
            seq.next = n;
        }
    }
    Ok(!cancel.cancelled())
}

/// After one pass over a token and the `drafted` tokens after it (row j of
/// `rows`: the logits after the token and the draft's first j; `history`
/// ends with the token and the draft), takes the model's choice at each row
/// while it agrees with the draft, the same choice one step at a time would
/// make: `take` gets each agreed token and says if the completion ends
/// there. Returns how many drafted tokens were taken, and what comes next.
fn check_draft(
    sampler: &mut Sampler,
    rows: &mut [f32],
    history: &[u32],
    drafted: usize,
    timings: &mut Timings,
    mut take: impl FnMut(u32, f32) -> Option<FinishReason>,
) -> (usize, Pending) {
    let vocab = rows.len() / (drafted + 1);
    let base = history.len() - drafted;
    let mut choose = |j: usize| {
        let ts = Instant::now();
        let c = sampler.sample(&mut rows[j * vocab..(j + 1) * vocab], &history[..base + j]);
        timings.sample_ms += ms(ts);
        c
    };
    for j in 0..drafted {
        let (id, lp) = choose(j);
        if id != history[base + j] {
            return (j, Pending::Chosen(id, lp));
        }
        if let Some(f) = take(id, lp) {
            return (j + 1, Pending::Finished(f));
        }
    }
    let (id, lp) = choose(drafted);
    (drafted, Pending::Chosen(id, lp))
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
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
