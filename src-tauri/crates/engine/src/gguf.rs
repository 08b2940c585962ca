//! Opening and checking a GGUF file before any weights are read, so that bad
//! files fail fast with a message that names the problem.
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};

use crate::error::{EngineError, Result};

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
            other => Err(EngineError::UnsupportedArchitecture(other.to_string())),
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

/// A tensor's bytes inside the mapped file.
pub struct Mapped {
    pub map: Arc<memmap2::Mmap>,
    pub range: std::ops::Range<usize>,
    pub dtype: candle_core::quantized::GgmlDType,
    pub dims: Vec<usize>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let (content, reader, file_size) = read_header(path)?;
        let architecture = match content.metadata.get("general.architecture") {
            Some(Value::String(s)) => Architecture::from_name(s)?,
            _ => {
                return Err(EngineError::Corrupt {
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
            if elems % block != 0 {
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
            .map_err(|source| EngineError::Io { path: self.path.clone(), source })?;
        if (map.len() as u64) < self.file_size {
            return Err(self.corrupt("the file shrank while it was being opened".into()));
        }
        let map = Arc::new(map);
        self.map = Some(map.clone());
        Ok(map)
    }

    fn corrupt(&self, detail: String) -> EngineError {
        EngineError::Corrupt { path: self.path.clone(), detail }
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

    /// The attention shape that sizes the KV cache, from the metadata.
    pub fn kv_shape(&self) -> Option<KvShape> {
        let layers = self.arch_u32("block_count")?;
        let heads = self.arch_u32("attention.head_count")?;
        let kv_heads = self.arch_u32("attention.head_count_kv").unwrap_or(heads);
        let head_dim = self.arch_u32("attention.key_length").or_else(|| {
            let width = self.arch_u32("embedding_length")?;
            (heads > 0).then(|| width / heads)
        })?;
        let context = self.arch_u32("context_length").unwrap_or(4096);
        Some(KvShape { layers, kv_heads, head_dim, context })
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(|v| v.to_bool().ok())
    }

    /// Bytes of memory a model takes once loaded with a context of
    /// `max_context` tokens (capped at the model's own), from its header alone:
    /// the weights as they are held (F16 and BF16 matrices of Gemma 3 are
    /// widened to f32), the KV cache, the rotary tables and the attention's
    /// scratch for one slice of prompt. It grows with the context cap, never
    /// with Candle's 131,072-position tables. Not counted: the tokenizer and
    /// the program around the model (`cmdbar_models` adds those).
    pub fn memory_needed(&self, max_context: usize, on_cpu: bool) -> u64 {
        let g = self;
        let arch = g.architecture;
        let u = |k: &str| g.arch_u32(k).unwrap_or(0) as u64;
        let ctx = (g.arch_u32("context_length").unwrap_or(4096) as u64).min(max_context.max(16) as u64);
        let (layers, heads) = (u("block_count"), u("attention.head_count").max(1));
        let kv_heads = g.arch_u32("attention.head_count_kv").map_or(heads, u64::from);
        let head_dim = match arch {
            Architecture::Gemma3 => u("attention.key_length"),
            _ => u("embedding_length") / heads,
        };
        let hidden = u("embedding_length");
        let ffn = g
            .content
            .tensor_infos
            .get("blk.0.ffn_up.weight")
            .and_then(|i| i.shape.dims().first())
            .map_or(0, |&d| d as u64);
        let vocab = g
            .content
            .tensor_infos
            .get("token_embd.weight")
            .and_then(|i| i.shape.dims().first())
            .map_or(0, |&d| d as u64);
        let sat = |xs: &[u64]| xs.iter().fold(1u64, |a, &b| a.saturating_mul(b));

        let mut weights = 0u64;
        for (name, info) in &g.content.tensor_infos {
            let bytes = tensor_bytes(info) as u64;
            use candle_core::quantized::GgmlDType as D;
            let widened = arch == Architecture::Gemma3
                && matches!(info.ggml_dtype, D::F16 | D::BF16)
                && info.shape.dims().len() == 2
                && name != "token_embd.weight";
            weights = weights.saturating_add(if widened { bytes.saturating_mul(2) } else { bytes });
        }
        let tied = !g.content.tensor_infos.contains_key("output.weight");
        let (kv, rope, scratch) = match arch {
            Architecture::Gemma3 => {
                // An f32 cache grown by concatenation: at worst one layer's
                // old and new copies at once.
                let per_layer = sat(&[2, kv_heads, head_dim, ctx, 4]);
                let kv = per_layer.saturating_mul(layers + 1);
                // Two tables (local and global frequency), cos and sin.
                let rope = sat(&[2, 2, ctx, head_dim / 2, 4]);
                // One slice of prompt: scores, their masked and softmaxed
                // copies, keys and values repeated per head, and the mask.
                let t = PROMPT_SLICE;
                let scratch = sat(&[4, heads, t, ctx, 4])
                    .saturating_add(sat(&[2, heads, ctx, head_dim, 4]))
                    .saturating_add(sat(&[2, t, ctx, 4]))
                    .saturating_add(sat(&[8, t, hidden.max(ffn), 4]));
                // A tied output widened from F16 is a second copy of the table.
                let widened_out = match g.content.tensor_infos.get("token_embd.weight") {
                    Some(i) if tied && i.ggml_dtype.block_size() == 1 => sat(&[vocab, hidden, 4]),
                    _ => 0,
                };
                (kv, rope.saturating_add(widened_out), scratch)
            }
            _ => {
                let shape = crate::KvShape {
                    layers: layers.min(u32::MAX as u64) as u32,
                    kv_heads: kv_heads.min(u32::MAX as u64) as u32,
                    head_dim: head_dim.min(u32::MAX as u64) as u32,
                    context: ctx.min(u32::MAX as u64) as u32,
                };
                let kv = shape.bytes(ctx as usize, on_cpu);
                let rope = sat(&[4, ctx, head_dim / 2, 4]);
                let t = PROMPT_SLICE;
                let scratch = sat(&[2, heads, t, ctx, 4]).saturating_add(sat(&[8, t, hidden.max(ffn), 4]));
                (kv, rope, scratch)
            }
        };
        let logits = sat(&[2, vocab, 4]);
        weights.saturating_add(kv).saturating_add(rope).saturating_add(scratch).saturating_add(logits)
    }
}

/// Prompt tokens per forward pass in the engine (`model::UBATCH`): the
/// attention's scratch is sized by it.
const PROMPT_SLICE: u64 = 256;

/// The most memory a model may need: this machine's physical memory. A
/// header whose sizes need more (a crafted file asking for a terabyte of
/// KV cache) is refused before anything is allocated, since an allocation
/// that fails aborts the process.
pub fn memory_budget() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system constants.
        let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
        if pages > 0 && size > 0 {
            return (pages as u64).saturating_mul(size as u64);
        }
    }
    u64::MAX
}

/// Opens a GGUF file and reads its header (metadata and tensor infos),
/// every length checked against the file's size before Candle's reader
/// allocates what a length says. Returns the reader and the file's size.
fn read_header(path: &Path) -> Result<(Content, BufReader<File>, u64)> {
    let io = |source| EngineError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::NotFound(path.to_path_buf()),
        _ => io(e),
    })?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(EngineError::NotGguf { path: path.to_path_buf(), magic: "a directory".into() });
    }
    let file_size = meta.len();
    let mut reader = BufReader::new(file);

