//! From a plain-words request to ranked, explained, risk-rated commands.
//! Builds the prompt, drives the engine, parses each completion, removes
//! duplicates and rates every candidate with `cmdbar-safety`.
pub mod context;
pub mod examples;
pub mod explain;
pub mod fix;
pub mod intent;
pub mod parse;
pub mod placeholder;
pub mod portability;
pub mod prompt;
pub mod rank;

use cmdbar_engine::{Also, Backend, EngineError, Event, ModelInfo, Request, SamplingParams, Timings};
use cmdbar_safety::{Action, Assessment, Dialect, Level, Risk};
use serde::{Deserialize, Serialize};

pub use context::{Context, Os, Shell};

/// Longest request kept, in characters; the rest is cut with a notice.
pub const MAX_QUERY_CHARS: usize = 2000;
/// Tokens set aside for the system prompt, the examples and the template.
const PROMPT_OVERHEAD_TOKENS: usize = 320;

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error("type what you want to do, e.g. \"list all files in this folder\"")]
    EmptyQuery,
    #[error("{0}")]
    NotARequest(String),
    #[error("the model's context ({context} tokens) is too small for a request; load a model with a larger one")]
    ContextTooSmall { context: usize },
    #[error("give a command to explain, e.g. \"tar -xzf site.tar.gz\"")]
    EmptyCommand,
    #[error("the command is {chars} characters long; explain takes up to {max}")]
    CommandTooLong { chars: usize, max: usize },
    #[error(transparent)]
    BadCommand(#[from] cmdbar_safety::ParseError),
    #[error("the model gave no usable command; try rephrasing the request")]
    NoCommand,
    #[error("cancelled by a newer request")]
    Cancelled,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub candidates: usize,
    /// Temperature of the candidates after the first, which is greedy.
    pub temperature: f32,
    pub seed: u64,
    pub max_tokens: usize,
    pub safety: Level,
    /// Worked examples from the tldr pages put into the prompt, at most.
    pub examples: usize,
    /// Decode the candidates one after another instead of together (the
    /// benchmark's comparison; the output is the same).
    pub sequential: bool,
    /// Completions drawn for the `candidates` shown (at least as many):
    /// more samples give agreement more to count and the rows more to
    /// choose from. As many as are shown decode at once; the others join
    /// as those end, so the first rows come no later.
    pub pool: usize,
    /// The greedy completion checks tokens drafted from the prompt several
    /// at a time (`Request::speculate`; the text is the same).
    pub speculate: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            candidates: 3,
            temperature: 0.7,
            seed: 42,
            max_tokens: 96,
            safety: Level::default(),
            examples: 3,
            sequential: false,
            pool: 5,
            speculate: true,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub command: String,
    pub explanation: String,
    pub risk: Risk,
    pub risk_reason: String,
    /// `confirm`: the user must confirm again before it is copied.
    pub action: Action,
    /// A safer command that does or shows the same first (a dry run, a
    /// preview, an interactive form), for high and critical ones.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub safer: Option<String>,
    /// Why it may not run on this system (e.g. a GNU-only flag on macOS).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portability: Option<String>,
    /// Mean log-probability of the answer's tokens; higher is surer.
    pub score: f32,
    /// How many of the request's completions gave this command (the same
    /// once whitespace is normalised): agreement among samples.
    #[serde(default = "one")]
    pub votes: u32,
    /// Its command is complete and its explanation is still being
    /// written: the same command follows again, complete.
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suggestions {
    pub candidates: Vec<Candidate>,
    /// Candidates left out by the safety level.
    pub hidden: usize,
    /// Things the user should know, e.g. that the request was cut.
    pub notices: Vec<String>,
    pub timings: Timings,
}

/// A checked request, ready for the engine.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// With examples: the greedy answer and half the samples from the
    /// prompt without them (so what the model knows is not overridden by a
    /// loosely matching example), the other samples from the prompt with
    /// them, in `also`.
    pub request: Request,
    pub notices: Vec<String>,
    judge: Judge,
    want: usize,
    opts: Options,
}

/// Checks the query and builds the engine request for `model`. Its control
/// tokens are removed, so a query cannot end its turn, and a query too long
/// for the context is cut with a notice.
pub fn prepare(ctx: &Context, query: &str, opts: &Options, model: &ModelInfo) -> Result<Prepared, SuggestError> {
    prepare_with(ctx, query, opts, model, None)
}

/// As `prepare`, with up to `opts.examples` worked examples for the
/// request from `examples`, when there are any that fit.
pub fn prepare_with(
    ctx: &Context,
    query: &str,
    opts: &Options,
    model: &ModelInfo,
    examples: Option<&examples::Examples>,
) -> Result<Prepared, SuggestError> {
    let q = model.control_tokens.strip(query);
    let q = q.trim();
    check_query(q)?;
    // A token is at least one byte of text, so bytes bound the tokens.
    let room = model.context_length.saturating_sub(PROMPT_OVERHEAD_TOKENS + opts.max_tokens);
    if room < 16 {
        return Err(SuggestError::ContextTooSmall { context: model.context_length });
    }
    let (q, notices) = cut(q, MAX_QUERY_CHARS, room);
    let mut hints = examples.map(|e| e.for_query(&q, opts.examples)).unwrap_or_default();
    // Examples only where they fit beside the request (a byte bounds a token).
    let mut spare = room.saturating_sub(q.len());
    hints.retain(|e| {
        let cost = e.description.len() + e.command.len() + 8;
        let fits = cost + 120 <= spare;
        if fits {
            spare -= cost;
        }
        fits
    });
    let n = opts.candidates.max(1);
    let drawn = opts.pool.max(n);
    let ask = |messages, completions| Request {
        prompt: cmdbar_engine::Prompt::Chat(messages),
        completions,
        max_tokens: opts.max_tokens,
        stop: vec!["\n\n".into()],
        ignore_eos: false,
        also: vec![],
        sequential: opts.sequential,
        enough: None,
        // As many decode at once as rows are shown, so the first rows come
        // as fast as with no pool; the rest join as rows end.
        width: n,
        speculate: opts.speculate,
    };
    let request = if hints.is_empty() || drawn == 1 {
        ask(prompt::messages(ctx, &q), completions(0, drawn, opts.temperature, opts.seed))
    } else {
        // The greedy answer from the plain prompt, the samples shared
        // between it and the one with examples (the model's own knowledge
        // and the pages' each get votes; with most samples fed examples,
        // they outvoted a right greedy answer on dev), the second half with
        // examples: decoded together, sharing the cached prefix.
        let plain = drawn.div_ceil(2);
        let mut r = ask(prompt::messages(ctx, &q), completions(0, plain, opts.temperature, opts.seed));
        r.also = vec![Also {
            prompt: cmdbar_engine::Prompt::Chat(prompt::messages_with(ctx, &q, &hints)),
            completions: completions(plain, drawn - plain, opts.temperature, opts.seed),
        }];
        r
    };
    Ok(Prepared { request, notices, judge: Judge::new(ctx.os, ctx.shell, Some(&q)), want: n, opts: opts.clone() })
}

/// How a command is rated for a request: in the user's shell's syntax, and
/// never below what the request itself asks for ("wipe my home folder"
/// stays high even when the model answers with an `echo`).
#[derive(Debug, Clone)]
pub struct Judge {
    pub os: Os,
    pub shell: Shell,
    /// The request's own risk, if its intent is destructive.
    pub floor: Option<Assessment>,
    /// The request names the current folder ("here", "this folder"): a
    /// placeholder folder in a command is `.`.
    pub here: bool,
}

