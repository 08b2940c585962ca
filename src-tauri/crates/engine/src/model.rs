//! A loaded model: weights for one of the supported architectures, with the
//! tokenizer and chat template read from the same GGUF file.
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_gemma3, quantized_llama, quantized_qwen2};
use serde::Serialize;

use crate::device::{self, DevicePreference};
use crate::error::{EngineError, Result};
use crate::gguf::{Architecture, GgufFile};
use crate::template::ChatTemplate;
use crate::tokenizer::Tokenizer;

enum Weights {
    Qwen2(quantized_qwen2::ModelWeights),
    Llama(quantized_llama::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
}

impl Weights {
    /// Logits for the last position. `pos == 0` starts a fresh KV cache.
    fn forward(&mut self, input: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Self::Qwen2(m) => m.forward(input, pos),
            Self::Llama(m) => m.forward(input, pos),
            Self::Gemma3(m) => m.forward(input, pos),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub name: String,
    pub architecture: Architecture,
    pub context_length: usize,
    pub vocab_size: usize,
    pub file_size: u64,
    pub device: &'static str,
    /// False when the file has no chat template and a plain one is used.
    pub chat_template: bool,
    pub load_ms: u64,
    /// Text of the control tokens (`<|im_end|>`…); strip these from untrusted
    /// input so it cannot end a turn or fake one.
    #[serde(skip)]
    pub control_tokens: Vec<String>,
}

pub struct Model {
    weights: Weights,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub info: ModelInfo,
    device: Device,
}

impl Model {
    pub fn load(path: &Path, pref: DevicePreference) -> Result<Self> {
        let start = Instant::now();
        let mut gguf = GgufFile::open(path)?;
        let tokenizer = Tokenizer::load(&gguf)?;
        let token_text = |key: &str| {
            gguf.u32(key).and_then(|id| tokenizer.id_to_token(id)).unwrap_or_default()
        };
        let template = ChatTemplate::new(
            gguf.string("tokenizer.chat_template"),
            token_text("tokenizer.ggml.bos_token_id"),
            token_text("tokenizer.ggml.eos_token_id"),
        )?;
        let context_length = gguf.arch_u32("context_length").unwrap_or(4096) as usize;
        let name = gguf
            .string("general.name")
            .map(str::to_string)
            .unwrap_or_else(|| path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        let device = device::select(pref);
        let arch = gguf.architecture;
        let file_size = gguf.file_size;
        let content = std::mem::replace(&mut gguf.content, empty_content());
        let reader = &mut gguf.reader;
        let weights = match arch {
            Architecture::Qwen2 => quantized_qwen2::ModelWeights::from_gguf(content, reader, &device)
                .map(Weights::Qwen2),
            Architecture::Llama => quantized_llama::ModelWeights::from_gguf(content, reader, &device)
                .map(Weights::Llama),
            Architecture::Gemma3 => quantized_gemma3::ModelWeights::from_gguf(content, reader, &device)
                .map(Weights::Gemma3),
        }
        .map_err(|e| EngineError::Corrupt { path: path.to_path_buf(), detail: e.to_string() })?;
        let info = ModelInfo {
            path: path.to_path_buf(),
            name,
            architecture: arch,
            context_length,
            vocab_size: tokenizer.vocab_size(),
            file_size,
            device: device::describe(&device),
            chat_template: template.is_model_template,
            load_ms: start.elapsed().as_millis() as u64,
            control_tokens: tokenizer.control_texts().to_vec(),
        };
        tracing::info!(?info, "model loaded");
        Ok(Self { weights, tokenizer, template, info, device })
    }

    /// Runs `tokens` at positions `pos..` and copies the last position's
    /// logits into `out` (reused between calls).
    pub fn forward(&mut self, tokens: &[u32], pos: usize, out: &mut Vec<f32>) -> Result<()> {
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = self.weights.forward(&input, pos)?;
        let logits = logits.squeeze(0)?.to_dtype(candle_core::DType::F32)?;
        copy_logits(&logits, out)
    }
}

fn copy_logits(t: &Tensor, out: &mut Vec<f32>) -> Result<()> {
    out.clear();
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        candle_core::Storage::Cpu(cpu) => {
            let s = cpu.as_slice::<f32>()?;
            out.extend_from_slice(&s[layout.start_offset()..layout.start_offset() + t.elem_count()]);
        }
        _ => {
            drop(storage);
            out.extend(t.to_vec1::<f32>()?);
        }
    }
    Ok(())
}

fn empty_content() -> candle_core::quantized::gguf_file::Content {
    candle_core::quantized::gguf_file::Content {
        magic: candle_core::quantized::gguf_file::VersionedMagic::GgufV3,
        metadata: Default::default(),
        tensor_infos: Default::default(),
        tensor_data_offset: 0,
    }
}
