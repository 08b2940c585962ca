//! The header's sizes (head counts, widths, layer count) must agree with the
//! tensors the file holds, before any buffer is sized from them: a hostile
//! header could otherwise ask for a KV cache or rotary table of any size.
use crate::content::GgmlDType;
use crate::error::{GgufError, Result};
use crate::file::{Architecture, GgufFile, KvShape};

/// The most layers and the widest attention head any supported model has,
/// with room to spare; more is a broken or hostile file.
const MAX_LAYERS: usize = 1024;
const MAX_HEAD_DIM: usize = 512;

/// The header's sizes, read once and checked against the tensors: what
/// everything sized from the header (weights, KV cache, rotary tables,
/// the memory estimate) takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    /// The residual stream's width.
    pub hidden: usize,
    pub head_dim: usize,
    /// Rotary dimensions per head (the header's, else the head's width).
    pub rope_dim: usize,
    pub ffn: usize,
    /// Rows of the embedding table: at least the tokenizer's vocabulary.
    pub vocab_rows: usize,
    /// The model's own context, in tokens.
    pub context: usize,
    pub rms_eps: f32,
    pub rope_theta: f32,
}

impl Sizes {
    /// Bytes of memory a model takes once loaded with a context of
    /// `max_context` tokens (capped at the model's own), from `g`'s header
    /// alone (these sizes and its tensor infos): the weights as they are held (F16 and BF16 matrices of Gemma 3 are
    /// widened to f32), the KV cache, the rotary tables and the attention's
    /// scratch for one slice of prompt. It grows with the context cap, never
    /// with Candle's 131,072-position tables. Not counted: the tokenizer and
    /// the program around the model (`cmdbar_models` adds those).
    pub fn memory_needed(&self, g: &GgufFile, max_context: usize, on_cpu: bool) -> u64 {
        let sizes = self;
        let arch = g.architecture;
        let u = |x: usize| x as u64;
        let ctx = u(sizes.context).min(u(max_context.max(16)));
        let (layers, heads, kv_heads, head_dim) =
            (u(sizes.layers), u(sizes.heads), u(sizes.kv_heads), u(sizes.head_dim));
        let (hidden, ffn, vocab) = (u(sizes.hidden), u(sizes.ffn), u(sizes.vocab_rows));
        let sat = |xs: &[u64]| xs.iter().fold(1u64, |a, &b| a.saturating_mul(b));

        let mut weights = 0u64;
        for (name, info) in &g.content.tensor_infos {
            let bytes = info.bytes() as u64;
            use GgmlDType as D;
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
                let kv = sizes.kv_shape().bytes(ctx as usize, on_cpu);
                let rope = sat(&[4, ctx, head_dim / 2, 4]);
                let t = PROMPT_SLICE;
                let scratch = sat(&[2, heads, t, ctx, 4]).saturating_add(sat(&[8, t, hidden.max(ffn), 4]));
                (kv, rope, scratch)
            }
        };
        let logits = sat(&[2, vocab, 4]);
        weights.saturating_add(kv).saturating_add(rope).saturating_add(scratch).saturating_add(logits)
    }

    pub fn kv_shape(&self) -> KvShape {
        let u = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        KvShape {
            layers: u(self.layers),
            kv_heads: u(self.kv_heads),
            head_dim: u(self.head_dim),
            context: u(self.context),
        }
    }
}

/// Checks the header's sizes against the tensors for a tokenizer of `vocab`
/// tokens and returns them; a mismatch is `GgufError::Corrupt`, naming it.
pub fn check(g: &GgufFile, vocab: usize) -> Result<Sizes> {
    sizes(g, vocab).map_err(|detail| GgufError::Corrupt { path: g.path.clone(), detail })
}

