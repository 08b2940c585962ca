//! A loaded model: weights for one of the supported architectures, with the
//! tokenizer and chat template read from the same GGUF file.
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Tensor;
use serde::Serialize;

use crate::device::{self, DevicePreference};
use crate::error::{EngineError, Result};
use crate::gguf::{Architecture, GgufFile};
use crate::template::ChatTemplate;
use crate::tokenizer::{ControlTokens, Tokenizer};

enum Weights {
    /// llama and qwen2: our own forward, with prefix reuse.
    Llama(crate::llama::Llama),
    /// Candle's Gemma 3, sized by our context cap (`gemma3` below).
    Gemma3(gemma3::Gemma3),
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub name: String,
    /// None behind a server, whose API does not say.
    pub architecture: Option<Architecture>,
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
    /// The tokens whose keys and values are in the cache, in order.
    cached: Vec<u32>,
    /// Logits after the first `saved_at` cached tokens, kept so the next
    /// candidate for the same prompt starts from the very same numbers.
    saved: Vec<f32>,
    saved_at: usize,
    /// What passes of 1 to 4 rows cost here, for the drafts' length.
    pub(crate) costs: crate::lookup::Costs,
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
pub fn prompt_ids(path: &Path, prompt: &crate::template::Prompt) -> Result<Vec<u32>> {
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
            Some(crate::gguf::Value::Array(tokens)) => tokens.len(),
            _ => text_side(&gguf)?.0.vocab_size(),
        };
        let sizes = crate::gguf::shapes::check(&gguf, vocab)?;
        // The effective context: all later limits and buffers follow it (never
        // below 16 tokens, so that any cap still loads and reports overflow).
        let context_length = sizes.context.min(max_context.max(16));
        let (device, fallback) = device::select(pref);
        // What the header's sizes need at this context, against what the
        // machine has, before any of it is allocated.
        check_budget(path, sizes.memory_needed(&gguf, context_length, device.is_cpu() && !as_gpu), context_length)?;
        let name = gguf
            .string("general.name")
            .map(str::to_string)
            .unwrap_or_else(|| path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
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
                        use crate::llama::{Llama, Source};
                        let src =
                            Source { g: gguf, sizes: &sizes, map, max_ctx: context_length, device: &device, progress };
                        match device.is_cpu() && !as_gpu {
                            true => Llama::load_host(src, &mut reader),
                            false => Llama::load_device(src, &mut reader),
                        }
                    };
                    let text = text.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                    (text, weights.map(Weights::Llama))
                })
            }
            Architecture::Gemma3 => {
                let text = text_side(&gguf);
                (text, gemma3::Gemma3::load(&mut gguf, &device, context_length).map(Weights::Gemma3))
            }
        };
        // A bad tokenizer or template is reported before bad weights.
        let (tokenizer, template) = text?;
        let weights = weights.map_err(corrupt)?;
        let info = ModelInfo {
            path: path.to_path_buf(),
            name,
            architecture: Some(arch),
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
        Ok(Self {
            weights,
            tokenizer,
            template,
            info,
            cached,
            saved: Vec::new(),
            saved_at: 0,
            costs: Default::default(),
        })
    }

    /// Makes the cache hold `prompt` and puts the logits of its last token in
    /// `out`. Only the part after the longest prefix already cached is
    /// computed; returns how many tokens were reused.
    pub fn prefill(&mut self, prompt: &[u32], out: &mut Vec<f32>) -> Result<usize> {
        let common = common_prefix(&self.cached, prompt);
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

    /// Whether a prompt's cached start is reused by the next prompt: both
    /// our forwards keep a cache that can be cut back to any position.
    pub fn reuses_prefix(&self) -> bool {
        true
    }

    /// The tokens in the cache: the prompt and what was generated after it.
    pub fn history(&self) -> &[u32] {
        &self.cached
    }

    /// Whether a request's completions decode together as branches of its
    /// prompt: our forward on the CPU (GPU and Gemma 3 run them in turn).
    pub fn batches(&self) -> bool {
        matches!(&self.weights, Weights::Llama(m) if m.branches())
    }

    /// Makes branch `b` continue the cached prompt's first `shared` tokens,
    /// with room for `room` tokens of its own.
    pub fn fork(&mut self, b: usize, shared: usize, room: usize) -> Result<()> {
        match &mut self.weights {
            Weights::Llama(m) if shared <= self.cached.len() => Ok(m.fork(b, shared, room)?),
            _ => Err(EngineError::Inference("branches need the CPU forward and a cached prompt".into())),
        }
    }

    /// Branch `to` takes a copy of branch `from`'s first `len` tokens.
    pub fn copy_branch(&mut self, from: usize, to: usize, len: usize) -> Result<()> {
        match &mut self.weights {
            Weights::Llama(m) => Ok(m.copy_branch(from, to, len)?),
            _ => Err(EngineError::Inference("branches need the CPU forward".into())),
        }
    }

    /// Runs `tokens[i]` in branch `rows[i].0` at position `rows[i].1`, and
    /// puts the logits of every row (`all`, at most one pass of rows) or of
    /// the last in `out`.
    pub fn forward_branches(
        &mut self,
        tokens: &[u32],
        rows: &[(usize, usize)],
        out: &mut Vec<f32>,
        all: bool,
    ) -> Result<()> {
        let Weights::Llama(m) = &mut self.weights else {
            return Err(EngineError::Inference("branches need the CPU forward".into()));
        };
        // Each slice's logits replace the last's: every row's fit one pass.
        if all && tokens.len() > UBATCH {
            return Err(EngineError::Inference(format!("logits of {} rows are more than a pass", tokens.len())));
        }
        // A long tail goes in slices, as a prompt does.
        let slices = tokens.len().div_ceil(UBATCH);
        for (i, (t, r)) in tokens.chunks(UBATCH).zip(rows.chunks(UBATCH)).enumerate() {
            // Earlier slices of a tail need no logits.
            m.forward_branches(t, r, (all || i + 1 == slices).then_some((&mut *out, all)))?;
        }
        Ok(())
    }

    /// Whether `verify` works: our forward on the CPU.
    pub fn speculates(&self) -> bool {
        self.batches()
    }

    /// Appends `tokens` (a sampled one, then drafted ones) and puts the
    /// logits after each in `out`, a row each. `rewind` then drops what
    /// was not accepted.
    pub fn verify(&mut self, tokens: &[u32], out: &mut Vec<f32>) -> Result<()> {
        let Weights::Llama(m) = &mut self.weights else {
            return Err(EngineError::Inference("drafts are checked by the CPU forward".into()));
        };
        if tokens.len() > UBATCH {
            return Err(EngineError::Inference(format!("{} drafted tokens are more than a pass", tokens.len())));
        }
        let pos = self.cached.len();
        m.forward_all(tokens, pos, out)?;
        self.cached.extend_from_slice(tokens);
        Ok(())
    }

    /// Keeps the cache's first `len` tokens; the next token goes after them.
    pub fn rewind(&mut self, len: usize) {
        self.cached.truncate(len);
        if len < self.saved_at {
            self.saved_at = 0;
        }
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
                if tokens.is_empty() {
                    return Err(EngineError::EmptyPrompt);
                }
                // In slices, as for llama: the attention's scratch grows
                // with the slice times the context, not the prompt squared.
                let mut logits = None;
                for (i, chunk) in tokens.chunks(UBATCH).enumerate() {
                    match m.forward(chunk, pos + i * UBATCH) {
                        Ok(l) => logits = Some(l),
                        Err(e) => {
                            // A layer may have lost its cache mid-step: the
                            // next prompt starts from position 0.
                            self.cached.clear();
                            self.saved_at = 0;
                            return Err(e.into());
                        }
                    }
                }
                if let Some(l) = logits {
                    copy_logits(&l.squeeze(0)?.to_dtype(candle_core::DType::F32)?, out)?;
                }
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

fn check_budget(path: &Path, needed: u64, context: usize) -> Result<()> {
    let budget = crate::gguf::memory_budget();
    if needed <= budget {
        return Ok(());
    }
    let gb = |b: u64| b as f64 / 1e9;
    Err(EngineError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!(
                "loading it with a {context}-token context needs about {:.1} GB of memory, more than this machine's {:.1} GB",
                gb(needed),
                gb(budget)
            ),
        ),
    })
}

