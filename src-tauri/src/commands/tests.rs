//! The IPC commands on Tauri's mock runtime, with a real settings
//! directory and, where a model is needed, the real 0.5B model.
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};

use crate::state::{AppState, Paths};

/// No model is installed where these tests look, whatever this machine
/// holds: the models folder and the Hub cache are empty, set once for the
/// process before any app is built.
fn empty_model_places() {
    static ONCE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        // Found first, since the test models' folder follows XDG_CACHE_HOME.
        TEST_MODEL.get_or_init(find_test_model);
        std::env::remove_var("CMDBAR_MODEL");
        std::env::set_var("XDG_CACHE_HOME", d.path().join("cache"));
        std::env::set_var("HF_HUB_CACHE", d.path().join("hub"));
        d
    });
}

fn app(dir: &std::path::Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    empty_model_places();
    let app = mock_builder()
        .plugin(tauri_plugin_clipboard_manager::init())
        .invoke_handler(super::handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    // Keys in memory: the tests never touch this machine's keychain.
    let secrets = Box::new(cmdbar_settings::secrets::Memory::default());
    app.manage(AppState::with_secrets(Paths::in_dir(dir.to_path_buf()), secrets));
    app.manage(crate::models::Downloads::default());
    let w = WebviewWindowBuilder::new(&app, "popup", Default::default()).build().unwrap();
    (app, w)
}

/// One IPC call as the webview makes it (the models tests use it too).
pub(crate) fn call(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

/// The message of a refused call: the app's typed error, or Tauri's own
/// string for arguments that do not deserialise.
fn err(r: Result<Value, Value>) -> String {
    match r {
        Err(Value::String(s)) => s,
        Err(e @ Value::Object(_)) => typed(Err(e)).1,
        other => panic!("expected an error message, got {other:?}"),
    }
}

/// The app's typed error: kind, message and the field, if any; nothing else.
fn typed(r: Result<Value, Value>) -> (String, String, Option<String>) {
    let Err(Value::Object(e)) = r else { panic!("expected a typed error, got {r:?}") };
    let keys: Vec<&str> = e.keys().map(String::as_str).collect();
    assert!(keys.iter().all(|k| ["kind", "message", "field"].contains(k)), "{keys:?}");
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    (s("kind").expect("a kind"), s("message").expect("a message"), s("field"))
}

#[test]
fn settings_round_trip_and_bad_values_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let mut s = call(&w, "get_settings", json!({})).unwrap();
    assert_eq!(s["candidates"], 3);

    s["safety"] = json!("strict");
    let saved = call(&w, "set_settings", json!({ "settings": s })).unwrap();
    assert_eq!(saved["safety"], "strict");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(dir.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(on_disk["safety"], "strict");

    let mut bad = s.clone();
    bad["candidates"] = json!(42);
    assert_eq!(err(call(&w, "set_settings", json!({ "settings": bad }))), "candidates must be between 1 and 5, not 42");
    let mut bad = s.clone();
    bad["hotkey"] = json!("Ctrl+Banana");
    assert!(err(call(&w, "set_settings", json!({ "settings": bad }))).contains("is not a hotkey"));
    let mut bad = s.clone();
    bad["colour"] = json!("blue");
    assert!(err(call(&w, "set_settings", json!({ "settings": bad }))).contains("unknown field `colour`"));
    assert!(err(call(&w, "set_settings", json!({ "settings": "strict" }))).contains("invalid type"));
    assert!(err(call(&w, "set_settings", json!({}))).contains("missing required key settings"));

    // None of the refused calls touched the saved file.
    let on_disk: Value = serde_json::from_slice(&std::fs::read(dir.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(on_disk, saved);
}

#[test]
fn a_corrupt_settings_file_is_set_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.json"), "{\"hotkey\": ").unwrap();
    let (_app, w) = app(dir.path());
    assert_eq!(call(&w, "get_settings", json!({})).unwrap()["hotkey"], cmdbar_settings::default_hotkey());
    let notices = call(&w, "take_notices", json!({})).unwrap();
    let n = notices[0].as_str().unwrap();
    assert!(n.contains("could not be used") && n.contains("settings.json.bad-"), "{n}");
    assert_eq!(call(&w, "take_notices", json!({})).unwrap(), json!([]), "a notice is given once");
}

#[test]
fn ask_refuses_empty_queries_and_says_when_no_model_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    assert!(err(call(&w, "ask", json!({"query": "  ", "id": 1}))).contains("type what you want"));
    assert!(err(call(&w, "ask", json!({"query": "hello", "id": 1}))).contains("Say what you want done"));
    let e = err(call(&w, "ask", json!({"query": "list files", "id": 1})));
    assert!(e.contains("needs a model") && e.contains("Qwen2.5-Coder 1.5B"), "{e}");
    assert!(err(call(&w, "ask", json!({"query": "list files", "id": "one"}))).contains("invalid type"));
}

#[test]
fn copy_needs_a_confirm_for_dangerous_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let e = err(call(&w, "copy", json!({"command": "rm -rf /", "confirmed": false})));
    assert!(e.contains("confirm to copy"), "{e}");
    assert!(err(call(&w, "copy", json!({"command": " ", "confirmed": true}))).contains("no command"));
    // Under strict, critical is not copied even when confirmed.
    let mut s = call(&w, "get_settings", json!({})).unwrap();
    s["safety"] = json!("strict");
    call(&w, "set_settings", json!({ "settings": s })).unwrap();
    assert!(err(call(&w, "copy", json!({"command": "rm -rf /", "confirmed": true}))).contains("does not allow"));
}

/// First run: no model anywhere. The status offers the catalog's default
/// for download, with its size and fit, instead of a load error.
#[test]
fn with_no_model_the_status_offers_the_default_model() {
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(dir.path());
    let (tx, rx) = mpsc::channel::<Value>();
    app.listen_any("model-status", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    crate::state::load_model(app.handle().clone());
    let s = rx.recv_timeout(Duration::from_secs(10)).expect("model status");
    assert_eq!(s["state"], "missing", "{s}");
    assert_eq!(s, call(&w, "get_status", json!({})).unwrap());
    assert_eq!(s["model"]["file"], cmdbar_models::DEFAULT_MODEL_FILE);
    assert_eq!(s["model"]["size"], 1117320768u64);
    assert!(s["model"]["fit"]["text"].is_string(), "{s}");
}

/// A model downloaded on a first run becomes active and loads by itself;
/// once a model is active, a later download changes nothing.
#[test]
fn a_model_downloaded_on_a_first_run_becomes_active_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(dir.path());
    let (tx, rx) = mpsc::channel::<Value>();
    app.listen_any("model-status", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    crate::state::load_model(app.handle().clone());
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap()["state"], "missing");

    crate::state::adopt_if_missing(app.handle(), &model_path());
    let ready = loop {
        let v = rx.recv_timeout(Duration::from_secs(120)).expect("model status");
        assert_ne!(v["state"], "error", "{v}");
        if v["state"] == "ready" {
            break v;
        }
    };
    assert_eq!(ready["fallback"], Value::Null, "no GPU is built in here, so none was missed: {ready}");
    assert_eq!(call(&w, "get_settings", json!({})).unwrap()["active_model"], json!(model_path()));
    let on_disk = cmdbar_settings::Settings::load(&dir.path().join("settings.json")).value;
    assert_eq!(on_disk.active_model, Some(model_path()), "saved, so the next start loads it");

    crate::state::adopt_if_missing(app.handle(), std::path::Path::new("/elsewhere/other.gguf"));
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err(), "no second load");
    assert_eq!(call(&w, "get_settings", json!({})).unwrap()["active_model"], json!(model_path()));
}

