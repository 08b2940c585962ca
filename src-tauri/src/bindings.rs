//! The TypeScript types of the IPC edge, generated from the Rust types by
//! ts-rs into ui/src/bindings/. The app's own types derive `TS`; the core
//! crates' (settings, models, suggest, safety, engine) derive it behind
//! their `ts` feature, which only the app turns on, so what the UI gets is
//! the core type itself, serialised as it is, not a copy of it.
//!
//! A test regenerates every type an IPC command takes or returns or an
//! event carries, with all the types they name, and fails when the
//! checked-in files differ, so the UI's types cannot drift from the app's:
//! `UPDATE_BINDINGS=1 cargo test -p cmdbar-app bindings` writes them anew.
#[cfg(test)]
mod tests {
    use std::any::TypeId;
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};

    use ts_rs::{Config, TypeVisitor, TS};

    const HEADER: &str = "// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.\n";

    /// Each type once, with every type it names, recursively.
    struct Collect<'a> {
        cfg: &'a Config,
        seen: HashSet<TypeId>,
        files: Vec<(PathBuf, String)>,
    }

    impl TypeVisitor for Collect<'_> {
        fn visit<T: TS + 'static + ?Sized>(&mut self) {
            // Primitives and containers have no file of their own; their
            // parameters are visited as dependencies of the type naming them.
            let Some(path) = T::output_path() else { return };
            if !self.seen.insert(TypeId::of::<T>()) {
                return;
            }
            let text = T::export_to_string(self.cfg).expect("bindings");
            // ts-rs's own header names no file to regenerate from; ours does.
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("// This file was generated"))
                .map(|l| format!("{l}\n"))
                .collect();
            self.files.push((path, format!("{HEADER}{}", body.trim_start())));
            T::visit_dependencies(self);
        }
    }

    fn generated() -> Vec<(PathBuf, String)> {
        // JSON numbers, not bigints: the values are far below 2^53.
        let cfg = Config::new().with_large_int("number");
        let mut c = Collect { cfg: &cfg, seen: HashSet::new(), files: vec![] };
        // What the IPC commands take and return, and the events carry
        // (ui/src/ipc.ts names them); the types they name follow.
        c.visit::<crate::error::IpcError>();
        c.visit::<cmdbar_settings::Settings>(); // get_settings, set_settings
        c.visit::<crate::commands::ServerState>(); // get_server, set_server
        c.visit::<crate::state::ModelStatus>(); // get_status, `model-status`
        c.visit::<crate::hotkey::HotkeyState>(); // hotkey_state, `hotkey-state`
        c.visit::<cmdbar_settings::Entry>(); // history
        c.visit::<crate::commands::TldrStatus>(); // tldr_status, tldr_update
        c.visit::<crate::commands::Suggestion>(); // `suggestion`
        c.visit::<crate::models::Listing>(); // models_list
        c.visit::<cmdbar_models::CatalogItem>(); // models_catalog
        c.visit::<cmdbar_models::RepoSummary>(); // models_search
        c.visit::<cmdbar_models::RepoFile>(); // models_files
        c.visit::<cmdbar_models::LocalModel>(); // models_import
        c.visit::<crate::models::DownloadEvent>(); // `download`
        c.files.sort();
        c.files
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

    /// Two types of one TypeScript name would write one file.
    #[test]
    fn no_two_types_share_a_file() {
        let files = generated();
        let mut paths: Vec<_> = files.iter().map(|(p, _)| p).collect();
        paths.dedup();
        assert_eq!(paths.len(), files.len(), "{paths:?}");
    }

    /// The UI gets the core types as they serialise everywhere else (the
    /// CLI's --json, the socket): the same JSON the app's mirror types
    /// (views.rs, before the core types derived TS) sent.
    #[test]
    fn a_suggestion_serialises_as_before() {
        let c = cmdbar_suggest::Candidate {
            command: "rm -rf build".into(),
            explanation: "removes build".into(),
            risk: cmdbar_safety::Risk::High,
            risk_reason: "deletes files".into(),
            action: cmdbar_safety::Action::Confirm,
            safer: Some("rm -rI build".into()),
            portability: None,
            score: -0.5,
            votes: 2,
            pending: false,
        };
        let v = serde_json::to_value(crate::commands::Suggestion::Candidate { id: 7, candidate: c }).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "candidate", "id": 7, "candidate": {
                "command": "rm -rf build", "explanation": "removes build", "risk": "high",
                "risk_reason": "deletes files", "action": "confirm", "safer": "rm -rI build",
                "score": -0.5, "votes": 2}})
        );
        let t = cmdbar_engine::Timings { prompt_tokens: 3, sample_ms: 1.5, ..Default::default() };
        let done =
            crate::commands::Suggestion::Done { id: 7, candidates: vec![], hidden: 1, notices: vec![], timings: t };
        let v = serde_json::to_value(done).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "done", "id": 7, "candidates": [], "hidden": 1, "notices": [], "timings": {
                "prompt_tokens": 3, "cached_tokens": 0, "generated_tokens": 0, "prefill_ms": 0.0,
                "first_token_ms": 0.0, "total_ms": 0.0, "sample_ms": 1.5, "commands_ms": 0.0,
                "first_command_ms": 0.0, "drafted_tokens": 0, "accepted_tokens": 0, "tail_tokens": 0,
                "tail_ms": 0.0}})
        );
    }
}
