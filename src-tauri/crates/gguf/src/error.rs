use std::path::PathBuf;

/// What opening a GGUF file can fail with. The messages are the engine's
/// (`EngineError` has a variant of the same name and text for each), written
/// for the user: they say what is wrong with which file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
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
}

pub type Result<T> = std::result::Result<T, GgufError>;

/// A metadata value of another type than the one asked for.
#[derive(Debug, Clone, thiserror::Error)]
#[error("not a {expected} {found}")]
pub struct WrongType {
    pub expected: &'static str,
    /// The value as `Debug` prints it.
    pub found: String,
}
