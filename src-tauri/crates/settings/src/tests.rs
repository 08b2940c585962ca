use super::*;

#[test]
fn missing_file_gives_defaults_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let l = Settings::load(&dir.path().join("settings.json"));
    assert_eq!(l.value, Settings::default());
    assert!(l.notice.is_none());
}

#[test]
fn saved_settings_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/settings.json");
    let s = Settings { hotkey: "Ctrl+Alt+K".into(), candidates: 5, safety: Level::Strict, ..Default::default() };
    s.save(&p).unwrap();
    let l = Settings::load(&p);
    assert_eq!(l.value, s);
    assert!(l.notice.is_none());
}

#[test]
fn corrupt_old_or_out_of_range_files_are_kept_aside_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("settings.json");
    let cases = [
        "{not json".to_string(),
        "".to_string(),
        serde_json::json!({"version": 0, "hotkey": "x"}).to_string(),
        serde_json::to_string(&Settings { candidates: 99, ..Default::default() }).unwrap(),
        serde_json::to_string(&Settings { version: 7, ..Default::default() }).unwrap(),
        serde_json::to_string(&Settings::default()).unwrap().replace("\"hotkey\"", "\"hot_key\""),
    ];
    for (i, text) in cases.iter().enumerate() {
        std::fs::write(&p, text).unwrap();
        let l = Settings::load(&p);
        assert_eq!(l.value, Settings::default(), "case {i}");
        let notice = l.notice.unwrap_or_else(|| panic!("case {i}: no notice"));
        let backup = l.backup.unwrap();
        assert!(notice.contains(&backup.display().to_string()), "{notice}");
        assert_eq!(&std::fs::read_to_string(&backup).unwrap(), text, "the user's file is kept as it was");
        assert!(!p.exists());
        std::fs::remove_file(backup).unwrap();
    }
}

#[test]
fn validation_names_the_bad_value() {
    let e = Settings { temperature: 3.0, ..Default::default() }.validate().unwrap_err();
    assert_eq!(e.to_string(), "temperature must be between 0 and 1.5, not 3");
    assert!(Settings { hotkey: " ".into(), ..Default::default() }.validate().is_err());
}

#[test]
fn history_is_bounded_deduplicated_and_searchable() {
    let mut h = History::default();
    for q in ["list files", "find big files", "disk usage", "list files"] {
        h.push(q, 3);
    }
    assert_eq!(
        h.entries.iter().map(|e| e.query.as_str()).collect::<Vec<_>>(),
        ["find big files", "disk usage", "list files"]
    );
    h.push("show ports", 3);
    assert_eq!(h.entries.len(), 3);
    h.chose("show ports", "lsof -i -P");
    assert_eq!(h.search("LSOF", 10)[0].query, "show ports");
    assert_eq!(h.search("", 2).iter().map(|e| e.query.as_str()).collect::<Vec<_>>(), ["show ports", "list files"]);
    h.push("   ", 3);
    assert_eq!(h.entries.len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("history.json");
    h.save(&p).unwrap();
    assert_eq!(History::load(&p).value.entries, h.entries);
    h.clear();
    assert!(h.search("", 10).is_empty());
    std::fs::write(&p, "[1,2").unwrap();
    let l = History::load(&p);
    assert!(l.value.entries.is_empty() && l.notice.is_some());
}

/// Temporary files left by a writer killed before its rename are removed
/// by the next save once they are old; a fresh one (a write in progress in
/// another process) is left alone.
#[test]
fn stale_temporary_files_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join(".settings-killed.tmp");
    let fresh = dir.path().join(".settings-writing.tmp");
    let other = dir.path().join("notes.tmp");
    for p in [&old, &fresh, &other] {
        std::fs::write(p, "{").unwrap();
    }
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for p in [&old, &other] {
        std::fs::File::options().write(true).open(p).unwrap().set_modified(hour_ago).unwrap();
    }
    Settings::default().save(&dir.path().join("settings.json")).unwrap();
    assert!(!old.exists());
    assert!(fresh.exists() && other.exists());
}

#[test]
fn the_macos_default_hotkey_collides_with_no_launcher_or_system_chord() {
    assert_eq!(crate::macos_conflict("Alt+Shift+Space"), None);
    assert!(crate::macos_conflict("Alt+Space").is_some_and(|w| w.contains("Raycast")));
    assert!(crate::macos_conflict("space+option").is_some(), "order and spelling don't matter");
    assert!(crate::macos_conflict("Cmd+Space").is_some_and(|w| w.contains("Spotlight")));
    assert!(crate::macos_conflict("Command+Alt+Space").is_some());
    assert!(crate::macos_conflict("Ctrl+Shift+Space").is_none());
    if cfg!(target_os = "macos") {
        assert_eq!(crate::default_hotkey(), "Alt+Shift+Space");
    }
    assert_eq!(crate::macos_conflict(crate::default_hotkey()), None, "the default on this OS is free on a Mac too");
}

