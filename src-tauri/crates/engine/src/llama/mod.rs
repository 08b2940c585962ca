//! A llama-family transformer (llama, qwen2) with a KV cache the engine
//! controls. `forward(tokens, pos)` keeps the cache for positions `< pos` and
//! computes the rest, so a prompt prefix shared with the previous request
//! (the system prompt and examples, or the same query for the next
//! candidate) is never computed twice.
//!
//! Two models, one per path, each with its own load and forward: `host`
//! runs a layer on reused slices on the CPU (our kernels, `attention`'s f16
//! cache: no tensor, allocation or lock per token; branches for batched
//! candidates); `device` runs it as Candle ops over an f32 cache (a GPU, or
//! the CPU as the tests' reference). Either way the cache is allocated once
//! for the whole context and written in place, and the token-embedding
//! table stays quantized, rows dequantized on lookup.
use std::io::BufReader;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Result, Tensor};

use crate::gguf::{candle_dtype, Architecture, GgufFile, Sizes};
use crate::qmatmul::{Bytes, Linear, Role};

mod device;
mod host;

/// What a model is loaded from: the file, its checked sizes, and where the
/// weights go.
pub struct Source<'a> {
    pub g: &'a GgufFile,
    pub sizes: &'a Sizes,
    /// The file mapped, on the CPU: quantized weights are used from it.
    pub map: Option<Arc<memmap2::Mmap>>,
    pub max_ctx: usize,
    pub device: &'a Device,
    /// The share of layers read so far, 0 to 1.
    pub progress: &'a dyn Fn(f32),
}

pub enum Llama {
    /// Boxed: its reused buffers make it much the larger of the two.
    Host(Box<host::Host>),
    Device(device::OnDevice),
}

impl Llama {
    /// The CPU's slice path.
    pub fn load_host(src: Source, reader: &mut BufReader<std::fs::File>) -> Result<Self> {
        Ok(Llama::Host(Box::new(host::Host::load(Tensors::new(src, reader)?)?)))
    }

    /// Candle ops on `src.device`, as on a GPU.
    pub fn load_device(src: Source, reader: &mut BufReader<std::fs::File>) -> Result<Self> {
        Ok(Llama::Device(device::OnDevice::load(Tensors::new(src, reader)?)?))
    }

    fn common(&self) -> &Common {
        match self {
            Llama::Host(m) => &m.c,
            Llama::Device(m) => &m.c,
        }
    }

    /// Runs `tokens` at positions `pos..` into the cache and, where `out`
    /// is given, puts the logits of the last one there (a long prompt's
    /// earlier slices need none: the output layer is the largest matmul).
    pub fn forward(&mut self, tokens: &[u32], pos: usize, out: Option<&mut Vec<f32>>) -> Result<()> {
        let t = tokens.len();
        let c = self.common();
        if t == 0 {
            candle_core::bail!("no tokens to run");
        }
        if pos > c.len {
            candle_core::bail!("position {pos} is past the cached {}", c.len);
        }
        if pos + t > c.max_ctx {
            candle_core::bail!("{} tokens do not fit the context of {}", pos + t, c.max_ctx);
        }
        match self {
            Llama::Host(m) => {
                m.forward(tokens, crate::attention::Rows::Main(pos), out.map(|o| (o, false)))?;
                m.c.len = pos + t;
            }
            Llama::Device(m) => {
                m.forward(tokens, pos, out)?;
                m.c.len = pos + t;
            }
        }
        Ok(())
    }

    /// As `forward`, with the logits of every token in `out`, a row each:
    /// drafted tokens checked in one pass. The CPU path only.
    pub fn forward_all(&mut self, tokens: &[u32], pos: usize, out: &mut Vec<f32>) -> Result<()> {
        let m = self.host()?;
        if tokens.is_empty() || pos > m.c.len || pos + tokens.len() > m.c.max_ctx {
            candle_core::bail!("{} tokens at {pos} do not fit the cache of {}", tokens.len(), m.c.len);
        }
        m.forward(tokens, crate::attention::Rows::Main(pos), Some((out, true)))?;
        m.c.len = pos + tokens.len();
        Ok(())
    }

    /// Whether `fork` and `forward_branches` work: on the CPU path.
    pub fn branches(&self) -> bool {
        matches!(self, Llama::Host(_))
    }

    fn host(&mut self) -> Result<&mut host::Host> {
        match self {
            Llama::Host(m) => Ok(m),
            Llama::Device(_) => candle_core::bail!("branches need the CPU path"),
        }
    }

    /// Makes branch `b` continue the cache's first `shared` positions with
    /// room for `room` more (see `KvCache::fork`).
    pub fn fork(&mut self, b: usize, shared: usize, room: usize) -> Result<()> {
        self.host()?.fork(b, shared, room)
    }