    let mut magic = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut magic).map_err(io)?;
    if magic != b"GGUF" {
        return Err(EngineError::NotGguf {
            path: path.to_path_buf(),
            magic: String::from_utf8_lossy(&magic).into_owned(),
        });
    }
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    HeaderCheck { r: &mut reader, pos: 0, size: file_size, memory: 0 }
        .run()
        .map_err(|detail| EngineError::Corrupt { path: path.to_path_buf(), detail })?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let content = Content::read(&mut reader).map_err(|e| classify_read_error(path, e))?;
    Ok((content, reader, file_size))
}

/// The most memory the parsed metadata may take. Candle holds each array
/// element as a `Value` of 32 bytes, so an array of bytes costs 32 times
/// its size in the file; the largest real vocabularies (Gemma 3's 262,144
/// tokens, scores and types) take about 30 MB.
pub const MAX_METADATA_MEMORY: u64 = 128 << 20;

/// The largest `general.alignment` accepted (files use 32).
const MAX_ALIGNMENT: u64 = 1 << 20;

/// Walks a GGUF header without allocating from its lengths: each string,
/// array and count must fit in what is left of the file, the memory the
/// parsed metadata will take must stay under `MAX_METADATA_MEMORY`, and the
/// values Candle computes with (`general.alignment`) must be sound.
struct HeaderCheck<'a> {
    r: &'a mut BufReader<File>,
    pos: u64,
    size: u64,
    /// What Candle's parse of the metadata read so far will hold.
    memory: u64,
}

