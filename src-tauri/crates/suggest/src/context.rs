//! What the prompt needs to know about the user's machine.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    #[serde(rename = "macos")]
    MacOs,
    Linux,
}

impl Os {
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Os::MacOs => "macOS with BSD userland (no GNU-only flags)",
            Os::Linux => "Linux with GNU coreutils",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Zsh,
    Bash,
    Fish,
    Sh,
}

impl Shell {
    /// From a path such as `$SHELL` (`/bin/zsh`); unknown shells count as sh.
    pub fn from_path(path: &str) -> Self {
        path.rsplit('/').next().and_then(cmdbar_safety::names::from_name).unwrap_or(Shell::Sh)
    }

    /// Its serde name: "zsh", "bash", "fish", "sh".
    pub fn name(self) -> &'static str {
        cmdbar_safety::names::name(&self)
    }
}

impl std::str::FromStr for Shell {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        cmdbar_safety::names::parse(s, "shell")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub os: Os,
    pub shell: Shell,
    /// The frontmost terminal's directory, when known.
    pub cwd: Option<PathBuf>,
}

impl Context {
    pub fn detect() -> Self {
        let shell = std::env::var("SHELL").map(|s| Shell::from_path(&s)).unwrap_or(if cfg!(target_os = "macos") {
            Shell::Zsh
        } else {
            Shell::Bash
        });
        Self { os: Os::current(), shell, cwd: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_from_path() {
        assert_eq!(Shell::from_path("/bin/zsh"), Shell::Zsh);
        assert_eq!(Shell::from_path("/usr/local/bin/fish"), Shell::Fish);
        assert_eq!(Shell::from_path("/bin/dash"), Shell::Sh);
        assert_eq!(Shell::from_path("/bin/sh"), Shell::Sh);
    }

    #[test]
    fn shell_names_are_its_serde_names() {
        for s in [Shell::Zsh, Shell::Bash, Shell::Fish, Shell::Sh] {
            assert_eq!(s.name().parse::<Shell>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.name()));
        }
        assert_eq!("csh".parse::<Shell>().unwrap_err(), "unknown shell 'csh' (zsh, bash, fish, sh)");
    }
}
