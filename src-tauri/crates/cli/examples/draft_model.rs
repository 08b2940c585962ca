//! Would a small model pay as the drafter for a larger one here (issue 23's
//! 0.5B for the 1.5B)? Measured before it is built: on everyday requests
//! this takes the larger model's greedy answer, the smaller model's guess
//! at each of its tokens (teacher-forced, which is what a drafter guesses
//! on the accepted text), and the real costs on this machine of a step of
//! each model and of a check of 2 to 4 rows; then it replays greedy
//! speculative decoding exactly, for drafts from the small model, from the
//! prompt (`lookup`, what ships) and from both, and says what each would
//! cost per answer against plain decoding.
//!
//!     cargo run --release -p cmdbar-cli --example draft_model -- TARGET.gguf DRAFT.gguf
use std::time::Instant;

use cmdbar_engine::lookup;
use cmdbar_engine::sampler::Sampler;
use cmdbar_engine::{DevicePreference, Model};
use cmdbar_suggest::{Context, Options};

/// The requests of `scripts/pool-latency`: everyday ones, none from dev.
const QUERIES: &[&str] = &[
    "list the files in this folder, largest first",
    "show free disk space",
    "find files over 100 MB changed this week",
    "count lines in all python files here",
    "show which process listens on port 8080",
    "compress the logs folder into logs.tar.gz",
    "print the current git branch",
    "show the last 20 lines of app.log and follow it",
    "replace foo with bar in every .txt file here",
    "show my IP address",
];

/// One answer: the prompt, the larger model's tokens, and the smaller's
/// guess for each of them given the ones before.
struct Answer {
    prompt: Vec<u32>,
    tokens: Vec<u32>,
    guesses: Vec<u32>,
}

/// What each check and step costs, in ms: `check[r]` runs r rows.
struct Costs {
    check: [f64; 5],
    draft_step: f64,
}

#[derive(Clone, Copy)]
enum Source {
    Plain,
    Model(usize),
    Prompt,
    /// From the prompt, one token at first, one more after each check
    /// that took its whole draft, back to one after a refusal.
    PromptGrowing,
    /// From the prompt, as many tokens as pay by the checks' costs and the
    /// share taken so far.
    PromptByCost,
    PromptThenModel(usize),
}

