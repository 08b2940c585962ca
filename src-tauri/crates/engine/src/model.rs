//! A loaded model: weights for one of the supported architectures, with the
//! tokenizer and chat template read from the same GGUF file.
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_gemma3;
use serde::Serialize;

use crate::device::{self, DevicePreference};
use crate::error::{EngineError, Result};
use crate::gguf::{Architecture, GgufFile};
use crate::template::ChatTemplate;
use crate::tokenizer::{ControlTokens, Tokenizer};

enum Weights {
    /// llama and qwen2: our own forward, with prefix reuse.
    Llama(crate::llama::Llama),
    /// Candle's model: its cache can only start over or append.
    Gemma3(quantized_gemma3::ModelWeights),
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
    /// Why this runs on the CPU although a GPU was wanted, if it does.
    pub fallback: Option<String>,
    /// False when the file has no chat template and a plain one is used.
    pub chat_template: bool,
    pub load_ms: u64,
    /// Strips control-token text from untrusted input.
    #[serde(skip)]
    pub control_tokens: ControlTokens,
}

pub struct Model {
    weights: Weights,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub info: ModelInfo,
    device: Device,
    /// The tokens whose keys and values are in the cache, in order.
    cached: Vec<u32>,
    /// Logits after the first `saved_at` cached tokens, kept so the next
    /// candidate for the same prompt starts from the very same numbers.
    saved: Vec<f32>,
    saved_at: usize,
}

/// The tokenizer and chat template of a GGUF file.
fn text_side(gguf: &GgufFile) -> Result<(Tokenizer, ChatTemplate)> {
    let tokenizer = Tokenizer::load(gguf)?;
    let token_text = |key: &str| gguf.u32(key).and_then(|id| tokenizer.id_to_token(id)).unwrap_or_default();
    let template = ChatTemplate::new(
        gguf.string("tokenizer.chat_template"),
        token_text("tokenizer.ggml.bos_token_id"),
        token_text("tokenizer.ggml.eos_token_id"),
    )?;
    Ok((tokenizer, template))
}

/// A prompt's token ids for the model at `path`, from its header alone
/// (no weights): what the engine will feed the model.
pub fn prompt_ids(path: &Path, prompt: &crate::Prompt) -> Result<Vec<u32>> {
    let (tokenizer, template) = text_side(&GgufFile::open(path)?)?;
    prompt.ids(&tokenizer, &template)
}

impl Model {
    /// `max_context` caps the model's own context (and the KV memory).
    pub fn load(path: &Path, pref: DevicePreference, max_context: usize) -> Result<Self> {
        Self::load_with_progress(path, pref, max_context, &|_| {})
    }

    /// As `load`, reporting the share of the weights read, 0 to 1, as it goes.
    pub fn load_with_progress(
        path: &Path,
        pref: DevicePreference,
        max_context: usize,
        progress: &dyn Fn(f32),
    ) -> Result<Self> {
        Self::load_as(path, pref, max_context, progress, false)
    }

    /// For tests: llama and qwen2 models on the CPU, run as on a GPU (Candle's
    /// ops, fused projections, an f32 cache): the reference for the CPU's own
    /// path, and the GPU path's test.
    #[doc(hidden)]
    pub fn load_reference(path: &Path, max_context: usize) -> Result<Self> {
        Self::load_as(path, DevicePreference::Cpu, max_context, &|_| {}, true)
    }

