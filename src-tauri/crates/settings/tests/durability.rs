//! Settings and history survive SIGKILL in the middle of writes: this test
//! runs itself again as a writer that saves in a loop, kills it at random
//! moments, and checks that each file is always a whole old or new version.
use std::process::{Command, Stdio};
use std::time::Duration;

use cmdbar_settings::{History, Settings};

fn version(i: u32) -> Settings {
    Settings {
        history_limit: 10 + (i % 2) as usize * 90,
        hotkey: format!("Ctrl+Shift+F{}", 1 + i % 2),
        ..Settings::default()
    }
}

/// Not a test on its own: the writer the kill loop runs (it does nothing
/// unless `CMDBAR_WRITE_LOOP` names a folder).
#[test]
fn writer_loop() {
    let Some(dir) = std::env::var_os("CMDBAR_WRITE_LOOP") else { return };
    let dir = std::path::PathBuf::from(dir);
    let mut history = History::default();
    for i in 0u32.. {
        version(i).save(&dir.join("settings.json")).unwrap();
        history.push(&format!("query {i} {}", "x".repeat(200)), 100);
        history.save(&dir.join("history.json")).unwrap();
    }
}

#[test]
fn files_are_old_or_new_after_sigkill_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::HashSet::new();
    for round in 0..60u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["writer_loop", "--exact", "--nocapture", "--test-threads=1"])
            .env("CMDBAR_WRITE_LOOP", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A different moment each round, mostly in the middle of writes.
        std::thread::sleep(Duration::from_millis(20 + (round * 7919) % 60));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let settings = dir.path().join("settings.json");
        if settings.exists() {
            let text = std::fs::read_to_string(&settings).unwrap();
            let s: Settings = serde_json::from_str(&text).unwrap_or_else(|e| panic!("round {round}: {e}\n{text}"));
            assert!(s == version(0) || s == version(1), "round {round}: {s:?}");
            seen.insert(s.hotkey.clone());
        }
        let history = dir.path().join("history.json");
        if history.exists() {
            let loaded = History::load(&history);
            assert!(loaded.notice.is_none(), "round {round}: {:?}", loaded.notice);
        }
        let bad: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|f| f.file_name().to_string_lossy().contains(".bad-"))
            .collect();
        assert!(bad.is_empty(), "round {round}: a file was damaged and set aside");
    }
    assert_eq!(seen.len(), 2, "both versions were written and read back");
}