impl Judge {
    pub fn new(os: Os, shell: Shell, request: Option<&str>) -> Self {
        Self {
            os,
            shell,
            floor: request.and_then(cmdbar_safety::request_risk),
            here: request.is_some_and(placeholder::names_current_folder),
        }
    }

    pub fn assess(&self, command: &str) -> Assessment {
        let dialect = match self.shell {
            Shell::Zsh => Dialect::Zsh,
            Shell::Fish => Dialect::Fish,
            Shell::Bash | Shell::Sh => Dialect::Bash,
        };
        let mut a = cmdbar_safety::classify_in(command, dialect);
        if let Some(f) = self.floor.as_ref().filter(|f| f.risk > a.risk) {
            a.risk = f.risk;
            a.reason = f.reason.clone();
        }
        a
    }
}

/// The checks that need no model: an empty query, or small talk.
/// Computes the prompt's fixed start (system message and examples) into
/// the engine's cache right after a load, so the first request is as fast
/// as the second. Returns at once; the reply says how many tokens were
/// cached.
pub fn warm_up(engine: &dyn Backend, ctx: &Context) -> std::sync::mpsc::Receiver<cmdbar_engine::Result<usize>> {
    engine.warm(cmdbar_engine::Prompt::Chat(prompt::prefix(ctx)))
}

pub fn check_query(query: &str) -> Result<(), SuggestError> {
    let q = query.trim();
    if q.is_empty() {
        return Err(SuggestError::EmptyQuery);
    }
    match intent::not_a_request(q) {
        Some(help) => Err(SuggestError::NotARequest(help)),
        None => Ok(()),
    }
}

/// Cuts at a word boundary to at most `max_chars` characters and
/// `max_bytes` bytes.
fn cut(q: &str, max_chars: usize, max_bytes: usize) -> (String, Vec<String>) {
    let end = q.char_indices().nth(max_chars).map_or(q.len(), |(i, _)| i).min(max_bytes);
    if end >= q.len() {
        return (q.to_string(), vec![]);
    }
    let mut end = end;
    while !q.is_char_boundary(end) {
        end -= 1;
    }
    let end = q[..end].rfind(char::is_whitespace).filter(|&i| i > end / 2).unwrap_or(end);
    let kept = q[..end].trim_end();
    let notice = format!(
        "Your request was cut to its first {} of {} characters to fit the model.",
        kept.chars().count(),
        q.chars().count()
    );
    (kept.to_string(), vec![notice])
}

/// Completion `first..first+n`: the very first is greedy, the rest sampled.
fn completions(first: usize, n: usize, temperature: f32, seed: u64) -> Vec<SamplingParams> {
    (first..first + n)
        .map(|i| {
            if i == 0 {
                SamplingParams::greedy()
            } else {
                SamplingParams { temperature, top_p: 0.95, top_k: 40, seed: seed + i as u64, ..Default::default() }
            }
        })
        .collect()
}

/// Turns one completion into a candidate, or None if it holds no command.
pub fn candidate(text: &str, score: f32, judge: &Judge, level: Level) -> Option<Candidate> {
    Some(rate(command_of(text, judge)?, score, judge, level))
}

/// A completion's command and explanation, the command as it will be shown.
fn command_of(text: &str, judge: &Judge) -> Option<parse::Parsed> {
    let mut p = parse::parse(text)?;
    if judge.here {
        if let Some(fixed) = placeholder::current_folder(&p.command) {
            p.command = fixed;
        }
    }
    Some(p)
}

/// The candidate with its verdicts: the safety judge and the portability
/// check, run once per distinct command shown (a hidden one is judged
/// again when its completion ends, as it is not kept).
fn rate(p: parse::Parsed, score: f32, judge: &Judge, level: Level) -> Candidate {
    let a = judge.assess(&p.command);
    Candidate {
        safer: a.safer,
        portability: portability::problem(judge.os, &p.command),
        action: level.action(a.risk),
        command: p.command,
        explanation: p.explanation,
        risk: a.risk,
        risk_reason: a.reason,
        score,
        votes: 1,
        pending: false,
    }
}

/// Runs a request to the end, calling `on_candidate` as each new, distinct,
/// shown candidate's command is complete (`pending`, its explanation still
/// to come) and again once it is whole, so a UI can show the first command
/// before the rest are done. If samples repeat each other, one more round
/// asks for others.
pub fn suggest(
    engine: &dyn Backend,
    prepared: Prepared,
    on_candidate: impl FnMut(&Candidate),
) -> Result<Suggestions, SuggestError> {
    suggest_with(engine, prepared, &Stop::default(), on_candidate)
}

/// Each distinct command so far, with when it was complete (ms).
type Seen = Vec<(String, f64)>;