#[test]
fn a_multi_line_command_is_never_pasted() {
    for c in ["ls\nrm -rf ~", "ls\r", "echo a &&\ncurl x"] {
        assert!(super::pasteable(c).unwrap_err().message.contains("several lines"), "{c:?}");
    }
    assert_eq!(super::pasteable("ls -la | sort"), Ok(()));
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let e = err(call(&w, "paste_to_terminal", json!({"command": "ls\nrm -rf ~", "confirmed": true})));
    assert!(e.contains("several lines") && e.contains("on the clipboard"), "{e}");
}

#[test]
fn popup_resize_refuses_heights_that_are_not_heights() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    assert!(err(call(&w, "popup_resize", json!({"height": -3.0}))).contains("not a window height"));
    assert!(err(call(&w, "popup_resize", json!({"height": "tall"}))).contains("invalid type"));
    assert_eq!(call(&w, "popup_resize", json!({"height": 300.0})), Ok(Value::Null));
}

#[test]
fn a_destructive_request_needs_a_confirm_even_for_a_harmless_looking_command() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let e = err(call(&w, "copy", json!({"command": "echo ok", "confirmed": false, "query": "wipe my home folder"})));
    assert!(e.contains("confirm to copy"), "{e}");
    assert_eq!(
        call(&w, "copy", json!({"command": "echo ok", "confirmed": false, "query": "say hello"})),
        Ok(Value::Null)
    );
}

