//! Cmdbar's inference engine: loads GGUF models with Candle and generates on
//! a dedicated thread. Knows nothing of prompts for commands or of the UI.
mod attention;
mod backend;
pub mod device;
mod engine;
pub mod error;
pub mod generate;
pub mod gguf;
mod llama;
pub mod lookup;
mod model;
pub mod qmatmul;
pub mod sampler;
#[cfg(unix)]
mod sandbox;
pub mod template;
pub mod tokenizer;
mod vecmath;

pub use backend::Backend;
pub use device::DevicePreference;
pub use engine::{Engine, EngineConfig, Progress, DEFAULT_MAX_CONTEXT};
pub use error::{EngineError, Result};
pub use generate::{Also, Enough, Event, FinishReason, Prompt, Request, Timings};
pub use gguf::{Architecture, KvShape};
pub use model::{prompt_ids, Model, ModelInfo};
pub use sampler::SamplingParams;
pub use template::Message;
pub use tokenizer::ControlTokens;