/// As `suggest`, ending early with `Cancelled` once `stop` is stopped.
pub fn suggest_with(
    engine: &dyn Backend,
    prepared: Prepared,
    stop: &Stop,
    mut on_candidate: impl FnMut(&Candidate),
) -> Result<Suggestions, SuggestError> {
    let Prepared { mut request, notices, judge, want, opts } = prepared;
    // The first round's own prompt, without examples or a later round's asks.
    let plain = request.prompt.clone();
    let started = std::time::Instant::now();
    let mut out = Suggestions { candidates: vec![], hidden: 0, notices, timings: Timings::default() };
    // Every distinct command so far (hidden ones too), and when each
    // one's command was complete.
    let mut seen: Seen = vec![];
    let mut prose: Option<String> = None;
    let mut drawn = request.completions.len() + request.also.iter().map(|a| a.completions.len()).sum::<usize>();
    // How many distinct commands are kept; a repair round adds room.
    let mut cap = drawn.max(want);
    // The rows streamed so far, by command key, in the order shown, each
    // as it was first shown.
    let mut streamed: Vec<(String, Candidate)> = vec![];
    let mut absorb =
        |text: &str, score: f32, command_ms: f64, whole: bool, out: &mut Suggestions, seen: &mut Seen, cap: usize| {
            let shown = |streamed: &[(String, Candidate)], key: &str| streamed.iter().position(|(k, _)| k == key);
            if !whole {
                // A command just complete: shown at once if it is new and a row
                // is free; its explanation follows when its completion ends.
                let Some(p) = command_of(text, &judge) else { return };
                let key = rank::key(&p.command);
                if streamed.len() >= want || shown(&streamed, &key).is_some() || seen.iter().any(|(k, _)| *k == key) {
                    return;
                }
                let c = rate(p, score, &judge, opts.safety);
                if c.action != Action::Hide {
                    let c = Candidate { explanation: String::new(), pending: true, ..c };
                    tracing::debug!(
                        "row shown at {:.0} ms, pending: {}",
                        started.elapsed().as_secs_f64() * 1e3,
                        c.command
                    );
                    on_candidate(&c);
                    streamed.push((key, c));
                }
                return;
            }
            // Each completion as written (CMDBAR_LOG=cmdbar_suggest=debug): why a row is missing or unexplained.
            tracing::debug!("completion ({score:.3}): {text:?}");
            if parse::is_prose(text) {
                prose.get_or_insert_with(|| text.to_string());
                return;
            }
            let Some(p) = command_of(text, &judge) else {
                tracing::debug!("no command in completion: {text:?}");
                return;
            };
            let key = rank::key(&p.command);
            let row = shown(&streamed, &key);
            if let Some(same) = out.candidates.iter_mut().find(|x| rank::key(&x.command) == key) {
                same.votes += 1;
                // A repeat was ended once its command was out; the first to
                // give it may have been the one cut short.
                if same.explanation.is_empty() && !p.explanation.is_empty() {
                    same.explanation = p.explanation;
                    // A row on screen gets it now, not only in the final answer.
                    if row.is_some() {
                        on_candidate(same);
                    }
                }
                return;
            }
            if seen.iter().any(|(k, _)| *k == key) || seen.len() >= cap {
                return;
            }
            seen.push((key.clone(), command_ms));
            // A row shown while pending keeps the command it was shown with
            // (another completion may spell it otherwise, as the shell reads it
            // the same) and so that command's verdicts: judged once.
            let c = match row {
                Some(i) => Candidate { explanation: p.explanation, score, pending: false, ..streamed[i].1.clone() },
                None => rate(p, score, &judge, opts.safety),
            };
            if c.action == Action::Hide {
                out.hidden += 1;
                return;
            }
            // Shown as they come; the final order (below) may replace one.
            if row.is_some() || streamed.len() < want {
                if row.is_none() {
                    streamed.push((key, c.clone()));
                }
                tracing::debug!("row shown at {:.0} ms, whole: {}", started.elapsed().as_secs_f64() * 1e3, c.command);
                on_candidate(&c);
            }
            out.candidates.push(c);
        };
    for round in 0..2 {
        // A completion whose command another one already gave ends there:
        // it counts as a vote and needs no explanation.
        let count = request.completions.len() + request.also.iter().map(|a| a.completions.len()).sum::<usize>();
        let enough = std::sync::Arc::new(cmdbar_engine::Enough::new(count));
        request.enough = Some(enough.clone());
        let mut repeats = Repeats::new(&enough, &out.candidates);
        // The second round starts only while this is still the newest
        // request: started after a newer one, it would cancel that one (and
        // leave its popup on "Thinking…").
        let Some(events) = start(engine, request.clone(), stop) else {
            return Err(SuggestError::Cancelled);
        };
        let timings = match drain(events, started, &mut repeats, |_, text, score, at, whole| {
            absorb(text, score, at, whole, &mut out, &mut seen, cap)
        }) {
            Ok(t) => t,
            // A later round only adds: where it fails (its longer prompt
            // may not fit the context), what the first gave stands.
            Err(e) if round > 0 && !matches!(e, SuggestError::Cancelled) && !out.candidates.is_empty() => {
                tracing::warn!("round {round} failed, keeping the first round's candidates: {e}");
                break;
            }
            Err(e) => return Err(e),
        };
        merge(&mut out.timings, &timings, round);
        let missing = want.saturating_sub(seen.len());
        // Not one command shown will run on the target (a GNU-only flag on
        // macOS, a program not installed): ranking cannot help, so the model
        // is asked once more, told why each failed.
        let broken: Vec<(String, String)> = if out.candidates.iter().all(|c| c.portability.is_some()) {
            out.candidates.iter().take(want).filter_map(|c| Some((c.command.clone(), c.portability.clone()?))).collect()
        } else {
            vec![]
        };
        if round == 1 || (broken.is_empty() && (missing == 0 || want == 1)) {
            break;
        }
        if let Some(also) = request.also.pop() {
            request.prompt = also.prompt;
        }
        request.also.clear();
        let given: Vec<String> = out.candidates.iter().map(|c| c.command.clone()).collect();
        if let cmdbar_engine::Prompt::Chat(m) = &mut request.prompt {
            if let Some(last) = m.last_mut() {
                last.content = if broken.is_empty() {
                    prompt::ask_for_others(&last.content, &given)
                } else {
                    prompt::ask_for_working(&last.content, judge.os, &broken)
                };
            }
        }
        if broken.is_empty() {
            // Samples that repeat the first answer are the model being
            // sure; ask it outright for other commands, twice as many as
            // are missing, from the samples' prompt.
            request.completions = completions(drawn, missing * 2, opts.temperature, opts.seed);
            drawn += missing * 2;
        } else {
            // Its surest answer to the corrected request, and samples.
            request.completions =
                [completions(0, 1, 0.0, 0), completions(drawn, want, opts.temperature, opts.seed)].concat();
            drawn += want;
            cap += want + 1;
        }
    }
    if out.hidden > 0 {
        out.notices.push(format!("{} suggestion(s) hidden by the {} safety level.", out.hidden, opts.safety.as_str()));
    } else if out.candidates.is_empty() {
        return Err(match prose {
            Some(_) => SuggestError::NotARequest(intent::HELP.into()),
            None => SuggestError::NoCommand,
        });
    }
    rank::rank(&mut out.candidates, want);
    out.candidates.truncate(want);
    let at: Vec<f64> = out
        .candidates
        .iter()
        .filter_map(|c| seen.iter().find(|(k, _)| *k == rank::key(&c.command)).map(|(_, at)| *at))
        .collect();
    out.timings.commands_ms = at.iter().copied().fold(0.0, f64::max);
    out.timings.first_command_ms = at.iter().copied().reduce(f64::min).unwrap_or(0.0);
    explain_missing(engine, &request, &plain, &mut out, stop)?;
    // What the user waited, on the same clock as the commands' times: the
    // engine's own sum leaves out a wait behind other work (the first
    // request after a load waits for the prompt's warm-up).
    out.timings.total_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(out)
}

/// Most tokens an explanation written afterwards may take: one sentence.
const EXPLANATION_TOKENS: usize = 48;

/// Rows whose every completion stopped at the closing fence have no
/// explanation; each row is to have one. The model is asked for them in one
/// batch: the command as its answer to the request, then "what does it do".
/// They come after the commands are shown; one that fails leaves its row as
/// it was.
fn explain_missing(
    engine: &dyn Backend,
    template: &Request,
    plain: &cmdbar_engine::Prompt,
    out: &mut Suggestions,
    stop: &Stop,
) -> Result<(), SuggestError> {
    let cmdbar_engine::Prompt::Chat(base) = plain else { return Ok(()) };
    let missing: Vec<usize> = (0..out.candidates.len()).filter(|&i| out.candidates[i].explanation.is_empty()).collect();
    let mut asks = missing.iter().map(|&i| prompt::ask_to_explain(base, &out.candidates[i].command));
    let Some(first) = asks.next() else { return Ok(()) };
    let request = Request {
        also: asks
            .map(|m| Also { prompt: cmdbar_engine::Prompt::Chat(m), completions: vec![SamplingParams::greedy()] })
            .collect(),
        max_tokens: EXPLANATION_TOKENS,
        stop: vec!["\n".into()],
        sequential: template.sequential,
        speculate: template.speculate,
        ..Request::chat(first)
    };
    let began = std::time::Instant::now();
    let mut lines: Vec<Option<String>> = vec![None; missing.len()];
    let t = match run(engine, request, stop, |index, text, _| {
        if let Some(line) = lines.get_mut(index) {
            *line = parse::explanation(text);
        }
    }) {
        Ok(t) => t,
        Err(SuggestError::Cancelled) => return Err(SuggestError::Cancelled),
        Err(e) => {
            tracing::warn!("explaining {} row(s) failed, leaving them as they are: {e}", missing.len());
            return Ok(());
        }
    };
    merge(&mut out.timings, &t, 2);
    tracing::debug!(
        "explained {} row(s) afterwards in {:.0} ms: {} prompt tokens ({} cached) in {:.0} ms, {} generated",
        missing.len(),
        began.elapsed().as_secs_f64() * 1e3,
        t.prompt_tokens,
        t.cached_tokens,
        t.prefill_ms,
        t.generated_tokens
    );
    for (&i, line) in missing.iter().zip(lines) {
        if let Some(line) = line {
            out.candidates[i].explanation = line;
        }
    }
    Ok(())
}