#[test]
fn paste_to_terminal_is_macos_only() {
    if cfg!(target_os = "macos") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let e = err(call(&w, "paste_to_terminal", json!({"command": "rm -rf /", "confirmed": false})));
    assert!(e.contains("confirm"), "the confirm comes first: {e}");
}

static TEST_MODEL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The real 0.5B, fetched by scripts/fetch-test-models.
fn model_path() -> std::path::PathBuf {
    empty_model_places();
    TEST_MODEL.get_or_init(find_test_model).clone()
}

fn find_test_model() -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(root.join("scripts/fetch-test-models"))
        .args(["--print-path", "0.5b"])
        .output()
        .unwrap();
    let p = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.is_file(), "{} is missing: run scripts/fetch-test-models 0.5b", p.display());
    p
}

#[test]
fn ask_streams_candidates_from_the_real_model_and_records_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = cmdbar_settings::Settings { active_model: Some(model_path()), ..Default::default() };
    s.save(&dir.path().join("settings.json")).unwrap();
    let (app, w) = app(dir.path());

    let (tx, rx) = mpsc::channel::<Value>();
    let tx2 = tx.clone();
    app.listen_any("model-status", move |e| tx2.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    app.listen_any("suggestion", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    crate::state::load_model(app.handle().clone());
    loop {
        let v = rx.recv_timeout(Duration::from_secs(120)).expect("model status");
        if v["state"] == "ready" {
            break;
        }
        assert_ne!(v["state"], "error", "{v}");
    }
    assert!(matches!(call(&w, "get_status", json!({})).unwrap()["state"].as_str(), Some("ready")));

    // The streamed commands and the done event of request `id`.
    // Each row comes first once its command is complete (`pending`), then
    // whole, with the same command.
    let answer = |id: u32| {
        let (mut streamed, mut pending) = (vec![], vec![]);
        loop {
            let v: Value = rx.recv_timeout(Duration::from_secs(300)).expect("suggestion events");
            assert_eq!(v["id"], id);
            match v["type"].as_str().unwrap() {
                "candidate" if v["candidate"]["pending"] == true => pending.push(v["candidate"]["command"].clone()),
                // Whole once more when a later completion explains it.
                "candidate" if streamed.contains(&v["candidate"]["command"]) => {}
                "candidate" => streamed.push(v["candidate"]["command"].clone()),
                "done" => {
                    assert_eq!(pending, streamed, "each row shown pending, then whole");
                    break (streamed, v);
                }
                other => panic!("{other}: {v}"),
            }
        }
    };
    call(&w, "ask", json!({"query": "print the current date", "id": 7})).unwrap();
    let (streamed, done) = answer(7);
    let ranked = done["candidates"].as_array().unwrap().clone();
    assert!(!ranked.is_empty() && ranked.len() <= 3, "{ranked:?}");
    assert!(ranked.iter().all(|c| c["risk"].is_string() && c["command"].is_string()));
    // The final rows are the streamed ones or better ones, as many.
    assert_eq!(streamed.len(), ranked.len(), "{streamed:?} {ranked:?}");

    // Drafts turned off in Settings: no token is drafted, and the commands
    // are the same.
    let drafted = |done: &Value| done["timings"]["drafted_tokens"].as_u64().unwrap();
    assert!(drafted(&done) > 0, "the default drafts: {done}");
    let mut s = call(&w, "get_settings", json!({})).unwrap();
    s["drafts"] = json!(false);
    call(&w, "set_settings", json!({"settings": s})).unwrap();
    call(&w, "ask", json!({"query": "print the current date", "id": 17})).unwrap();
    let (_, plain) = answer(17);
    assert_eq!(drafted(&plain), 0, "{plain}");
    // As a set: scores may differ in their last bits (a check's rows run
    // as one pass), and so may the order of a tie.
    let texts = |d: &Value| -> Vec<String> {
        let mut t: Vec<String> = d["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c["command"], c["explanation"]))
            .collect();
        t.sort();
        t
    };
    assert_eq!(texts(&plain), texts(&done));

    let h = call(&w, "history", json!({"filter": "DATE"})).unwrap();
    assert_eq!(h[0]["query"], "print the current date");
    call(&w, "clear_history", json!({})).unwrap();
    assert_eq!(call(&w, "history", json!({"filter": ""})).unwrap(), json!([]));

    // A panic on the engine thread: reported, the app stays up, the model
    // is loaded again and the next request works.
    app.state::<AppState>().backend.local.inject_panic();
    call(&w, "ask", json!({"query": "show free disk space", "id": 8})).unwrap();
    let err = loop {
        let v = rx.recv_timeout(Duration::from_secs(60)).expect("an error event");
        if v["id"] == 8 {
            break v;
        }
    };
    assert_eq!(err["type"], "error", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("crashed") && message.contains("loading the model again"), "{message}");
    loop {
        let v = rx.recv_timeout(Duration::from_secs(120)).expect("the model to load again");
        if v["state"] == "ready" {
            break;
        }
        assert_ne!(v["state"], "error", "{v}");
    }
    call(&w, "ask", json!({"query": "show free disk space", "id": 9})).unwrap();
    loop {
        let v = rx.recv_timeout(Duration::from_secs(300)).expect("suggestion events");
        if v["id"] == 9 && v["type"] == "candidate" {
            break;
        }
        assert_ne!(v["type"], "error", "{v}");
    }
    // Hiding the popup (Esc) stops the request: the engine says so.
    call(&w, "hide_popup", json!({})).unwrap();
    let end = loop {
        let v = rx.recv_timeout(Duration::from_secs(60)).expect("the request to end");
        if v["id"] == 9 && v["type"] != "candidate" {
            break v;
        }
    };
    assert_eq!(end["type"], "cancelled", "{end}");

    // Switching to a file that fails to load keeps the loaded model, and
    // the settings say so.
    let bad = dir.path().join("page.gguf");
    std::fs::write(&bad, "<html>").unwrap();
    call(&w, "models_use", json!({"path": bad})).unwrap();
    let status = loop {
        let v = rx.recv_timeout(Duration::from_secs(30)).expect("model status");
        if v.get("state").is_some_and(|s| s != "loading") {
            break v;
        }
    };
    assert_eq!(status["state"], "error");
    assert!(status["message"].as_str().unwrap().contains("still using"), "{status}");
    assert_eq!(call(&w, "get_settings", json!({})).unwrap()["active_model"], json!(model_path()));
}

#[test]
fn a_model_that_fails_to_load_is_reported_and_asking_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("page.gguf");
    std::fs::write(&bad, "<html>not a model</html>").unwrap();
    let s = cmdbar_settings::Settings { active_model: Some(bad), ..Default::default() };
    s.save(&dir.path().join("settings.json")).unwrap();
    let (app, w) = app(dir.path());
    let (tx, rx) = mpsc::channel::<Value>();
    app.listen_any("model-status", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    crate::state::load_model(app.handle().clone());
    let status = loop {
        let v = rx.recv_timeout(Duration::from_secs(30)).expect("model status");
        if v["state"] != "loading" {
            break v;
        }
    };
    assert_eq!(status["state"], "error");
    assert!(status["message"].as_str().unwrap().contains("not a GGUF"), "{status}");
    let e = err(call(&w, "ask", json!({"query": "list files", "id": 2})));
    assert!(e.contains("could not be loaded") && e.contains("not a GGUF"), "{e}");
}

#[test]
fn models_commands_refuse_bad_arguments_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    assert!(err(call(&w, "models_files", json!({"repo": "qwen"}))).contains("is not a Hub repo"));
    assert!(err(call(&w, "models_download", json!({"repo": "a/b", "file": "README.md"}))).contains("not a GGUF file"));
    assert!(err(call(&w, "models_import", json!({"path": " "}))).contains("give the path"));
    let page = dir.path().join("page.gguf");
    std::fs::write(&page, "<html>").unwrap();
    let e = err(call(&w, "models_import", json!({"path": page})));
    assert!(e.contains("can't be used") && e.contains("not a GGUF"), "{e}");
    assert!(err(call(&w, "models_use", json!({"path": dir.path().join("gone.gguf")}))).contains("does not exist"));
    assert!(err(call(&w, "models_pause", json!({"id": 99}))).contains("no download 99"));
    assert!(err(call(&w, "models_search", json!({"query": "  "}))).contains("type a model name"));
    assert!(err(call(&w, "models_reveal", json!({"path": page}))).contains("is not one of the installed models"));
    assert!(err(call(&w, "models_reveal", json!({"path": 7}))).contains("invalid type"));

    let mut s = call(&w, "get_settings", json!({})).unwrap();
    s["active_model"] = json!(page);
    call(&w, "set_settings", json!({ "settings": s })).unwrap();
    assert!(err(call(&w, "models_delete", json!({"path": page}))).contains("active model"));
}

#[test]
fn the_catalog_comes_with_a_fit_for_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let items = call(&w, "models_catalog", json!({})).unwrap();
    let items = items.as_array().unwrap();
    assert!(items.len() >= 4);
    assert_eq!(items.iter().filter(|i| i["default"] == true).count(), 1);
    for i in items {
        assert!(["fits", "tight", "too_big"].contains(&i["fit"]["fit"].as_str().unwrap()), "{i}");
        assert!(i["fit"]["needed"].as_u64().unwrap() > i["size"].as_u64().unwrap());
    }
    let listing = call(&w, "models_list", json!({})).unwrap();
    assert!(listing["models"].is_array() && listing["notices"].is_array(), "{listing}");
}