/// Gemma 3, as Candle's `quantized_gemma3` computes it, but sized by the
/// context cap instead of Candle's 131,072 positions per layer: two rotary
/// tables (local and global frequency) for `max_ctx` positions, shared by
/// the layers; the embedding table kept quantized, rows dequantized on
/// lookup; prompts computed in slices, with a mask that holds for any
/// position (Candle's can only start at 0) and the sliding window applied
/// to single steps too.
mod gemma3 {
    use std::sync::Arc;

    use candle_core::quantized::{QMatMul, QTensor};
    use candle_core::{DType, Device, IndexOp, Module, Result, Tensor};
    use candle_transformers::quantized_nn::RmsNorm;

    use crate::gguf::GgufFile;

    struct Mlp {
        gate: QMatMul,
        up: QMatMul,
        down: QMatMul,
    }

    struct Layer {
        wq: QMatMul,
        wk: QMatMul,
        wv: QMatMul,
        wo: QMatMul,
        q_norm: RmsNorm,
        k_norm: RmsNorm,
        attn_norm: RmsNorm,
        post_attn_norm: RmsNorm,
        ffn_norm: RmsNorm,
        post_ffn_norm: RmsNorm,
        mlp: Mlp,
        sliding_window: Option<usize>,
        /// The table for this layer's frequency, shared.
        cos: Tensor,
        sin: Tensor,
        cache: Option<(Tensor, Tensor)>,
    }

