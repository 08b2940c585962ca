//! The socket on the real 0.5B model: streaming, a private socket, a wrong
//! peer, a stale socket file, a version mismatch, cancellation and hang-ups
//! mid-stream, and a server that quits mid-request.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cmdbar_engine::{DevicePreference, Engine, EngineConfig, ModelInfo};
use cmdbar_socket::{Backend, Client, ClientError, ErrorKind, Ready, Server, ServerError};
use cmdbar_suggest::{Context, Options, Os, Shell};

struct Real {
    engine: Engine,
    info: ModelInfo,
}

impl Backend for Real {
    fn engine(&self) -> &dyn cmdbar_engine::Backend {
        &self.engine
    }
    fn ready(&self) -> Result<Ready, String> {
        Ok(Ready { info: self.info.clone(), examples: None })
    }
}

/// No model yet, as while the app loads one.
struct Loading(Engine);

impl Backend for Loading {
    fn engine(&self) -> &dyn cmdbar_engine::Backend {
        &self.0
    }
    fn ready(&self) -> Result<Ready, String> {
        Err("the model is still loading".into())
    }
}

fn model_path() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let out = Command::new(root.join("scripts/fetch-test-models")).args(["--print-path", "0.5b"]).output().unwrap();
    let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.is_file(), "{} is missing: run scripts/fetch-test-models 0.5b", p.display());
    p
}

/// One loaded model for the file; tests that use it take turns.
fn real() -> (Arc<Real>, MutexGuard<'static, ()>) {
    static B: OnceLock<Arc<Real>> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let b = B.get_or_init(|| {
        let engine =
            Engine::spawn(EngineConfig { device: DevicePreference::Cpu, max_context: 2048, ..Default::default() });
        let info = engine.load(model_path()).recv().unwrap().unwrap();
        Arc::new(Real { engine, info })
    });
    (b.clone(), turn)
}

fn serve(dir: &Path, backend: Arc<dyn Backend>) -> PathBuf {
    let path = dir.join("cmdbar.sock");
    let server = Server::bind(&path).unwrap();
    server.spawn(backend).unwrap();
    path
}

fn linux() -> Context {
    Context { os: Os::Linux, shell: Shell::Bash, cwd: None }
}

fn opts(n: usize) -> Options {
    Options { candidates: n, examples: 0, ..Options::default() }
}

fn raw(path: &Path) -> (BufReader<UnixStream>, UnixStream) {
    let s = UnixStream::connect(path).unwrap();
    (BufReader::new(s.try_clone().unwrap()), s)
}

fn line(r: &mut BufReader<UnixStream>) -> serde_json::Value {
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l:?}"))
}

#[test]
fn answers_streamed_from_a_private_socket() {
    let (b, _turn) = real();
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), b.clone());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode {mode:o}");

    let client = Client::connect(&path).unwrap();
    assert_eq!(client.model_path(), Some(b.info.path.as_path()));
    // No drafts: a draft's length follows this machine's timing, and so
    // would the samples' rows.
    let o = Options { speculate: false, ..opts(3) };
    let mut streamed = vec![];
    let a = client.suggest("list all files here", &linux(), &o, |c| streamed.push(c.clone())).unwrap();
    assert!(!a.candidates.is_empty());
    // Through the socket as in the process: the same rows streamed in the
    // same order, and the same ranked answer (which may give a streamed
    // row's place to a later command; the popup redraws the list then).
    let mut local_streamed = vec![];
    let prepared = cmdbar_suggest::prepare(&linux(), "list all files here", &o, &b.info).unwrap();
    let local = cmdbar_suggest::suggest(&b.engine, prepared, |c| local_streamed.push(c.clone())).unwrap();
    let rows = |c: &[cmdbar_suggest::Candidate]| -> Vec<(String, String)> {
        c.iter().map(|c| (c.command.clone(), c.explanation.clone())).collect()
    };
    assert_eq!(rows(&streamed), rows(&local_streamed));
    assert_eq!(rows(&a.candidates), rows(&local.candidates));
    for c in &streamed {
        assert_eq!(c.risk, cmdbar_safety_risk(&c.command), "{c:?}");
    }
    assert_eq!(a.model_path, b.info.path);
    assert!(a.timings.total_ms > 0.0, "{:?}", a.timings);
    for c in &a.candidates {
        assert_eq!(c.risk, cmdbar_safety_risk(&c.command), "{c:?}");
    }
}

