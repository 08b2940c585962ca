//! The CPU's model: each layer on reused slices (our kernels over the
//! mapped file, `attention`'s f16 cache), no tensor, allocation or lock per
//! token, and branches of the cache for candidates decoded together.
use rayon::prelude::*;

use candle_core::{Result, Tensor};

use super::{Common, Tensors};
use crate::attention::{KvCache, Rows};
use crate::qmatmul::Linear;
use crate::vecmath::exp_le0;

pub struct Host {
    pub(super) c: Common,
    layers: Vec<Layer>,
    kv: KvCache,
    out_norm: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    b: Buffers,
}

struct Layer {
    attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    /// Queries, keys, values, and their biases (qwen2 has them).
    qkv: [Linear; 3],
    biases: [Option<Vec<f32>>; 3],
    wo: Linear,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// Each layer's intermediate rows, reused from token to token.
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

impl Host {
    pub(super) fn load(mut t: Tensors) -> Result<Self> {
        let c = t.common()?;
        let vec = |x: Tensor| x.flatten_all()?.to_vec1::<f32>();
        let out_norm = vec(t.vector("output_norm.weight")?)?;
        let n_layer = t.src.sizes.layers;
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            (t.src.progress)(i as f32 / n_layer as f32);
            let p = |n: &str| format!("blk.{i}.{n}");
            let mut bias = |n: &str| t.optional(&p(n))?.map(vec).transpose();
            let biases = [bias("attn_q.bias")?, bias("attn_k.bias")?, bias("attn_v.bias")?];
            layers.push(Layer {
                attn_norm: vec(t.vector(&p("attn_norm.weight"))?)?,
                ffn_norm: vec(t.vector(&p("ffn_norm.weight"))?)?,
                qkv: [t.linear(&p("attn_q.weight"))?, t.linear(&p("attn_k.weight"))?, t.linear(&p("attn_v.weight"))?],
                biases,
                wo: t.linear(&p("attn_output.weight"))?,
                gate: t.linear(&p("ffn_gate.weight"))?,
                up: t.linear(&p("ffn_up.weight"))?,
                down: t.linear(&p("ffn_down.weight"))?,
            });
        }
        let (cos, sin) = t.rope_tables()?;
        Ok(Self {
            kv: KvCache::new(n_layer, c.n_kv_head, c.max_ctx, c.head_dim),
            c,
            layers,
            out_norm,
            cos: vec(cos)?,
            sin: vec(sin)?,
            b: Buffers::default(),
        })
    }

    pub(super) fn fork(&mut self, b: usize, shared: usize, room: usize) -> Result<()> {
        if shared > self.c.len || shared + room > self.c.max_ctx {
            candle_core::bail!("a branch at {shared} with room for {room} does not fit the cache");
        }
        self.kv.fork(b, shared, room);
        Ok(())
    }

    pub(super) fn copy_branch(&mut self, from: usize, to: usize, len: usize) -> Result<()> {
        if len > 0 && !self.kv.holds(from, self.kv.shared(from) + len - 1) {
            candle_core::bail!("branch {from} has no {len} positions to copy");
        }
        self.kv.copy_branch(from, to, len);
        Ok(())
    }

    pub(super) fn forward_branches(
        &mut self,
        tokens: &[u32],
        rows: &[(usize, usize)],
        out: Option<(&mut Vec<f32>, bool)>,
    ) -> Result<()> {
        if tokens.is_empty() || tokens.len() != rows.len() {
            candle_core::bail!("{} tokens for {} rows", tokens.len(), rows.len());
        }
        if let Some(&(b, p)) = rows.iter().find(|&&(b, p)| p >= self.c.max_ctx || !self.kv.holds(b, p)) {
            candle_core::bail!("position {p} is outside branch {b}");
        }
        self.forward(tokens, Rows::Branches(rows), out)
    }

    pub(super) fn forward(&mut self, tokens: &[u32], rows: Rows, out: Option<(&mut Vec<f32>, bool)>) -> Result<()> {
        let Self { c, layers, kv, out_norm, cos, sin, b } = self;
        let t = tokens.len();
        let (h, d) = (c.n_head, c.head_dim);
        let hidden = h * d;
        let rope = |x: &mut [f32]| rope(x, t, d, rows, &cos[..], &sin[..], c.interleaved_rope);
        let scale = 1.0 / (d as f32).sqrt();
        c.embed.lookup_into(tokens, &mut b.x)?;
        for (i, l) in layers.iter().enumerate() {
            let [bq, bk, bv] = &l.biases;
            rms_norm(&b.x, &l.attn_norm, c.eps, &mut b.xs);
            let [wq, wk, wv] = &l.qkv;
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
            rms_norm(&b.x, &l.ffn_norm, c.eps, &mut b.xs);
            l.gate.forward_into(&b.xs, t, &mut b.gate)?;
            l.up.forward_into(&b.xs, t, &mut b.up)?;
            silu_mul(&mut b.gate, &b.up);
            l.down.forward_into(&b.gate, t, &mut b.o)?;
            add(&mut b.x, &b.o);
        }
        let Some((out, all)) = out else { return Ok(()) };
        let (from, n) = if all { (0, t) } else { (t - 1, 1) };
        rms_norm(&b.x[from * hidden..], out_norm, c.eps, &mut b.xs);
        c.output.forward_into(&b.xs, n, out)
    }
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
