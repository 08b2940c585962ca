//! What one decode step costs with 1 to 4 candidates in the batch, against
//! a step of the main sequence alone, after a ~300-token prompt; and what
//! checking a token with 1 to 8 drafted ones costs (`Model::verify`):
//!
//!     cargo run --release -p cmdbar-engine --example batch_step -- MODEL.gguf
//!
//! `cmdbar bench` measures what users feel (`commands_ms`, batched and
//! sequential); this isolates the forward.
use std::time::Instant;

use cmdbar_engine::{DevicePreference, Model};

fn main() {
    let path = std::env::args().nth(1).expect("usage: batch_step MODEL.gguf");
    let mut m = Model::load(std::path::Path::new(&path), DevicePreference::Cpu, 2048).expect("load");
    let ids = m.tokenizer.encode(&"The quick brown fox jumps over the lazy dog. ".repeat(30)).expect("encode");
    let mut logits = Vec::new();
    let n = ids.len();
    let steps = 24;
    for batch in [1usize, 2, 3, 4] {
        m.prefill(&ids, &mut logits).expect("prefill");
        for b in 0..batch {
            m.fork(b, n, steps + 1).expect("fork");
        }
        let t = Instant::now();
        for s in 0..steps {
            let tokens: Vec<u32> = (0..batch).map(|i| 100 + i as u32).collect();
            let rows: Vec<(usize, usize)> = (0..batch).map(|i| (i, n + s)).collect();
            m.forward_branches(&tokens, &rows, &mut logits, true).expect("forward");
        }
        let per_step = t.elapsed().as_secs_f64() * 1000.0 / steps as f64;
        let t = Instant::now();
        for _ in 0..steps {
            m.step(100, &mut logits).expect("step");
        }
        let alone = t.elapsed().as_secs_f64() * 1000.0 / steps as f64;
        println!(
            "batch {batch}: {per_step:.1} ms a step, {:.1} ms a token; the sequence alone {alone:.1} ms a token",
            per_step / batch as f64
        );
    }
    for drafted in [0usize, 1, 2, 4, 8] {
        m.prefill(&ids, &mut logits).expect("prefill");
        let tokens: Vec<u32> = (0..=drafted as u32).map(|i| 100 + i).collect();
        let t = Instant::now();
        for _ in 0..steps {
            m.verify(&tokens, &mut logits).expect("verify");
            m.rewind(n);
        }
        println!("a token and {drafted} drafted: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0 / steps as f64);
    }
}