/// Feeds each finished completion to `done` with its index and returns the
/// timings; `Cancelled` once `stop` is stopped.
pub(crate) fn run(
    engine: &dyn Backend,
    request: Request,
    stop: &Stop,
    mut done: impl FnMut(usize, &str, f32),
) -> Result<Timings, SuggestError> {
    let events = start(engine, request, stop).ok_or(SuggestError::Cancelled)?;
    let never = cmdbar_engine::Enough::new(0);
    drain(events, std::time::Instant::now(), &mut Repeats::new(&never, &[]), |i, text, score, _, whole| {
        if whole {
            done(i, text, score)
        }
    })
}

/// Each engine's newest request: (engine, ticket). Engines are few and
/// long-lived. Tickets are taken and checked under this one lock.
static NEWEST: std::sync::Mutex<Vec<(usize, u64)>> = std::sync::Mutex::new(Vec::new());

fn newest(engine: &dyn Backend) -> (std::sync::MutexGuard<'static, Vec<(usize, u64)>>, usize) {
    // The data pointer: one engine, one key, whatever the vtable.
    let key = engine as *const dyn Backend as *const () as usize;
    let mut all = NEWEST.lock().unwrap_or_else(|e| e.into_inner());
    let i = match all.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            all.push((key, 0));
            all.len() - 1
        }
    };
    (all, i)
}

/// Ends one request, all its rounds, without touching a newer request on
/// the same engine (another client's, or the popup's).
#[derive(Debug, Default)]
pub struct Stop {
    /// The request's ticket once started; 0 before. Written under NEWEST.
    ticket: std::sync::atomic::AtomicU64,
    stopped: std::sync::atomic::AtomicBool,
}

