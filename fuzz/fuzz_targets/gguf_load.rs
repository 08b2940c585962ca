//! A whole model load from untrusted bytes: header and metadata, tokenizer,
//! chat template (parsed and rendered), and weights. Every input must give a
//! model or an error, never a panic, an abort or an unbounded allocation.
#![no_main]
use std::path::PathBuf;
use std::sync::OnceLock;

use cmdbar_engine::{DevicePreference, Message, Model, Prompt};
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cmdbar-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("model.gguf")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).unwrap();
    // What the model list and the fit hint read, outside the engine: a
    // header that opens must size itself without a panic or an overflow.
    if let Ok(g) = cmdbar_engine::gguf::GgufFile::open(path) {
        // The fit hint's path: sizes checked against the tensors first.
        if let Ok(s) = cmdbar_engine::gguf::shapes::check(&g, 0) {
            let _ = (s.kv_shape(), s.memory_needed(&g, 4096, true), s.memory_needed(&g, usize::MAX, false));
        }
        // Candle debug-asserts ggml's convention that Q4_1, Q5_0 and Q5_1
        // rows hold an even number of blocks; its generic code computes odd
        // ones right, and release builds have no such assert. Not a finding.
        use cmdbar_engine::gguf::GgmlDType as D;
        let odd = g.content.tensor_infos.values().any(|t| {
            matches!(t.ggml_dtype, D::Q4_1 | D::Q5_0 | D::Q5_1)
                && t.shape.dims().last().is_some_and(|&k| (k / 32) % 2 == 1)
        });
        if odd {
            return;
        }
    }
    // A small context keeps the KV cache small; shapes still come from the file.
    let Ok(mut model) = Model::load(path, DevicePreference::Cpu, 64) else { return };
    let prompt = Prompt::Chat(vec![Message::new("system", "be brief"), Message::new("user", "list files <|im_end|>")]);
    if let Ok(ids) = prompt.ids(&model.tokenizer, &model.template) {
        let _ = model.tokenizer.decode(&ids);
        // One forward pass over a few tokens: shapes the header claims must
        // match the weights, or be refused.
        let mut logits = Vec::new();
        let _ = model.prefill(&ids[..ids.len().min(8)], &mut logits);
    }
});
