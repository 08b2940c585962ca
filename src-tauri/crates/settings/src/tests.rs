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
