//! A GGUF file opened and checked: its header parsed, every length and
//! tensor extent checked against the file, the architecture known.
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::HeaderCheck;
use crate::content::{Content, ParseError, Value};
use crate::error::{GgufError, Result};

/// The architectures the engine can run, from `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Qwen2,
    Llama,
    Gemma3,
}

impl Architecture {
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "qwen2" => Ok(Self::Qwen2),
            "llama" => Ok(Self::Llama),
            "gemma3" => Ok(Self::Gemma3),
            other => Err(GgufError::UnsupportedArchitecture(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Qwen2 => "qwen2",
            Self::Llama => "llama",
            Self::Gemma3 => "gemma3",
        }
    }
}

/// A parsed GGUF header plus the reader positioned over the file.
pub struct GgufFile {
    pub path: PathBuf,
    pub content: Content,
    pub reader: BufReader<File>,
    pub architecture: Architecture,
    pub file_size: u64,
    map: Option<Arc<memmap2::Mmap>>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let (content, reader, file_size) = read_header(path)?;
        let architecture = match content.metadata.get("general.architecture") {
            Some(Value::String(s)) => Architecture::from_name(s)?,
            _ => {
                return Err(GgufError::Corrupt {
                    path: path.to_path_buf(),
                    detail: "general.architecture is missing".into(),
                })
            }
        };
        let file = Self { path: path.to_path_buf(), content, reader, architecture, file_size, map: None };
        file.check_tensor_extents()?;
        Ok(file)
    }

    /// Every tensor must lie inside the file: a truncated download otherwise
    /// fails deep inside weight loading with an opaque I/O error.
    fn check_tensor_extents(&self) -> Result<()> {
        let base = self.content.tensor_data_offset;
        for (name, info) in &self.content.tensor_infos {
            let elems = info.shape.elem_count() as u128;
            let block = info.ggml_dtype.block_size() as u128;
            if !elems.is_multiple_of(block) {
                return Err(self
                    .corrupt(format!("tensor {name} has {elems} elements, not a multiple of its block size {block}")));
            }
            let bytes = elems / block * info.ggml_dtype.type_size() as u128;
            let end = base as u128 + info.offset as u128 + bytes;
            if end > self.file_size as u128 {
                return Err(
                    self.corrupt(format!("tensor {name} ends at byte {end} but the file has {} bytes", self.file_size))
                );
            }
        }
        Ok(())
    }

    /// The file mapped read-only, so that CPU weights are used where they
    /// lie instead of copied. Not populated: most weights are repacked and
    /// their pages released (`qmatmul::Bytes`), and populating all first
    /// raised peak memory by the largest tensor.
    pub fn map(&mut self) -> Result<Arc<memmap2::Mmap>> {
        if let Some(map) = &self.map {
            return Ok(map.clone());
        }
        // SAFETY: the mapping is read-only. A file truncated by another
        // process while mapped would fault on access (SIGBUS), as in every
        // engine that maps weights; Cmdbar itself never rewrites a model in
        // place (downloads and imports write a new file and rename it).
        let map = unsafe { memmap2::MmapOptions::new().map(self.reader.get_ref()) }
            .map_err(|source| GgufError::Io { path: self.path.clone(), source })?;
        if (map.len() as u64) < self.file_size {
            return Err(self.corrupt("the file shrank while it was being opened".into()));
        }
        let map = Arc::new(map);
        self.map = Some(map.clone());
        Ok(map)
    }

    fn corrupt(&self, detail: String) -> GgufError {
        GgufError::Corrupt { path: self.path.clone(), detail }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    /// `{arch}.{key}`, e.g. `qwen2.context_length`.
    pub fn arch_u32(&self, key: &str) -> Option<u32> {
        self.u32(&format!("{}.{key}", self.architecture.name()))
    }

    pub fn arch_f32(&self, key: &str) -> Option<f32> {
        self.get(&format!("{}.{key}", self.architecture.name())).and_then(|v| v.to_f32().ok())
    }

    pub fn string(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Any integer type that fits: writers differ in the type they pick.
    pub fn u32(&self, key: &str) -> Option<u32> {
        self.get(key).and_then(|v| match v {
            Value::U32(x) => Some(*x),
            Value::I32(x) if *x >= 0 => Some(*x as u32),
            Value::U64(x) => u32::try_from(*x).ok(),
            Value::I64(x) => u32::try_from(*x).ok(),
            Value::U16(x) => Some(*x as u32),
            Value::U8(x) => Some(*x as u32),
            _ => None,
        })
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(|v| v.to_bool().ok())
    }
}

/// Opens a GGUF file and reads its header (metadata and tensor infos),
/// every length checked against the file's size before the parse
/// allocates what a length says. Returns the reader and the file's size.
/// The file need not hold its tensors (nor name an architecture): for a
/// model file, `GgufFile::open` checks both.
pub fn read_header(path: &Path) -> Result<(Content, BufReader<File>, u64)> {
    let io = |source| GgufError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GgufError::NotFound(path.to_path_buf()),
        _ => io(e),
    })?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(GgufError::NotGguf { path: path.to_path_buf(), magic: "a directory".into() });
    }
    let file_size = meta.len();
    let mut reader = BufReader::new(file);

    let mut magic = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut magic).map_err(io)?;
    if magic != b"GGUF" {
        return Err(GgufError::NotGguf {
            path: path.to_path_buf(),
            magic: String::from_utf8_lossy(&magic).into_owned(),
        });
    }
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    HeaderCheck { r: &mut reader, pos: 0, size: file_size, memory: 0 }
        .run()
        .map_err(|detail| GgufError::Corrupt { path: path.to_path_buf(), detail })?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let content = Content::parse(&mut reader).map_err(|e| match e {
        ParseError::Io(source) => io(source),
        ParseError::Corrupt(detail) => GgufError::Corrupt { path: path.to_path_buf(), detail },
        ParseError::UnknownDtype(id) => GgufError::UnsupportedQuantization {
            path: path.to_path_buf(),
            detail: format!("unknown dtype for tensor {id}"),
        },
    })?;
    Ok((content, reader, file_size))
}

/// What sizes a model's KV cache; `context` is the model's own.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KvShape {
    pub layers: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    pub context: u32,
}

impl KvShape {
    /// Bytes of keys and values at `max_context` (the engine's cap), for
    /// every layer, up front: f16 on the CPU, f32 on a GPU.
    pub fn bytes(&self, max_context: usize, on_cpu: bool) -> u64 {
        let ctx = (self.context as u64).min(max_context as u64);
        let elem = if on_cpu { 2 } else { 4 };
        // Saturating: the shape may come from a header no check has seen.
        [self.layers as u64, self.kv_heads as u64, self.head_dim as u64, ctx, elem]
            .iter()
            .fold(2u64, |a, &b| a.saturating_mul(b))
    }
}
