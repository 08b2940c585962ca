//! `cmdbar suggest --server URL --server-model NAME`: the answer comes from
//! an OpenAI-compatible server (the remote crate's stand-in, streaming real
//! SSE), no model is loaded here, and the server's faults reach the user
//! as messages and exit codes.
#[path = "../../remote/tests/common/mod.rs"]
mod standin;

use std::process::{Command, Output};

use serde_json::{json, Value};
use standin::{answer, serve, stream, Reply};

fn cmdbar(args: &[&str], key: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    // Were a model loaded here, this one would fail to.
    run(home.path(), args, key, Some("/nonexistent/model.gguf"))
}

fn run(home: &std::path::Path, args: &[&str], key: Option<&str>, model: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmdbar"));
    c.args(args)
        .env("SHELL", "/bin/bash")
        .env("CMDBAR_SOCKET", "/nonexistent/cmdbar-tests.sock")
        .env("CMDBAR_CONFIG_DIR", home.join("config"))
        .env("CMDBAR_TLDR_DIR", home.join("tldr"))
        .env_remove("CMDBAR_MODEL")
        .env_remove("CMDBAR_API_KEY");
    if let Some(m) = model {
        c.env("CMDBAR_MODEL", m);
    }
    if let Some(k) = key {
        c.env("CMDBAR_API_KEY", k);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn suggest_asks_the_server_and_loads_no_model() {
    let server = serve(|seen| {
        let text = if seen.body["temperature"] == 0.0 {
            "```bash\nls -la\n```\nLists all files, hidden ones too."
        } else {
            "```bash\nls -A\n```\nLists almost all files."
        };
        stream(answer(&[text], Some(-0.1)))
    });
    let out = cmdbar(
        &["suggest", "list", "all", "files", "--json", "--os", "linux", "-n", "2", "--examples", "0"]
            .into_iter()
            .chain(["--server", &server.base, "--server-model", "qwen2.5-coder:7b"])
            .collect::<Vec<_>>(),
        Some("sk-test"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["served_by"], "server");
    assert_eq!(v["model"], "qwen2.5-coder:7b");
    assert_eq!(v["model_path"], server.base.as_str());
    let mut commands: Vec<&str> =
        v["candidates"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    commands.sort();
    assert_eq!(commands, ["ls -A", "ls -la"], "{v}");
    assert!(v["candidates"].as_array().unwrap().iter().all(|c| c["risk"] == "safe"), "{v}");
    let seen = server.requests();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|s| s.auth.as_deref() == Some("Bearer sk-test")), "the key from $CMDBAR_API_KEY");
    assert!(seen.iter().all(|s| s.body["model"] == "qwen2.5-coder:7b"));
    assert!(standin::last_user(&seen[0].body).contains("list all files"));

    // Text output streams the same candidates.
    let out =
        cmdbar(&["suggest", "list all files", "--os", "linux", "--server", &server.base, "--server-model", "m"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1. ls -") && text.contains("ls -la") && text.contains("[safe]"), "{text}");
}

#[test]
fn server_faults_are_messages_and_exit_codes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{port}");
    let out = cmdbar(&["suggest", "list files", "--server", &closed, "--server-model", "m"], None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("cannot reach the server at {closed}")), "{}", stderr(&out));

    let server = serve(|seen| match seen.auth.as_deref() {
        Some("Bearer sk-right") => stream(answer(&["```bash\nls\n```\nLists files."], None)),
        _ => Reply::Status(401, json!({"error": {"message": "Invalid API key"}}).to_string()),
    });
    let out = cmdbar(&["suggest", "list files", "--server", &server.base, "--server-model", "m"], Some("sk-wrong"));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("refused the API key (Invalid API key)"), "{}", stderr(&out));
    let out = cmdbar(&["suggest", "list files", "--server", &server.base, "--server-model", "m"], Some("sk-right"));
    assert!(out.status.success(), "{}", stderr(&out));

    let out = cmdbar(&["suggest", "list files", "--server", "ftp://files.lan", "--server-model", "m"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("must start with http:// or https://"), "{}", stderr(&out));
}

#[test]
fn server_flags_go_together_and_exclude_a_model() {
    for args in [
        &["suggest", "x", "--server", "http://h"][..],
        &["suggest", "x", "--server-model", "m"],
        &["suggest", "x", "--server", "http://h", "--server-model", "m", "--model", "a.gguf"],
    ] {
        let out = cmdbar(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

/// With no flags, the app's server (Settings › Use a server) answers,
/// unless a model is named.
#[test]
fn suggest_uses_the_apps_server_unless_a_model_is_named() {
    let server = serve(|_| stream(answer(&["```bash\nls -la\n```\nLists all files."], None)));
    let home = tempfile::tempdir().unwrap();
    let settings = cmdbar_settings::Settings {
        server: Some(cmdbar_settings::Server { base_url: server.base.clone(), model: "from-settings".into() }),
        ..Default::default()
    };
    settings.save(&home.path().join("config/settings.json")).unwrap();
    let out =
        run(home.path(), &["suggest", "list all files", "--json", "-n", "1", "--examples", "0"], Some("sk-env"), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["served_by"].as_str(), v["model"].as_str()), (Some("server"), Some("from-settings")));
    assert_eq!(server.requests()[0].auth.as_deref(), Some("Bearer sk-env"));

    let asked = server.requests().len();
    let out = run(home.path(), &["suggest", "list all files"], None, Some("/nonexistent/model.gguf"));
    assert_eq!(out.status.code(), Some(3), "the named model, not the server: {}", stderr(&out));
    assert_eq!(server.requests().len(), asked);
}

#[test]
fn server_parallel_streams_completions_at_once() {
    let server = serve(|seen| {
        // Distinct commands: none is ended early as a repeat.
        let pieces = ["```bash\n", "ls ", &format!("dir{}", seen.body["seed"]), "\n```\nLists a folder."];
        Reply::Stream { events: answer(&pieces, None), pause: std::time::Duration::from_millis(40), done: true }
    });
    let base = server.base.clone();
    let args =
        ["suggest", "list files", "--json", "-n", "3", "--examples", "0", "--server", &base, "--server-model", "m"];
    let out = cmdbar(&[&args[..], &["--server-parallel", "3"]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((server.most_at_once(), server.hang_ups()), (3, 0));
    let out = cmdbar(&[&args[..], &["--server-parallel", "0"]].concat(), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn fix_asks_the_server_too() {
    let server = serve(|_| stream(answer(&["```bash\ngit status\n```\nShows the working tree's state."], None)));
    let base = server.base.clone();
    let args = ["fix", "--command", "gti status", "--status", "127", "--json", "--os", "linux", "--examples", "0"];
    let out = cmdbar(&[&args[..], &["--server", &base, "--server-model", "m"]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["served_by"], "server");
    assert_eq!(v["candidates"][0]["command"], "git status");
    assert!(standin::last_user(&server.requests()[0].body).contains("gti status"));
}
