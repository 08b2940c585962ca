//! Shared by the engine's integration tests: where the real test models are.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::Command;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().unwrap()
}

/// A real model fetched by `scripts/fetch-test-models`. Fails (never skips)
/// when it is missing, saying how to get it.
pub fn model(name: &str) -> PathBuf {
    let out = Command::new(repo_root().join("scripts/fetch-test-models"))
        .args(["--print-path", name])
        .output()
        .expect("run scripts/fetch-test-models");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(path.is_file(), "{} is missing: run scripts/fetch-test-models {name}", path.display());
    path
}

/// Runs a request to the end: each completion's final text, and the timings.
pub fn finals_and_timings(
    e: &cmdbar_engine::Engine,
    r: cmdbar_engine::Request,
) -> (Vec<String>, cmdbar_engine::Timings) {
    use cmdbar_engine::Event;
    let mut finals = vec![];
    for ev in e.generate(r) {
        match ev {
            Event::CompletionDone { text, .. } => finals.push(text),
            Event::Done(t) => return (finals, t),
            Event::Error(err) => panic!("{err}"),
            Event::Cancelled => panic!("cancelled"),
            Event::Token { .. } => {}
        }
    }
    panic!("no Done event")
}