    pub struct Gemma3 {
        /// Quantized rows on the CPU, whatever the device.
        embd: Arc<QTensor>,
        row_bytes: usize,
        hidden: usize,
        layers: Vec<Layer>,
        norm: RmsNorm,
        output: QMatMul,
        n_head: usize,
        n_kv_head: usize,
        head_dim: usize,
        max_ctx: usize,
        neg_inf: Tensor,
        device: Device,
    }

    fn rope(head_dim: usize, freq: f32, positions: usize, device: &Device) -> Result<(Tensor, Tensor)> {
        // As Candle computes it, for `positions` rows instead of 131,072.
        let theta: Vec<_> = (0..head_dim).step_by(2).map(|i| 1f32 / freq.powf(i as f32 / head_dim as f32)).collect();
        let theta = Tensor::new(theta.as_slice(), device)?;
        let idx_theta = Tensor::arange(0, positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((positions, 1))?
            .matmul(&theta.reshape((1, theta.elem_count()))?)?;
        Ok((idx_theta.cos()?, idx_theta.sin()?))
    }

    impl Gemma3 {
        /// `max_ctx` positions: the engine never goes past its context.
        pub fn load(g: &mut GgufFile, device: &Device, max_ctx: usize) -> Result<Self> {
            let md = |k: &str| -> Result<&crate::gguf::Value> {
                g.get(&format!("gemma3.{k}"))
                    .ok_or_else(|| candle_core::Error::Msg(format!("cannot find gemma3.{k} in metadata")))
            };
            // Exactly a u32 or an f32, as Candle's model reads them.
            let u = |k: &str| md(k)?.to_u32().map(|v| v as usize).map_err(candle_core::Error::wrap);
            let f = |k: &str| md(k)?.to_f32().map_err(candle_core::Error::wrap);
            let n_head = u("attention.head_count")?;
            let n_kv_head = u("attention.head_count_kv")?;
            let block_count = u("block_count")?;
            let hidden = u("embedding_length")?;
            let head_dim = u("attention.key_length")?;
            let eps = f("attention.layer_norm_rms_epsilon")? as f64;
            let window = u("attention.sliding_window")?;
            let window_type = u("attention.sliding_window_type").unwrap_or(6);
            if window_type == 0 {
                candle_core::bail!("gemma3.attention.sliding_window_type is 0");
            }
            let freq = f("rope.freq_base").unwrap_or(1_000_000.);
            let freq_local = f("rope.local_freq_base").unwrap_or(10_000.);
            if n_kv_head == 0 || n_head % n_kv_head != 0 {
                candle_core::bail!("{n_head} heads cannot share {n_kv_head} kv heads");
            }

            let content = std::mem::take(&mut g.content);
            let result = (|| {
                let reader = &mut g.reader;
                let mut qt = |name: &str, dev: &Device| crate::gguf::read_tensor(&content, reader, name, dev);
                let embd = Arc::new(qt("token_embd.weight", &Device::Cpu)?);
                let block = embd.dtype().block_size();
                if hidden % block != 0 {
                    candle_core::bail!("width {hidden} is not a whole number of {block}-element blocks");
                }
                let row_bytes = hidden / block * embd.dtype().type_size();
                let norm = RmsNorm::from_qtensor(qt("output_norm.weight", device)?, eps)?;
                let output = if content.tensor_infos.contains_key("output.weight") {
                    QMatMul::from_qtensor(qt("output.weight", device)?)?
                } else if device.is_cpu() {
                    QMatMul::from_arc(embd.clone())?
                } else {
                    QMatMul::from_qtensor(qt("token_embd.weight", device)?)?
                };
                let global = rope(head_dim, freq, max_ctx, device)?;
                let local = rope(head_dim, freq_local, max_ctx, device)?;
                let mut layers = Vec::with_capacity(block_count);
                for i in 0..block_count {
                    let p = format!("blk.{i}");
                    let mut w = |n: &str| qt(&format!("{p}.{n}.weight"), device);
                    let mm = |t: QTensor| QMatMul::from_qtensor(t);
                    let sliding = (i + 1) % window_type > 0;
                    let (cos, sin) = if sliding { local.clone() } else { global.clone() };
                    layers.push(Layer {
                        wq: mm(w("attn_q")?)?,
                        wk: mm(w("attn_k")?)?,
                        wv: mm(w("attn_v")?)?,
                        wo: mm(w("attn_output")?)?,
                        q_norm: RmsNorm::from_qtensor(w("attn_q_norm")?, eps)?,
                        k_norm: RmsNorm::from_qtensor(w("attn_k_norm")?, eps)?,
                        attn_norm: RmsNorm::from_qtensor(w("attn_norm")?, eps)?,
                        post_attn_norm: RmsNorm::from_qtensor(w("post_attention_norm")?, eps)?,
                        ffn_norm: RmsNorm::from_qtensor(w("ffn_norm")?, eps)?,
                        post_ffn_norm: RmsNorm::from_qtensor(w("post_ffw_norm")?, eps)?,
                        mlp: Mlp { gate: mm(w("ffn_gate")?)?, up: mm(w("ffn_up")?)?, down: mm(w("ffn_down")?)? },
                        sliding_window: sliding.then_some(window),
                        cos,
                        sin,
                        cache: None,
                    });
                }
                Ok(Self {
                    embd,
                    row_bytes,
                    hidden,
                    layers,
                    norm,
                    output,
                    n_head,
                    n_kv_head,
                    head_dim,
                    max_ctx,
                    neg_inf: Tensor::new(f32::NEG_INFINITY, device)?,
                    device: device.clone(),
                })
            })();
            g.content = content;
            result
        }

        fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
            let data = self.embd.data()?;
            crate::gguf::dequantize_rows(&data, self.embd.dtype(), self.row_bytes, self.hidden, tokens, &self.device)
        }

        /// Which keys query `i` (at `pos + i`) sees: earlier ones, within
        /// the window for a sliding layer. None when it sees them all.
        fn mask(&self, window: Option<usize>, seq: usize, pos: usize) -> Result<Option<Tensor>> {
            let total = pos + seq;
            let hides = |i: usize, j: usize| {
                let at = pos + i;
                j > at || window.is_some_and(|w| j.saturating_add(w) < at)
            };
            // One query sees every key unless the window leaves some out;
            // several always hide the later ones from the earlier.
            if seq == 1 && window.is_none_or(|w| w >= pos) {
                return Ok(None);
            }
            let m: Vec<u8> = (0..seq).flat_map(|i| (0..total).map(move |j| u8::from(!hides(i, j)))).collect();
            Ok(Some(Tensor::from_vec(m, (1, 1, seq, total), &self.device)?))
        }

        /// Logits of the last token of `tokens`, placed at `pos`: the
        /// cache keeps positions `< pos` and takes these.
        pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
            let seq = tokens.len();
            if seq == 0 || pos + seq > self.max_ctx {
                candle_core::bail!("positions {pos}..{} are outside the context of {}", pos + seq, self.max_ctx);
            }
            let mut x = (self.embed(tokens)? * (self.hidden as f64).sqrt())?;
            // Sliding layers share one window; the others see everything.
            let window = self.layers.iter().find_map(|l| l.sliding_window);
            let (local, global) = (self.mask(window, seq, pos)?, self.mask(None, seq, pos)?);
            for li in 0..self.layers.len() {
                let mask = if self.layers[li].sliding_window.is_some() { local.clone() } else { global.clone() };
                let l = &self.layers[li];
                let residual = x.clone();
                let h = l.attn_norm.forward(&x)?;
                let h = self.attention(li, &h, mask.as_ref(), pos)?;
                let l = &self.layers[li];
                let h = l.post_attn_norm.forward(&h)?;
                let x1 = (h + residual)?;
                let h = l.ffn_norm.forward(&x1)?;
                let gate = l.mlp.gate.forward(&h)?;
                let up = l.mlp.up.forward(&h)?;
                let h = l.mlp.down.forward(&(candle_nn::ops::silu(&gate)? * up)?)?;
                let h = l.post_ffn_norm.forward(&h)?;
                x = (h + x1)?;
            }
            let x = x.i((.., seq - 1, ..))?;
            self.output.forward(&self.norm.forward(&x)?)
        }