    /// Branch `to` takes a copy of branch `from`'s first `len` positions.
    pub fn copy_branch(&mut self, from: usize, to: usize, len: usize) -> Result<()> {
        self.host()?.copy_branch(from, to, len)
    }

    /// Runs `tokens[i]` in branch `rows[i].0` at position `rows[i].1`
    /// (branches forked, positions in order within each); where `out` is
    /// given, puts the logits of every row there (`all`) or of the last one.
    pub fn forward_branches(
        &mut self,
        tokens: &[u32],
        rows: &[(usize, usize)],
        out: Option<(&mut Vec<f32>, bool)>,
    ) -> Result<()> {
        self.host()?.forward_branches(tokens, rows, out)
    }
}

/// What both paths hold alike.
struct Common {
    embed: Embeddings,
    output: Linear,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    eps: f32,
    /// GGUF llama weights are permuted for GPT-J style rotation; qwen2
    /// keeps the NeoX halves.
    interleaved_rope: bool,
    max_ctx: usize,
    /// Positions `0..len` of the cache hold valid keys and values.
    len: usize,
}

/// Reads one model's tensors: quantized matrices from the mapped file
/// where our kernels take them, the rest through the reader onto the
/// device.
struct Tensors<'a> {
    src: Source<'a>,
    reader: &'a mut BufReader<std::fs::File>,
    /// The layers' matrices, as `qmatmul::plan` weighs them.
    layer: Role,
}

impl<'a> Tensors<'a> {
    fn new(src: Source<'a>, reader: &'a mut BufReader<std::fs::File>) -> Result<Self> {
        let head_dim = src.sizes.head_dim;
        if src.sizes.rope_dim != head_dim {
            candle_core::bail!("partial rotary embeddings ({} of {head_dim}) are not supported", src.sizes.rope_dim);
        }
        let ct = &src.g.content;
        let layer_bytes = |pick: &dyn Fn(GgmlDType) -> bool| -> usize {
            let blk = ct.tensor_infos.iter().filter(|(n, i)| n.starts_with("blk.") && pick(candle_dtype(i.ggml_dtype)));
            blk.map(|(_, i)| crate::gguf::tensor_bytes(i)).sum()
        };
        let layer = Role::Layer { q6k_heavy: 2 * layer_bytes(&|d| d == GgmlDType::Q6K) > layer_bytes(&|_| true) };
        Ok(Self { src, reader, layer })
    }

    fn qt(&mut self, name: &str, dev: &Device) -> Result<QTensor> {
        crate::gguf::read_tensor(&self.src.g.content, self.reader, name, dev)
    }

    /// A norm's weights (or a bias), dequantized on the device.
    fn vector(&mut self, name: &str) -> Result<Tensor> {
        let dev = self.src.device;
        self.qt(name, dev)?.dequantize(dev)
    }

    /// As `vector`, for a tensor a model may lack (qwen2's biases).
    fn optional(&mut self, name: &str) -> Result<Option<Tensor>> {
        match self.src.g.content.tensor_infos.contains_key(name) {
            true => self.vector(name).map(Some),
            false => Ok(None),
        }
    }

    fn in_map(&self, name: &str) -> Option<crate::gguf::Mapped> {
        self.src.map.as_ref().and_then(|m| crate::gguf::mapped(&self.src.g.content, m, name))
    }

    /// Our kernel over the mapped file, where the plan is ours.
    fn tiled(&self, name: &str, role: Role) -> Option<Linear> {
        self.in_map(name).and_then(|m| Linear::tiled(Bytes::Map(m.map, m.range), m.dtype, &m.dims, role))
    }

    /// A layer's matrix: mapped where the plan is ours, else read onto the device.
    fn linear(&mut self, name: &str) -> Result<Linear> {
        match self.tiled(name, self.layer) {
            Some(l) => Ok(l),
            None => {
                let q = self.qt(name, self.src.device)?;
                Linear::from_qtensor(q, self.layer)
            }
        }
    }

