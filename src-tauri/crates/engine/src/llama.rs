//! A llama-family transformer (llama, qwen2) with a KV cache the engine
//! controls. `forward(tokens, pos)` keeps the cache for positions `< pos` and
//! computes the rest, so a prompt prefix shared with the previous request
//! (the system prompt and examples, or the same query for the next
//! candidate) is never computed twice.
//!
//! On the CPU a layer runs on reused slices (our kernels, `attention`'s f16
//! cache): no tensor, allocation or lock per token. Other devices run the
//! same layer as Candle ops over an f32 cache. Either way the cache is
//! allocated once for the whole context and written in place, and the
//! token-embedding table stays quantized, rows dequantized on lookup.
use std::sync::Arc;

use crate::attention::{KvCache, Rows};
use crate::vecmath::exp_le0;
use rayon::prelude::*;

use crate::qmatmul::{Bytes, Linear};
use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::{DType, Device, Result, Tensor, D};

use crate::gguf::{candle_dtype, Architecture, GgufFile};

struct Layer {
    attn_norm: Tensor,
    /// q, k and v.
    qkv: Proj<3>,
    wo: Linear,
    ffn_norm: Tensor,
    /// Gate and up.
    gate_up: Proj<2>,
    down: Linear,
    /// Keys and values on a GPU; the CPU's are in `Host::kv`.
    cache: Option<(Tensor, Tensor)>,
}

/// Projections of one input. The CPU runs each on its own slices (biases
/// in `Host`). A GPU runs those of one block type as one matmul over their
/// rows end to end: there a step is bound by kernel launches, not bytes.
enum Proj<const N: usize> {
    Each([Linear; N]),
    Fused(Vec<Run>),
}

/// Projections fused into one matmul: their biases end to end, if any, and
/// each one's output width.
struct Run {
    w: Linear,
    bias: Option<Tensor>,
    widths: Vec<usize>,
}

impl<const N: usize> Proj<N> {
    /// The CPU's matmuls.
    fn each(&self) -> Result<&[Linear; N]> {
        match self {
            Proj::Each(ws) => Ok(ws),
            Proj::Fused(_) => candle_core::bail!("projections fused for a GPU"),
        }
    }

    /// Each projection of `x`, biased, as a view of its run's output.
    fn forward(&self, x: &Tensor) -> Result<[Tensor; N]> {
        let Proj::Fused(runs) = self else { candle_core::bail!("projections not fused") };
        let mut out = Vec::with_capacity(N);
        for r in runs {
            let mut y = r.w.forward(x)?;
            if let Some(b) = &r.bias {
                y = y.broadcast_add(b)?;
            }
            let mut at = 0;
            for &n in &r.widths {
                out.push(y.narrow(D::Minus1, at, n)?);
                at += n;
            }
        }
        out.try_into().map_err(|_| candle_core::Error::Msg("projection widths do not add up".into()))
    }
}

/// The CPU path's state: the cache, parameters as slices, and buffers
/// reused by every forward.
struct Host {
    kv: KvCache,
    /// Per layer: attention norm, FFN norm, and the q/k/v biases.
    norms: Vec<[Vec<f32>; 2]>,
    biases: Vec<[Option<Vec<f32>>; 3]>,
    out_norm: Vec<f32>,
    /// `[position][dim / 2]`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    b: Buffers,
}

#[derive(Default)]
struct Buffers {
    x: Vec<f32>,
    xs: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
}

/// Quantized embedding rows, kept on the CPU whatever the device.
struct Embeddings {
    table: Bytes,
    dtype: GgmlDType,
    row_bytes: usize,
    hidden: usize,
}