        fn attention(&mut self, li: usize, x: &Tensor, mask: Option<&Tensor>, pos: usize) -> Result<Tensor> {
            let (b, seq, _) = x.dims3()?;
            let (nh, nkv, hd) = (self.n_head, self.n_kv_head, self.head_dim);
            let l = &mut self.layers[li];
            let q = l.wq.forward(x)?.reshape((b, seq, nh, hd))?.transpose(1, 2)?;
            let k = l.wk.forward(x)?.reshape((b, seq, nkv, hd))?.transpose(1, 2)?;
            let v = l.wv.forward(x)?.reshape((b, seq, nkv, hd))?.transpose(1, 2)?;
            let q = l.q_norm.forward(&q.contiguous()?)?;
            let k = l.k_norm.forward(&k.contiguous()?)?;
            let cos = l.cos.narrow(0, pos, seq)?;
            let sin = l.sin.narrow(0, pos, seq)?;
            let q = candle_nn::rotary_emb::rope(&q.contiguous()?, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope(&k.contiguous()?, &cos, &sin)?;
            let (k, v) = match l.cache.take() {
                Some((kc, vc)) if pos > 0 => {
                    let have = kc.dim(2)?;
                    if have < pos {
                        candle_core::bail!("the cache holds {have} positions, not {pos}");
                    }
                    let (kc, vc) = (kc.narrow(2, 0, pos)?, vc.narrow(2, 0, pos)?);
                    (Tensor::cat(&[&kc, &k], 2)?, Tensor::cat(&[&vc, &v], 2)?)
                }
                _ if pos > 0 => candle_core::bail!("the cache is empty but the input starts at position {pos}"),
                _ => (k, v),
            };
            l.cache = Some((k.clone(), v.clone()));
            let k = candle_transformers::utils::repeat_kv(k, nh / nkv)?;
            let v = candle_transformers::utils::repeat_kv(v, nh / nkv)?;
            let scale = 1.0 / (hd as f64).sqrt();
            let mut w = (q.matmul(&k.transpose(2, 3)?)? * scale)?;
            if let Some(m) = mask {
                let m = m.broadcast_as(w.shape())?;
                let neg_inf = self.neg_inf.broadcast_as(w.dims())?;
                w = m.eq(0u8)?.where_cond(&neg_inf, &w)?;
            }
            let w = candle_nn::ops::softmax_last_dim(&w)?;
            let o = w.matmul(&v)?.transpose(1, 2)?.reshape((b, seq, nh * hd))?;
            self.layers[li].wo.forward(&o)
        }
    }
}