    /// The embedding table and the output layer (the table itself where
    /// the embeddings are tied).
    fn ends(&mut self) -> Result<(Embeddings, Linear)> {
        let hidden = self.src.sizes.hidden;
        let (table, dtype) = match self.in_map("token_embd.weight") {
            Some(m) => (Bytes::Map(m.map, m.range), m.dtype),
            None => {
                let q = Arc::new(self.qt("token_embd.weight", &Device::Cpu)?);
                let dtype = q.dtype();
                (Bytes::Tensor(q), dtype)
            }
        };
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        let device = self.src.device;
        let output = match self.tiled("output.weight", Role::Output) {
            Some(l) => l,
            None => match self.qt("output.weight", device) {
                Ok(w) => Linear::from_qtensor(w, Role::Output)?,
                // Tied embeddings.
                Err(_) => {
                    let rows = table.get()?.len() / row_bytes;
                    match device.is_cpu().then(|| Linear::tiled(table.clone(), dtype, &[rows, hidden], Role::Output)) {
                        Some(Some(l)) => l,
                        _ => Linear::from_qtensor(self.qt("token_embd.weight", device)?, Role::Output)?,
                    }
                }
            },
        };
        if self.src.g.content.tensor_infos.contains_key("output.weight") {
            // Lookups read one row per token: the rest need not stay resident.
            table.release();
        }
        Ok((Embeddings { table, dtype, row_bytes, hidden }, output))
    }

    fn common(&mut self) -> Result<Common> {
        let (embed, output) = self.ends()?;
        let s = self.src.sizes;
        Ok(Common {
            embed,
            output,
            n_head: s.heads,
            n_kv_head: s.kv_heads,
            head_dim: s.head_dim,
            eps: s.rms_eps,
            interleaved_rope: self.src.g.architecture == Architecture::Llama,
            max_ctx: self.src.max_ctx,
            len: 0,
        })
    }

    /// The rotary tables, cos and sin, for every position of the context:
    /// (max_ctx, head_dim / 2).
    fn rope_tables(&self) -> Result<(Tensor, Tensor)> {
        let (d, ctx, theta, device) =
            (self.src.sizes.head_dim, self.src.max_ctx, self.src.sizes.rope_theta, self.src.device);
        let inv: Vec<f32> = (0..d).step_by(2).map(|i| 1.0 / theta.powf(i as f32 / d as f32)).collect();
        let inv = Tensor::new(inv.as_slice(), device)?.reshape((1, d / 2))?;
        let t = Tensor::arange(0u32, ctx as u32, device)?.to_dtype(DType::F32)?.reshape((ctx, 1))?;
        let freqs = t.matmul(&inv)?;
        Ok((freqs.cos()?, freqs.sin()?))
    }
}

struct Embeddings {
    table: Bytes,
    dtype: GgmlDType,
    row_bytes: usize,
    hidden: usize,
}

impl Embeddings {
    fn lookup(&self, tokens: &[u32], device: &Device) -> Result<Tensor> {
        crate::gguf::dequantize_rows(&self.table.get()?, self.dtype, self.row_bytes, self.hidden, tokens, device)
    }

    /// The rows of `tokens`, dequantized into `out`.
    fn lookup_into(&self, tokens: &[u32], out: &mut Vec<f32>) -> Result<()> {
        use candle_core::quantized::k_quants::*;
        fn rows<T: GgmlType>(data: &[u8], rb: usize, tokens: &[u32], out: &mut [f32]) -> Option<()> {
            let width = out.len() / tokens.len().max(1);
            for (&t, o) in tokens.iter().zip(out.chunks_exact_mut(width)) {
                let row = data.get(t as usize * rb..(t as usize + 1) * rb)?;
                if row.as_ptr().align_offset(std::mem::align_of::<T>()) != 0
                    || !rb.is_multiple_of(std::mem::size_of::<T>())
                {
                    return None;
                }
                // SAFETY: in bounds, aligned and whole blocks (checked above);
                // the blocks are plain data.
                let blocks =
                    unsafe { std::slice::from_raw_parts(row.as_ptr().cast::<T>(), rb / std::mem::size_of::<T>()) };
                T::to_float(blocks, o);
            }
            Some(())
        }
        let data = self.table.get()?;
        let n = data.len() / self.row_bytes;
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= n) {
            candle_core::bail!("token id {t} is outside the vocabulary of {n}");
        }
        out.resize(tokens.len() * self.hidden, 0.0);
        let (d, rb) = (&data[..], self.row_bytes);
        let done = match self.dtype {
            GgmlDType::Q4K => rows::<BlockQ4K>(d, rb, tokens, out),
            GgmlDType::Q6K => rows::<BlockQ6K>(d, rb, tokens, out),
            GgmlDType::Q5_0 => rows::<BlockQ5_0>(d, rb, tokens, out),
            GgmlDType::Q8_0 => rows::<BlockQ8_0>(d, rb, tokens, out),
            GgmlDType::Q4_0 => rows::<BlockQ4_0>(d, rb, tokens, out),
            _ => None,
        };
        if done.is_none() {
            let t = self.lookup(tokens, &Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
            out.copy_from_slice(&t);
        }
        Ok(())
    }
}
