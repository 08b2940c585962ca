//! From a plain-words request to ranked, explained, risk-rated commands.
//! Builds the prompt, drives the engine, parses each completion, removes
//! duplicates and rates every candidate with `cmdbar-safety`.
pub mod context;
pub mod parse;
pub mod prompt;

use cmdbar_engine::{ControlTokens, Engine, EngineError, Event, Request, SamplingParams, Timings};
use cmdbar_safety::Risk;
use serde::{Deserialize, Serialize};

pub use context::{Context, Os, Shell};

/// Longest request accepted, in characters; longer text is not a request.
pub const MAX_QUERY_CHARS: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error("type what you want to do, e.g. \"list all files in this folder\"")]
    EmptyQuery,
    #[error("the request is {chars} characters long; keep it under {MAX_QUERY_CHARS}")]
    QueryTooLong { chars: usize },
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
}

impl Default for Options {
    fn default() -> Self {
        Self { candidates: 1, temperature: 0.7, seed: 42, max_tokens: 96 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub command: String,
    pub explanation: String,
    pub risk: Risk,
    pub risk_reason: String,
    /// Mean log-probability of the answer's tokens; higher is surer.
    pub score: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suggestions {
    pub candidates: Vec<Candidate>,
    pub timings: Timings,
}

/// Checks the request and builds the engine request for it. The model's
/// `control` tokens are removed, so a request cannot end its turn.
pub fn build_request(
    ctx: &Context,
    query: &str,
    opts: &Options,
    control: &ControlTokens,
) -> Result<Request, SuggestError> {
    let q = control.strip(query);
    let q = q.trim();
    if q.is_empty() {
        return Err(SuggestError::EmptyQuery);
    }
    let chars = q.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(SuggestError::QueryTooLong { chars });
    }
    let n = opts.candidates.max(1);
    let completions = (0..n)
        .map(|i| {
            if i == 0 {
                SamplingParams::greedy()
            } else {
                SamplingParams {
                    temperature: opts.temperature,
                    top_p: 0.95,
                    top_k: 40,
                    seed: opts.seed + i as u64,
                    ..Default::default()
                }
            }
        })
        .collect();
    Ok(Request {
        prompt: cmdbar_engine::Prompt::Chat(prompt::messages(ctx, q)),
        completions,
        max_tokens: opts.max_tokens,
        stop: vec!["\n\n".into()],
        ignore_eos: false,
    })
}

/// Turns one completion into a candidate, or None if it holds no command.
pub fn candidate(text: &str, score: f32) -> Option<Candidate> {
    let p = parse::parse(text)?;
    let a = cmdbar_safety::classify(&p.command);
    Some(Candidate { command: p.command, explanation: p.explanation, risk: a.risk, risk_reason: a.reason, score })
}

fn normalise(cmd: &str) -> String {
    cmd.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs a request to the end, calling `on_candidate` as each new, distinct
/// candidate is ready, so a UI can show the first before the rest are done.
pub fn suggest(
    engine: &Engine,
    request: Request,
    mut on_candidate: impl FnMut(&Candidate),
) -> Result<Suggestions, SuggestError> {
    let events = engine.generate(request);
    let mut candidates: Vec<Candidate> = vec![];
    for event in events {
        match event {
            Event::Token { .. } => {}
            Event::CompletionDone { text, mean_logprob, .. } => {
                if let Some(c) = candidate(&text, mean_logprob) {
                    let key = normalise(&c.command);
                    if !candidates.iter().any(|x| normalise(&x.command) == key) {
                        on_candidate(&c);
                        candidates.push(c);
                    }
                } else {
                    tracing::debug!("no command in completion: {text:?}");
                }
            }
            Event::Done(timings) => {
                if candidates.is_empty() {
                    return Err(SuggestError::NoCommand);
                }
                rank(&mut candidates);
                return Ok(Suggestions { candidates, timings });
            }
            Event::Cancelled => return Err(SuggestError::Cancelled),
            Event::Error(e) => return Err(e.into()),
        }
    }
    Err(SuggestError::Engine(EngineError::Disconnected))
}

/// The greedy answer stays first; the rest go by the model's confidence.
fn rank(c: &mut [Candidate]) {
    if c.len() > 2 {
        c[1..].sort_by(|a, b| b.score.total_cmp(&a.score));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context { os: Os::Linux, shell: Shell::Bash, cwd: None }
    }

    #[test]
    fn empty_and_blank_queries_are_refused() {
        for q in ["", "   ", "\n\t"] {
            assert!(matches!(
                build_request(&ctx(), q, &Options::default(), &ControlTokens::default()),
                Err(SuggestError::EmptyQuery)
            ));
        }
    }

    #[test]
    fn control_tokens_are_removed_from_the_query() {
        let ctl = ControlTokens::new(["<|im_end|>"]).unwrap();
        let r = build_request(&ctx(), "list<|im_end|> files", &Options::default(), &ctl).unwrap();
        let cmdbar_engine::Prompt::Chat(m) = r.prompt else { panic!() };
        assert_eq!(m.last().unwrap().content, "list files");
        assert!(matches!(
            build_request(&ctx(), "<|im_end|>", &Options::default(), &ctl),
            Err(SuggestError::EmptyQuery)
        ));
    }

    #[test]
    fn overlong_query_is_refused_with_its_length() {
        let q = "a".repeat(MAX_QUERY_CHARS + 1);
        assert!(matches!(
            build_request(&ctx(), &q, &Options::default(), &ControlTokens::default()),
            Err(SuggestError::QueryTooLong { .. })
        ));
    }

    #[test]
    fn first_completion_is_greedy_the_rest_sampled() {
        let r = build_request(&ctx(), "x", &Options { candidates: 3, ..Default::default() }, &ControlTokens::default())
            .unwrap();
        assert_eq!(r.completions.len(), 3);
        assert_eq!(r.completions[0].temperature, 0.0);
        assert!(r.completions[1].temperature > 0.0 && r.completions[1].seed != r.completions[2].seed);
    }

    #[test]
    fn candidate_is_rated() {
        let c = candidate("```sh\nrm -rf /\n```\nDeletes everything.", -0.1).unwrap();
        assert_eq!(c.risk, Risk::Critical);
        assert_eq!(c.explanation, "Deletes everything.");
    }
}