impl Embeddings {
    fn lookup(&self, tokens: &[u32], device: &Device) -> Result<Tensor> {
        let data = self.table.get()?;
        let rows = data.len() / self.row_bytes;
        let mut raw = Vec::with_capacity(tokens.len() * self.row_bytes);
        for &t in tokens {
            let t = t as usize;
            if t >= rows {
                candle_core::bail!("token id {t} is outside the vocabulary of {rows}");
            }
            raw.extend_from_slice(&data[t * self.row_bytes..(t + 1) * self.row_bytes]);
        }
        qtensor_from_ggml(self.dtype, &raw, vec![tokens.len(), self.hidden], &Device::Cpu)?
            .dequantize(&Device::Cpu)?
            .unsqueeze(0)?
            .to_device(device)
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

pub struct Llama {
    embed: Embeddings,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    /// On a GPU: `cos` and `sin` times the attention's scale, for queries.
    rope_q: Option<(Tensor, Tensor)>,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    eps: f32,
    interleaved_rope: bool,
    max_ctx: usize,
    /// Positions `0..len` of the cache hold valid keys and values.
    len: usize,
    host: Option<Host>,
}

impl Llama {
    /// `progress` gets the share of layers read so far, 0 to 1. `map` is
    /// the file mapped, on the CPU: quantized weights are used from it.
    /// `on_host` takes the CPU's slice path; without it a layer runs as
    /// Candle ops, as on a GPU (on the CPU: the reference for tests).
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        g: &GgufFile,
        reader: &mut std::io::BufReader<std::fs::File>,
        map: Option<Arc<memmap2::Mmap>>,
        max_ctx: usize,
        device: &Device,
        on_host: bool,
        progress: &dyn Fn(f32),
    ) -> Result<Self> {
        let arch = g.architecture;
        let get = |g: &GgufFile, k: &str| {
            g.arch_u32(k)
                .map(|v| v as usize)
                .ok_or_else(|| candle_core::Error::Msg(format!("{}.{k} is missing", arch.name())))
        };
        let n_head = get(g, "attention.head_count")?;
        let n_kv_head = g.arch_u32("attention.head_count_kv").map(|v| v as usize).unwrap_or(n_head);
        let hidden = get(g, "embedding_length")?;
        let n_layer = get(g, "block_count")?;
        if n_head == 0 || n_kv_head == 0 || hidden % n_head != 0 || n_head % n_kv_head != 0 {
            candle_core::bail!("inconsistent head counts: {n_head} heads, {n_kv_head} kv heads, width {hidden}");
        }
        let head_dim = hidden / n_head;
        let rope_dim = g.arch_u32("rope.dimension_count").map(|v| v as usize).unwrap_or(head_dim);
        if rope_dim != head_dim {
            candle_core::bail!("partial rotary embeddings ({rope_dim} of {head_dim}) are not supported");
        }
        let eps = g.arch_f32("attention.layer_norm_rms_epsilon").unwrap_or(1e-6);
        let theta = g.arch_f32("rope.freq_base").unwrap_or(10_000.0);
        let ct = &g.content;
        let r = reader;
        // Off the host, fused projections are read as bytes through a second
        // handle (each read seeks first, so sharing the offset is harmless).
        let mut raw_reader = (!on_host).then(|| r.get_ref().try_clone().map(std::io::BufReader::new)).transpose()?;
        let mut qt = |name: &str, dev: &Device| crate::gguf::read_tensor(ct, r, name, dev);
        let in_map = |name: &str| map.as_ref().and_then(|m| crate::gguf::mapped(ct, m, name));
        let tiled_as = |name: &str, repack: bool| {
            in_map(name).and_then(|m| Linear::tiled(Bytes::Map(m.map, m.range), m.dtype, &m.dims, repack))
        };
        // Q6_K in the file's layout costs nothing at load and streams as
        // fast at one token (31 against 26 GB/s), but its kernel takes half
        // as many tokens a second in prompts: so it is repacked only where
        // most of the layers' bytes are Q6_K. A Q4_K_M model (Q6_K in half
        // its FFN down projections) loads ~13% faster, its prompts ~8% slower.
        let layer_bytes = |pick: &dyn Fn(GgmlDType) -> bool| -> usize {
            let blk = ct.tensor_infos.iter().filter(|(n, i)| n.starts_with("blk.") && pick(candle_dtype(i.ggml_dtype)));
            blk.map(|(_, i)| crate::gguf::tensor_bytes(i)).sum()
        };
        let repack_q6k = 2 * layer_bytes(&|d| d == GgmlDType::Q6K) > layer_bytes(&|_| true);
        let tiled = |name: &str| {
            let repack =
                repack_q6k || ct.tensor_infos.get(name).is_none_or(|i| candle_dtype(i.ggml_dtype) != GgmlDType::Q6K);
            tiled_as(name, repack)
        };

        let (embed, dtype) = match in_map("token_embd.weight") {
            Some(m) => (Bytes::Map(m.map, m.range), m.dtype),
            None => {
                let q = Arc::new(qt("token_embd.weight", &Device::Cpu)?);
                let dtype = q.dtype();
                (Bytes::Tensor(q), dtype)
            }
        };
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        // The output layer only ever sees the last token: kept in the file's
        // layout, it costs nothing at load.
        let output = match tiled_as("output.weight", false) {
            Some(l) => l,
            None => match qt("output.weight", device) {
                Ok(w) => Linear::from_qtensor(w)?,
                // Tied embeddings.
                Err(_) => {
                    let rows = embed.get()?.len() / row_bytes;
                    match device.is_cpu().then(|| Linear::tiled(embed.clone(), dtype, &[rows, hidden], false)).flatten()
                    {
                        Some(l) => l,
                        None => Linear::from_qtensor(qt("token_embd.weight", device)?)?,
                    }
                }
            },
        };
        if ct.tensor_infos.contains_key("output.weight") {
            // Lookups read one row per token: the rest need not stay resident.
            embed.release();
        }
        let norm = qt("output_norm.weight", device)?.dequantize(device)?;
        let mut layers = Vec::with_capacity(n_layer);
        let mut host_biases = Vec::new();
        for i in 0..n_layer {
            progress(i as f32 / n_layer as f32);
            let p = format!("blk.{i}");
            let mm = |qt: &mut dyn FnMut(&str, &Device) -> Result<QTensor>, n: &str| -> Result<Linear> {
                let name = format!("{p}.{n}");
                match tiled(&name) {
                    Some(l) => Ok(l),
                    None => Linear::from_qtensor(qt(&name, device)?),
                }
            };
            let mut opt_bias = |n: &str| qt(&format!("{p}.{n}"), device).ok().map(|b| b.dequantize(device)).transpose();
            let biases = [opt_bias("attn_q.bias")?, opt_bias("attn_k.bias")?, opt_bias("attn_v.bias")?];
            let (qkv, gate_up, cache) = if on_host {
                let v = |b: &Option<Tensor>| b.as_ref().map(|b| b.to_vec1::<f32>()).transpose();
                host_biases.push([v(&biases[0])?, v(&biases[1])?, v(&biases[2])?]);
                let qkv = [mm(&mut qt, "attn_q.weight")?, mm(&mut qt, "attn_k.weight")?, mm(&mut qt, "attn_v.weight")?];
                (Proj::Each(qkv), Proj::Each([mm(&mut qt, "ffn_gate.weight")?, mm(&mut qt, "ffn_up.weight")?]), None)
            } else {
                let raw = raw_reader.as_mut().expect("opened off the host");
                // Present and matrices: `shapes::check` saw to both.
                let part = |n: &str| {
                    let i = &ct.tensor_infos[&format!("{p}.{n}")];
                    (candle_dtype(i.ggml_dtype), i.shape.dims().to_vec())
                };
                let mut read = |n: &str, buf: &mut Vec<u8>| crate::gguf::read_raw(ct, raw, &format!("{p}.{n}"), buf);
                let names = ["attn_q.weight", "attn_k.weight", "attn_v.weight"];
                let qkv = fuse(names.map(part), &mut |i, b| read(names[i], b), biases, device)?;
                let names = ["ffn_gate.weight", "ffn_up.weight"];
                let gate_up = fuse(names.map(part), &mut |i, b| read(names[i], b), [None, None], device)?;
                let cache = || Tensor::zeros((1, n_kv_head, max_ctx, head_dim), DType::F32, device);
                (qkv, gate_up, Some((cache()?, cache()?)))
            };
            layers.push(Layer {
                attn_norm: qt(&format!("{p}.attn_norm.weight"), device)?.dequantize(device)?,
                qkv,
                wo: mm(&mut qt, "attn_output.weight")?,
                ffn_norm: qt(&format!("{p}.ffn_norm.weight"), device)?.dequantize(device)?,
                gate_up,
                down: mm(&mut qt, "ffn_down.weight")?,
                cache,
            });
        }
        let inv: Vec<f32> = (0..head_dim).step_by(2).map(|i| 1.0 / theta.powf(i as f32 / head_dim as f32)).collect();
        let inv = Tensor::new(inv.as_slice(), device)?.reshape((1, head_dim / 2))?;
        let t = Tensor::arange(0u32, max_ctx as u32, device)?.to_dtype(DType::F32)?.reshape((max_ctx, 1))?;
        let freqs = t.matmul(&inv)?;
        let (cos, sin) = (freqs.cos()?, freqs.sin()?);
        // Queries take the attention's 1/sqrt(d) with their rotation: one
        // op fewer per layer on a GPU.
        let scale = 1.0 / (head_dim as f64).sqrt();
        let rope_q = match on_host {
            true => None,
            false => Some(((&cos * scale)?, (&sin * scale)?)),
        };
        let host = match on_host {
            false => None,
            true => {
                let v = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
                Some(Host {
                    kv: KvCache::new(n_layer, n_kv_head, max_ctx, head_dim),
                    norms: layers.iter().map(|l| Ok([v(&l.attn_norm)?, v(&l.ffn_norm)?])).collect::<Result<_>>()?,
                    biases: host_biases,
                    out_norm: v(&norm)?,
                    cos: v(&cos)?,
                    sin: v(&sin)?,
                    b: Buffers::default(),
                })
            }
        };
        Ok(Self {
            embed: Embeddings { table: embed, dtype, row_bytes, hidden },
            layers,
            norm,
            output,
            cos,
            sin,
            rope_q,
            n_head,
            n_kv_head,
            head_dim,
            eps: eps as f32,
            // GGUF llama weights are permuted for GPT-J style rotation;
            // qwen2 keeps the NeoX halves.
            interleaved_rope: arch == Architecture::Llama,
            max_ctx,
            len: 0,
            host,
        })
    }

    /// Runs `tokens` at positions `pos..` into the cache and, where `out`
    /// is given, puts the logits of the last one there (a long prompt's
    /// earlier slices need none: the output layer is the largest matmul).
    pub fn forward(&mut self, tokens: &[u32], pos: usize, out: Option<&mut Vec<f32>>) -> Result<()> {
        let t = tokens.len();
        if t == 0 {
            candle_core::bail!("no tokens to run");
        }
        if pos > self.len {
            candle_core::bail!("position {pos} is past the cached {}", self.len);
        }
        if pos + t > self.max_ctx {
            candle_core::bail!("{} tokens do not fit the context of {}", pos + t, self.max_ctx);
        }
        if self.host.is_some() {
            self.forward_host(tokens, Rows::Main(pos), out.map(|o| (o, false)))?;
        } else {
            let logits = self.forward_device(tokens, pos, out.is_some())?;
            if let (Some(out), Some(logits)) = (out, logits) {
                out.clear();
                out.extend(logits.to_dtype(DType::F32)?.to_vec1::<f32>()?);
            }
        }
        self.len = pos + t;
        Ok(())
    }

    /// Whether `fork` and `forward_branches` work: on the CPU path.
    pub fn branches(&self) -> bool {
        self.host.is_some()
    }

    /// Makes branch `b` continue the cache's first `shared` positions with
    /// room for `room` more (see `KvCache::fork`).
    pub fn fork(&mut self, b: usize, shared: usize, room: usize) -> Result<()> {
        let Some(host) = self.host.as_mut() else { candle_core::bail!("branches need the CPU path") };
        if shared > self.len || shared + room > self.max_ctx {
            candle_core::bail!("a branch at {shared} with room for {room} does not fit the cache");
        }
        host.kv.fork(b, shared, room);
        Ok(())
    }

    /// Branch `to` takes a copy of branch `from`'s first `len` positions.
    pub fn copy_branch(&mut self, from: usize, to: usize, len: usize) -> Result<()> {
        let Some(host) = self.host.as_mut() else { candle_core::bail!("branches need the CPU path") };
        if len > 0 && !host.kv.holds(from, host.kv.shared(from) + len - 1) {
            candle_core::bail!("branch {from} has no {len} positions to copy");
        }
        host.kv.copy_branch(from, to, len);
        Ok(())
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
        if tokens.is_empty() || tokens.len() != rows.len() {
            candle_core::bail!("{} tokens for {} rows", tokens.len(), rows.len());
        }
        let Some(host) = self.host.as_ref() else { candle_core::bail!("branches need the CPU path") };
        if let Some(&(b, p)) = rows.iter().find(|&&(b, p)| p >= self.max_ctx || !host.kv.holds(b, p)) {
            candle_core::bail!("position {p} is outside branch {b}");
        }
        self.forward_host(tokens, Rows::Branches(rows), out)
    }

    fn forward_host(&mut self, tokens: &[u32], rows: Rows, out: Option<(&mut Vec<f32>, bool)>) -> Result<()> {
        let Some(host) = self.host.as_mut() else { candle_core::bail!("not on the CPU") };
        let Host { kv, norms, biases, out_norm, cos, sin, b } = host;
        let t = tokens.len();
        let (h, d) = (self.n_head, self.head_dim);
        let hidden = h * d;
        let rope = |x: &mut [f32]| rope(x, t, d, rows, &cos[..], &sin[..], self.interleaved_rope);
        let scale = 1.0 / (d as f32).sqrt();
        self.embed.lookup_into(tokens, &mut b.x)?;
        for (i, l) in self.layers.iter().enumerate() {
            let ([attn_norm, ffn_norm], [bq, bk, bv]) = (&norms[i], &biases[i]);
            rms_norm(&b.x, attn_norm, self.eps, &mut b.xs);
            let [wq, wk, wv] = l.qkv.each()?;
            wq.forward_into(&b.xs, t, &mut b.q)?;
            wk.forward_into(&b.xs, t, &mut b.k)?;
            wv.forward_into(&b.xs, t, &mut b.v)?;
            add_bias(&mut b.q, bq);
            add_bias(&mut b.k, bk);
            add_bias(&mut b.v, bv);
            rope(&mut b.q);
            rope(&mut b.k);
            kv.write_rows(i, rows, &b.k, &b.v);
            b.att.resize(t * hidden, 0.0);
            kv.attend_rows(i, &b.q, rows, h, scale, &mut b.att);
            l.wo.forward_into(&b.att, t, &mut b.o)?;
            add(&mut b.x, &b.o);
            rms_norm(&b.x, ffn_norm, self.eps, &mut b.xs);
            let [gate, up] = l.gate_up.each()?;
            gate.forward_into(&b.xs, t, &mut b.gate)?;
            up.forward_into(&b.xs, t, &mut b.up)?;
            silu_mul(&mut b.gate, &b.up);
            l.down.forward_into(&b.gate, t, &mut b.o)?;
            add(&mut b.x, &b.o);
        }
        let Some((out, all)) = out else { return Ok(()) };
        let (from, n) = if all { (0, t) } else { (t - 1, 1) };
        rms_norm(&b.x[from * hidden..], out_norm, self.eps, &mut b.xs);
        self.output.forward_into(&b.xs, n, out)
    }

    fn forward_device(&mut self, tokens: &[u32], pos: usize, logits: bool) -> Result<Option<Tensor>> {
        let t = tokens.len();
        let device = self.cos.device().clone();
        let mut x = self.embed.lookup(tokens, &device)?;
        let total = pos + t;
        let groups = self.n_head / self.n_kv_head;
        let (h, kvh, d) = (self.n_head, self.n_kv_head, self.head_dim);
        // Causal mask over the grouped query rows: (groups * t, total).
        let mask = if t > 1 {
            let m: Vec<f32> = (0..groups * t)
                .flat_map(|row| {
                    let i = row % t;
                    (0..total).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 })
                })
                .collect();
            Some(Tensor::from_vec(m, (groups * t, total), &device)?)
        } else {
            None
        };
        let Some((cos_q, sin_q)) = &self.rope_q else { candle_core::bail!("no device rotary tables") };
        let at = |c: &Tensor| c.narrow(0, pos, t);
        let (cos, sin, cos_q, sin_q) = (at(&self.cos)?, at(&self.sin)?, at(cos_q)?, at(sin_q)?);
        let rope = |x: &Tensor, cos: &Tensor, sin: &Tensor| match self.interleaved_rope {
            true => candle_nn::rotary_emb::rope_i(x, cos, sin),
            false => candle_nn::rotary_emb::rope(x, cos, sin),
        };
        // (1, t, heads * d) to (1, heads, t, d): a view when t is 1.
        let heads = |x: &Tensor, n: usize| x.reshape((1, t, n, d))?.transpose(1, 2)?.contiguous();
        for l in &self.layers {
            let residual = &x;
            let xs = candle_nn::ops::rms_norm(&x, &l.attn_norm, self.eps)?;
            let [q, k, v] = l.qkv.forward(&xs)?;
            // Scaled for the attention by its tables.
            let q = rope(&heads(&q, h)?, &cos_q, &sin_q)?;
            let k = rope(&heads(&k, kvh)?, &cos, &sin)?;
            let v = heads(&v, kvh)?;
            let Some((k_cache, v_cache)) = &l.cache else { candle_core::bail!("no device cache") };
            k_cache.slice_set(&k, 2, pos)?;
            v_cache.slice_set(&v, 2, pos)?;
            let k_all = k_cache.narrow(2, 0, total)?;
            let v_all = v_cache.narrow(2, 0, total)?;
            // Heads that share a kv head become extra rows: no K/V copies.
            let q = q.reshape((1, kvh, groups * t, d))?;
            let att = q.matmul(&k_all.t()?)?;
            let att = match &mask {
                Some(m) => att.broadcast_add(m)?,
                None => att,
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v_all)?.reshape((1, h, t, d))?.transpose(1, 2)?.reshape((1, t, h * d))?;
            let x1 = (l.wo.forward(&y)? + residual)?;
            let xs = candle_nn::ops::rms_norm(&x1, &l.ffn_norm, self.eps)?;
            let [gate, up] = l.gate_up.forward(&xs)?;
            let ff = (gate.silu()? * up)?;
            x = (l.down.forward(&ff)? + x1)?;
        }
        if !logits {
            return Ok(None);
        }
        let last = x.narrow(1, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, self.eps)?;
        Ok(Some(self.output.forward(&last)?.squeeze(0)?.squeeze(0)?))
    }
}