fn server(url: &str) -> Server {
    Server { base_url: url.into(), model: "qwen2.5-coder:7b".into() }
}

#[test]
fn a_server_is_saved_without_its_key_which_goes_to_the_keychain() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("settings.json");
    let keys = secrets::Memory::default();
    let mut s = Settings::default();
    s.set_server(Some(server("http://gpu.lan:11434")), Some("sk-very-secret"), &keys).unwrap();
    s.save(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(!text.contains("sk-very-secret"), "{text}");
    assert!(text.contains("http://gpu.lan:11434"));
    let l = Settings::load(&p);
    assert!(l.notice.is_none(), "{:?}", l.notice);
    assert_eq!(l.value.server, Some(server("http://gpu.lan:11434")));
    let srv = l.value.server.as_ref().unwrap();
    assert_eq!(secrets::api_key(srv, &keys).unwrap().as_deref(), Some("sk-very-secret"));

    // Another server: the old key goes; no key given, none stored.
    let mut s = l.value;
    s.set_server(Some(server("http://other:8080")), None, &keys).unwrap();
    assert_eq!(secrets::api_key(&server("http://gpu.lan:11434"), &keys).unwrap(), None);
    assert_eq!(secrets::api_key(&server("http://other:8080"), &keys).unwrap(), None);
    // Back to the local model: the server and its key are gone.
    s.set_server(Some(server("http://other:8080")), Some("k2"), &keys).unwrap();
    s.set_server(None, None, &keys).unwrap();
    assert_eq!(s.server, None);
    assert_eq!(secrets::api_key(&server("http://other:8080"), &keys).unwrap(), None);
}

#[test]
fn a_key_written_into_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("settings.json");
    let mut v = serde_json::to_value(Settings { server: Some(server("http://h")), ..Default::default() }).unwrap();
    v["server"]["api_key"] = "sk-x".into();
    std::fs::write(&p, v.to_string()).unwrap();
    let l = Settings::load(&p);
    assert_eq!(l.value.server, None);
    assert!(l.notice.is_some());
}

#[test]
fn settings_from_before_servers_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("settings.json");
    let mut v = serde_json::to_value(Settings::default()).unwrap();
    v.as_object_mut().unwrap().remove("server");
    std::fs::write(&p, v.to_string()).unwrap();
    let l = Settings::load(&p);
    assert!(l.notice.is_none(), "{:?}", l.notice);
    assert_eq!(l.value, Settings::default());
}

#[test]
fn settings_from_before_drafts_keep_the_users_values_and_draft() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("settings.json");
    let mine = Settings { candidates: 5, history_enabled: false, ..Settings::default() };
    let mut v = serde_json::to_value(&mine).unwrap();
    v.as_object_mut().unwrap().remove("drafts");
    std::fs::write(&p, v.to_string()).unwrap();
    let l = Settings::load(&p);
    assert!(l.notice.is_none(), "{:?}", l.notice);
    assert_eq!(l.value, mine);
    assert!(l.value.drafts);
    // Turned off, it stays off.
    Settings { drafts: false, ..mine }.save(&p).unwrap();
    assert!(!Settings::load(&p).value.drafts);
}

#[test]
fn a_server_needs_an_http_address_and_a_model() {
    let keys = secrets::Memory::default();
    let set = |url: &str, model: &str| {
        let mut s = Settings::default();
        let r = s.set_server(Some(Server { base_url: url.into(), model: model.into() }), Some("k"), &keys);
        (r, s.server.is_some())
    };
    assert!(matches!(set("http://localhost:11434", "m"), (Ok(()), true)));
    assert!(matches!(set("https://gpu.lan/v1", "m"), (Ok(()), true)));
    for url in ["", "localhost:11434", "ftp://h", "http://", "https:///x"] {
        let (r, kept) = set(url, "m");
        assert!(matches!(r, Err(secrets::ServerError::Url(ref u)) if u == url), "{url:?}: {r:?}");
        assert!(!kept, "{url:?}");
    }
    assert!(matches!(set("http://h", " "), (Err(secrets::ServerError::Model), false)));
    assert_eq!(secrets::api_key(&server("ftp://h"), &keys).unwrap(), None, "no key stored for a bad server");
}
