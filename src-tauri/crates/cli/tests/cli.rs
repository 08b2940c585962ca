//! The `cmdbar` binary end to end, on the real 0.5B model.
use std::path::PathBuf;
use std::process::{Command, Output};

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().unwrap()
}

fn model() -> PathBuf {
    let out = Command::new(root().join("scripts/fetch-test-models")).args(["--print-path", "0.5b"]).output().unwrap();
    let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.is_file(), "{} is missing: run scripts/fetch-test-models 0.5b", p.display());
    p
}

/// A socket nobody listens on: the tests load their own model, whatever
/// app runs on this machine.
const NO_APP: &str = "/nonexistent/cmdbar-tests.sock";

fn cmdbar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(args)
        .env("SHELL", "/bin/bash")
        .env("CMDBAR_SOCKET", NO_APP)
        .output()
        .unwrap()
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

fn model_1_5b() -> PathBuf {
    let out = Command::new(root().join("scripts/fetch-test-models")).args(["--print-path", "1.5b"]).output().unwrap();
    let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.is_file(), "{} is missing: run scripts/fetch-test-models 1.5b", p.display());
    p
}

/// A real failing command, run here; its command, status and error output
/// reach `cmdbar fix` the way the shell hook passes them (the environment).
#[test]
fn fix_suggests_a_corrected_command_for_a_real_failure() {
    let failed = Command::new("bash").args(["-c", "gti status"]).output().unwrap();
    let status = failed.status.code().unwrap();
    assert_eq!(status, 127);
    let error = String::from_utf8_lossy(&failed.stderr).into_owned();
    let m = model_1_5b();
    let out = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["fix", "--json", "--os", "linux", "--model", m.to_str().unwrap(), "--error", &error])
        .env("CMDBAR_SOCKET", NO_APP)
        .env("CMDBAR_LAST_COMMAND", "gti status")
        .env("CMDBAR_LAST_STATUS", status.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cmds: Vec<&str> = v["candidates"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert!(cmds.first().is_some_and(|c| c.starts_with("git status")), "{v}");
    assert!(!cmds.contains(&"gti status"), "the failed command came back as its own fix: {v}");
    assert_eq!(v["candidates"][0]["risk"], "safe", "{v}");
}

#[test]
fn fix_without_a_last_command_says_how_to_get_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["fix"])
        .env("CMDBAR_SOCKET", NO_APP)
        .env_remove("CMDBAR_LAST_COMMAND")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--command") && err.contains("cmdbar init"), "{err}");
}

/// `cmdbar serve` on the 0.5B on its own socket.
fn serve(socket: &std::path::Path) -> common::Serve {
    common::Serve::start(socket, &model(), &socket.with_extension("home"))
}

fn suggest_via(socket: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["suggest", "--json", "--os", "linux"])
        .args(args)
        .env("CMDBAR_SOCKET", socket)
        .env_remove("CMDBAR_MODEL")
        .env("CMDBAR_CONFIG_DIR", socket.with_extension("config"))
        // No model installed: only the server has one.
        .env("XDG_CACHE_HOME", socket.with_extension("cache"))
        .env("HF_HUB_CACHE", socket.with_extension("hub"))
        .output()
        .unwrap()
}

#[test]
fn with_a_server_running_suggest_answers_through_it_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cmdbar.sock");
    let server = serve(&socket);
    let out = suggest_via(&socket, &["list all files here"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["served_by"], "app", "{v}");
    assert_eq!(v["timings"]["load_ms"], 0, "{v}");
    assert_eq!(std::fs::canonicalize(v["model_path"].as_str().unwrap()).unwrap(), model().canonicalize().unwrap());
    // Asked for another model, it loads that one itself.
    let other = model_1_5b();
    let out = suggest_via(&socket, &["-n", "1", "--model", other.to_str().unwrap(), "list all files here"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(v["served_by"], "here", "{v} {}", String::from_utf8_lossy(&out.stderr));
    // --no-app: here too.
    let out = suggest_via(&socket, &["-n", "1", "--no-app", "list all files here"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no model is installed"), "--no-app asked the server anyway: {err}");
    drop(server);
}

/// The server dies (SIGKILL) while a long request runs: the client, which
/// had printed nothing, loads the model itself and answers.
#[test]
fn when_the_server_quits_mid_request_suggest_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cmdbar.sock");
    let mut server = serve(&socket);
    let m = model();
    let client = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["suggest", "--json", "--os", "linux", "-n", "10", "--model", m.to_str().unwrap()])
        .arg("show the disk usage of each folder here")
        .env("CMDBAR_SOCKET", &socket)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let out = client.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("quit mid-request"), "the request did not reach the server: {err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["served_by"], "here", "{v}");
    assert!(!v["candidates"].as_array().unwrap().is_empty());
}

#[test]
fn completions_and_the_man_page_are_printed() {
    for shell in ["bash", "zsh", "fish"] {
        let out = cmdbar(&["completions", shell]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("suggest") && text.contains("models"), "{shell}: {text}");
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &text).unwrap();
        let check = Command::new(shell).arg("-n").arg(f.path()).output().unwrap();
        assert!(check.status.success(), "{shell} rejects its completions: {}", String::from_utf8_lossy(&check.stderr));
    }
    let man = String::from_utf8(cmdbar(&["man"]).stdout).unwrap();
    assert!(man.contains(".TH cmdbar 1") && man.contains("suggest"), "{man}");
}

/// On a terminal the risk is coloured, unless NO_COLOR is set; in a pipe
/// never. `script` gives the command a terminal.
#[test]
fn colour_on_a_terminal_and_never_with_no_color() {
    let m = model();
    let run = |no_color: bool| {
        let cmd = format!(
            "{} suggest --os linux -n 1 --model '{}' list all files here",
            env!("CARGO_BIN_EXE_cmdbar"),
            m.display()
        );
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env("CMDBAR_SOCKET", NO_APP).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run(false).contains("\x1b[32m[safe]"), "no colour on a terminal: {:?}", run(false));
    let plain = run(true);
    assert!(plain.contains("[safe]") && !plain.contains('\x1b'), "colour despite NO_COLOR: {plain:?}");
    let piped = String::from_utf8(
        cmdbar(&["suggest", "--os", "linux", "-n", "1", "--model", m.to_str().unwrap(), "list all files here"]).stdout,
    )
    .unwrap();
    assert!(!piped.contains('\x1b'), "{piped:?}");
}