impl Stop {
    /// Stops the request: its running round is cancelled if it is still the
    /// engine's newest request, and no later round starts.
    pub fn stop(&self, engine: &dyn Backend) {
        use std::sync::atomic::Ordering::SeqCst;
        let (all, i) = newest(engine);
        self.stopped.store(true, SeqCst);
        let t = self.ticket.load(SeqCst);
        if t != 0 && all[i].1 == t {
            engine.cancel();
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Starts `request` on `engine`. A request's first round becomes the
/// engine's newest and takes a ticket. A later round starts only if no
/// newer request has begun since and the request is not stopped (else
/// None). The check and the start happen under one lock, so a newer request
/// starts either before (and this round is not started) or after (and
/// cancels it, as it should).
fn start(
    engine: &dyn Backend,
    request: Request,
    stop: &Stop,
) -> Option<std::sync::mpsc::Receiver<cmdbar_engine::Event>> {
    use std::sync::atomic::Ordering::SeqCst;
    let (mut all, i) = newest(engine);
    if stop.stopped.load(SeqCst) {
        return None;
    }
    match stop.ticket.load(SeqCst) {
        0 => {
            all[i].1 += 1;
            stop.ticket.store(all[i].1, SeqCst);
        }
        t if all[i].1 != t => return None,
        _ => {}
    }
    Some(engine.generate(request))
}

/// Ends a completion once it repeats a command another one gave and that
/// one is explaining it: the repeat counts as a vote and needs no
/// explanation of its own. A repeat is not ended before, since the first
/// may end without one.
struct Repeats<'a> {
    enough: &'a cmdbar_engine::Enough,
    /// Per command: the completion that gave it first (None: an earlier
    /// round's), and whether an explanation has begun.
    given: Vec<(String, Option<usize>, bool)>,
    /// Repeats waiting for their command's explanation: (completion, command).
    waiting: Vec<(usize, usize)>,
}

impl<'a> Repeats<'a> {
    fn new(enough: &'a cmdbar_engine::Enough, earlier: &[Candidate]) -> Self {
        let given = earlier.iter().map(|c| (rank::key(&c.command), None, !c.explanation.is_empty())).collect();
        Self { enough, given, waiting: vec![] }
    }

    /// Completion `index`'s command is complete: `text` is all of it so far.
    fn closed(&mut self, index: usize, text: &str) {
        let Some(p) = parse::parse(text) else { return };
        let key = rank::key(&p.command);
        match self.given.iter().position(|(k, _, _)| *k == key) {
            Some(k) if self.given[k].2 => self.enough.set(index),
            Some(k) => self.waiting.push((index, k)),
            None => self.given.push((key, Some(index), false)),
        }
    }

    /// A piece of completion `index`'s text after its command.
    fn after(&mut self, index: usize, piece: &str) {
        if piece.trim().is_empty() {
            return;
        }
        let Some(k) = self.given.iter().position(|g| g.1 == Some(index) && !g.2) else { return };
        self.given[k].2 = true;
        for &(i, _) in self.waiting.iter().filter(|w| w.1 == k) {
            self.enough.set(i);
        }
        self.waiting.retain(|w| w.1 != k);
    }
}

/// Feeds each completion to `done` with its index, the time, since
/// `started`, when its command was complete, and whether it is whole: once
/// when its command is complete (its text so far, score 0) and once when it
/// ends; the text as it comes goes to `repeats`. Returns the timings.
fn drain(
    events: std::sync::mpsc::Receiver<cmdbar_engine::Event>,
    started: std::time::Instant,
    repeats: &mut Repeats,
    mut done: impl FnMut(usize, &str, f32, f64, bool),
) -> Result<Timings, SuggestError> {
    // Per completion: its text so far, and when its command closed.
    let mut texts: Vec<(String, Option<f64>)> = Vec::new();
    let now = || started.elapsed().as_secs_f64() * 1000.0;
    for event in events {
        match event {
            Event::Token { index, text } => {
                if texts.len() <= index {
                    texts.resize_with(index + 1, Default::default);
                }
                let (so_far, at) = &mut texts[index];
                if at.is_none() {
                    so_far.push_str(&text);
                    if parse::command_closed(so_far) {
                        let t = now();
                        *at = Some(t);
                        repeats.closed(index, so_far);
                        done(index, so_far, 0.0, t, false);
                    }
                } else {
                    repeats.after(index, &text);
                }
            }
            Event::CompletionDone { index, text, mean_logprob, .. } => {
                let at = texts.get(index).and_then(|t| t.1).unwrap_or_else(now);
                done(index, &text, mean_logprob, at, true)
            }
            Event::Done(timings) => return Ok(timings),
            Event::Cancelled => return Err(SuggestError::Cancelled),
            Event::Error(e) => return Err(e.into()),
        }
    }
    Err(SuggestError::Engine(EngineError::Disconnected))
}

/// The first round's prompt figures stand; tokens and time add up.
fn merge(total: &mut Timings, t: &Timings, round: usize) {
    if round == 0 {
        *total = t.clone();
    } else {
        total.generated_tokens += t.generated_tokens;
        total.total_ms += t.total_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmdbar_engine::ControlTokens;

    fn ctx() -> Context {
        Context { os: Os::Linux, shell: Shell::Bash, cwd: None }
    }

    fn model(context_length: usize, control: ControlTokens) -> ModelInfo {
        ModelInfo {
            path: "m.gguf".into(),
            name: "m".into(),
            architecture: Some(cmdbar_engine::Architecture::Qwen2),
            context_length,
            vocab_size: 10,
            file_size: 1,
            device: "cpu",
            fallback: None,
            chat_template: true,
            load_ms: 0,
            control_tokens: control,
        }
    }

    /// Answers every request as a batch streams it: completion i's pieces
    /// go out one per step, every unfinished completion in turn; one the
    /// caller marked as enough ends at its next turn with its text so far.
    /// Done events go out in the completions' order, as the engine's do.
    /// Records which completions were ended early. Events go through a
    /// rendezvous channel, so the caller has seen each piece before the
    /// next is sent.
    #[derive(Default)]
    struct Scripted {
        pieces: Vec<Vec<&'static str>>,
        cut: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    }

    /// A command and its explanation, a piece each.
    fn answer(command: &str, explanation: &'static str) -> Vec<&'static str> {
        vec![Box::leak(format!("```sh\n{command}\n```\n").into_boxed_str()), explanation]
    }

    impl Backend for Scripted {
        fn generate(&self, r: Request) -> std::sync::mpsc::Receiver<Event> {
            let (tx, rx) = std::sync::mpsc::sync_channel(0);
            let n = r.completions.len() + r.also.iter().map(|a| a.completions.len()).sum::<usize>();
            let pieces: Vec<_> = self.pieces.iter().cloned().cycle().take(n).collect();
            let cut = self.cut.clone();
            std::thread::spawn(move || {
                let mut texts = vec![String::new(); n];
                let mut done: Vec<Option<String>> = vec![None; n];
                let mut sent = 0;
                for step in 0.. {
                    if done.iter().all(Option::is_some) {
                        break;
                    }
                    for i in 0..n {
                        if done[i].is_some() {
                            continue;
                        }
                        if r.enough.as_ref().is_some_and(|e| e.is_set(i)) {
                            cut.lock().unwrap().push(i);
                            done[i] = Some(texts[i].clone());
                        } else if let Some(piece) = pieces[i].get(step) {
                            texts[i].push_str(piece);
                            let _ = tx.send(Event::Token { index: i, text: piece.to_string() });
                            let _ = tx.send(Event::Token { index: i, text: String::new() });
                        } else {
                            done[i] = Some(texts[i].clone());
                        }
                    }
                    while let Some(Some(text)) = done.get(sent) {
                        let finish = cmdbar_engine::FinishReason::Stop;
                        let ev = Event::CompletionDone {
                            index: sent,
                            text: text.clone(),
                            finish,
                            tokens: 1,
                            mean_logprob: -0.1,
                        };
                        let _ = tx.send(ev);
                        sent += 1;
                    }
                }
                let _ = tx.send(Event::Done(Timings::default()));
            });
            rx
        }

        fn warm(&self, _: cmdbar_engine::Prompt) -> std::sync::mpsc::Receiver<cmdbar_engine::Result<usize>> {
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = tx.send(Ok(0));
            rx
        }

        fn cancel(&self) {}
    }

    /// Of five completions, the three rows are the most agreed command and
    /// then ones that differ in substance before a near-copy; a repeat ends
    /// once the first to give its command is explaining it, and still
    /// counts as a vote.
    #[test]
    fn three_rows_from_a_pool_of_five_by_votes_then_substance() {
        let b = Scripted {
            pieces: vec![
                answer("ls -1", "One per line."),
                answer("ls  -la", "All, long."),
                answer("ls -la", "All, long (again)."),
                answer("find . -maxdepth 1", "Finds."),
                answer("ls '-la'", "Quoted."),
            ],
            ..Default::default()
        };
        let mut streamed = vec![];
        let mut pending = vec![];
        let out = suggest(&b, prep("list the files here").unwrap(), |c| {
            if c.pending {
                pending.push(c.command.clone())
            } else {
                streamed.push(c.command.clone())
            }
        })
        .unwrap();
        assert_eq!(pending, streamed, "each row was shown once its command was complete");
        let rows: Vec<(&str, u32)> = out.candidates.iter().map(|c| (c.command.as_str(), c.votes)).collect();
        assert_eq!(rows, [("ls  -la", 3), ("find . -maxdepth 1", 1), ("ls -1", 1)]);
        assert_eq!(out.candidates[0].explanation, "All, long.");
        assert_eq!(*b.cut.lock().unwrap(), [2, 4], "the repeats ended early");
        // The first three distinct were streamed; the final order replaces them.
        assert_eq!(streamed, ["ls -1", "ls  -la", "find . -maxdepth 1"]);
    }

    /// A row is shown as soon as its command is complete, without its
    /// explanation, and again once its completion ends; a repeat of it is
    /// not shown again.
    #[test]
    fn a_command_is_shown_before_its_explanation_is_written() {
        let b = Scripted {
            pieces: vec![answer("ls -1", "One per line."), answer("ls -1", "Again."), answer("du -sh .", "Size.")],
            ..Default::default()
        };
        let mut shown = vec![];
        suggest(&b, prep("list the files here").unwrap(), |c| {
            shown.push((c.command.clone(), c.pending, c.explanation.clone()))
        })
        .unwrap();
        let row = |c: &str, p: bool, e: &str| (c.to_string(), p, e.to_string());
        assert_eq!(
            shown[..3],
            [row("ls -1", true, ""), row("du -sh .", true, ""), row("ls -1", false, "One per line.")],
            "both commands out before either explanation: {shown:?}"
        );
        assert!(shown.contains(&row("du -sh .", false, "Size.")), "{shown:?}");
        assert_eq!(shown.iter().filter(|r| r.0 == "ls -1").count(), 2, "a repeat is no row: {shown:?}");

        // The first to close its command spells it `ls '-1'`, the first to
        // end `ls -1`: the row stays as it was shown.
        let b = Scripted {
            pieces: vec![
                vec!["```sh\nls", " -1", "\n```\n", "One per line."],
                vec!["```sh\nls '-1'\n```\n", "Quoted.", " More."],
            ],
            ..Default::default()
        };
        let mut shown = vec![];
        let out = suggest(&b, prep("list the files here").unwrap(), |c| {
            shown.push((c.command.clone(), c.pending, c.explanation.clone()))
        })
        .unwrap();
        // The first to end was cut short as a repeat: the row is whole once
        // the other one explains it.
        assert_eq!(shown[0], row("ls '-1'", true, ""));
        assert!(shown.iter().all(|r| r.0 == "ls '-1'"), "{shown:?}");
        assert_eq!(shown.last(), Some(&row("ls '-1'", false, "Quoted. More.")), "{shown:?}");
        assert_eq!(out.candidates[0].command, "ls '-1'");
    }

    /// The request's total is on the clock its commands' times are on: the
    /// engine reports its own time (here none), which leaves out any wait.
    #[test]
    fn the_total_is_never_before_the_commands_it_contains() {
        let b = Scripted {
            pieces: vec![answer("ls -1", "One per line."), answer("du -sh .", "Size.")],
            ..Default::default()
        };
        let out = suggest(&b, prep("list the files here").unwrap(), |_| {}).unwrap();
        let t = &out.timings;
        assert!(t.commands_ms > 0.0 && t.first_command_ms <= t.commands_ms, "{t:?}");
        assert!(t.total_ms >= t.commands_ms, "total {} before the last command {}", t.total_ms, t.commands_ms);
    }

    /// The first to give a command can be a sample (its command closed
    /// first in the batch): the greedy repeat is cut once the sample
    /// explains, and its row takes the sample's explanation. A repeat whose
    /// first gives no explanation is not cut.
    #[test]
    fn a_repeat_is_cut_only_once_its_command_is_being_explained() {
        let b = Scripted {
            pieces: vec![
                vec!["```sh\nls", "\n```\n", "Lists."],
                answer("ls", "Lists the files."),
                answer("pwd", ""),
                answer("pwd", "Prints the folder."),
                answer("id", "Shows who."),
            ],
            ..Default::default()
        };
        let out = suggest(&b, prep("list the files here").unwrap(), |_| {}).unwrap();
        assert_eq!(*b.cut.lock().unwrap(), [0]);
        let rows: Vec<(&str, u32, &str)> =
            out.candidates.iter().map(|c| (c.command.as_str(), c.votes, c.explanation.as_str())).collect();
        assert_eq!(rows, [("ls", 2, "Lists the files."), ("pwd", 2, "Prints the folder."), ("id", 1, "Shows who.")]);
    }

    /// The first request answered by `first`, later ones by `then`; the
    /// last user turn of each request kept.
    struct Rounds<T = Scripted> {
        first: Scripted,
        then: T,
        asked: std::sync::Mutex<Vec<String>>,
        /// Each request's prompts, `also`'s included.
        prompts: std::sync::Mutex<Vec<Vec<Vec<cmdbar_engine::Message>>>>,
    }

    impl<T: Backend> Backend for Rounds<T> {
        fn generate(&self, r: Request) -> std::sync::mpsc::Receiver<Event> {
            let cmdbar_engine::Prompt::Chat(m) = &r.prompt else { panic!() };
            let mut asked = self.asked.lock().unwrap();
            asked.push(m.last().unwrap().content.clone());
            let all = std::iter::once(&r.prompt).chain(r.also.iter().map(|a| &a.prompt));
            let chats = all.map(|p| match p {
                cmdbar_engine::Prompt::Chat(m) => m.clone(),
                _ => panic!(),
            });
            self.prompts.lock().unwrap().push(chats.collect());
            if asked.len() == 1 {
                self.first.generate(r)
            } else {
                self.then.generate(r)
            }
        }
        fn warm(&self, p: cmdbar_engine::Prompt) -> std::sync::mpsc::Receiver<cmdbar_engine::Result<usize>> {
            self.first.warm(p)
        }
        fn cancel(&self) {}
    }

    /// Not one command runs on the target: the model is asked once more,
    /// told which failed and why, and a command that runs is ranked first.
    /// One that runs asks nothing more.
    #[test]
    fn when_no_command_runs_on_the_target_the_model_is_told_why_and_asked_again() {
        let mac = Context { os: Os::MacOs, shell: Shell::Zsh, cwd: None };
        let ask =
            || prepare(&mac, "what was the date a week ago", &Options::default(), &model(4096, Default::default()));
        let gnu = Scripted {
            pieces: vec![answer("date -d '7 days ago'", "GNU."), answer("date --date='-7 days'", "GNU too.")],
            ..Default::default()
        };
        let b = Rounds {
            first: gnu,
            then: Scripted { pieces: vec![answer("date -v-7d", "BSD.")], ..Default::default() },
            asked: Default::default(),
            prompts: Default::default(),
        };
        let out = suggest(&b, ask().unwrap(), |_| {}).unwrap();
        let asked = b.asked.lock().unwrap();
        assert_eq!(asked.len(), 2, "{asked:?}");
        assert!(
            asked[1].contains("will not work on this macOS") && asked[1].contains("date -d is GNU-only"),
            "{}",
            asked[1]
        );
        assert!(asked[1].contains("`date -d '7 days ago'`"), "{}", asked[1]);
        assert_eq!(out.candidates[0].command, "date -v-7d");
        assert_eq!(out.candidates[0].portability, None);
        assert!(out.candidates[1..].iter().all(|c| c.portability.is_some()));

        let b = Rounds {
            first: Scripted {
                pieces: vec![
                    answer("date -v-7d", "BSD."),
                    answer("date -d '7 days ago'", "GNU."),
                    answer("date -v-1w", "BSD, in weeks."),
                ],
                ..Default::default()
            },
            then: Scripted::default(),
            asked: Default::default(),
            prompts: Default::default(),
        };
        suggest(&b, ask().unwrap(), |_| {}).unwrap();
        assert_eq!(b.asked.lock().unwrap().len(), 1);
    }

    /// Fails every request as an overlong prompt does.
    struct Overflowing;

    impl Backend for Overflowing {
        fn generate(&self, _: Request) -> std::sync::mpsc::Receiver<Event> {
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = tx.send(Event::Error(EngineError::ContextOverflow { prompt_tokens: 5000, context: 4096 }));
            rx
        }
        fn warm(&self, _: cmdbar_engine::Prompt) -> std::sync::mpsc::Receiver<cmdbar_engine::Result<usize>> {
            std::sync::mpsc::channel().1
        }
        fn cancel(&self) {}
    }

    /// A second round that fails (its prompt, longer by the commands it
    /// names, does not fit) loses nothing: the first round's rows stand.
    #[test]
    fn a_failed_second_round_keeps_the_first_rounds_candidates() {
        let mac = Context { os: Os::MacOs, shell: Shell::Zsh, cwd: None };
        let gnu = Scripted { pieces: vec![answer("date -d '7 days ago'", "GNU.")], ..Default::default() };
        let b = Rounds { first: gnu, then: Overflowing, asked: Default::default(), prompts: Default::default() };
        let p = prepare(&mac, "what was the date a week ago", &Options::default(), &model(4096, Default::default()));
        let out = suggest(&b, p.unwrap(), |_| {}).unwrap();
        assert_eq!(b.asked.lock().unwrap().len(), 2, "a second round was asked");
        let rows: Vec<&str> = out.candidates.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(rows, ["date -d '7 days ago'"]);
    }

    /// A row no completion explained (each stopped at its closing fence) is
    /// explained afterwards: the model is shown the command as its answer
    /// and asked what it does, one prompt per such row in one request.
    /// Explained rows ask nothing; a failed ask leaves the rows as they were.
    #[test]
    fn a_row_without_an_explanation_is_explained_afterwards() {
        let first = || Scripted {
            pieces: vec![answer("ls -lS", ""), answer("du -sh *", "Sizes."), answer("find . -size +1M", "")],
            ..Default::default()
        };
        let b = Rounds {
            first: first(),
            then: Scripted { pieces: vec![vec!["Lists the files here, `largest` first.\n"]], ..Default::default() },
            asked: Default::default(),
            prompts: Default::default(),
        };
        let out = suggest(&b, prep("list the files here by size").unwrap(), |_| {}).unwrap();
        let rows: Vec<(&str, &str)> =
            out.candidates.iter().map(|c| (c.command.as_str(), c.explanation.as_str())).collect();
        assert_eq!(
            rows,
            [
                ("ls -lS", "Lists the files here, largest first."),
                ("du -sh *", "Sizes."),
                ("find . -size +1M", "Lists the files here, largest first.")
            ]
        );
        let prompts = b.prompts.lock().unwrap();
        assert_eq!(prompts.len(), 2, "one request explains both rows");
        let asks: Vec<(&str, &str)> = prompts[1]
            .iter()
            .map(|m| {
                let n = m.len();
                assert_eq!(m[n - 3].content, "list the files here by size", "the request, as the first round had it");
                (m[n - 2].content.as_str(), m[n - 1].content.as_str())
            })
            .collect();
        let question = "In one short sentence, what does that command do?";
        assert_eq!(asks, [("```sh\nls -lS\n```", question), ("```sh\nfind . -size +1M\n```", question)]);

        let b = Rounds { first: first(), then: Overflowing, asked: Default::default(), prompts: Default::default() };
        let out = suggest(&b, prep("list the files here by size").unwrap(), |_| {}).unwrap();
        assert_eq!(b.asked.lock().unwrap().len(), 2);
        let rows: Vec<(&str, &str)> =
            out.candidates.iter().map(|c| (c.command.as_str(), c.explanation.as_str())).collect();
        assert_eq!(rows, [("ls -lS", ""), ("du -sh *", "Sizes."), ("find . -size +1M", "")]);
    }

    fn prep(q: &str) -> Result<Prepared, SuggestError> {
        prepare(&ctx(), q, &Options::default(), &model(4096, ControlTokens::default()))
    }

    /// The user turn the samples see: with examples where there are any.
    fn last_user(p: &Prepared) -> String {
        let prompt = p.request.also.last().map_or(&p.request.prompt, |a| &a.prompt);
        let cmdbar_engine::Prompt::Chat(m) = prompt else { panic!() };
        m.last().unwrap().content.clone()
    }

    #[test]
    fn empty_and_blank_queries_are_refused() {
        for q in ["", "   ", "\n\t"] {
            assert!(matches!(prep(q), Err(SuggestError::EmptyQuery)));
        }
    }

    #[test]
    fn small_talk_gets_help_without_the_model() {
        let Err(SuggestError::NotARequest(help)) = prep("hello") else { panic!() };
        assert!(help.contains("e.g."));
    }

    #[test]
    fn control_tokens_are_removed_from_the_query() {
        let ctl = ControlTokens::new(["<|im_end|>"]).unwrap();
        let m = model(4096, ctl);
        let p = prepare(&ctx(), "list<|im_end|> files", &Options::default(), &m).unwrap();
        assert_eq!(last_user(&p), "list files");
        assert!(matches!(prepare(&ctx(), "<|im_end|>", &Options::default(), &m), Err(SuggestError::EmptyQuery)));
    }

    #[test]
    fn overlong_query_is_cut_at_a_word_with_a_notice() {
        let q = "find the big files ".repeat(200);
        let p = prep(&q).unwrap();
        let kept = last_user(&p);
        assert!(kept.chars().count() <= MAX_QUERY_CHARS && kept.chars().count() > MAX_QUERY_CHARS - 20);
        assert!(q.starts_with(&kept) && q[kept.len()..].starts_with(' '), "cut inside a word: {kept:?}");
        assert!(p.notices[0].contains(&format!("of {} characters", q.trim().chars().count())), "{:?}", p.notices);
        assert!(prep("list files").unwrap().notices.is_empty());
    }

    #[test]
    fn a_small_context_cuts_harder_and_a_tiny_one_is_refused() {
        let m = model(512, ControlTokens::default());
        let p = prepare(&ctx(), &"é".repeat(500), &Options::default(), &m).unwrap();
        assert!(last_user(&p).len() <= 512 - 320 - 96);
        let m = model(300, ControlTokens::default());
        assert!(matches!(
            prepare(&ctx(), "list files", &Options::default(), &m),
            Err(SuggestError::ContextTooSmall { context: 300 })
        ));
    }

    #[test]
    fn explain_refuses_empty_overlong_and_unparseable_commands() {
        let m = model(4096, ControlTokens::default());
        let ex = |c: &str| explain::prepare(&ctx(), c, &m);
        assert!(matches!(ex("  "), Err(SuggestError::EmptyCommand)));
        let long = format!("echo {}", "x".repeat(explain::MAX_COMMAND_CHARS));
        assert!(matches!(ex(&long), Err(SuggestError::CommandTooLong { max: explain::MAX_COMMAND_CHARS, .. })));
        assert!(matches!(ex("echo 'open"), Err(SuggestError::BadCommand(_))));
        assert!(ex("ls -la | wc -l").is_ok());
    }

    #[test]
    fn three_candidates_by_default_from_a_pool_first_greedy_rest_sampled() {
        let p = prep("x y").unwrap();
        assert_eq!(p.want, 3);
        let r = p.request;
        assert_eq!(r.completions.len(), Options::default().pool);
        assert!(r.completions.len() > 3);
        assert_eq!(r.completions[0].temperature, 0.0);
        assert!(r.completions[1].temperature > 0.0 && r.completions[1].seed != r.completions[2].seed);
        assert_eq!(r.width, 3, "the pool decodes three at a time");
        // Never fewer completions than candidates shown.
        let o = Options { candidates: 4, pool: 2, ..Default::default() };
        let p = prepare(&ctx(), "x y", &o, &model(4096, ControlTokens::default())).unwrap();
        assert_eq!(p.request.completions.len(), 4);
    }

    fn bash() -> Judge {
        Judge::new(Os::Linux, Shell::Bash, None)
    }

    #[test]
    fn candidate_is_rated_and_gated_by_level() {
        let c = candidate("```sh\nrm -rf /\n```\nDeletes everything.", -0.1, &bash(), Level::Permissive).unwrap();
        assert_eq!((c.risk, c.action), (Risk::Critical, Action::Confirm));
        assert_eq!(c.explanation, "Deletes everything.");
        let c = candidate("```sh\nrm -rf build\n```\nx", -0.1, &bash(), Level::Strict).unwrap();
        assert_eq!(c.action, Action::Hide);
    }

    #[test]
    fn a_destructive_request_keeps_a_harmless_looking_answer_high() {
        let j = Judge::new(Os::Linux, Shell::Bash, Some("wipe my home folder"));
        let c = candidate("```sh\necho done\n```\nx", -0.1, &j, Level::Moderate).unwrap();
        assert!(c.risk >= Risk::High, "{c:?}");
        assert_eq!(c.action, Action::Confirm);
        assert!(c.risk_reason.contains("request"), "the reason names the request: {}", c.risk_reason);
        // An everyday request leaves the command's own rating alone.
        let j = Judge::new(Os::Linux, Shell::Bash, Some("list the files in this folder"));
        assert_eq!(candidate("```sh\nls -la\n```\nx", -0.1, &j, Level::Moderate).unwrap().risk, Risk::Safe);
        // prepare() carries the request's risk to the candidates.
        let p = prep("make a fork bomb").unwrap();
        assert!(p.judge.floor.as_ref().is_some_and(|f| f.risk >= Risk::High), "{:?}", p.judge.floor);
    }

    #[test]
    fn a_high_command_carries_a_safer_alternative() {
        let c = candidate("```sh\nrm -rf build\n```\nx", -0.1, &bash(), Level::Moderate).unwrap();
        assert!(c.risk >= Risk::High);
        assert!(c.safer.as_deref().is_some_and(|s| s != c.command), "{c:?}");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["safer"].as_str(), c.safer.as_deref());
        let c = candidate("```sh\nls\n```\nx", -0.1, &bash(), Level::Moderate).unwrap();
        assert!(serde_json::to_value(&c).unwrap().get("safer").is_none(), "no field for a safe command");
    }

    fn cand(cmd: &str, score: f32, os: Os) -> Candidate {
        candidate(&format!("```sh\n{cmd}\n```\nx"), score, &Judge::new(os, Shell::Bash, None), Level::Moderate).unwrap()
    }

    #[test]
    fn ranking_keeps_greedy_first_unless_it_will_not_run_here() {
        let mut c =
            vec![cand("du -sh *", -0.5, Os::MacOs), cand("du -d 1", -0.1, Os::MacOs), cand("du -a", -0.3, Os::MacOs)];
        rank::rank(&mut c, 3);
        assert_eq!(c.iter().map(|c| c.command.as_str()).collect::<Vec<_>>(), ["du -sh *", "du -d 1", "du -a"]);
        let mut c = vec![
            cand("du --max-depth=1", -0.1, Os::MacOs),
            cand("du -a", -0.9, Os::MacOs),
            cand("du -d 1", -0.3, Os::MacOs),
        ];
        rank::rank(&mut c, 3);
        assert_eq!(c.iter().map(|c| c.command.as_str()).collect::<Vec<_>>(), ["du -d 1", "du -a", "du --max-depth=1"]);
    }

    /// Two samples that agree outrank a greedy answer they disagree with;
    /// equal votes keep the greedy first; agreement never lifts a command
    /// that won't run here above one that will.
    #[test]
    fn ranking_follows_agreement_among_completions() {
        let voted = |cmd: &str, votes: u32, os: Os| Candidate { votes, ..cand(cmd, -0.2, os) };
        let order = |c: &[Candidate]| c.iter().map(|c| c.command.clone()).collect::<Vec<_>>();
        let mut c = vec![voted("ls -l", 1, Os::Linux), voted("ls -1", 2, Os::Linux), voted("ls", 1, Os::Linux)];
        rank::rank(&mut c, 3);
        assert_eq!(order(&c), ["ls -1", "ls -l", "ls"]);
        let mut c = vec![voted("ls -l", 1, Os::Linux), voted("ls -1", 1, Os::Linux)];
        rank::rank(&mut c, 3);
        assert_eq!(order(&c), ["ls -l", "ls -1"]);
        let mut c = vec![voted("du -d 1", 1, Os::MacOs), voted("du --max-depth=1", 3, Os::MacOs)];
        rank::rank(&mut c, 3);
        assert_eq!(order(&c), ["du -d 1", "du --max-depth=1"]);
    }
    /// Request A's second round (its samples repeated, so it asks again)
    /// started after a newer request B had begun, and cancelled B: the
    /// popup stayed on "Thinking…". Here B starts exactly in that gap: after
    /// A's first round has finished on the engine, before A's second.
    #[test]
    fn a_second_round_never_cancels_a_newer_request() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let out = std::process::Command::new(root.join("scripts/fetch-test-models"))
            .args(["--print-path", "0.5b"])
            .output()
            .unwrap();
        let path = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let engine = cmdbar_engine::Engine::spawn(cmdbar_engine::EngineConfig {
            device: cmdbar_engine::DevicePreference::Cpu,
            max_context: 2048,
            ..Default::default()
        });
        let info = engine.load(&path).recv().unwrap().unwrap();
        // At temperature 0 the three samples of A are one command: a second
        // round is due.
        let greedy = Options { candidates: 3, temperature: 0.0, max_tokens: 48, ..Options::default() };
        let a = prepare(&ctx(), "list the files here", &greedy, &info).unwrap();
        let b =
            prepare(&ctx(), "show free disk space", &Options { max_tokens: 48, ..Options::default() }, &info).unwrap();
        let barrier = a.request.prompt.clone();
        let (first_of_b, got_first) = std::sync::mpsc::channel();
        let mut b_result = None;
        std::thread::scope(|s| {
            let mut b = Some(b);
            let mut b_thread = None;
            let a_result = suggest(&engine, a, |_| {
                let Some(b) = b.take() else { return };
                // Jobs run in order: this returns once A's round is done.
                engine.warm(barrier.clone()).recv().unwrap().unwrap();
                let (engine, first_of_b) = (&engine, first_of_b.clone());
                b_thread = Some(s.spawn(move || {
                    suggest(engine, b, |_| {
                        let _ = first_of_b.send(());
                    })
                }));
                // B is running; A goes on to its second round from here.
                got_first.recv_timeout(std::time::Duration::from_secs(300)).expect("B's first candidate");
            });
            assert!(matches!(a_result, Err(SuggestError::Cancelled)), "A, superseded: {a_result:?}");
            b_result = b_thread.map(|t| t.join().unwrap());
        });
        let b_result = b_result.expect("B was started");
        assert!(b_result.is_ok(), "the newer request was cancelled: {b_result:?}");
    }

    fn example(page: &str, description: &str, command: &str) -> cmdbar_tldr::Example {
        cmdbar_tldr::Example {
            page: page.into(),
            platform: cmdbar_tldr::Platform::Common,
            description: description.into(),
            command: command.into(),
        }
    }

    /// Examples that fit go into the request's turn, after the cached
    /// prefix; a request they don't fit gets its plain turn.
    #[test]
    fn retrieved_examples_go_after_the_cached_prefix() {
        // Others around them, as in the real pages, so that words are rare or common.
        let mut all: Vec<cmdbar_tldr::Example> = (0..60)
            .map(|i| example(&format!("tool{i}"), &format!("show the status of thing {i}"), &format!("tool{i} status")))
            .collect();
        all.push(example("gzip", "compress a file, keeping the original file", "gzip -k path/to/file"));
        all.push(example("tar", "extract an archive", "tar xf path/to/source.tar"));
        let ex = examples::Examples::new(all, Os::MacOs); // not this machine: no PATH filter
        let info = model(4096, ControlTokens::default());
        let p = prepare_with(&ctx(), "compress notes.txt and keep the original", &Options::default(), &info, Some(&ex))
            .unwrap();
        let cmdbar_engine::Prompt::Chat(m) = &p.request.also[0].prompt else { panic!() };
        assert_eq!(m[..m.len() - 1], prompt::prefix(&ctx())[..], "the prefix is unchanged");
        let turn = last_user(&p);
        assert!(turn.contains("`gzip -k path/to/file`") && !turn.contains("tar xf"), "{turn}");
        assert!(turn.ends_with("Request: compress notes.txt and keep the original"), "{turn}");
        // The greedy answer and half the samples come from the plain
        // prompt, the other half from this one, in the same batch.
        let first = &p.request;
        let cmdbar_engine::Prompt::Chat(fm) = &first.prompt else { panic!() };
        assert_eq!(fm.last().unwrap().content, "compress notes.txt and keep the original");
        let pool = Options::default().pool;
        assert_eq!(first.completions.len(), pool.div_ceil(2));
        assert_eq!(first.completions[0].temperature, 0.0);
        let [samples] = &first.also[..] else { panic!("one prompt with examples") };
        assert_eq!(samples.completions.len(), pool - pool.div_ceil(2));
        assert!(samples.completions.iter().all(|c| c.temperature > 0.0));
        let p = prepare_with(&ctx(), "show the date", &Options::default(), &info, Some(&ex)).unwrap();
        assert_eq!(last_user(&p), "show the date");
        let none = Options { examples: 0, ..Default::default() };
        let p = prepare_with(&ctx(), "compress notes.txt and keep the original", &none, &info, Some(&ex)).unwrap();
        assert_eq!(last_user(&p), "compress notes.txt and keep the original");
        // A small context leaves no room: the request stays whole instead.
        let small = model(PROMPT_OVERHEAD_TOKENS + 96 + 60, ControlTokens::default());
        let p =
            prepare_with(&ctx(), "compress notes.txt and keep the original", &Options::default(), &small, Some(&ex))
                .unwrap();
        assert_eq!(last_user(&p), "compress notes.txt and keep the original");
    }
}
