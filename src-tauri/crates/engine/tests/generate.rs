//! The engine on real models: streaming, determinism, cancellation, limits.
mod common;

use std::time::Duration;

use cmdbar_engine::{Also, Engine, EngineConfig, EngineError, Event, Message, Prompt, Request, SamplingParams};

fn engine(model: &str, max_context: usize) -> Engine {
    let e = Engine::spawn(EngineConfig { max_context, ..Default::default() });
    e.load(common::model(model)).recv().unwrap().unwrap();
    e
}

fn chat(q: &str) -> Request {
    Request::chat(vec![Message::new("user", q)])
}

/// Runs a request to the end: (streamed text, final text, error).
fn collect(e: &Engine, r: Request) -> (String, Vec<String>, Option<EngineError>) {
    let mut streamed = String::new();
    let mut finals = vec![];
    for ev in e.generate(r) {
        match ev {
            Event::Token { text, .. } => streamed.push_str(&text),
            Event::CompletionDone { text, .. } => finals.push(text),
            Event::Error(err) => return (streamed, finals, Some(err)),
            Event::Done(_) | Event::Cancelled => break,
        }
    }
    (streamed, finals, None)
}

#[test]
fn streams_tokens_and_greedy_is_deterministic() {
    let e = engine("0.5b", 2048);
    let mut r = chat("Write the shell command that prints the current date.");
    r.max_tokens = 24;
    let (streamed, finals, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(finals.len(), 1);
    assert!(finals[0].contains("date"), "{finals:?}");
    // The streamed pieces add up to the final text.
    assert!(streamed.starts_with(&finals[0]), "{streamed:?} vs {finals:?}");
    let (_, again, _) = collect(&e, r);
    assert_eq!(finals, again);
}

#[test]
fn seeded_sampling_is_reproducible_and_seeds_differ() {
    let e = engine("0.5b", 2048);
    let mut r = chat("Name a random animal.");
    r.max_tokens = 12;
    let hot = |seed| SamplingParams { temperature: 1.2, top_k: 50, top_p: 0.95, seed, ..Default::default() };
    r.completions = vec![hot(1), hot(2), hot(3), hot(1)];
    let (_, f, err) = collect(&e, r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(f[0], f[3], "same seed, same text");
    assert!(f[0] != f[1] || f[1] != f[2], "different seeds gave the same text: {f:?}");
}

#[test]
fn a_new_request_cancels_the_running_one() {
    let e = engine("0.5b", 2048);
    let mut long = chat("Write a long story about a cat.");
    long.max_tokens = 400;
    long.ignore_eos = true;
    let first = e.generate(long);
    // Wait until it is really generating.
    match first.recv_timeout(Duration::from_secs(60)).unwrap() {
        Event::Token { .. } => {}
        other => panic!("{other:?}"),
    }
    let mut short = chat("Print hello.");
    short.max_tokens = 8;
    let second = e.generate(short);
    let ends: Vec<Event> = first.iter().filter(|ev| !matches!(ev, Event::Token { .. })).collect();
    assert!(matches!(ends.last(), Some(Event::Cancelled)), "{ends:?}");
    assert!(second.iter().any(|ev| matches!(ev, Event::Done(_))));
}

/// A batch is cancelled as a single completion is: mid-step, by a newer
/// request, which then answers as it would on a fresh engine (the batch's
/// branches leave the prompt's cache as it was).
#[test]
fn a_new_request_cancels_a_running_batch_and_answers_as_on_a_fresh_engine() {
    let e = engine("0.5b", 2048);
    let mut batch = chat("Write a long story about a cat.");
    batch.max_tokens = 400;
    batch.ignore_eos = true;
    let warm = |seed| SamplingParams { temperature: 0.7, seed, ..Default::default() };
    batch.completions = vec![SamplingParams::greedy(), warm(1), warm(2)];
    let first = e.generate(batch);
    let mut tokens = 0;
    while tokens < 9 {
        match first.recv_timeout(Duration::from_secs(60)).unwrap() {
            Event::Token { .. } => tokens += 1,
            other => panic!("{other:?}"),
        }
    }
    let mut short = chat("Write the shell command that prints the current date.");
    short.max_tokens = 16;
    let (_, after, err) = collect(&e, short.clone());
    assert!(err.is_none(), "{err:?}");
    let ends: Vec<Event> = first.iter().filter(|ev| !matches!(ev, Event::Token { .. })).collect();
    assert!(matches!(ends.last(), Some(Event::Cancelled)), "{ends:?}");
    let (_, fresh, _) = collect(&engine("0.5b", 2048), short);
    assert_eq!(after, fresh);
}

/// A prompt that leaves less room than `max_tokens` decodes its batch to
/// the context's end, as one completion alone does.
#[test]
fn a_batch_runs_to_the_end_of_a_nearly_full_context() {
    let e = engine("0.5b", 96);
    let mut r = chat(&"list the files here please ".repeat(8));
    r.max_tokens = 400;
    r.ignore_eos = true;
    r.completions = vec![SamplingParams::greedy(), SamplingParams { temperature: 0.7, seed: 1, ..Default::default() }];
    let mut done = vec![];
    for ev in e.generate(r.clone()) {
        match ev {
            Event::CompletionDone { tokens, finish, .. } => done.push((tokens, finish)),
            Event::Error(err) => panic!("{err:?}"),
            Event::Done(_) | Event::Cancelled => break,
            Event::Token { .. } => {}
        }
    }
    r.sequential = true;
    let (_, one_by_one, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|&(n, f)| n > 0 && n == done[0].0 && f == cmdbar_engine::FinishReason::Length), "{done:?}");
    r.sequential = false;
    let (_, batched, _) = collect(&e, r);
    assert_eq!(batched[0], one_by_one[0]);
}

#[test]
fn prompt_longer_than_the_context_is_refused() {
    let e = engine("0.5b", 64);
    let (_, _, err) = collect(&e, chat(&"find big files ".repeat(40)));
    assert!(matches!(err, Some(EngineError::ContextOverflow { context: 64, .. })), "{err:?}");
}

#[test]
fn empty_prompt_is_refused() {
    let e = engine("0.5b", 2048);
    let r = Request { prompt: Prompt::Raw("  ".into()), ..chat("x") };
    let (_, _, err) = collect(&e, r);
    assert!(matches!(err, Some(EngineError::EmptyPrompt)), "{err:?}");
}

#[test]
fn generate_without_a_model_is_an_error() {
    let e = Engine::spawn(EngineConfig::default());
    let (_, _, err) = collect(&e, chat("hi"));
    assert!(matches!(err, Some(EngineError::NoModel)), "{err:?}");
}

#[test]
fn a_failed_load_keeps_the_previous_model() {
    let e = engine("0.5b", 2048);
    let err = e.load("/nonexistent.gguf").recv().unwrap();
    assert!(err.is_err());
    let mut r = chat("Print hello.");
    r.max_tokens = 4;
    let (_, f, err) = collect(&e, r);
    assert!(err.is_none() && f.len() == 1, "{err:?}");
}

#[test]
fn gemma3_base_model_loads_and_generates_with_the_plain_template() {
    let e = Engine::spawn(EngineConfig::default());
    let info = e.load(common::model("gemma-270m")).recv().unwrap().unwrap();
    assert_eq!(info.architecture, Some(cmdbar_engine::Architecture::Gemma3));
    assert!(!info.chat_template, "this base GGUF has no chat template");
    let mut r = chat("list files");
    r.max_tokens = 8;
    let (_, f, err) = collect(&e, r);
    assert!(err.is_none(), "{err:?}");
    assert!(!f[0].is_empty());
}

fn with_system(q: &str) -> Request {
    let mut r = Request::chat(vec![
        Message::new("system", "You write one shell command for Linux. Answer with the command in a code block."),
        Message::new("user", q),
    ]);
    r.max_tokens = 24;
    r
}

#[test]
fn a_shared_prompt_prefix_is_reused_and_changes_nothing() {
    let cold = engine("0.5b", 2048);
    let (want, t_cold) = common::finals_and_timings(&cold, with_system("show free disk space"));
    assert_eq!(t_cold.cached_tokens, 0);

    let warm = engine("0.5b", 2048);
    let (_, _) = common::finals_and_timings(&warm, with_system("count lines in notes.txt"));
    let (got, t_warm) = common::finals_and_timings(&warm, with_system("show free disk space"));
    assert_eq!(got, want, "reusing the cached prefix changed the answer");
    // The system turn and the start of the user turn were not recomputed.
    assert!(t_warm.cached_tokens >= 20, "{t_warm:?}");
    assert!(t_warm.cached_tokens < t_warm.prompt_tokens);
}

#[test]
fn candidates_of_one_request_share_the_prompt() {
    let e = engine("0.5b", 2048);
    let mut r = with_system("print the date");
    r.completions = vec![SamplingParams::greedy(), SamplingParams::greedy()];
    let (texts, _) = common::finals_and_timings(&e, r);
    // The second completion starts from the cached prompt, not from the
    // first completion's tokens.
    assert_eq!(texts[0], texts[1]);
    // The same request again reuses the whole prompt.
    let (again, t) = common::finals_and_timings(&e, with_system("print the date"));
    assert_eq!(again[0], texts[0]);
    assert_eq!(t.cached_tokens, t.prompt_tokens, "{t:?}");
}

/// CPU weights are mapped from the file: a model deleted (or replaced by a
/// new download, which renames over it) while loaded keeps answering the same.
#[test]
fn a_loaded_model_survives_its_file_being_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("model.gguf");
    std::fs::copy(common::model("0.5b"), &copy).unwrap();
    let e = Engine::spawn(EngineConfig { max_context: 1024, ..Default::default() });
    e.load(copy.clone()).recv().unwrap().unwrap();
    let mut r = chat("Write the shell command that prints the current date.");
    r.max_tokens = 16;
    let (_, before, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    std::fs::remove_file(&copy).unwrap();
    std::fs::write(&copy, b"not a model").unwrap();
    // A new prompt, so the weights are read again rather than the cache.
    let (_, other, err) = collect(&e, chat("Show free disk space."));
    assert!(err.is_none() && !other[0].is_empty(), "{err:?} {other:?}");
    let (_, after, err) = collect(&e, r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(before, after);
}

/// A request's completions decode as one batch, and give what they give
/// one after another: greedy ones the same text, other prompts' too, in
/// the completions' order; seeded samples the same draws.
#[test]
fn batched_completions_give_what_sequential_ones_give() {
    let e = engine("0.5b", 2048);
    let mut r = chat("Write the shell command that lists the files in this folder, largest first.");
    r.max_tokens = 40;
    let warm = |seed| SamplingParams { temperature: 0.7, top_k: 40, top_p: 0.95, seed, ..Default::default() };
    r.completions = vec![SamplingParams::greedy(), warm(1), SamplingParams::greedy(), warm(2)];
    r.also = vec![Also {
        prompt: Prompt::Chat(vec![Message::new("user", "Write the shell command that shows the free disk space.")]),
        completions: vec![SamplingParams::greedy(), warm(3)],
    }];
    let (_, batched, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    r.sequential = true;
    let (_, one_by_one, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(batched.len(), 6);
    assert_eq!(batched[0], batched[2], "two greedy completions of one prompt");
    assert!(batched[4].contains("df"), "{batched:?}");
    for i in [0, 2, 4] {
        assert_eq!(batched[i], one_by_one[i], "greedy completion {i}");
    }
    // Samples see logits equal to within rounding, so with the same seeds
    // they start with the same draws (they part where a draw lands on a
    // boundary); a batch run again draws exactly the same.
    for i in [1, 3, 5] {
        let common = batched[i].chars().zip(one_by_one[i].chars()).take_while(|(a, b)| a == b).count();
        assert!(common >= 24, "sample {i}: {:?} vs {:?}", batched[i], one_by_one[i]);
    }
    r.sequential = false;
    let (_, again, _) = collect(&e, r);
    assert_eq!(batched, again);
}

/// A completion the caller marks as enough ends at its next token, batched
/// or alone, and the others go on exactly as without the mark.
#[test]
fn a_completion_marked_enough_ends_early_and_the_others_do_not_change() {
    let e = engine("0.5b", 2048);
    let mut r = chat("Write the shell command that lists the files in this folder, largest first.");
    r.max_tokens = 40;
    r.completions = vec![SamplingParams::greedy(), SamplingParams::greedy(), SamplingParams::greedy()];
    let (_, plain, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    for sequential in [false, true] {
        let enough = std::sync::Arc::new(cmdbar_engine::Enough::new(3));
        r.enough = Some(enough.clone());
        r.sequential = sequential;
        let mut done = vec![];
        for ev in e.generate(r.clone()) {
            match ev {
                // Marked once its first piece is out: it ends a few tokens
                // later (the engine does not wait for the mark).
                Event::Token { index: 1, .. } => enough.set(1),
                Event::CompletionDone { index, text, finish, tokens, .. } => done.push((index, text, finish, tokens)),
                Event::Error(err) => panic!("{err}"),
                Event::Done(_) | Event::Cancelled => break,
                _ => {}
            }
        }
        let order: Vec<usize> = done.iter().map(|d| d.0).collect();
        assert_eq!(order, [0, 1, 2], "sequential {sequential}");
        assert_eq!(done[1].2, cmdbar_engine::FinishReason::Enough, "sequential {sequential}: {done:?}");
        assert!(done[1].3 <= 10 && done[1].1.len() < plain[1].len(), "sequential {sequential}: {done:?}");
        assert!(plain[1].starts_with(&done[1].1), "sequential {sequential}: {done:?}");
        assert_eq!((&done[0].1, &done[2].1), (&plain[0], &plain[2]), "sequential {sequential}");
    }
}

/// With a width, at most that many completions decode at once and the
/// others join as rows leave: the greedy texts are those of the full batch,
/// the samples start with the same draws, and the completions end in order.
#[test]
fn a_narrow_batch_gives_what_the_full_batch_gives() {
    let e = engine("0.5b", 2048);
    let mut r = chat("Write the shell command that lists the files in this folder, largest first.");
    r.max_tokens = 32;
    let warm = |seed| SamplingParams { temperature: 0.7, top_k: 40, top_p: 0.95, seed, ..Default::default() };
    r.completions = vec![SamplingParams::greedy(), warm(1), warm(2)];
    r.also = vec![Also {
        prompt: Prompt::Chat(vec![Message::new("user", "Write the shell command that shows the free disk space.")]),
        completions: vec![SamplingParams::greedy(), warm(3)],
    }];
    let (_, full, err) = collect(&e, r.clone());
    assert!(err.is_none(), "{err:?}");
    // The second prompt's own tokens, after what it shares with the first.
    let ids = |p: &Prompt| cmdbar_engine::prompt_ids(&common::model("0.5b"), p).unwrap();
    let (first, second) = (ids(&r.prompt), ids(&r.also[0].prompt));
    let shared = first.iter().zip(&second).take_while(|(a, b)| a == b).count();
    for width in [1, 2] {
        r.width = width;
        let mut order = vec![];
        let mut narrow = vec![];
        let mut timings = None;
        for ev in e.generate(r.clone()) {
            match ev {
                Event::CompletionDone { index, text, .. } => {
                    order.push(index);
                    narrow.push(text);
                }
                Event::Error(err) => panic!("{err}"),
                Event::Done(t) => {
                    timings = Some(t);
                    break;
                }
                Event::Cancelled => break,
                _ => {}
            }
        }
        assert_eq!(order, [0, 1, 2, 3, 4], "width {width}");
        // Computed when its first completion joined, and counted apart
        // from the first prompt's prefill.
        let t = timings.expect("a Done event");
        assert_eq!((t.prompt_tokens, t.tail_tokens), (first.len(), second.len() - shared), "width {width}");
        assert!(t.tail_ms > 0.0, "width {width}: {t:?}");
        for i in [0, 3] {
            assert_eq!(narrow[i], full[i], "width {width}: greedy completion {i}");
        }
        for i in [1, 2, 4] {
            let common = narrow[i].chars().zip(full[i].chars()).take_while(|(a, b)| a == b).count();
            assert!(common >= 16, "width {width}, sample {i}: {:?} vs {:?}", narrow[i], full[i]);
        }
    }
}