/// The risk comes from the same classifier as a local answer.
fn cmdbar_safety_risk(cmd: &str) -> cmdbar_safety::Risk {
    cmdbar_safety::classify(cmd).risk
}

#[test]
fn a_peer_of_another_uid_is_turned_away_before_a_word() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cmdbar.sock");
    let me = nix_uid();
    let server = Server::bind_for(&path, me + 1).unwrap();
    server.spawn(Arc::new(Loading(Engine::spawn(EngineConfig::default())))).unwrap();
    let mut s = UnixStream::connect(&path).unwrap();
    let mut got = vec![];
    s.read_to_end(&mut got).unwrap();
    assert!(got.is_empty(), "a wrong peer was sent {:?}", String::from_utf8_lossy(&got));
    assert!(matches!(Client::connect(&path), Err(ClientError::NotServing(_))));
}

fn nix_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[test]
fn a_stale_socket_is_replaced_a_live_one_and_other_files_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cmdbar.sock");
    // A server that died: its file stays, nobody listens.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert!(matches!(Client::connect(&path), Err(ClientError::NotServing(_))));
    let server = Server::bind(&path).unwrap();
    server.spawn(Arc::new(Loading(Engine::spawn(EngineConfig::default())))).unwrap();
    assert!(Client::connect(&path).is_ok(), "the new server answers");
    // A second server must not take a live socket over.
    assert!(matches!(Server::bind(&path), Err(ServerError::InUse(_))));

    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    assert!(matches!(Server::bind(&file), Err(ServerError::NotASocket(_))));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn a_client_of_another_version_is_told_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), Arc::new(Loading(Engine::spawn(EngineConfig::default()))));
    let (mut r, mut w) = raw(&path);
    assert_eq!(line(&mut r)["v"], cmdbar_socket::VERSION);
    w.write_all(b"{\"op\":\"suggest\",\"v\":99,\"query\":\"list files\",\"context\":{\"os\":\"linux\",\"shell\":\"bash\",\"cwd\":null},\"options\":{}}\n").unwrap();
    let e = line(&mut r);
    assert_eq!((e["event"].as_str(), e["kind"].as_str()), (Some("error"), Some("version")), "{e}");

    // And a client meets a server of another version.
    let other = dir.path().join("other.sock");
    let l = UnixListener::bind(&other).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(b"{\"event\":\"hello\",\"v\":7,\"server\":\"cmdbar 9\",\"model_path\":null}\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
    });
    assert!(matches!(Client::connect(&other), Err(ClientError::Version { server: 7 })));
}

#[test]
fn garbage_and_overlong_lines_get_a_protocol_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), Arc::new(Loading(Engine::spawn(EngineConfig::default()))));
    let (mut r, mut w) = raw(&path);
    line(&mut r);
    w.write_all(b"rm -rf /\n").unwrap();
    assert_eq!(line(&mut r)["kind"], "protocol");

    let (mut r, mut w) = raw(&path);
    line(&mut r);
    let long = vec![b'x'; (cmdbar_socket::MAX_LINE + 10) as usize];
    let _ = w.write_all(&long);
    assert_eq!(line(&mut r)["kind"], "protocol");
}

