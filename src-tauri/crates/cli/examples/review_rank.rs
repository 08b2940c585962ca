//! Would ranking by the reverse direction pay (issue 18, lever 4)? For each
//! shown command of one eval run this scores how likely the model finds the
//! user's request given the command (P(request | command), "reviewer"
//! reranking), measured offline before it is built: a command that answers
//! another request (`ls` for "the five largest files") makes the request
//! unlikely. Writes the run's answers with `review` (the request's total
//! log-probability) and `review_ms` per candidate, for `scripts/rerank-eval`.
//!
//!     cargo run --release -p cmdbar-cli --example review_rank -- MODEL.gguf RAW.jsonl TASKS.jsonl OUT.jsonl
use std::io::Write;
use std::time::Instant;

use cmdbar_engine::{DevicePreference, Message, Model, Prompt};

/// The reviewer's prompt: the command, then the request as its answer.
fn review_prompt(command: &str) -> Vec<Message> {
    vec![
        Message::new(
            "system",
            "You are shown a shell command for Linux in the bash shell. Write the request, in plain words, that it was written for.",
        ),
        Message::new("user", format!("```sh\n{command}\n```")),
    ]
}

fn log_softmax_at(logits: &[f32], id: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&x| (x as f64 - max).exp()).sum();
    logits[id as usize] as f64 - max - sum.ln()
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [model, raw, tasks, out] = &a[..] else {
        eprintln!("usage: review_rank MODEL.gguf RAW.jsonl TASKS.jsonl OUT.jsonl");
        std::process::exit(2);
    };
    let mut m = Model::load(std::path::Path::new(model), DevicePreference::Cpu, 2048).expect("load");
    assert!(m.speculates(), "scoring needs the CPU forward");
    let nl: std::collections::HashMap<String, String> = std::fs::read_to_string(tasks)
        .expect("tasks")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a task line that is not JSON");
            let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("a task without {k}: {l}")).to_string();
            (field("id"), field("nl"))
        })
        .collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).expect("out"));
    let (mut logits, mut rows) = (Vec::new(), Vec::new());
    let (mut scored, started) = (0usize, Instant::now());
    for line in std::fs::read_to_string(raw).expect("raw").lines().filter(|l| !l.trim().is_empty()) {
        let mut r: serde_json::Value = serde_json::from_str(line).expect("raw json");
        let id = r["id"].as_str().unwrap_or_else(|| panic!("an answer without an id: {line}"));
        let request = nl.get(id).unwrap_or_else(|| panic!("answer {id} is not a task of {tasks}"));
        for c in r["candidates"].as_array_mut().into_iter().flatten() {
            let t = Instant::now();
            let command = c["command"].as_str().unwrap_or_else(|| panic!("a candidate without a command: {line}"));
            let mut msgs = review_prompt(command);
            let ids = Prompt::Chat(msgs.clone()).ids(&m.tokenizer, &m.template).expect("ids");
            // The request as the answer, up to and with its end token.
            msgs.push(Message::new("assistant", request.as_str()));
            let full = m.tokenizer.encode(&m.template.render(&msgs, false).expect("render")).expect("encode");
            assert_eq!(full[..ids.len()], ids[..], "the prompt is the answer's prefix");
            let mut target = full[ids.len()..].to_vec();
            let stop = target.iter().position(|&t| m.tokenizer.is_stop(t)).expect("an end token");
            target.truncate(stop + 1);
            m.prefill(&ids, &mut logits).expect("prefill");
            let mut lp = log_softmax_at(&logits, target[0]);
            m.verify(&target[..target.len() - 1], &mut rows).expect("verify");
            let vocab = rows.len() / (target.len() - 1);
            for (i, &id) in target[1..].iter().enumerate() {
                lp += log_softmax_at(&rows[i * vocab..(i + 1) * vocab], id);
            }
            c["review"] = lp.into();
            c["review_tokens"] = target.len().into();
            c["review_ms"] = (t.elapsed().as_secs_f64() * 1e3).into();
            scored += 1;
        }
        writeln!(w, "{r}").unwrap();
    }
    eprintln!("{scored} commands scored in {:.1} s", started.elapsed().as_secs_f64());
}
