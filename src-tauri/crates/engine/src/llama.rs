//! A llama-family transformer (llama, qwen2) with a KV cache the engine
//! controls. `forward(tokens, pos)` keeps the cache for positions `< pos` and
//! computes the rest, so a prompt prefix shared with the previous request
//! (the system prompt and examples, or the same query for the next
//! candidate) is never computed twice.
//!
//! Memory: K/V live in buffers allocated once for the whole context and are
//! written in place; grouped-query attention reshapes the queries instead of
//! copying K/V per head; the token-embedding table stays quantized and rows
//! are dequantized on lookup.
use std::sync::Arc;

use crate::qmatmul::{Bytes, Linear};
use candle_core::quantized::{ggml_file::qtensor_from_ggml, gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Result, Tensor};

use crate::gguf::{Architecture, GgufFile};

struct Layer {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    bq: Option<Tensor>,
    bk: Option<Tensor>,
    bv: Option<Tensor>,
    wo: Linear,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
    k_cache: Tensor,
    v_cache: Tensor,
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
}

pub struct Llama {
    embed: Embeddings,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    eps: f32,
    interleaved_rope: bool,
    max_ctx: usize,
    /// Positions `0..len` of the cache hold valid keys and values.
    len: usize,
}

impl Llama {
    /// `progress` gets the share of layers read so far, 0 to 1.
    pub fn load(g: &mut GgufFile, max_ctx: usize, device: &Device, progress: &dyn Fn(f32)) -> Result<Self> {
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
        // On the CPU, quantized weights stay in the mapped file.
        let map = if device.is_cpu() { Some(g.map().map_err(candle_core::Error::wrap)?) } else { None };
        let ct: &gguf_file::Content = &g.content;
        let r = &mut g.reader;
        let mut qt = |name: &str, dev: &Device| crate::gguf::read_tensor(ct, r, name, dev);
        let in_map = |name: &str| map.as_ref().and_then(|m| crate::gguf::mapped(ct, m, name));
        let tiled = |name: &str| in_map(name).and_then(|m| Linear::tiled(Bytes::Map(m.map, m.range), m.dtype, &m.dims));

        let (embed, dtype) = match in_map("token_embd.weight") {
            Some(m) => (Bytes::Map(m.map, m.range), m.dtype),
            None => {
                let q = Arc::new(qt("token_embd.weight", &Device::Cpu)?);
                let dtype = q.dtype();
                (Bytes::Tensor(q), dtype)
            }
        };
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        let output = match tiled("output.weight") {
            Some(l) => l,
            None => match qt("output.weight", device) {
                Ok(w) => Linear::from_qtensor(w)?,
                // Tied embeddings.
                Err(_) => {
                    let rows = embed.get()?.len() / row_bytes;
                    match device.is_cpu().then(|| Linear::tiled(embed.clone(), dtype, &[rows, hidden])).flatten() {
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
            let (bq, bk, bv) = (opt_bias("attn_q.bias")?, opt_bias("attn_k.bias")?, opt_bias("attn_v.bias")?);
            let cache = || Tensor::zeros((1, n_kv_head, max_ctx, head_dim), DType::F32, device);
            layers.push(Layer {
                attn_norm: qt(&format!("{p}.attn_norm.weight"), device)?.dequantize(device)?,
                wq: mm(&mut qt, "attn_q.weight")?,
                wk: mm(&mut qt, "attn_k.weight")?,
                wv: mm(&mut qt, "attn_v.weight")?,
                bq,
                bk,
                bv,
                wo: mm(&mut qt, "attn_output.weight")?,
                ffn_norm: qt(&format!("{p}.ffn_norm.weight"), device)?.dequantize(device)?,
                gate: mm(&mut qt, "ffn_gate.weight")?,
                up: mm(&mut qt, "ffn_up.weight")?,
                down: mm(&mut qt, "ffn_down.weight")?,
                k_cache: cache()?,
                v_cache: cache()?,
            });
        }
        let inv: Vec<f32> = (0..head_dim).step_by(2).map(|i| 1.0 / theta.powf(i as f32 / head_dim as f32)).collect();
        let inv = Tensor::new(inv.as_slice(), device)?.reshape((1, head_dim / 2))?;
        let t = Tensor::arange(0u32, max_ctx as u32, device)?.to_dtype(DType::F32)?.reshape((max_ctx, 1))?;
        let freqs = t.matmul(&inv)?;
        Ok(Self {
            embed: Embeddings { table: embed, dtype, row_bytes, hidden },
            layers,
            norm,
            output,
            cos: freqs.cos()?,
            sin: freqs.sin()?,
            n_head,
            n_kv_head,
            head_dim,
            eps: eps as f32,
            // GGUF llama weights are permuted for GPT-J style rotation;
            // qwen2 keeps the NeoX halves.
            interleaved_rope: arch == Architecture::Llama,
            max_ctx,
            len: 0,
        })
    }

    /// Logits of the last of `tokens`, placed at positions `pos..`.
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        let t = tokens.len();
        if pos > self.len {
            candle_core::bail!("position {pos} is past the cached {}", self.len);
        }
        if pos + t > self.max_ctx {
            candle_core::bail!("{} tokens do not fit the context of {}", pos + t, self.max_ctx);
        }
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
        let cos = self.cos.narrow(0, pos, t)?;
        let sin = self.sin.narrow(0, pos, t)?;
        let scale = 1.0 / (d as f64).sqrt();
        for l in &self.layers {
            let residual = &x;
            let xs = candle_nn::ops::rms_norm(&x, &l.attn_norm, self.eps)?;
            let proj = |w: &Linear, b: &Option<Tensor>| -> Result<Tensor> {
                let y = w.forward(&xs)?;
                match b {
                    Some(b) => y.broadcast_add(b),
                    None => Ok(y),
                }
            };
            let q = proj(&l.wq, &l.bq)?.reshape((1, t, h, d))?.transpose(1, 2)?.contiguous()?;
            let k = proj(&l.wk, &l.bk)?.reshape((1, t, kvh, d))?.transpose(1, 2)?.contiguous()?;
            let v = proj(&l.wv, &l.bv)?.reshape((1, t, kvh, d))?.transpose(1, 2)?.contiguous()?;
            let (q, k) = if self.interleaved_rope {
                (candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?, candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?)
            } else {
                (candle_nn::rotary_emb::rope(&q, &cos, &sin)?, candle_nn::rotary_emb::rope(&k, &cos, &sin)?)
            };
            l.k_cache.slice_set(&k, 2, pos)?;
            l.v_cache.slice_set(&v, 2, pos)?;
            let k_all = l.k_cache.narrow(2, 0, total)?;
            let v_all = l.v_cache.narrow(2, 0, total)?;
            // Heads that share a kv head become extra rows: no K/V copies.
            let q = q.reshape((1, kvh, groups * t, d))?;
            let att = (q.matmul(&k_all.t()?)? * scale)?;
            let att = match &mask {
                Some(m) => att.broadcast_add(m)?,
                None => att,
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v_all)?.reshape((1, h, t, d))?.transpose(1, 2)?.reshape((1, t, h * d))?;
            let x1 = (l.wo.forward(&y)? + residual)?;
            let xs = candle_nn::ops::rms_norm(&x1, &l.ffn_norm, self.eps)?;
            let ff = (l.gate.forward(&xs)?.silu()? * l.up.forward(&xs)?)?;
            x = (l.down.forward(&ff)? + x1)?;
        }
        self.len = total;
        let last = x.narrow(1, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, self.eps)?;
        self.output.forward(&last)?.squeeze(0)?.squeeze(0)
    }
}