    fn load_as(
        path: &Path,
        pref: DevicePreference,
        max_context: usize,
        progress: &dyn Fn(f32),
        as_gpu: bool,
    ) -> Result<Self> {
        let start = Instant::now();
        let mut gguf = GgufFile::open(path)?;
        // The vocabulary's size checks the shapes before anything is sized
        // from them; without a token list the tokenizer's error says so.
        let vocab = match gguf.get("tokenizer.ggml.tokens") {
            Some(candle_core::quantized::gguf_file::Value::Array(tokens)) => tokens.len(),
            _ => text_side(&gguf)?.0.vocab_size(),
        };
        crate::shapes::check(&gguf, vocab)
            .map_err(|detail| EngineError::Corrupt { path: path.to_path_buf(), detail })?;
        // The effective context: all later limits and buffers follow it (never
        // below 16 tokens, so that any cap still loads and reports overflow).
        let context_length = (gguf.arch_u32("context_length").unwrap_or(4096) as usize).min(max_context.max(16));
        let name = gguf
            .string("general.name")
            .map(str::to_string)
            .unwrap_or_else(|| path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        let (device, fallback) = device::select(pref);
        let arch = gguf.architecture;
        let file_size = gguf.file_size;
        let corrupt = |e: candle_core::Error| EngineError::Corrupt { path: path.to_path_buf(), detail: e.to_string() };
        let (text, weights) = match arch {
            Architecture::Qwen2 | Architecture::Llama => {
                // Mapped here so that a failure to map reads as I/O, not as a
                // bad file.
                let map = if device.is_cpu() { Some(gguf.map()?) } else { None };
                let io = |source| EngineError::Io { path: path.to_path_buf(), source };
                let mut reader = std::io::BufReader::new(gguf.reader.get_ref().try_clone().map_err(io)?);
                let gguf = &gguf;
                // The tokenizer (~0.2 s for a 151,000-token vocabulary) is
                // built while the weights load.
                std::thread::scope(|s| {
                    let text = s.spawn(|| {
                        let text = text_side(gguf);
                        // What the build freed would stay in this thread's
                        // malloc arena, on top of the weights' peak.
                        #[cfg(all(target_os = "linux", target_env = "gnu"))]
                        // SAFETY: malloc_trim only returns free memory.
                        unsafe {
                            libc::malloc_trim(0);
                        }
                        text
                    });
                    let weights = {
                        let on_host = device.is_cpu() && !as_gpu;
                        crate::llama::Llama::load(gguf, &mut reader, map, context_length, &device, on_host, progress)
                    };
                    let text = text.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                    (text, weights.map(Weights::Llama))
                })
            }
            Architecture::Gemma3 => {
                let text = text_side(&gguf);
                let content = std::mem::replace(&mut gguf.content, empty_content());
                (
                    text,
                    quantized_gemma3::ModelWeights::from_gguf(content, &mut gguf.reader, &device).map(Weights::Gemma3),
                )
            }
        };
        // A bad tokenizer or template is reported before bad weights.
        let (tokenizer, template) = text?;
        let weights = weights.map_err(corrupt)?;
        let info = ModelInfo {
            path: path.to_path_buf(),
            name,
            architecture: arch,
            context_length,
            vocab_size: tokenizer.vocab_size(),
            file_size,
            device: device::describe(&device),
            fallback,
            chat_template: template.is_model_template,
            load_ms: start.elapsed().as_millis() as u64,
            control_tokens: tokenizer.control_tokens().clone(),
        };
        tracing::info!(?info, "model loaded");
        let cached = Vec::with_capacity(context_length);
        Ok(Self { weights, tokenizer, template, info, device, cached, saved: Vec::new(), saved_at: 0 })
    }

    /// Makes the cache hold `prompt` and puts the logits of its last token in
    /// `out`. Only the part after the longest prefix already cached is
    /// computed; returns how many tokens were reused.
    pub fn prefill(&mut self, prompt: &[u32], out: &mut Vec<f32>) -> Result<usize> {
        let common = match self.weights {
            Weights::Llama(_) => common_prefix(&self.cached, prompt),
            Weights::Gemma3(_) => 0,
        };
        if common == prompt.len() && self.saved_at == prompt.len() && !self.saved.is_empty() {
            self.cached.truncate(common);
            out.clear();
            out.extend_from_slice(&self.saved);
            return Ok(common);
        }
        // Otherwise at least the last token is recomputed, for its logits.
        let reuse = common.min(prompt.len().saturating_sub(1));
        self.forward(&prompt[reuse..], reuse, out)?;
        self.saved.clear();
        self.saved.extend_from_slice(out);
        self.saved_at = prompt.len();
        Ok(reuse)
    }

    /// Whether a prompt's cached start is reused by the next prompt (our
    /// llama/qwen2 forward; Candle's gemma3 recomputes every prompt).
    pub fn reuses_prefix(&self) -> bool {
        matches!(self.weights, Weights::Llama(_))
    }

    /// The tokens in the cache: the prompt and what was generated after it.
    pub fn history(&self) -> &[u32] {
        &self.cached
    }

    /// Appends one token and puts the next logits in `out`.
    #[inline]
    pub fn step(&mut self, token: u32, out: &mut Vec<f32>) -> Result<()> {
        let pos = self.cached.len();
        self.forward(&[token], pos, out)
    }

    fn forward(&mut self, tokens: &[u32], pos: usize, out: &mut Vec<f32>) -> Result<()> {
        // Until the forward succeeds, the cache past `pos` is unknown.
        self.cached.truncate(pos);
        if pos < self.saved_at {
            self.saved_at = 0;
        }
        match &mut self.weights {
            Weights::Llama(m) => {
                if tokens.is_empty() {
                    return Err(EngineError::EmptyPrompt);
                }
                // Long prompts go through in slices, as llama.cpp's ubatch:
                // activations grow with the slice, not the prompt.
                let slices = tokens.len().div_ceil(UBATCH);
                for (i, chunk) in tokens.chunks(UBATCH).enumerate() {
                    let last = i + 1 == slices;
                    m.forward(chunk, pos + i * UBATCH, last.then_some(&mut *out))?;
                }
            }
            Weights::Gemma3(m) => {
                let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
                let logits = m.forward(&input, pos)?.squeeze(0)?;
                copy_logits(&logits.to_dtype(candle_core::DType::F32)?, out)?;
            }
        }
        self.cached.extend_from_slice(tokens);
        Ok(())
    }
}

/// Prompt tokens per forward pass: 256 holds the 1.5B's peak memory at a
/// 2048-token prompt 150 MB below 512, at the same speed (the kernels take
/// eight tokens at a time either way).
const UBATCH: usize = 256;

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
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
