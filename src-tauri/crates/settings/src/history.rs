use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub query: String,
    /// The command the user copied, if any.
    pub command: Option<String>,
    /// Seconds since the Unix epoch.
    pub at: i64,
}

/// The last queries, newest last, bounded by the settings' limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub version: u32,
    pub entries: Vec<Entry>,
}

impl History {
    pub fn load(path: &std::path::Path) -> crate::Loaded<History> {
        crate::load_json(path, |h: &History| {
            if h.version == 1 {
                Ok(())
            } else {
                Err(format!("history version {} is not 1", h.version))
            }
        })
    }

    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let v = History { version: 1, entries: self.entries.clone() };
        crate::save_json(path, &v)
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

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