/// Replays one answer with drafts from `src`: the time it takes after its
/// first token, and the tokens drafted and taken.
fn replay(a: &Answer, src: Source, c: &Costs) -> (f64, usize, usize) {
    let (n, mut i, mut ms, mut drafted, mut taken) = (a.tokens.len(), 1, 0.0, 0, 0);
    let mut draft = Vec::new();
    let mut history = a.prompt.clone();
    let mut grow = 1;
    while i < n {
        // tokens[..i] are known; tokens[i - 1] is not yet run.
        history.truncate(a.prompt.len());
        history.extend_from_slice(&a.tokens[..i - 1]);
        draft.clear();
        let room = n - i;
        let from_model = |k: usize, draft: &mut Vec<u32>| {
            // The small model's guesses hold while they are right; its
            // first wrong one is drafted too and refused.
            for j in i..(i + k).min(n) {
                draft.push(a.guesses[j]);
                if a.guesses[j] != a.tokens[j] {
                    break;
                }
            }
        };
        let mut model_steps = 0;
        match src {
            Source::Plain => {}
            Source::Model(k) => {
                from_model(k.min(room), &mut draft);
                model_steps = k.min(room);
            }
            Source::Prompt => lookup::draft(&history, a.tokens[i - 1], lookup::DRAFT_LEN.min(room), &mut draft),
            Source::PromptGrowing => lookup::draft(&history, a.tokens[i - 1], grow.min(room), &mut draft),
            Source::PromptByCost => {
                // The engine's own rule, on these costs and what was taken.
                let mut costs = lookup::Costs::default();
                for (r, &ms) in c.check.iter().enumerate().skip(1) {
                    costs.note(r, ms as f32);
                }
                let d = lookup::Drafting { on: true, drafted, accepted: taken };
                lookup::draft(&history, a.tokens[i - 1], d.len(room, 1, &costs), &mut draft)
            }
            Source::PromptThenModel(k) => {
                lookup::draft(&history, a.tokens[i - 1], lookup::DRAFT_LEN.min(room), &mut draft);
                if draft.is_empty() {
                    from_model(k.min(room), &mut draft);
                    model_steps = k.min(room);
                }
            }
        }
        let ok = draft.iter().zip(&a.tokens[i..]).take_while(|(d, t)| d == t).count();
        // A drafter's guesses after its first wrong one are unknown here,
        // but they are checked all the same.
        let rows = 1 + draft.len().max(model_steps);
        ms += model_steps as f64 * c.draft_step + c.check[rows];
        drafted += rows - 1;
        if !draft.is_empty() {
            grow = if ok == draft.len() { (grow + 1).min(lookup::DRAFT_LEN) } else { 1 };
        }
        taken += ok;
        i += ok + 1;
    }
    (ms, drafted, taken)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(target), Some(small)) = (args.next(), args.next()) else {
        eprintln!("usage: draft_model TARGET.gguf DRAFT.gguf");
        std::process::exit(2);
    };
    let load = |p: &str| Model::load(std::path::Path::new(p), DevicePreference::Cpu, 2048).expect("load");
    let (mut big, mut little) = (load(&target), load(&small));
    let ctx = Context::detect();
    let opts = Options { candidates: 1, ..Options::default() };
    let (mut logits, mut row) = (Vec::new(), Vec::new());
    let (mut steps_ms, mut steps) = (0.0, 0usize);
    let mut answers = Vec::new();
    for q in QUERIES {
        let req = cmdbar_suggest::prepare(&ctx, q, &opts, &big.info).expect("prepare").request;
        let prompt = req.prompt.ids(&big.tokenizer, &big.template).expect("ids");
        let theirs = req.prompt.ids(&little.tokenizer, &little.template).expect("ids");
        assert_eq!(prompt, theirs, "the two models must share a tokenizer and template");
        // The larger model's greedy answer, as the engine makes it: by the
        // request's own greedy sampling (its repeat penalty included).
        let greedy = || Sampler::new(req.completions[0].clone());
        let mut sampler = greedy();
        big.prefill(&prompt, &mut logits).expect("prefill");
        let mut tokens = Vec::new();
        while tokens.len() < req.max_tokens {
            let t = sampler.sample(&mut logits, big.history()).0;
            tokens.push(t);
            let text = big.tokenizer.decode(&tokens);
            if big.tokenizer.is_stop(t) || req.stop.iter().any(|s| text.contains(s.as_str())) {
                break;
            }
            let at = Instant::now();
            big.step(t, &mut logits).expect("step");
            steps_ms += at.elapsed().as_secs_f64() * 1000.0;
            steps += 1;
        }
        // The smaller model's guess for each token, one step at a time,
        // as a drafter runs.
        // A drafter guesses by the same rule, on its own logits.
        let mut sampler = greedy();
        little.prefill(&prompt, &mut row).expect("prefill");
        let mut guesses = vec![sampler.sample(&mut row, little.history()).0];
        for &t in &tokens[..tokens.len() - 1] {
            little.step(t, &mut row).expect("step");
            guesses.push(sampler.sample(&mut row, little.history()).0);
        }
        answers.push(Answer { prompt, tokens, guesses });
    }

    // Costs, at the end of the last answer: the smaller model's step, and
    // the larger's check of r rows (r = 1 is its step).
    let reps = 12;
    let last = answers.last().unwrap();
    let end = last.prompt.len() + last.tokens.len() - 1;
    let mut check = [0.0; 5];
    for (r, c) in check.iter_mut().enumerate().skip(1) {
        let rows = &last.tokens[..r];
        let at = Instant::now();
        for _ in 0..reps {
            big.verify(rows, &mut logits).expect("verify");
            big.rewind(end);
        }
        *c = at.elapsed().as_secs_f64() * 1000.0 / reps as f64;
    }
    let lend = little.history().len();
    let at = Instant::now();
    for _ in 0..reps {
        little.step(last.tokens[0], &mut row).expect("step");
        little.rewind(lend);
    }
    let mut costs = Costs { check, draft_step: at.elapsed().as_secs_f64() * 1000.0 / reps as f64 };
    // Another machine's costs replayed on the same answers:
    // DRAFT_COSTS="1-row,2-row,3-row,4-row,small-step" in ms.
    if let Some(v) = std::env::var("DRAFT_COSTS").ok().filter(|v| !v.is_empty()) {
        let v: Vec<f64> = v.split(',').map(|x| x.trim().parse().expect("DRAFT_COSTS: five numbers")).collect();
        assert_eq!(v.len(), 5, "DRAFT_COSTS: five numbers");
        costs = Costs { check: [0.0, v[0], v[1], v[2], v[3]], draft_step: v[4] };
    }
    let check = costs.check;

    let tokens: usize = answers.iter().map(|a| a.tokens.len()).sum();
    let agree: usize = answers.iter().map(|a| a.guesses.iter().zip(&a.tokens).filter(|(g, t)| g == t).count()).sum();
    println!(
        "{} answers, {tokens} tokens; the small model guesses {:.0}% of them",
        answers.len(),
        100.0 * agree as f64 / tokens as f64
    );
    println!(
        "costs (ms): a step of the large model {:.1} (in decoding {:.1}), checks of 2/3/4 rows {:.1}/{:.1}/{:.1}, \
         a step of the small model {:.1}",
        check[1],
        steps_ms / steps.max(1) as f64,
        check[2],
        check[3],
        check[4],
        costs.draft_step
    );
    let plain: f64 = answers.iter().map(|a| replay(a, Source::Plain, &costs).0).sum();
    println!("{:<26} {:>9} {:>8} {:>7} {:>8}", "drafts", "ms", "speed-up", "drafted", "taken");
    for (name, src) in [
        ("none", Source::Plain),
        ("prompt (ships)", Source::Prompt),
        ("prompt, growing", Source::PromptGrowing),
        ("prompt, by cost", Source::PromptByCost),
        ("small model, 1", Source::Model(1)),
        ("small model, 2", Source::Model(2)),
        ("small model, 3", Source::Model(3)),
        ("prompt, else model 1", Source::PromptThenModel(1)),
        ("prompt, else model 2", Source::PromptThenModel(2)),
        ("prompt, else model 3", Source::PromptThenModel(3)),
    ] {
        let (ms, d, t) =
            answers.iter().map(|a| replay(a, src, &costs)).fold((0.0, 0, 0), |s, r| (s.0 + r.0, s.1 + r.1, s.2 + r.2));
        let share = if d > 0 { format!("{:.0}%", 100.0 * t as f64 / d as f64) } else { "-".into() };
        println!("{name:<26} {ms:>9.0} {:>7.2}x {d:>7} {share:>8}", plain / ms);
    }
}
