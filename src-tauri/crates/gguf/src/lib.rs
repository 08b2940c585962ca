//! A GGUF model file's header, read and checked without any inference code:
//! the metadata (the model's sizes, its tokenizer's vocabulary, merges,
//! scores and special tokens, the chat template), the tensor infos, and
//! what loading the model would take. Nothing is sized from the file before
//! it is checked: every length in the header against the file's size
//! (`check`), the tensors' extents against the file, and the header's sizes
//! against the tensors' shapes (`shapes`). The engine reads the weights
//! from what this finds; the model library lists and sizes models with it.
mod check;
mod content;
mod error;
mod file;
pub mod shapes;

pub use check::MAX_METADATA_MEMORY;
pub use content::{tensor_bytes, Content, GgmlDType, Shape, TensorInfo, Value, DEFAULT_ALIGNMENT};
pub use error::{GgufError, Result, WrongType};
pub use file::{read_header, Architecture, GgufFile, KvShape};
pub use shapes::Sizes;

/// The engine's default context cap in tokens: what a model is loaded with
/// unless told otherwise, so also what the fit-this-machine estimate sizes
/// a model's KV cache by (`Sizes::memory_needed`). Here, below both the
/// engine and the model library, so that both read one number.
pub const DEFAULT_MAX_CONTEXT: usize = 4096;