impl HeaderCheck<'_> {
    fn run(mut self) -> std::result::Result<(), String> {
        let _magic = self.u32()?;
        let version = self.u32()?;
        if !(1..=3).contains(&version) {
            return Err(format!("GGUF version {version} is not supported"));
        }
        let wide = version >= 2;
        let tensors = self.len(wide)?;
        let kvs = self.len(wide)?;
        // The smallest metadata entry takes 13 bytes; a tensor info 24.
        self.fits(kvs, 13, "metadata entries")?;
        self.fits(tensors, 24, "tensors")?;
        for _ in 0..kvs {
            let key = self.key(wide)?;
            let ty = self.u32()?;
            // A map entry: the key's String and the Value.
            self.spend(64 + std::mem::size_of::<Value>() as u64)?;
            if key.as_deref() == Some("general.alignment") && ty <= 5 {
                // Candle divides by it (0 panics) and rounds up to it.
                let a: i64 = match ty {
                    0 => self.bytes::<1>()?[0] as i64,
                    1 => self.bytes::<1>()?[0] as i8 as i64,
                    2 => u16::from_le_bytes(self.bytes::<2>()?) as i64,
                    3 => i16::from_le_bytes(self.bytes::<2>()?) as i64,
                    4 => self.u32()? as i64,
                    _ => self.u32()? as i32 as i64,
                };
                if a <= 0 || !(a as u64).is_power_of_two() || a as u64 > MAX_ALIGNMENT {
                    return Err(format!("general.alignment {a} is not a power of two up to {MAX_ALIGNMENT}"));
                }
                continue;
            }
            self.value(ty, wide, 0)?;
        }
        for _ in 0..tensors {
            self.string(wide)?;
            // A map entry, its shape and its name's String.
            self.spend(128)?;
            let dims = self.u32()?;
            if dims > 4 {
                return Err(format!("a tensor claims {dims} dimensions (at most 4)"));
            }
            // Element counts are multiplied later: they must not overflow.
            let mut elems: u64 = 1;
            for _ in 0..dims {
                let d = self.len(wide)?;
                elems = elems.checked_mul(d).filter(|&n| n <= 1 << 56).ok_or_else(|| {
                    "a tensor's dimensions multiply to more elements than any file can hold".to_string()
                })?;
            }
            self.skip(4 + 8)?;
        }
        Ok(())
    }

    /// A key: its text when short enough to be one we check, else skipped.
    fn key(&mut self, wide: bool) -> std::result::Result<Option<String>, String> {
        let n = self.len(wide)?;
        if n > self.size - self.pos {
            return Err(format!("a string of {n} bytes is longer than the rest of the file"));
        }
        self.spend(n)?;
        if n > 64 {
            self.skip(n)?;
            return Ok(None);
        }
        let mut b = vec![0u8; n as usize];
        self.r.read_exact(&mut b).map_err(|_| "the header ends early".to_string())?;
        self.pos += n;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    /// Counts memory the parsed header will hold, refusing past the cap.
    fn spend(&mut self, bytes: u64) -> std::result::Result<(), String> {
        self.memory = self.memory.saturating_add(bytes);
        if self.memory > MAX_METADATA_MEMORY {
            return Err(format!(
                "the metadata would take more than {} MiB of memory once read (arrays cost {} bytes an element)",
                MAX_METADATA_MEMORY >> 20,
                std::mem::size_of::<Value>()
            ));
        }
        Ok(())
    }

    fn fits(&self, count: u64, each: u64, what: &str) -> std::result::Result<(), String> {
        match count.checked_mul(each) {
            Some(n) if n <= self.size - self.pos => Ok(()),
            _ => Err(format!("the header declares {count} {what}, more than the file's {} bytes can hold", self.size)),
        }
    }

    fn bytes<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|_| "the header ends early".to_string())?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }

    fn len(&mut self, wide: bool) -> std::result::Result<u64, String> {
        if wide {
            self.bytes::<8>().map(u64::from_le_bytes)
        } else {
            self.u32().map(u64::from)
        }
    }

    fn skip(&mut self, n: u64) -> std::result::Result<(), String> {
        if n > self.size - self.pos {
            return Err("the header ends early".into());
        }
        self.r.seek_relative(n as i64).map_err(|e| e.to_string())?;
        self.pos += n;
        Ok(())
    }

    fn string(&mut self, wide: bool) -> std::result::Result<(), String> {
        let n = self.len(wide)?;
        if n > self.size - self.pos {
            return Err(format!("a string of {n} bytes is longer than the rest of the file"));
        }
        self.spend(n)?;
        self.skip(n)
    }

    fn value(&mut self, ty: u32, wide: bool, depth: u32) -> std::result::Result<(), String> {
        match ty {
            0 | 1 | 7 => self.skip(1),
            2 | 3 => self.skip(2),
            4..=6 => self.skip(4),
            10..=12 => self.skip(8),
            8 => self.string(wide),
            9 => {
                if depth > 1 {
                    return Err("arrays nest too deeply".into());
                }
                let elem = self.u32()?;
                let n = self.len(wide)?;
                let min = match elem {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    9 => 12,
                    t => return Err(format!("unknown metadata type {t}")),
                };
                self.fits(n, min, "array elements")?;
                self.spend(n.saturating_mul(std::mem::size_of::<Value>() as u64))?;
                match elem {
                    8 | 9 => (0..n).try_for_each(|_| self.value(elem, wide, depth + 1)),
                    _ => self.skip(n * min),
                }
            }
            t => Err(format!("unknown metadata type {t}")),
        }
    }
}