#[test]
fn the_cli_and_the_app_share_one_config_folder() {
    let conf: Value = serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
    assert_eq!(conf["identifier"], cmdbar_settings::APP_IDENTIFIER);
}

#[test]
fn oversized_ipc_strings_are_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let huge = "a".repeat(1 << 20);
    for (cmd, args, what) in [
        ("ask", json!({"query": huge, "id": 1}), "request"),
        ("copy", json!({"command": huge, "confirmed": true, "query": null}), "command"),
        ("copy", json!({"command": "ls", "confirmed": true, "query": huge}), "request"),
        ("history", json!({"filter": huge}), "filter"),
        ("models_search", json!({"query": huge}), "search"),
        ("models_files", json!({"repo": huge}), "repo"),
        ("models_download", json!({"repo": huge, "file": "x.gguf"}), "repo"),
        ("models_import", json!({"path": huge}), "path"),
        ("models_use", json!({"path": huge}), "path"),
        ("models_delete", json!({"path": huge}), "path"),
        ("models_reveal", json!({"path": huge}), "path"),
    ] {
        let e = err(call(&w, cmd, args));
        assert!(e.contains(&format!("the {what} is too long (1048576 bytes")), "{cmd}: {e}");
    }
    assert!(!dir.path().join("history.json").exists(), "nothing was written");
    // Wrong types are refused by the IPC layer with the argument's name.
    let e = err(call(&w, "ask", json!({"query": 5, "id": "x"})));
    assert!(e.contains("invalid type"), "{e}");
}

