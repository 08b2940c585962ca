//! Tiny but complete models, built in memory: one per architecture and
//! tokenizer kind the engine reads. Tests change a key or a tensor to make a
//! bad file; the fuzz seeds (examples/fuzz_seeds.rs) are these as they are.
#![allow(dead_code)]
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

pub const HIDDEN: usize = 32;
pub const FFN: usize = 64;

pub const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] \
                      + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
pub const GEMMA: &str = "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n\
                     {{ message['content'] | trim }}<end_of_turn>\n{% endfor %}\
                     {% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
pub struct Tiny {
    pub meta: Vec<(String, Value)>,
    pub tensors: Vec<(String, QTensor)>,
}

impl Tiny {
    /// Sets (or adds) a metadata key.
    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.meta.retain(|(k, _)| k != key);
        self.meta.push((key.to_string(), value));
        self
    }

    /// Replaces (or adds) a tensor with random F32 weights of this shape.
    pub fn tensor(mut self, name: &str, shape: &[usize]) -> Self {
        self.tensors.retain(|(n, _)| n != name);
        self.tensors.push((name.to_string(), q(shape, GgmlDType::F32).unwrap()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.tensors.retain(|(n, _)| n != name);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let meta: Vec<(&str, &Value)> = self.meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensors: Vec<(&str, &QTensor)> = self.tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut out = std::io::Cursor::new(Vec::new());
        gguf_file::write(&mut out, &meta, &tensors).unwrap();
        out.into_inner()
    }

    pub fn write(&self, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.bytes()).unwrap();
        path
    }
}

