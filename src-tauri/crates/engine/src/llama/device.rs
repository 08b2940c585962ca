//! The model as Candle ops, as on a GPU (on the CPU: the reference the
//! tests check the host path against), over an f32 cache allocated once
//! for the whole context. Projections that share an input are fused into
//! one matmul per block type.
use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType};
use candle_core::{DType, Device, Result, Tensor, D};

use super::{Common, Tensors};
use crate::gguf::candle_dtype;
use crate::qmatmul::{Linear, Role};

pub struct OnDevice {
    pub(super) c: Common,
    layers: Vec<Layer>,
    norm: Tensor,
    cos: Tensor,
    sin: Tensor,
    /// `cos` and `sin` times the attention's scale, for queries: one op
    /// fewer per layer.
    cos_q: Tensor,
    sin_q: Tensor,
}

struct Layer {
    attn_norm: Tensor,
    qkv: Fused<3>,
    wo: Linear,
    ffn_norm: Tensor,
    gate_up: Fused<2>,
    down: Linear,
    k_cache: Tensor,
    v_cache: Tensor,
}

/// `N` projections of one input as runs of one matmul each.
struct Fused<const N: usize>(Vec<Run>, std::marker::PhantomData<[(); N]>);

struct Run {
    w: Linear,
    bias: Option<Tensor>,
    widths: Vec<usize>,
}

impl<const N: usize> Fused<N> {
    fn forward(&self, x: &Tensor) -> Result<[Tensor; N]> {
        let mut out = Vec::with_capacity(N);
        for r in &self.0 {
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

impl OnDevice {
    pub(super) fn load(mut t: Tensors) -> Result<Self> {
        let c = t.common()?;
        let device = t.src.device.clone();
        let norm = t.vector("output_norm.weight")?;
        // Fused projections are read as bytes through a second handle (each
        // read seeks first, so sharing the offset is harmless).
        let mut raw = std::io::BufReader::new(t.reader.get_ref().try_clone()?);
        let n_layer = t.src.sizes.layers;
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            (t.src.progress)(i as f32 / n_layer as f32);
            let p = |n: &str| format!("blk.{i}.{n}");
            let mut bias = |n: &str| t.optional(&p(n));
            let biases = [bias("attn_q.bias")?, bias("attn_k.bias")?, bias("attn_v.bias")?];
            let g = t.src.g;
            let ct = &g.content;
            // Present and matrices: `shapes::check` saw to both.
            let part = |n: &str| {
                let i = &ct.tensor_infos[&p(n)];
                (candle_dtype(i.ggml_dtype), i.shape.dims().to_vec())
            };
            let mut read = |n: &str, buf: &mut Vec<u8>| crate::gguf::read_raw(ct, &mut raw, &p(n), buf);
            let names = ["attn_q.weight", "attn_k.weight", "attn_v.weight"];
            let qkv = fuse(names.map(part), &mut |i, b| read(names[i], b), biases, &device, t.layer)?;
            let names = ["ffn_gate.weight", "ffn_up.weight"];
            let gate_up = fuse(names.map(part), &mut |i, b| read(names[i], b), [None, None], &device, t.layer)?;
            let cache = || Tensor::zeros((1, c.n_kv_head, c.max_ctx, c.head_dim), DType::F32, &device);
            layers.push(Layer {
                attn_norm: t.vector(&p("attn_norm.weight"))?,
                qkv,
                wo: t.linear(&p("attn_output.weight"))?,
                ffn_norm: t.vector(&p("ffn_norm.weight"))?,
                gate_up,
                down: t.linear(&p("ffn_down.weight"))?,
                k_cache: cache()?,
                v_cache: cache()?,
            });
        }
        let (cos, sin) = t.rope_tables()?;
        let scale = 1.0 / (c.head_dim as f64).sqrt();
        let (cos_q, sin_q) = ((&cos * scale)?, (&sin * scale)?);
        Ok(Self { c, layers, norm, cos, sin, cos_q, sin_q })
    }

    /// Runs `tokens` at `pos..`; where `out` is given, puts the last one's
    /// logits there.
    pub(super) fn forward(&mut self, tokens: &[u32], pos: usize, out: Option<&mut Vec<f32>>) -> Result<()> {
        let c = &self.c;
        let t = tokens.len();
        let device = self.cos.device().clone();
        let mut x = c.embed.lookup(tokens, &device)?;
        let total = pos + t;
        let groups = c.n_head / c.n_kv_head;
        let (h, kvh, d) = (c.n_head, c.n_kv_head, c.head_dim);
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
        let at = |c: &Tensor| c.narrow(0, pos, t);
        let (cos, sin, cos_q, sin_q) = (at(&self.cos)?, at(&self.sin)?, at(&self.cos_q)?, at(&self.sin_q)?);
        let rope = |x: &Tensor, cos: &Tensor, sin: &Tensor| match c.interleaved_rope {
            true => candle_nn::rotary_emb::rope_i(x, cos, sin),
            false => candle_nn::rotary_emb::rope(x, cos, sin),
        };
        // (1, t, heads * d) to (1, heads, t, d): a view when t is 1.
        let heads = |x: &Tensor, n: usize| x.reshape((1, t, n, d))?.transpose(1, 2)?.contiguous();
        for l in &self.layers {
            let residual = &x;
            let xs = candle_nn::ops::rms_norm(&x, &l.attn_norm, c.eps)?;
            let [q, k, v] = l.qkv.forward(&xs)?;
            // Scaled for the attention by its tables.
            let q = rope(&heads(&q, h)?, &cos_q, &sin_q)?;
            let k = rope(&heads(&k, kvh)?, &cos, &sin)?;
            let v = heads(&v, kvh)?;
            l.k_cache.slice_set(&k, 2, pos)?;
            l.v_cache.slice_set(&v, 2, pos)?;
            let k_all = l.k_cache.narrow(2, 0, total)?;
            let v_all = l.v_cache.narrow(2, 0, total)?;
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
            let xs = candle_nn::ops::rms_norm(&x1, &l.ffn_norm, c.eps)?;
            let [gate, up] = l.gate_up.forward(&xs)?;
            let ff = (gate.silu()? * up)?;
            x = (l.down.forward(&ff)? + x1)?;
        }
        let Some(out) = out else { return Ok(()) };
        let last = x.narrow(1, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, c.eps)?;
        let logits = c.output.forward(&last)?.squeeze(0)?.squeeze(0)?;
        out.clear();
        out.extend(logits.to_dtype(DType::F32)?.to_vec1::<f32>()?);
        Ok(())
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
    role: Role,
) -> Result<Fused<N>> {
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
        let w = Linear::from_qtensor(qtensor_from_ggml(dtype, &raw, vec![widths.iter().sum(), k], device)?, role)?;
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
    Ok(Fused(runs, std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;
    use candle_core::Device;

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
        let role = Role::Layer { q6k_heavy: true };
        let p = fuse([part(0), part(1), part(2)], &mut read, biases.clone(), &dev, role)?;
        assert_eq!(p.0.iter().map(|r| r.widths.clone()).collect::<Vec<_>>(), [vec![32, 16], vec![16]]);
        for (i, y) in p.forward(&x)?.iter().enumerate() {
            let mut want = Linear::from_qtensor(q(i)?, role)?.forward(&x)?;
            if let Some(b) = &biases[i] {
                want = want.broadcast_add(b)?;
            }
            let diff = (y - want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "projection {i} differs by {diff}");
        }
        Ok(())
    }
}