/// Errors reach the UI typed: what kind, the message, and the setting or
/// argument they concern, so Settings shows each beside its field.
#[test]
fn errors_are_typed_with_a_kind_and_the_field_they_concern() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let s = call(&w, "get_settings", json!({})).unwrap();
    let mut bad = s.clone();
    bad["candidates"] = json!(42);
    let (kind, message, field) = typed(call(&w, "set_settings", json!({ "settings": bad })));
    assert_eq!((kind.as_str(), field.as_deref()), ("invalid", Some("candidates")), "{message}");
    let mut bad = s.clone();
    bad["hotkey"] = json!("Ctrl+Banana");
    let (kind, message, field) = typed(call(&w, "set_settings", json!({ "settings": bad })));
    assert_eq!((kind.as_str(), field.as_deref()), ("invalid", Some("hotkey")), "{message}");
    let (kind, ..) = typed(call(&w, "copy", json!({"command": "rm -rf /", "confirmed": false})));
    assert_eq!(kind, "refused");
    let (kind, ..) = typed(call(&w, "ask", json!({"query": "list files", "id": 1})));
    assert_eq!(kind, "not_ready");
    let (kind, _, field) = typed(call(&w, "models_pause", json!({"id": 99})));
    assert_eq!((kind.as_str(), field.as_deref()), ("not_found", Some("id")));
    let (kind, _, field) = typed(call(&w, "ask", json!({"query": "x".repeat(crate::limits::QUERY + 1), "id": 1})));
    assert_eq!((kind.as_str(), field.as_deref()), ("invalid", Some("query")));
    #[cfg(not(target_os = "macos"))]
    {
        let (kind, ..) = typed(call(&w, "paste_to_terminal", json!({"command": "ls", "confirmed": false})));
        assert_eq!(kind, "unsupported");
    }
}