fn q(shape: &[usize], dtype: GgmlDType) -> candle_core::Result<QTensor> {
    let t = Tensor::randn(0f32, 0.5, shape, &Device::Cpu)?;
    QTensor::quantize(&t, dtype)
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

/// GPT-2's byte-to-character table, as byte-level BPE vocabularies use.
fn byte_chars() -> Vec<char> {
    let mut n = 0;
    (0u32..256)
        .map(|b| {
            let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
            if printable {
                char::from_u32(b).unwrap()
            } else {
                n += 1;
                char::from_u32(255 + n).unwrap()
            }
        })
        .collect()
}

/// A qwen2 model (or llama, which is the same shape without biases) with a
/// byte-level BPE tokenizer and a ChatML template.
pub fn qwen2(llama: bool) -> Tiny {
    let arch = if llama { "llama" } else { "qwen2" };
    let mut tokens: Vec<String> = byte_chars().into_iter().map(String::from).collect();
    tokens.extend(["Ġt", "he", "Ġthe"].map(String::from));
    let merges = ["Ġ t", "h e", "Ġt he"].map(String::from);
    let mut types = vec![Value::I32(1); tokens.len()];
    for special in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] {
        tokens.push(special.into());
        types.push(Value::I32(3));
    }
    let eos = tokens.len() as u32 - 1;
    let a = |k: &str| format!("{arch}.{k}");
    let meta = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        ("general.name".into(), Value::String(format!("tiny {arch}"))),
        (a("context_length"), Value::U32(128)),
        (a("embedding_length"), Value::U32(HIDDEN as u32)),
        (a("feed_forward_length"), Value::U32(FFN as u32)),
        (a("block_count"), Value::U32(1)),
        (a("attention.head_count"), Value::U32(4)),
        (a("attention.head_count_kv"), Value::U32(2)),
        (a("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (a("rope.freq_base"), Value::F32(1e6)),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String("qwen2".into())),
        ("tokenizer.ggml.tokens".into(), strings(&tokens)),
        ("tokenizer.ggml.token_type".into(), Value::Array(types)),
        ("tokenizer.ggml.merges".into(), strings(&merges)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(eos)),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(eos - 2)),
        ("tokenizer.chat_template".into(), Value::String(CHATML.into())),
    ];
    let (kv, vocab) = (HIDDEN / 2, tokens.len());
    let mut t = vec![
        ("token_embd.weight".to_string(), q(&[vocab, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("output_norm.weight".into(), q(&[HIDDEN], GgmlDType::F32).unwrap()),
        ("blk.0.attn_norm.weight".into(), q(&[HIDDEN], GgmlDType::F32).unwrap()),
        ("blk.0.attn_q.weight".into(), q(&[HIDDEN, HIDDEN], GgmlDType::Q4_0).unwrap()),
        ("blk.0.attn_k.weight".into(), q(&[kv, HIDDEN], GgmlDType::Q5_0).unwrap()),
        ("blk.0.attn_v.weight".into(), q(&[kv, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("blk.0.attn_output.weight".into(), q(&[HIDDEN, HIDDEN], GgmlDType::F16).unwrap()),
        ("blk.0.ffn_norm.weight".into(), q(&[HIDDEN], GgmlDType::F32).unwrap()),
        ("blk.0.ffn_gate.weight".into(), q(&[FFN, HIDDEN], GgmlDType::Q4_0).unwrap()),
        ("blk.0.ffn_up.weight".into(), q(&[FFN, HIDDEN], GgmlDType::Q5_0).unwrap()),
        ("blk.0.ffn_down.weight".into(), q(&[HIDDEN, FFN], GgmlDType::Q8_0).unwrap()),
    ];
    if !llama {
        for (n, len) in [("q", HIDDEN), ("k", kv), ("v", kv)] {
            t.push((format!("blk.0.attn_{n}.bias"), q(&[len], GgmlDType::F32).unwrap()));
        }
    }
    Tiny { meta, tensors: t }
}

/// A gemma3 model with a SentencePiece (`llama` type) tokenizer and byte
/// fallback, as Gemma's own files have.
pub fn gemma3() -> Tiny {
    let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>"].map(String::from).to_vec();
    let mut types = vec![3, 3, 3, 2];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    for piece in ["\u{2581}", "a", "b", "\u{2581}a", "ab", "<start_of_turn>", "<end_of_turn>"] {
        types.push(if piece.starts_with('<') { 3 } else { 1 });
        tokens.push(piece.into());
    }
    let scores: Vec<Value> = (0..tokens.len()).map(|i| Value::F32(-(i as f32))).collect();
    let (heads, key_len) = (2usize, 16usize);
    let a = |k: &str| format!("gemma3.{k}");
    let meta = vec![
        ("general.architecture".into(), Value::String("gemma3".into())),
        (a("context_length"), Value::U32(128)),
        (a("embedding_length"), Value::U32(HIDDEN as u32)),
        (a("feed_forward_length"), Value::U32(FFN as u32)),
        (a("block_count"), Value::U32(1)),
        (a("attention.head_count"), Value::U32(heads as u32)),
        (a("attention.head_count_kv"), Value::U32(1)),
        (a("attention.key_length"), Value::U32(key_len as u32)),
        (a("attention.value_length"), Value::U32(key_len as u32)),
        (a("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (a("attention.sliding_window"), Value::U32(16)),
        (a("rope.freq_base"), Value::F32(1e6)),
        ("tokenizer.ggml.model".into(), Value::String("llama".into())),
        ("tokenizer.ggml.tokens".into(), strings(&tokens)),
        ("tokenizer.ggml.token_type".into(), Value::Array(types.into_iter().map(Value::I32).collect())),
        ("tokenizer.ggml.scores".into(), Value::Array(scores)),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(2)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(1)),
        ("tokenizer.ggml.eot_token_id".into(), Value::U32(tokens.len() as u32 - 1)),
        ("tokenizer.ggml.unknown_token_id".into(), Value::U32(3)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)),
        ("tokenizer.chat_template".into(), Value::String(GEMMA.into())),
    ];
    let vocab = tokens.len();
    let norm = |n: &str, len| (n.to_string(), q(&[len], GgmlDType::F32).unwrap());
    let t = vec![
        ("token_embd.weight".to_string(), q(&[vocab, HIDDEN], GgmlDType::Q8_0).unwrap()),
        norm("output_norm.weight", HIDDEN),
        ("blk.0.attn_q.weight".into(), q(&[heads * key_len, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("blk.0.attn_k.weight".into(), q(&[key_len, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("blk.0.attn_v.weight".into(), q(&[key_len, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("blk.0.attn_output.weight".into(), q(&[HIDDEN, heads * key_len], GgmlDType::Q8_0).unwrap()),
        norm("blk.0.attn_q_norm.weight", key_len),
        norm("blk.0.attn_k_norm.weight", key_len),
        norm("blk.0.attn_norm.weight", HIDDEN),
        norm("blk.0.post_attention_norm.weight", HIDDEN),
        norm("blk.0.ffn_norm.weight", HIDDEN),
        norm("blk.0.post_ffw_norm.weight", HIDDEN),
        ("blk.0.ffn_gate.weight".into(), q(&[FFN, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("blk.0.ffn_up.weight".into(), q(&[FFN, HIDDEN], GgmlDType::Q8_0).unwrap()),
        ("blk.0.ffn_down.weight".into(), q(&[HIDDEN, FFN], GgmlDType::Q8_0).unwrap()),
    ];
    Tiny { meta, tensors: t }
}