/// Joins each run of projections of one block type (rows end to end) into
/// one matmul on `device`, with their biases, zeros for any missing.
/// `parts` are the block types and shapes; `read(i, buf)` appends part
/// `i`'s bytes, so a run is read straight into one buffer.
fn fuse<const N: usize>(
    parts: [(GgmlDType, Vec<usize>); N],
    read: &mut dyn FnMut(usize, &mut Vec<u8>) -> Result<()>,
    biases: [Option<Tensor>; N],
    device: &Device,
) -> Result<Proj<N>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < N {
        let (dtype, k) = match parts[i].1[..] {
            [_, k] => (parts[i].0, k),
            _ => candle_core::bail!("a projection of shape {:?} is not a matrix", parts[i].1),
        };
        let j = (i..N).find(|&j| parts[j].0 != dtype || parts[j].1.get(1) != Some(&k)).unwrap_or(N);
        let widths: Vec<usize> = parts[i..j].iter().map(|p| p.1[0]).collect();
        let mut raw = Vec::new();
        for x in i..j {
            read(x, &mut raw)?;
        }
        let w = Linear::from_qtensor(qtensor_from_ggml(dtype, &raw, vec![widths.iter().sum(), k], device)?)?;
        let bias = match biases[i..j].iter().any(Option::is_some) {
            false => None,
            true => {
                let b = (i..j)
                    .map(|x| biases[x].clone().map_or_else(|| Tensor::zeros(widths[x - i], DType::F32, device), Ok))
                    .collect::<Result<Vec<_>>>()?;
                Some(Tensor::cat(&b, 0)?)
            }
        };
        runs.push(Run { w, bias, widths });
        i = j;
    }
    Ok(Proj::Fused(runs))
}