fn classify_read_error(path: &Path, e: candle_core::Error) -> EngineError {
    let msg = e.to_string();
    if msg.contains("unknown dtype") {
        EngineError::UnsupportedQuantization { path: path.to_path_buf(), detail: msg }
    } else if msg.contains("failed to fill whole buffer") || msg.contains("UnexpectedEof") {
        EngineError::Corrupt { path: path.to_path_buf(), detail: "the header ends early".into() }
    } else {
        EngineError::Corrupt { path: path.to_path_buf(), detail: msg }
    }
}

/// Tensor `name` in the mapped file; extents were checked at open.
pub fn mapped(content: &Content, map: &Arc<memmap2::Mmap>, name: &str) -> Option<Mapped> {
    let info = content.tensor_infos.get(name)?;
    let start = usize::try_from(content.tensor_data_offset + info.offset).ok()?;
    let len = tensor_bytes(info);
    let range = start..start.checked_add(len).filter(|&end| end <= map.len())?;
    Some(Mapped { map: map.clone(), range, dtype: info.ggml_dtype, dims: info.shape.dims().to_vec() })
}

/// The bytes a tensor takes in the file: whole blocks of its type.
pub fn tensor_bytes(info: &candle_core::quantized::gguf_file::TensorInfo) -> usize {
    info.shape.elem_count() / info.ggml_dtype.block_size() * info.ggml_dtype.type_size()
}

/// Appends tensor `name`'s bytes, as stored, to `buf`.
pub fn read_raw(
    content: &Content,
    reader: &mut BufReader<File>,
    name: &str,
    buf: &mut Vec<u8>,
) -> candle_core::Result<()> {
    let Some(info) = content.tensor_infos.get(name) else { candle_core::bail!("cannot find tensor info for {name}") };
    let len = tensor_bytes(info);
    reader.seek(SeekFrom::Start(content.tensor_data_offset + info.offset))?;
    buf.reserve_exact(len);
    // Into spare capacity: no zeroing first.
    if reader.take(len as u64).read_to_end(buf)? != len {
        candle_core::bail!("tensor {name} ends past the end of the file");
    }
    Ok(())
}

/// Reads a tensor straight into the typed storage the CPU kernels use: one
/// copy from the file (candle's reader makes two, with a byte buffer in
/// between), which halves the memory touched while loading.
pub fn read_tensor(
    content: &Content,
    reader: &mut BufReader<File>,
    name: &str,
    device: &candle_core::Device,
) -> candle_core::Result<candle_core::quantized::QTensor> {
    use candle_core::quantized::{k_quants::*, GgmlDType as D};
    if !device.is_cpu() {
        return content.tensor(reader, name, device);
    }
    let Some(info) = content.tensor_infos.get(name) else { candle_core::bail!("cannot find tensor info for {name}") };
    let offset = content.tensor_data_offset + info.offset;
    let shape = info.shape.clone();
    match info.ggml_dtype {
        D::F32 => read_typed::<f32>(reader, offset, shape),
        D::F16 => read_typed::<half::f16>(reader, offset, shape),
        D::BF16 => read_typed::<half::bf16>(reader, offset, shape),
        D::Q4_0 => read_typed::<BlockQ4_0>(reader, offset, shape),
        D::Q4_1 => read_typed::<BlockQ4_1>(reader, offset, shape),
        D::Q5_0 => read_typed::<BlockQ5_0>(reader, offset, shape),
        D::Q5_1 => read_typed::<BlockQ5_1>(reader, offset, shape),
        D::Q8_0 => read_typed::<BlockQ8_0>(reader, offset, shape),
        D::Q8_1 => read_typed::<BlockQ8_1>(reader, offset, shape),
        D::Q2K => read_typed::<BlockQ2K>(reader, offset, shape),
        D::Q3K => read_typed::<BlockQ3K>(reader, offset, shape),
        D::Q4K => read_typed::<BlockQ4K>(reader, offset, shape),
        D::Q5K => read_typed::<BlockQ5K>(reader, offset, shape),
        D::Q6K => read_typed::<BlockQ6K>(reader, offset, shape),
        D::Q8K => read_typed::<BlockQ8K>(reader, offset, shape),
    }
}

