//! The TypeScript types of the IPC edge, generated from the Rust types by
//! ts-rs into ui/src/bindings/. A test regenerates them and fails when the
//! checked-in files differ, so the UI's types cannot drift from the app's:
//! `UPDATE_BINDINGS=1 cargo test -p cmdbar-app bindings` writes them anew.
#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ts_rs::{Config, TS};

    use crate::commands::{Suggestion, TldrStatus};
    use crate::error::{ErrorKind, IpcError};
    use crate::hotkey::HotkeyState;
    use crate::models::{DownloadEvent, DownloadState};
    use crate::views::{ActionView, CandidateView, RiskView, TimingsView};

    const HEADER: &str = "// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.\n";

    fn one<T: TS + 'static>(cfg: &Config) -> (PathBuf, String) {
        let path = T::output_path().expect("an exportable type");
        let text = T::export_to_string(cfg).expect("bindings");
        // ts-rs's own header names no file to regenerate from; ours does.
        let body: String =
            text.lines().filter(|l| !l.starts_with("// This file was generated")).map(|l| format!("{l}\n")).collect();
        (path, format!("{HEADER}{}", body.trim_start()))
    }

    fn generated() -> Vec<(PathBuf, String)> {
        // JSON numbers, not bigints: the values are far below 2^53.
        let cfg = Config::new().with_large_int("number");
        vec![
            one::<IpcError>(&cfg),
            one::<ErrorKind>(&cfg),
            one::<Suggestion>(&cfg),
            one::<CandidateView>(&cfg),
            one::<RiskView>(&cfg),
            one::<ActionView>(&cfg),
            one::<TimingsView>(&cfg),
            one::<DownloadEvent>(&cfg),
            one::<DownloadState>(&cfg),
            one::<HotkeyState>(&cfg),
            one::<TldrStatus>(&cfg),
        ]
    }

    #[test]
    fn the_typescript_bindings_are_up_to_date() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        let files = generated();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (path, text) in &files {
                std::fs::write(dir.join(path), text).unwrap();
            }
        }
        let mut stale = vec![];
        for (path, text) in &files {
            if std::fs::read_to_string(dir.join(path)).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        // A file no type makes any more is drift too.
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        on_disk.retain(|f| !files.iter().any(|(p, _)| p.to_string_lossy() == *f));
        assert!(
            stale.is_empty() && on_disk.is_empty(),
            "ui/src/bindings is out of date (changed or missing: {stale:?}; left over: {on_disk:?}); \
             run UPDATE_BINDINGS=1 cargo test -p cmdbar-app bindings"
        );
    }
}
