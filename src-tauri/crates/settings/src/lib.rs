//! Settings and history, as JSON files in a directory the app chooses.
//!
//! A file that is unreadable, malformed or from another version is moved
//! aside (`settings.json.bad-<time>`) and defaults take its place, with a
//! notice for the user: the app never fails to start over a settings file
//! and never silently throws the user's file away.
mod history;
pub mod secrets;
mod store;

pub use history::{Entry, History};
pub use store::{load_json, save_json, Loaded};

use cmdbar_safety::Level;
use serde::{Deserialize, Serialize};

pub const SETTINGS_VERSION: u32 = 1;

/// The app's identifier, as in tauri.conf.json: it names the config folder.
pub const APP_IDENTIFIER: &str = "app.cmdbar.desktop";

/// Where settings and history live, shared by the app and the CLI:
/// `$CMDBAR_CONFIG_DIR` (tests, portable setups), else the platform's
/// config folder (`~/.config/app.cmdbar.desktop`,
/// `~/Library/Application Support/app.cmdbar.desktop`), as Tauri names it.
pub fn config_dir() -> std::path::PathBuf {
    match std::env::var_os("CMDBAR_CONFIG_DIR") {
        Some(d) => d.into(),
        None => dirs::config_dir().unwrap_or_else(|| ".".into()).join(APP_IDENTIFIER),
    }
}

/// `settings.json` in `config_dir()`.
pub fn settings_path() -> std::path::PathBuf {
    config_dir().join("settings.json")
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShellChoice {
    #[default]
    Auto,
    Zsh,
    Bash,
    Fish,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub version: u32,
    /// In the global-shortcut syntax, e.g. "Alt+Space".
    pub hotkey: String,
    pub shell: ShellChoice,
    pub safety: Level,
    pub candidates: usize,
    pub temperature: f32,
    pub launch_at_login: bool,
    pub history_enabled: bool,
    pub history_limit: usize,
    /// Draft tokens from the request's own text and check them in the pass
    /// that runs the next token: the same commands, sooner. An answer stops
    /// drafting by itself when most drafts are refused.
    #[serde(default = "on")]
    pub drafts: bool,
    /// The GGUF file to load; None means the default model.
    pub active_model: Option<std::path::PathBuf>,
    /// A server to ask instead of a local model; its API key is in the OS
    /// keychain (`secrets`), never in this file. The UI sets it with
    /// `set_server`, which stores the key.
    #[serde(default)]
    pub server: Option<Server>,
}

fn on() -> bool {
    true
}

/// An OpenAI-compatible server (Ollama, llama.cpp's server, vLLM).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// e.g. "http://localhost:11434".
    pub base_url: String,
    /// The model's name on the server, e.g. "qwen2.5-coder:7b".
    pub model: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: SETTINGS_VERSION,
            hotkey: default_hotkey().into(),
            shell: ShellChoice::Auto,
            safety: Level::Moderate,
            candidates: 3,
            temperature: 0.7,
            launch_at_login: false,
            history_enabled: true,
            history_limit: 200,
            drafts: true,
            active_model: None,
            server: None,
        }
    }
}

/// ⌥⇧Space on macOS, where ⌥Space belongs to Alfred, Raycast and ChatGPT
/// (see `MACOS_TAKEN`); Ctrl+Shift+Space elsewhere, where Alt+Space is the
/// window menu.
pub fn default_hotkey() -> &'static str {
    if cfg!(target_os = "macos") {
        "Alt+Shift+Space"
    } else {
        "Ctrl+Shift+Space"
    }
}

/// Chords that macOS or the launchers this audience runs claim by default,
/// with who claims them. A second app asking for one of these on macOS is
/// often not refused, only never called, so Settings warns instead.
pub const MACOS_TAKEN: &[(&str, &str)] = &[
    ("Super+Space", "Spotlight (and Alfred or Raycast when set to replace it)"),
    ("Alt+Super+Space", "Spotlight's Finder search"),
    ("Alt+Space", "Alfred, Raycast and the ChatGPT app"),
    ("Control+Space", "macOS input sources"),
    ("Alt+Control+Space", "macOS input sources"),
    ("Control+Super+Space", "the macOS emoji picker"),
];

/// Who else claims `hotkey` on macOS by default, if anyone. Modifier names
/// and order are normalised the way the shortcut parser reads them.
pub fn macos_conflict(hotkey: &str) -> Option<&'static str> {
    let key = normalise_chord(hotkey);
    MACOS_TAKEN.iter().find(|(chord, _)| normalise_chord(chord) == key).map(|(_, who)| *who)
}

fn normalise_chord(hotkey: &str) -> String {
    let mut mods: Vec<&str> = vec![];
    let mut key = String::new();
    for part in hotkey.split('+').map(str::trim) {
        let m = match part.to_ascii_lowercase().as_str() {
            "alt" | "option" => "alt",
            "ctrl" | "control" => "control",
            "shift" => "shift",
            "super" | "cmd" | "command" | "meta" => "super",
            "cmdorctrl" | "commandorcontrol" => "super",
            _ => {
                key = part.to_ascii_lowercase();
                continue;
            }
        };
        if !mods.contains(&m) {
            mods.push(m);
        }
    }
    mods.sort_unstable();
    format!("{}+{key}", mods.join("+"))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("candidates must be between 1 and 5, not {0}")]
    Candidates(usize),
    #[error("temperature must be between 0 and 1.5, not {0}")]
    Temperature(String),
    #[error("history size must be between 1 and 10000, not {0}")]
    HistoryLimit(usize),
    #[error("the hotkey is empty")]
    EmptyHotkey,
    #[error("settings version {0} is not {SETTINGS_VERSION}")]
    Version(u32),
}

impl Settings {
    /// Checks ranges; the hotkey's syntax is checked by the app, which owns
    /// the shortcut parser.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.version != SETTINGS_VERSION {
            return Err(Invalid::Version(self.version));
        }
        if !(1..=5).contains(&self.candidates) {
            return Err(Invalid::Candidates(self.candidates));
        }
        if !(0.0..=1.5).contains(&self.temperature) {
            return Err(Invalid::Temperature(self.temperature.to_string()));
        }
        if !(1..=10_000).contains(&self.history_limit) {
            return Err(Invalid::HistoryLimit(self.history_limit));
        }
        if self.hotkey.trim().is_empty() {
            return Err(Invalid::EmptyHotkey);
        }
        Ok(())
    }

    /// Reads `path`, or defaults when it is missing. A bad file is moved
    /// aside and the notice says where.
    pub fn load(path: &std::path::Path) -> Loaded<Settings> {
        store::load_json(path, |s: &Settings| s.validate().map_err(|e| e.to_string()))
    }

    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        store::save_json(path, self)
    }
}

impl Server {
    /// The address's shape and the model's name, checked when the server
    /// is set (`Settings::set_server`); the remote crate checks the address
    /// fully when it connects, so a hand-edited file fails there, clearly.
    pub fn validate(&self) -> Result<(), secrets::ServerError> {
        let url = self.base_url.trim();
        let host = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
            return Err(secrets::ServerError::Url(self.base_url.clone()));
        }
        if self.model.trim().is_empty() {
            return Err(secrets::ServerError::Model);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
