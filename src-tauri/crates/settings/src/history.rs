use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "HistoryEntry"))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub query: String,
    /// The command the user copied, if any.
    pub command: Option<String>,
    /// Seconds since the Unix epoch.
    pub at: i64,
}

/// The last queries, newest last, bounded by the settings' limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub version: u32,
    pub entries: Vec<Entry>,
    /// Set by `clear`: the next `save` also removes the copies of a damaged
    /// history that loading set aside (`history.json.bad-<time>`), which
    /// hold old queries too.
    #[serde(skip)]
    cleared: std::cell::Cell<bool>,
}

impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.entries == other.entries
    }
}

impl History {
    pub fn load(path: &std::path::Path) -> crate::store::Loaded<History> {
        crate::store::load_json(path, |h: &History| {
            if h.version == 1 {
                Ok(())
            } else {
                Err(format!("history version {} is not 1", h.version))
            }
        })
    }

    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let v = History { version: 1, entries: self.entries.clone(), cleared: Default::default() };
        crate::store::save_json(path, &v)?;
        if self.cleared.replace(false) {
            remove_backups(path)?;
        }
        Ok(())
    }

    /// Records a query; asking the same again moves it to the end.
    pub fn push(&mut self, query: &str, limit: usize) {
        let query = query.trim();
        if query.is_empty() {
            return;
        }
        self.entries.retain(|e| e.query != query);
        self.entries.push(Entry { query: query.to_string(), command: None, at: chrono::Utc::now().timestamp() });
        let over = self.entries.len().saturating_sub(limit);
        self.entries.drain(..over);
    }

    /// Notes the command copied for the latest entry of `query`.
    pub fn chose(&mut self, query: &str, command: &str) {
        if let Some(e) = self.entries.iter_mut().rev().find(|e| e.query == query.trim()) {
            e.command = Some(command.to_string());
        }
    }

    /// Entries whose query or command contains `needle` (any case), newest
    /// first.
    pub fn search(&self, needle: &str, max: usize) -> Vec<Entry> {
        let n = needle.trim().to_lowercase();
        self.entries
            .iter()
            .rev()
            .filter(|e| {
                n.is_empty()
                    || e.query.to_lowercase().contains(&n)
                    || e.command.as_deref().is_some_and(|c| c.to_lowercase().contains(&n))
            })
            .take(max)
            .cloned()
            .collect()
    }

    /// Forgets every entry; the next `save` writes the empty history and
    /// removes the set-aside copies of a damaged one.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.cleared.set(true);
    }
}

/// Removes `<name>.bad-*` beside `path`: what `load_json` moved aside.
fn remove_backups(path: &std::path::Path) -> std::io::Result<()> {
    let Some(name) = path.file_name().map(|n| format!("{}.bad-", n.to_string_lossy())) else { return Ok(()) };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    for e in std::fs::read_dir(dir)?.flatten() {
        let is_backup = e.file_name().to_string_lossy().starts_with(&name);
        if is_backup && e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Clear history" left the copies of a damaged history, queries and
    /// all, beside the new empty one.
    #[test]
    fn clearing_the_history_removes_its_set_aside_copies() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.json");
        std::fs::write(&p, b"{ damaged, with the query \"secret\" in it").unwrap();
        let mut h = History::load(&p).value;
        let backup =
            dir.path().read_dir().unwrap().flatten().find(|e| e.file_name().to_string_lossy().contains(".bad-"));
        assert!(backup.is_some(), "the damaged file was set aside");
        std::fs::write(dir.path().join("settings.json.bad-1"), b"not history").unwrap();
        h.push("list files", 10);
        h.save(&p).unwrap();
        assert!(
            dir.path()
                .read_dir()
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("history.json.bad-")),
            "a plain save keeps the copy"
        );
        // As the app's clear_history does.
        h.clear();
        h.save(&p).unwrap();
        let left: Vec<String> =
            dir.path().read_dir().unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert!(!left.iter().any(|n| n.starts_with("history.json.bad-")), "{left:?}");
        assert!(left.contains(&"settings.json.bad-1".to_string()), "other files stay: {left:?}");
        assert!(History::load(&p).value.entries.is_empty());
    }
}