#[test]
fn no_model_yet_is_not_ready_and_the_greeting_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), Arc::new(Loading(Engine::spawn(EngineConfig::default()))));
    let c = Client::connect(&path).unwrap();
    assert_eq!(c.model_path(), None);
    match c.suggest("list files", &linux(), &opts(1), |_| {}) {
        Err(ClientError::Server { kind: ErrorKind::NotReady, message }) => assert!(message.contains("loading")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_request_cancelled_mid_stream_stops_and_the_engine_answers_the_next() {
    let (b, _turn) = real();
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), b.clone());
    let client = Client::connect(&path).unwrap();
    let cancel = Mutex::new(Some(client.canceller().unwrap()));
    let mut shown = 0;
    // Ten candidates take many seconds; the cancel comes at the first.
    let r = client.suggest("show the disk usage of each folder here", &linux(), &opts(10), |_| {
        shown += 1;
        if let Some(c) = cancel.lock().unwrap().take() {
            c.cancel().unwrap();
        }
    });
    match r {
        Err(ClientError::Server { kind: ErrorKind::Cancelled, .. }) => {}
        other => panic!("not cancelled: {other:?}"),
    }
    assert!(shown < 10, "{shown} candidates after the cancel");
    let next = Client::connect(&path).unwrap().suggest("list all files here", &linux(), &opts(1), |_| {}).unwrap();
    assert_eq!(next.candidates.len(), 1);
}

#[test]
fn a_client_that_hangs_up_mid_stream_stops_its_request() {
    let (b, _turn) = real();
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), b.clone());
    let (mut r, mut w) = raw(&path);
    line(&mut r);
    let ask = serde_json::json!({"op": "suggest", "v": cmdbar_socket::VERSION, "query": "show the disk usage of each folder here",
        "context": linux(), "options": opts(10)});
    w.write_all(format!("{ask}\n").as_bytes()).unwrap();
    assert_eq!(line(&mut r)["event"], "candidate");
    // Hanging up the sending half is all a killed client leaves.
    w.shutdown(std::net::Shutdown::Write).unwrap();
    loop {
        let m = line(&mut r);
        if m["event"] != "candidate" {
            assert_eq!((m["event"].as_str(), m["kind"].as_str()), (Some("error"), Some("cancelled")), "{m}");
            break;
        }
    }
}

#[test]
fn stopping_an_older_request_never_cancels_a_newer_one() {
    let (b, _turn) = real();
    let dir = tempfile::tempdir().unwrap();
    let path = serve(dir.path(), b.clone());
    let client = Client::connect(&path).unwrap();
    let cancel = client.canceller().unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let older = std::thread::spawn(move || {
        client.suggest("show the disk usage of each folder here", &linux(), &opts(10), |_| {
            let _ = first_tx.send(());
        })
    });
    first_rx.recv().unwrap();
    // A newer request on the same engine (the popup's) cancels the older...
    let b2 = b.clone();
    let newer = std::thread::spawn(move || {
        let p = cmdbar_suggest::prepare(&linux(), "list all files here", &opts(2), &b2.info).unwrap();
        cmdbar_suggest::suggest(&b2.engine, p, |_| {})
    });
    // ...and the older one's stop, after, must leave the newer alone: the
    // server stops a request when it ends (here, cancelled by the newer
    // one) and again on the client's cancel, if the socket is still open.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = cancel.cancel();
    let newer = newer.join().unwrap();
    assert!(newer.is_ok(), "the newer request was cancelled: {newer:?}");
    assert!(older.join().unwrap().is_err());
}

#[test]
fn a_server_that_quits_mid_request_is_reported_with_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quits.sock");
    let l = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        w.write_all(b"{\"event\":\"hello\",\"v\":1,\"server\":\"cmdbar\",\"model_path\":null}\n").unwrap();
        let mut req = String::new();
        BufReader::new(s).read_line(&mut req).unwrap();
        let c = serde_json::json!({"event": "candidate", "candidate": {"command": "ls", "explanation": "lists",
            "risk": "safe", "risk_reason": "read-only", "action": "show", "score": -0.1, "votes": 1}});
        w.write_all(format!("{c}\n").as_bytes()).unwrap();
        // and the app quits
    });
    let c = Client::connect(&path).unwrap();
    let mut shown = 0;
    match c.suggest("list files", &linux(), &opts(3), |_| shown += 1) {
        Err(ClientError::Gone { shown: 1 }) => assert_eq!(shown, 1),
        other => panic!("{other:?}"),
    }
}
