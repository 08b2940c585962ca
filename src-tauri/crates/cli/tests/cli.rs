//! The `cmdbar` binary end to end, on the real 0.5B model.
use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().unwrap()
}

fn model() -> PathBuf {
    let out = Command::new(root().join("scripts/fetch-test-models")).args(["--print-path", "0.5b"]).output().unwrap();
    let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.is_file(), "{} is missing: run scripts/fetch-test-models 0.5b", p.display());
    p
}

fn cmdbar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmdbar")).args(args).env("SHELL", "/bin/bash").output().unwrap()
}

fn suggest_json(query: &str, extra: &[&str]) -> serde_json::Value {
    let m = model();
    let mut args = vec!["suggest", query, "--json", "--os", "linux", "--model", m.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = cmdbar(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn list_all_files_gives_a_command_that_really_lists_them() {
    let v = suggest_json("list all files in the current directory", &[]);
    let c = &v["candidates"][0];
    let command = c["command"].as_str().unwrap();
    assert_eq!(c["risk"], "safe", "{v}");
    assert!(!c["explanation"].as_str().unwrap().is_empty(), "{v}");

    let dir = tempfile::tempdir().unwrap();
    for f in ["alpha.txt", "beta.log", "gamma.rs"] {
        std::fs::write(dir.path().join(f), "x").unwrap();
    }
    let out = Command::new("bash").args(["-c", command]).current_dir(dir.path()).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    for f in ["alpha.txt", "beta.log", "gamma.rs"] {
        assert!(listed.contains(f), "{command:?} did not list {f}: {listed}");
    }
}

#[test]
fn json_has_the_documented_shape_and_greedy_is_deterministic() {
    let a = suggest_json("show free disk space", &["--seed", "7"]);
    for k in ["command", "explanation", "risk", "risk_reason"] {
        assert!(a["candidates"][0].get(k).is_some(), "missing {k}: {a}");
    }
    assert!(a["model"].as_str().unwrap().contains("Qwen2.5"));
    for k in ["load_ms", "first_token_ms", "total_ms", "prompt_tokens", "generated_tokens"] {
        assert!(a["timings"][k].is_number(), "missing timings.{k}: {a}");
    }
    let b = suggest_json("show free disk space", &["--seed", "7"]);
    assert_eq!(a["candidates"], b["candidates"]);
}

#[test]
fn text_output_numbers_candidates_with_a_risk_badge() {
    let m = model();
    let out = cmdbar(&["suggest", "print the current date", "--model", m.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with("1. ") && s.contains("[safe]"), "{s}");
}

fn fails_with(args: &[&str], code: i32, needle: &str) {
    let out = cmdbar(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
}

#[test]
fn empty_and_blank_queries_exit_2() {
    let m = model();
    fails_with(&["suggest", "", "--model", m.to_str().unwrap()], 2, "type what you want");
    fails_with(&["suggest", "  \n ", "--model", m.to_str().unwrap()], 2, "type what you want");
}

#[test]
fn a_context_too_small_for_any_request_exits_2() {
    let m = model();
    let q = "find every file bigger than one megabyte";
    fails_with(&["suggest", q, "--context", "64", "--model", m.to_str().unwrap()], 2, "too small");
}

#[test]
fn a_long_query_is_cut_with_a_notice() {
    let q = format!("print the current date {}", "in the local time zone ".repeat(40));
    let v = suggest_json(&q, &["--context", "700", "-n", "1"]);
    assert!(v["notices"][0].as_str().unwrap().contains("was cut"), "{v}");
}

#[test]
fn small_talk_and_bad_arguments_get_clear_messages() {
    let m = model();
    fails_with(&["suggest", "hello", "--model", m.to_str().unwrap()], 2, "Say what you want done");
    fails_with(&["suggest", "ls", "--safety", "loose"], 2, "strict, moderate, permissive");
    fails_with(&["explain", "echo 'unclosed", "--model", m.to_str().unwrap()], 2, "cannot parse the command");
    fails_with(&["explain", " ", "--model", m.to_str().unwrap()], 2, "give a command to explain");
}

#[test]
fn explain_prints_the_pieces_and_the_risk() {
    let m = model();
    let out = cmdbar(&["explain", "tar -czf backup.tar.gz docs && rm -rf docs", "--model", m.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with("tar -czf backup.tar.gz docs && rm -rf docs\n  "), "{s}");
    assert!(s.contains("[high] deletes docs and everything in it"), "{s}");
    assert!(s.contains("safer first: tar -czf backup.tar.gz docs && rm -rI docs"), "a safer form is offered: {s}");
}

#[test]
fn bad_model_files_exit_3() {
    fails_with(&["suggest", "ls", "--model", "/nonexistent/m.gguf"], 3, "not found");
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("page.gguf");
    std::fs::write(&html, "<html>").unwrap();
    fails_with(&["suggest", "ls", "--model", html.to_str().unwrap()], 3, "not a GGUF");
    let cut = dir.path().join("cut.gguf");
    let real = std::fs::read(model()).unwrap();
    std::fs::write(&cut, &real[..real.len() / 3]).unwrap();
    fails_with(&["suggest", "ls", "--model", cut.to_str().unwrap()], 3, "truncated");
}

#[test]
fn unknown_flags_are_usage_errors() {
    let out = cmdbar(&["suggest", "ls", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn batch_answers_each_line_and_reports_bad_lines_without_stopping() {
    use std::io::Write;
    let m = model();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["batch", "--os", "linux", "--model", m.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = "{\"id\": 1, \"query\": \"print the current date\"}\nnot json\n{\"id\": 3, \"query\": \"  \"}\n";
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0]["candidates"][0]["command"].as_str().unwrap().contains("date"), "{}", lines[0]);
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"].as_str().unwrap().contains("expected"), "{}", lines[1]);
    assert_eq!(lines[2]["id"], 3);
    assert!(lines[2]["error"].as_str().unwrap().contains("type what you want"), "{}", lines[2]);
}

#[test]
fn with_no_model_anywhere_the_error_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["suggest", "list files"])
        .env_remove("CMDBAR_MODEL")
        .env("CMDBAR_CONFIG_DIR", dir.path().join("config"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("HF_HUB_CACHE", dir.path().join("hub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("cmdbar models pull qwen2.5-coder-1.5b") && e.contains("1.1 GB"), "{e}");

    // A chosen model that has gone says the same way out.
    let out = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["suggest", "list files", "--model", "/nonexistent/m.gguf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("not found") && e.contains("cmdbar models pull"), "{e}");
}

/// The request as unquoted words, or from stdin; `--raw` prints the best
/// command alone, the same one `--json` ranks first.
#[test]
fn the_request_comes_as_words_or_on_stdin_and_raw_prints_the_command_alone() {
    let m = model();
    let m = m.to_str().unwrap();
    let base = ["--os", "linux", "--model", m, "-n", "1", "--examples", "0"];
    let json = suggest_json("print the current date", &["-n", "1", "--examples", "0"]);
    let best = json["candidates"][0]["command"].as_str().unwrap().to_string();

    let words = cmdbar(&[&["suggest", "print", "the", "current", "date", "--raw"][..], &base].concat());
    assert!(words.status.success(), "{}", String::from_utf8_lossy(&words.stderr));
    assert_eq!(String::from_utf8_lossy(&words.stdout), format!("{best}\n"), "words joined are the quoted request");

    let mut child = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args([&["suggest", "--raw"][..], &base].concat())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"print the current date\n").unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(String::from_utf8_lossy(&piped.stdout), format!("{best}\n"), "the request from stdin");

    // Nothing on stdin and no words: the empty-request message, exit 2.
    let empty = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args([&["suggest", "--raw"][..], &base].concat())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(2), "{}", String::from_utf8_lossy(&empty.stderr));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("type what you want to do"));
}
