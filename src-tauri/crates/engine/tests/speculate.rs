//! Drafted tokens checked in one pass (`Request::speculate`): on the real
//! models, the greedy text is the same as one token at a time, and the
//! drafts are really made and taken.
mod common;

use cmdbar_engine::{Engine, EngineConfig, Message, Request, SamplingParams};

/// Drafts pinned at three tokens: what a check costs on the machine running
/// the tests (two cores shared by three engines) must not decide whether
/// the drafted path is tested.
fn engine(model: &str) -> Engine {
    let e = Engine::spawn(EngineConfig { max_context: 2048, draft_len: Some(3), ..Default::default() });
    e.load(common::model(model)).recv().unwrap().unwrap();
    e
}

/// Requests whose answers repeat their prompts (paths, flags, an example's
/// shape) and some that do not, with a stop string and a token limit that
/// can fall inside an accepted draft.
fn requests() -> Vec<Request> {
    let system = "You write one shell command for Linux, then one line explaining it. Examples:\n\
                  ```\nfind /var/log -name '*.log' -size +10M\n```\nFinds log files over 10 MB.\n\
                  ```\ndu -sh /var/log/* | sort -h\n```\nShows the size of each entry, smallest first.";
    let queries = [
        "find files named '*.log' over 10 MB in /var/log",
        "show the size of each folder in /home/alice/projects, sorted",
        "count the lines of every python file in ./src",
        "print the current date",
    ];
    let mut out = vec![];
    for (i, q) in queries.iter().enumerate() {
        let mut r = Request::chat(vec![Message::new("system", system), Message::new("user", *q)]);
        r.max_tokens = [48, 48, 48, 7][i];
        if i == 1 {
            r.stop = vec!["```\n".into()];
        }
        if i == 2 {
            // Greedy with a repeat penalty: the penalty reads the history,
            // which a check must give row by row.
            r.completions = vec![SamplingParams { repeat_penalty: 1.15, ..SamplingParams::greedy() }];
        }
        out.push(r);
    }
    out
}

fn same_text_with_and_without_drafts(model: &str) {
    let e = engine(model);
    let (mut drafted, mut accepted) = (0, 0);
    for r in requests() {
        let (plain, t) = common::finals_and_timings(&e, Request { speculate: false, ..r.clone() });
        assert_eq!((t.drafted_tokens, t.accepted_tokens), (0, 0), "drafts made with speculate off");
        let (fast, t) = common::finals_and_timings(&e, r.clone());
        assert_eq!(fast, plain, "{model}: drafting changed the answer to {:?}", r.prompt);
        assert!(t.accepted_tokens <= t.drafted_tokens);
        drafted += t.drafted_tokens;
        accepted += t.accepted_tokens;
    }
    // Not vacuous: drafts were checked, and some were right.
    assert!(drafted > 0 && accepted > 0, "{model}: {accepted} of {drafted} drafted tokens taken");

    // Decoded together, the greedy row drafts beside the samples' rows: the
    // same texts, the samples' too, with at most two rows at once so that
    // the third joins as one ends.
    let (mut drafted, mut accepted) = (0, 0);
    for mut r in requests() {
        let hot = |seed| SamplingParams { temperature: 0.7, top_k: 40, top_p: 0.95, seed, ..Default::default() };
        r.completions = vec![r.completions[0].clone(), hot(1), hot(2)];
        r.width = 2;
        let (plain, _) = common::finals_and_timings(&e, Request { speculate: false, ..r.clone() });
        let (fast, t) = common::finals_and_timings(&e, r.clone());
        assert_eq!(fast, plain, "{model}, batched: drafting changed the answers to {:?}", r.prompt);
        drafted += t.drafted_tokens;
        accepted += t.accepted_tokens;
    }
    assert!(drafted > 0 && accepted > 0, "{model}, batched: {accepted} of {drafted} drafted tokens taken");
}

#[test]
fn drafts_change_nothing_on_the_0_5b() {
    same_text_with_and_without_drafts("0.5b");
}

#[test]
fn drafts_change_nothing_on_the_1_5b() {
    same_text_with_and_without_drafts("1.5b");
}

/// Samples are not drafted: a draft is checked against the greedy choice.
#[test]
fn samples_are_not_drafted() {
    let e = engine("0.5b");
    let mut r = requests().remove(0);
    r.completions = vec![SamplingParams { temperature: 0.7, top_k: 40, top_p: 0.95, seed: 3, ..Default::default() }];
    let (_, t) = common::finals_and_timings(&e, r);
    assert_eq!(t.drafted_tokens, 0);
}
