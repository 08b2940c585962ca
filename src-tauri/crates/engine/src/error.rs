use std::path::PathBuf;

/// Everything the engine can fail with. Messages are written for the user:
/// they say what is wrong and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("model file not found: {0}")]
    NotFound(PathBuf),
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a GGUF model file (it starts with {magic:?}, a GGUF file starts with \"GGUF\")")]
    NotGguf { path: PathBuf, magic: String },
    #[error("{path} is truncated or corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("unsupported model architecture '{0}' (supported: qwen2, llama, gemma3)")]
    UnsupportedArchitecture(String),
    #[error("unsupported quantization in {path}: {detail} (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q8_K)")]
    UnsupportedQuantization { path: PathBuf, detail: String },
    #[error("the model's tokenizer cannot be built: {0}")]
    Tokenizer(String),
    #[error("the model's chat template failed: {0}")]
    Template(String),
    #[error("the request is empty")]
    EmptyPrompt,
    #[error("the request is too long: {prompt_tokens} tokens, but the model's context holds {context} (including room for the answer)")]
    ContextOverflow { prompt_tokens: usize, context: usize },
    #[error("no model is loaded")]
    NoModel,
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the engine thread has stopped")]
    Disconnected,
    /// A panic on the engine thread, caught; the model was dropped and must
    /// be loaded again.
    #[error("the engine crashed while {0}")]
    Crashed(String),
    /// A server that speaks the OpenAI-compatible chat API failed.
    #[error("{0}")]
    Remote(RemoteError),
}

/// How talking to a server failed, with the server and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub kind: RemoteKind,
    /// The server's base URL, as configured.
    pub server: String,
    /// The cause, or the server's own message.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteKind {
    /// The address is not an http(s) URL.
    BadUrl,
    /// Connection refused, no such host, or the connection dropped.
    Unreachable,
    /// HTTP 401 or 403.
    Unauthorized,
    /// No answer, or no more of the stream, within the time allowed.
    Timeout,
    /// The answer is not the API's: a malformed stream or body.
    BadResponse,
    /// Any other HTTP error status.
    Status(u16),
    /// The request cannot be put to a chat server (raw text, token ids).
    Unsupported,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, d) = (&self.server, &self.detail);
        match self.kind {
            RemoteKind::BadUrl => write!(f, "the server address {s:?} is not usable: {d}"),
            RemoteKind::Unreachable => write!(f, "cannot reach the server at {s} ({d}); is it running?"),
            RemoteKind::Unauthorized => {
                write!(f, "the server at {s} refused the API key ({d}); check the key Cmdbar was given")
            }
            RemoteKind::Timeout => write!(f, "the server at {s} did not answer in time ({d})"),
            RemoteKind::BadResponse => write!(f, "the server at {s} sent an answer Cmdbar cannot read: {d}"),
            RemoteKind::Status(code) => write!(f, "the server at {s} answered HTTP {code}: {d}"),
            RemoteKind::Unsupported => write!(f, "the server at {s} cannot take this request: {d}"),
        }
    }
}

/// Each of the header's errors is the engine's variant of the same name, so
/// that callers match one type and the messages stay the same.
impl From<cmdbar_gguf::GgufError> for EngineError {
    fn from(e: cmdbar_gguf::GgufError) -> Self {
        use cmdbar_gguf::GgufError as G;
        match e {
            G::NotFound(path) => EngineError::NotFound(path),
            G::Io { path, source } => EngineError::Io { path, source },
            G::NotGguf { path, magic } => EngineError::NotGguf { path, magic },
            G::Corrupt { path, detail } => EngineError::Corrupt { path, detail },
            G::UnsupportedArchitecture(name) => EngineError::UnsupportedArchitecture(name),
            G::UnsupportedQuantization { path, detail } => EngineError::UnsupportedQuantization { path, detail },
        }
    }
}

impl From<candle_core::Error> for EngineError {
    fn from(e: candle_core::Error) -> Self {
        EngineError::Inference(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