/// The handler and build.rs's list are both made from src/ipc_commands.rs.
/// What can still disagree with it: a capability granting a command that
/// is not there (or none granting one that is), the permissions tauri-build
/// generated from build.rs's list, and the commands the UI calls.
#[test]
fn the_command_list_the_capabilities_the_permissions_and_the_ui_agree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let mut listed: Vec<String> = super::COMMANDS.iter().map(|c| c.to_string()).collect();
    listed.sort();
    let mut granted = vec![];
    for cap in ["capabilities/popup.json", "capabilities/settings.json"] {
        let v: Value = serde_json::from_str(&read(cap)).unwrap();
        for p in v["permissions"].as_array().unwrap().iter().filter_map(|p| p.as_str()) {
            let Some(cmd) = p.strip_prefix("allow-") else { continue };
            let cmd = cmd.replace('-', "_");
            assert!(listed.contains(&cmd), "{cap}: {p} names no listed command");
            granted.push(cmd);
        }
    }
    for c in &listed {
        assert!(granted.contains(c), "no window may call {c}: no capability grants allow-{}", c.replace('_', "-"));
    }
    // One permission file per listed command, none for a command gone.
    let mut generated: Vec<String> = std::fs::read_dir(root.join("permissions/autogenerated"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_string))
        .collect();
    generated.sort();
    assert_eq!(generated, listed, "permissions/autogenerated (from build.rs's list) and src/ipc_commands.rs");
    // The UI's typed wrappers call each command by name.
    let ipc = read("../ui/src/ipc.ts");
    let mut called: Vec<String> = ipc
        .split("invoke<")
        .skip(1)
        .filter_map(|s| s.split_once(">(\"")?.1.split_once('"').map(|(name, _)| name.to_string()))
        .collect();
    called.sort();
    called.dedup();
    assert_eq!(called, listed, "ui/src/ipc.ts's calls and src/ipc_commands.rs");
}

/// The remote crate's stand-in OpenAI-compatible server (real SSE over
/// HTTP/1.1 on a local port), shared rather than copied.
#[path = "../../crates/remote/tests/common/mod.rs"]
mod stand_in;

fn stored_key(app: &App<MockRuntime>, base_url: &str) -> Option<String> {
    let server = cmdbar_settings::Server { base_url: base_url.into(), model: "m".into() };
    cmdbar_settings::secrets::api_key(&server, &*app.state::<AppState>().secrets).unwrap()
}