fn read_typed<T: candle_core::quantized::k_quants::GgmlType + Send + Sync + 'static>(
    reader: &mut BufReader<File>,
    offset: u64,
    shape: candle_core::Shape,
) -> candle_core::Result<candle_core::quantized::QTensor> {
    use candle_core::quantized::{QStorage, QTensor};
    let elems = shape.elem_count();
    if elems % T::BLCK_SIZE != 0 {
        candle_core::bail!("{elems} elements are not a whole number of {}-element blocks", T::BLCK_SIZE);
    }
    let n = elems / T::BLCK_SIZE;
    let layout = std::alloc::Layout::array::<T>(n).map_err(candle_core::Error::wrap)?;
    let data: Vec<T> = if layout.size() == 0 {
        Vec::new()
    } else {
        // SAFETY: ggml blocks are plain integers and floats, for which all
        // zero bytes is a valid value; the zeroed allocation (lazily zeroed
        // pages) is then overwritten by the file's bytes.
        unsafe {
            let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            let mut v = Vec::from_raw_parts(ptr, n, n);
            let bytes = std::slice::from_raw_parts_mut(ptr as *mut u8, layout.size());
            reader.seek(SeekFrom::Start(offset))?;
            if let Err(e) = reader.read_exact(bytes) {
                v.clear();
                return Err(e.into());
            }
            v
        }
    };
    QTensor::new(QStorage::Cpu(Box::new(data)), shape)
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

/// Writes a model with `from`'s header (architecture, tokenizer, shapes and
/// quantization types) and random weights to `to`. `from` may be a header
/// alone: this is for timing on machines a real model cannot be copied to.
pub fn synthesize(from: &Path, to: &Path) -> Result<()> {
    use candle_core::quantized::{GgmlDType, QTensor};
    use std::collections::HashMap;
    use std::io::Write;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { path: path.clone(), source }
    };
    let (content, mut r, _) = read_header(from)?;
    let mut header = vec![0u8; content.tensor_data_offset as usize];
    r.seek(SeekFrom::Start(0)).map_err(io(from))?;
    r.read_exact(&mut header).map_err(io(from))?;
    let mut out = std::io::BufWriter::new(File::create(to).map_err(io(to))?);
    out.write_all(&header).map_err(io(to))?;

    // One block pattern per type, repeated: valid scales, so no NaNs.
    let mut patterns: HashMap<GgmlDType, Vec<u8>> = HashMap::new();
    let mut tensors: Vec<_> = content.tensor_infos.values().collect();
    tensors.sort_by_key(|t| t.offset);
    let mut at = 0u64;
    for t in tensors {
        let dtype = t.ggml_dtype;
        let bytes = tensor_bytes(t) as u64;
        if !patterns.contains_key(&dtype) {
            let (mean, std) = if dtype == GgmlDType::F32 { (1f32, 0.1) } else { (0f32, 0.05) };
            let x = candle_core::Tensor::randn(mean, std, 256 * 64, &candle_core::Device::Cpu)?;
            patterns.insert(dtype, QTensor::quantize(&x, dtype)?.data()?.to_vec());
        }
        let pattern = &patterns[&dtype];
        let pad = t
            .offset
            .checked_sub(at)
            .ok_or_else(|| EngineError::Corrupt { path: from.to_path_buf(), detail: "tensors overlap".into() })?;
        out.write_all(&vec![0u8; pad as usize]).map_err(io(to))?;
        let mut left = bytes as usize;
        while left > 0 {
            let n = left.min(pattern.len());
            out.write_all(&pattern[..n]).map_err(io(to))?;
            left -= n;
        }
        at = t.offset + bytes;
    }
    out.flush().map_err(io(to))
}
