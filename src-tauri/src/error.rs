//! The one error every IPC command returns: what kind of failure it is, a
//! message the UI can show as it is, and the argument or setting it
//! concerns, so the UI can show it beside that field.
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// An argument or setting the app refuses: too long, out of range, not
    /// a hotkey, not a GGUF file.
    Invalid,
    /// A command the safety level hides, or that needs a confirm first.
    Refused,
    /// No model is loaded yet, or it is still loading.
    NotReady,
    /// A file, model or download that is not there.
    NotFound,
    /// Not on this platform (pasting into a terminal off macOS).
    Unsupported,
    /// The disk, the clipboard, the file manager, the hotkey registry.
    Io,
    /// The Hub or another server.
    Network,
    /// Anything else.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
    /// The argument or setting it concerns, as the UI names it (`hotkey`,
    /// `candidates`, `path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}

pub type IpcResult<T> = Result<T, IpcError>;

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), field: None }
    }

    /// A refused value of the argument or setting `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(ErrorKind::Invalid, message) }
    }

    pub fn on(mut self, field: &str) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Refused, message)
    }

    pub fn not_ready(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotReady, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl From<cmdbar_models::ModelsError> for IpcError {
    fn from(e: cmdbar_models::ModelsError) -> Self {
        use cmdbar_models::ModelsError as E;
        let kind = match &e {
            E::RepoNotFound { .. } | E::FileNotFound { .. } | E::NotInLibrary(_) | E::NotInstalled(_) => {
                ErrorKind::NotFound
            }
            E::Unauthorized { .. } | E::Http { .. } | E::Network(_) | E::Size { .. } => ErrorKind::Network,
            E::BadName { .. } | E::BadRepo(_) | E::NotAModel { .. } => ErrorKind::Invalid,
            E::Checksum { .. } | E::NotTheCatalogFile { .. } => ErrorKind::Refused,
            E::DiskFull { .. } | E::DiskFilled { .. } | E::Io { .. } => ErrorKind::Io,
            E::Cancelled | E::Paused => ErrorKind::Internal,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<cmdbar_settings::Invalid> for IpcError {
    fn from(e: cmdbar_settings::Invalid) -> Self {
        use cmdbar_settings::Invalid as I;
        let field = match &e {
            I::Candidates(_) => "candidates",
            I::Temperature(_) => "temperature",
            I::HistoryLimit(_) => "history_limit",
            I::EmptyHotkey => "hotkey",
            I::Version(_) => "version",
        };
        Self::invalid(field, e.to_string())
    }
}

impl From<cmdbar_suggest::SuggestError> for IpcError {
    fn from(e: cmdbar_suggest::SuggestError) -> Self {
        use cmdbar_suggest::SuggestError as S;
        match &e {
            S::EmptyQuery | S::NotARequest(_) | S::EmptyCommand | S::CommandTooLong { .. } | S::BadCommand(_) => {
                Self::invalid("query", e.to_string())
            }
            S::ContextTooSmall { .. } => Self::not_ready(e.to_string()),
            _ => Self::internal(e.to_string()),
        }
    }
}

impl From<cmdbar_settings::secrets::ServerError> for IpcError {
    fn from(e: cmdbar_settings::secrets::ServerError) -> Self {
        use cmdbar_settings::secrets::ServerError as S;
        match &e {
            S::Url(_) => Self::invalid("base_url", e.to_string()),
            S::Model => Self::invalid("model", e.to_string()),
            S::Keychain(_) => Self::io(e.to_string()).on("key"),
        }
    }
}