#[test]
fn set_server_refuses_a_bad_address_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(dir.path());
    let server = |url: &str, model: &str| json!({"server": {"base_url": url, "model": model}, "key": "sk-1"});
    for url in ["localhost:11434", "ftp://gpu.lan", "http://", "  ", "http://gpu.lan:11434/?x=1"] {
        let (kind, message, field) = typed(call(&w, "set_server", server(url, "qwen")));
        assert_eq!((kind.as_str(), field.as_deref()), ("invalid", Some("base_url")), "{url:?}: {message}");
        assert!(message.contains("http://") || message.contains("query"), "{url:?}: {message}");
    }
    let (kind, _, field) = typed(call(&w, "set_server", server("http://gpu.lan:11434", " ")));
    assert_eq!((kind.as_str(), field.as_deref()), ("invalid", Some("model")));
    let (_, _, field) = typed(call(&w, "set_server", server(&"h".repeat(5000), "qwen")));
    assert_eq!(field.as_deref(), Some("base_url"));
    // Through set_settings too.
    let mut s = call(&w, "get_settings", json!({})).unwrap();
    s["server"] = json!({"base_url": "gpu.lan", "model": "qwen"});
    let (_, _, field) = typed(call(&w, "set_settings", json!({ "settings": s })));
    assert_eq!(field.as_deref(), Some("base_url"));

    assert!(!dir.path().join("settings.json").exists(), "nothing was saved");
    assert_eq!(call(&w, "get_settings", json!({})).unwrap()["server"], Value::Null);
    assert_eq!(stored_key(&app, "http://gpu.lan:11434"), None, "no key was stored");
    assert_eq!(call(&w, "get_server", json!({})).unwrap(), json!({"server": null, "has_key": false}));
}

