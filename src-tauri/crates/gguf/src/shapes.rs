//! The header's sizes (head counts, widths, layer count) must agree with the
//! tensors the file holds, before any buffer is sized from them: a hostile
//! header could otherwise ask for a KV cache or rotary table of any size.
use crate::error::{GgufError, Result};
use crate::file::{Architecture, GgufFile};

/// The most layers and the widest attention head any supported model has,
/// with room to spare; more is a broken or hostile file.
const MAX_LAYERS: usize = 1024;
const MAX_HEAD_DIM: usize = 512;

/// Checks the header's sizes against the tensors for a tokenizer of `vocab`
/// tokens; a mismatch is `GgufError::Corrupt`, naming it.
pub fn check(g: &GgufFile, vocab: usize) -> Result<()> {
    sizes(g, vocab).map_err(|detail| GgufError::Corrupt { path: g.path.clone(), detail })
}

fn sizes(g: &GgufFile, vocab: usize) -> std::result::Result<(), String> {
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
    Ok(())
}