fn sizes(g: &GgufFile, vocab: usize) -> std::result::Result<Sizes, String> {
    let arch = g.architecture;
    let get = |k: &str| g.arch_u32(k).map(|v| v as usize).ok_or_else(|| format!("{}.{k} is missing", arch.name()));
    let n_head = get("attention.head_count")?;
    let n_kv = g.arch_u32("attention.head_count_kv").map(|v| v as usize).unwrap_or(n_head);
    let hidden = get("embedding_length")?;
    let n_layer = get("block_count")?;
    if n_layer == 0 || n_layer > MAX_LAYERS {
        return Err(format!("the header declares {n_layer} layers"));
    }
    if n_head == 0 || n_kv == 0 || n_head % n_kv != 0 {
        return Err(format!("inconsistent head counts: {n_head} heads, {n_kv} kv heads"));
    }
    let head_dim = match arch {
        Architecture::Gemma3 => get("attention.key_length")?,
        _ if hidden % n_head == 0 => hidden / n_head,
        _ => return Err(format!("width {hidden} is not a multiple of {n_head} heads")),
    };
    if head_dim == 0 || head_dim > MAX_HEAD_DIM || head_dim % 2 != 0 {
        return Err(format!("an attention head {head_dim} wide is not supported"));
    }
    if arch == Architecture::Gemma3 && get("attention.value_length")? != head_dim {
        return Err("keys and values of different widths are not supported".into());
    }

    let dims = |name: &str| g.content.tensor_infos.get(name).map(|i| i.shape.dims());
    let want = |name: &str, shape: &[usize]| match dims(name) {
        Some(d) if d == shape => Ok(()),
        Some(d) => Err(format!("tensor {name} has shape {d:?} where the header's sizes need {shape:?}")),
        None => Err(format!("tensor {name} is missing")),
    };
    let optional = |name: &str, shape: &[usize]| if dims(name).is_some() { want(name, shape) } else { Ok(()) };

    let rows = match dims("token_embd.weight") {
        Some(&[rows, h]) if h == hidden => rows,
        Some(d) => return Err(format!("tensor token_embd.weight has shape {d:?}, not [vocabulary, {hidden}]")),
        None => return Err("tensor token_embd.weight is missing".into()),
    };
    let block = g.content.tensor_infos["token_embd.weight"].ggml_dtype.block_size();
    if hidden % block != 0 {
        return Err(format!("width {hidden} is not a whole number of {block}-element blocks"));
    }
    if rows < vocab {
        return Err(format!("the tokenizer has {vocab} tokens but the embeddings only {rows}"));
    }
    want("output_norm.weight", &[hidden])?;
    optional("output.weight", &[rows, hidden])?;

    let (q, kv) = (n_head * head_dim, n_kv * head_dim);
    let ffn = match dims("blk.0.ffn_up.weight") {
        Some(&[ffn, h]) if h == hidden && ffn > 0 => ffn,
        Some(d) => return Err(format!("tensor blk.0.ffn_up.weight has shape {d:?}, not [n, {hidden}]")),
        None => return Err("tensor blk.0.ffn_up.weight is missing".into()),
    };
    for i in 0..n_layer {
        let t = |n: &str| format!("blk.{i}.{n}.weight");
        want(&t("attn_norm"), &[hidden])?;
        want(&t("attn_q"), &[q, hidden])?;
        want(&t("attn_k"), &[kv, hidden])?;
        want(&t("attn_v"), &[kv, hidden])?;
        want(&t("attn_output"), &[hidden, q])?;
        want(&t("ffn_norm"), &[hidden])?;
        want(&t("ffn_gate"), &[ffn, hidden])?;
        want(&t("ffn_up"), &[ffn, hidden])?;
        want(&t("ffn_down"), &[hidden, ffn])?;
        for (n, len) in [("attn_q", q), ("attn_k", kv), ("attn_v", kv)] {
            optional(&format!("blk.{i}.{n}.bias"), &[len])?;
        }
        if arch == Architecture::Gemma3 {
            want(&t("attn_q_norm"), &[head_dim])?;
            want(&t("attn_k_norm"), &[head_dim])?;
            want(&t("post_attention_norm"), &[hidden])?;
            want(&t("post_ffw_norm"), &[hidden])?;
        }
    }
    let rope_dim = g.arch_u32("rope.dimension_count").map_or(head_dim, |v| v as usize);
    let context = g.arch_u32("context_length").map_or(4096, |v| v as usize);
    Ok(Sizes {
        layers: n_layer,
        heads: n_head,
        kv_heads: n_kv,
        hidden,
        head_dim,
        rope_dim,
        ffn,
        vocab_rows: rows,
        context,
        rms_eps: g.arch_f32("attention.layer_norm_rms_epsilon").unwrap_or(1e-6),
        rope_theta: g.arch_f32("rope.freq_base").unwrap_or(10_000.0),
    })
}

/// Prompt tokens per forward pass in the engine (`model::UBATCH`): the
/// attention's scratch is sized by it.
const PROMPT_SLICE: u64 = 256;