#[test]
fn the_server_key_goes_to_the_keychain_never_to_settings_json() {
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(dir.path());
    let (tx, rx) = mpsc::channel::<Value>();
    app.listen_any("model-status", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    let url = "http://gpu.lan:11434";
    let gpu = json!({"base_url": url, "model": "qwen2.5-coder:7b"});
    let r = call(&w, "set_server", json!({"server": gpu, "key": "sk-very-secret"})).unwrap();
    assert_eq!(r, json!({"server": gpu, "has_key": true}), "the key itself never comes back");
    let file = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(!file.contains("sk-very-secret"), "{file}");
    let on_disk: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(on_disk["server"], gpu);
    assert_eq!(stored_key(&app, url).as_deref(), Some("sk-very-secret"));
    // Ready on the server at once, with no local model anywhere.
    let status = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        (status["state"].as_str(), status["device"].as_str(), status["name"].as_str()),
        (Some("ready"), Some("server"), Some("qwen2.5-coder:7b")),
        "{status}"
    );
    assert_eq!(call(&w, "get_status", json!({})).unwrap(), status);

    // No key given: the stored one stays; an empty one removes it.
    call(&w, "set_server", json!({"server": gpu, "key": null})).unwrap();
    assert_eq!(stored_key(&app, url).as_deref(), Some("sk-very-secret"));
    let r = call(&w, "set_server", json!({"server": gpu, "key": ""})).unwrap();
    assert_eq!(r["has_key"], false);
    assert_eq!(stored_key(&app, url), None);

    // Back to local models: the server goes, its key too, and the local
    // model is looked for again (none here).
    call(&w, "set_server", json!({"server": gpu, "key": "sk-2"})).unwrap();
    let r = call(&w, "set_server", json!({"server": null, "key": null})).unwrap();
    assert_eq!(r, json!({"server": null, "has_key": false}));
    assert_eq!(stored_key(&app, url), None);
    let on_disk: Value = serde_json::from_slice(&std::fs::read(dir.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(on_disk["server"], Value::Null);
    let status = loop {
        let v = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        if v["state"] != "ready" {
            break v;
        }
    };
    assert_eq!(status["state"], "missing", "{status}");
    let e = err(call(&w, "ask", json!({"query": "list files", "id": 1})));
    assert!(e.contains("needs a model"), "no server answers now: {e}");
}

#[test]
fn ask_through_a_server_streams_its_candidates_and_a_refusal_reaches_the_popup() {
    use stand_in::{answer, serve, stream, Reply};
    let server = serve(|seen| {
        if seen.auth.as_deref() != Some("Bearer sk-good") {
            return Reply::Status(401, r#"{"error": {"message": "invalid api key"}}"#.into());
        }
        let text = if seen.body["temperature"] == 0.0 {
            "```bash\nls -la\n```\nLists all files, hidden ones too."
        } else {
            "```bash\nfind . -maxdepth 1\n```\nLists the entries of this folder."
        };
        let pieces: Vec<String> = text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        stream(answer(&pieces.iter().map(String::as_str).collect::<Vec<_>>(), None))
    });
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(dir.path());
    let (tx, rx) = mpsc::channel::<Value>();
    let tx2 = tx.clone();
    app.listen_any("model-status", move |e| tx2.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    app.listen_any("suggestion", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    let srv = json!({"base_url": server.base, "model": "qwen2.5-coder:7b"});
    let ready = |rx: &mpsc::Receiver<Value>| loop {
        let v = rx.recv_timeout(Duration::from_secs(10)).expect("model status");
        if v["state"] == "ready" {
            break;
        }
    };

    call(&w, "set_server", json!({"server": srv, "key": "sk-good"})).unwrap();
    ready(&rx);
    call(&w, "ask", json!({"query": "list the files here", "id": 3})).unwrap();
    let mut streamed = vec![];
    let ranked = loop {
        let v = rx.recv_timeout(Duration::from_secs(30)).expect("suggestion events");
        assert_eq!(v["id"], 3, "{v}");
        match v["type"].as_str().unwrap() {
            "candidate" if v["candidate"]["pending"] == true => {}
            "candidate" if streamed.iter().any(|c: &String| v["candidate"]["command"] == c.as_str()) => {}
            "candidate" => streamed.push(v["candidate"]["command"].as_str().unwrap().to_string()),
            "done" => break v["candidates"].as_array().unwrap().clone(),
            other => panic!("{other}: {v}"),
        }
    };
    let mut commands: Vec<&str> = ranked.iter().map(|c| c["command"].as_str().unwrap()).collect();
    commands.sort();
    assert_eq!(commands, ["find . -maxdepth 1", "ls -la"], "{ranked:?}");
    assert!(ranked.iter().all(|c| c["risk"] == "safe"), "{ranked:?}");
    assert_eq!(streamed.len(), 2, "{streamed:?}");
    let seen = server.requests();
    assert!(!seen.is_empty() && seen.iter().all(|s| s.body["model"] == "qwen2.5-coder:7b"));
    assert!(stand_in::last_user(&seen[0].body).contains("list the files here"));

    // A wrong key: the server's refusal is the popup's error, in words.
    call(&w, "set_server", json!({"server": srv, "key": "sk-bad"})).unwrap();
    ready(&rx);
    call(&w, "ask", json!({"query": "list the files here", "id": 4})).unwrap();
    let end = loop {
        let v = rx.recv_timeout(Duration::from_secs(30)).expect("an error event");
        if v["id"] == 4 && v["type"] != "candidate" {
            break v;
        }
    };
    assert_eq!(end["type"], "error", "{end}");
    let message = end["message"].as_str().unwrap();
    assert!(message.contains("refused the API key"), "{message}");
}

/// Esc stops the popup's own request on a server as on the local engine.
#[test]
fn hiding_the_popup_stops_a_request_on_a_server() {
    use stand_in::{answer, serve, Reply};
    let server = serve(|_| {
        let pieces: Vec<String> = (0..400).map(|i| format!("word{i} ")).collect();
        Reply::Stream {
            events: answer(&pieces.iter().map(String::as_str).collect::<Vec<_>>(), None),
            pause: Duration::from_millis(20),
            done: true,
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(dir.path());
    let (tx, rx) = mpsc::channel::<Value>();
    app.listen_any("suggestion", move |e| tx.send(serde_json::from_str(e.payload()).unwrap()).unwrap());
    let srv = json!({"base_url": server.base, "model": "m"});
    call(&w, "set_server", json!({"server": srv, "key": null})).unwrap();
    call(&w, "ask", json!({"query": "list the files here", "id": 5})).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    call(&w, "hide_popup", json!({})).unwrap();
    let end = loop {
        let v = rx.recv_timeout(Duration::from_secs(5)).expect("the request to end soon");
        if v["type"] != "candidate" {
            break v;
        }
    };
    assert_eq!((end["id"].as_u64(), end["type"].as_str()), (Some(5), Some("cancelled")), "{end}");
    // The stand-in sees the hang-up at its next write.
    let t = std::time::Instant::now();
    while server.hang_ups() == 0 && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.hang_ups() >= 1, "the stream was hung up on");
}