/// Rows of `x.len() / w.len()`, each scaled to unit root mean square, times
/// `w`.
fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>) {
    out.resize(x.len(), 0.0);
    let norm = |(x, o): (&[f32], &mut [f32])| {
        let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
        let r = 1.0 / (ms + eps).sqrt();
        for ((o, x), w) in o.iter_mut().zip(x).zip(w) {
            *o = x * r * w;
        }
    };
    if x.len() > w.len() {
        x.par_chunks(w.len()).zip(out.par_chunks_mut(w.len())).for_each(norm);
    } else {
        norm((x, out));
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
}

fn add_bias(x: &mut [f32], b: &Option<Vec<f32>>) {
    if let Some(b) = b {
        x.chunks_exact_mut(b.len()).for_each(|r| add(r, b));
    }
}

/// Rotary embeddings, in place, for `t` rows of heads of `d` at the rows'
/// positions: NeoX halves, or GPT-J pairs where `interleaved`.
fn rope(x: &mut [f32], t: usize, d: usize, rows: Rows, cos: &[f32], sin: &[f32], interleaved: bool) {
    let half = d / 2;
    let width = x.len() / t;
    for (i, row) in x.chunks_exact_mut(width).enumerate() {
        let at = rows.at(i).1 * half;
        let (cos, sin) = (&cos[at..at + half], &sin[at..at + half]);
        for head in row.chunks_exact_mut(d) {
            if interleaved {
                for (j, pair) in head.chunks_exact_mut(2).enumerate() {
                    let (a, b) = (pair[0], pair[1]);
                    pair[0] = a * cos[j] - b * sin[j];
                    pair[1] = a * sin[j] + b * cos[j];
                }
            } else {
                let (lo, hi) = head.split_at_mut(half);
                for j in 0..half {
                    let (a, b) = (lo[j], hi[j]);
                    lo[j] = a * cos[j] - b * sin[j];
                    hi[j] = a * sin[j] + b * cos[j];
                }
            }
        }
    }
}

/// `gate` becomes silu(gate) * up.
fn silu_mul(gate: &mut [f32], up: &[f32]) {
    let f = |(g, u): (&mut [f32], &[f32])| {
        for (g, &u) in g.iter_mut().zip(u) {
            let x = *g;
            // e^-|x| never overflows: silu(x) = x / (1 + e^-x) for x >= 0,
            // x e^x / (1 + e^x) below.
            let e = exp_le0(-x.abs());
            let num = if x >= 0.0 { x } else { x * e };
            *g = num / (1.0 + e) * u;
        }
    };
    const CHUNK: usize = 16 << 10;
    if gate.len() > CHUNK {
        gate.par_chunks_mut(CHUNK).zip(up.par_chunks(CHUNK)).for_each(f);
    } else {
        f((gate, up));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of one block type become one matmul each, a missing bias reads
    /// as zeros, and every projection comes back as its own matmul would.
    #[test]
    fn fused_projections_equal_separate_ones() -> Result<()> {
        let dev = Device::Cpu;
        let k = 64;
        let x = Tensor::randn(0f32, 1.0, (1, 3, k), &dev)?;
        let ws: Vec<Tensor> =
            [32, 16, 16].iter().map(|&n| Tensor::randn(0f32, 0.1, (n, k), &dev)).collect::<Result<_>>()?;
        let types = [GgmlDType::F32, GgmlDType::F32, GgmlDType::F16];
        let q = |i: usize| QTensor::quantize(&ws[i], types[i]);
        let biases = [Some(Tensor::randn(0f32, 1.0, 32, &dev)?), None, Some(Tensor::randn(0f32, 1.0, 16, &dev)?)];
        let part = |i: usize| (types[i], ws[i].dims().to_vec());
        let mut read = |i: usize, buf: &mut Vec<u8>| {
            buf.extend_from_slice(&q(i)?.data()?);
            Ok(())
        };
        let p = fuse([part(0), part(1), part(2)], &mut read, biases.clone(), &dev)?;
        let Proj::Fused(runs) = &p else { panic!("not fused") };
        assert_eq!(runs.iter().map(|r| r.widths.clone()).collect::<Vec<_>>(), [vec![32, 16], vec![16]]);
        for (i, y) in p.forward(&x)?.iter().enumerate() {
            let mut want = Linear::from_qtensor(q(i)?)?.forward(&x)?;
            if let Some(b) = &biases[i] {
                want = want.broadcast_add(b)?;
            }
            let diff = (y - want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "projection {i} differs by {diff}");
        }
        Ok(())
    }
}
