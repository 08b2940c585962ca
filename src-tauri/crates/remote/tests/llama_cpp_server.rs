//! The remote backend against a real OpenAI-compatible server:
//! llama-cpp-python's, serving the 0.5B test model. Skipped, with the
//! reason printed, only where its venv (~/.cache/cmdbar/bench-venv) is
//! missing; its server extras are `pip install uvicorn fastapi
//! pydantic-settings sse-starlette starlette-context PyYAML` there.
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cmdbar_engine::{Backend, Event, Message, Prompt, Request, SamplingParams};
use cmdbar_remote::{Remote, RemoteConfig};
use cmdbar_suggest::{Context, Options, Os, Shell};

/// The server process, killed when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn events(rx: &std::sync::mpsc::Receiver<Event>) -> Vec<Event> {
    let mut all = vec![];
    loop {
        let e = rx.recv_timeout(Duration::from_secs(120)).expect("an event within two minutes");
        let last = matches!(e, Event::Done(_) | Event::Cancelled | Event::Error(_));
        all.push(e);
        if last {
            return all;
        }
    }
}

fn texts(all: &[Event]) -> Vec<String> {
    all.iter()
        .filter_map(|e| match e {
            Event::CompletionDone { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn llama_cpp_python_serves_the_remote_backend() {
    let python = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/cmdbar/bench-venv/bin/python");
    if !python.exists() {
        eprintln!("skipped: no llama-cpp-python venv at {}", python.display());
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let out = Command::new(root.join("scripts/fetch-test-models")).args(["--print-path", "0.5b"]).output().unwrap();
    let model = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(model.exists(), "the 0.5B test model is missing: run scripts/fetch-test-models");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::env::temp_dir().join(format!("cmdbar-llama-cpp-server-{port}.log"));
    let _server = Server(
        Command::new(&python)
            .args(["-m", "llama_cpp.server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_ctx", "2048", "--n_threads", "2", "--model"])
            .arg(&model)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the server did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let remote = Remote::new(RemoteConfig::new(format!("http://127.0.0.1:{port}"), "qwen2.5-coder-0.5b")).unwrap();
    let chat = |user: &str| {
        Prompt::Chat(vec![
            Message::new("system", "Answer with one shell command in a fenced block."),
            Message::new("user", user),
        ])
    };

    // Two completions, greedy and sampled: streamed, numbered, in order.
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list all files, hidden ones too");
    req.completions = vec![
        SamplingParams::greedy(),
        SamplingParams { temperature: 0.8, top_p: 0.95, top_k: 40, seed: 7, ..Default::default() },
    ];
    req.max_tokens = 32;
    let all = events(&remote.generate(req));
    assert!(matches!(all.last(), Some(Event::Done(_))), "{:?}", all.last());
    let mut order = vec![];
    for e in &all {
        match e {
            Event::Token { index, .. } => assert_eq!(*index, order.len(), "{all:?}"),
            Event::CompletionDone { index, tokens, .. } => {
                assert!(*tokens > 0);
                order.push(*index);
            }
            _ => {}
        }
    }
    assert_eq!(order, [0, 1]);
    let first = texts(&all);
    assert!(first[0].contains("ls"), "{first:?}");

    // A cancel mid-answer is prompt, and the server serves the next one.
    let mut long = Request::chat(vec![]);
    long.prompt = chat("write a very long essay about every unix command you know");
    long.max_tokens = 1000;
    let rx = remote.generate(long);
    assert!(matches!(rx.recv_timeout(Duration::from_secs(120)).unwrap(), Event::Token { .. }));
    let asked = Instant::now();
    remote.cancel();
    assert!(matches!(events(&rx).last(), Some(Event::Cancelled)));
    assert!(asked.elapsed() < Duration::from_millis(500), "{:?}", asked.elapsed());

    // The whole suggestion path.
    let ctx = Context { os: Os::Linux, shell: Shell::Bash, cwd: None };
    let opts = Options { candidates: 2, examples: 0, max_tokens: 64, ..Options::default() };
    let prepared = cmdbar_suggest::prepare(&ctx, "show the disk usage of this folder", &opts, remote.info()).unwrap();
    let out = cmdbar_suggest::suggest(&remote, prepared, |_| {}).unwrap();
    assert!(!out.candidates.is_empty());
    assert!(out.candidates.iter().all(|c| !c.command.is_empty() && !c.risk_reason.is_empty()), "{out:#?}");
    eprintln!("llama-cpp-python suggested: {:?}", out.candidates.iter().map(|c| &c.command).collect::<Vec<_>>());
}
