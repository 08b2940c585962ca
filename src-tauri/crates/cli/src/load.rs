//! Which model to load, and loading it on an engine thread of our own.
use std::path::PathBuf;

use cmdbar_engine::{DevicePreference, Engine, EngineConfig, EngineError, ModelInfo};

#[derive(clap::Args, Clone)]
pub struct ModelArgs {
    /// GGUF model file [default: $CMDBAR_MODEL, else Qwen2.5-Coder-1.5B-Instruct Q4_K_M in the model cache]
    #[arg(long, short)]
    pub model: Option<PathBuf>,
    /// auto, cpu, cuda or metal
    #[arg(long, default_value = "auto")]
    pub device: DevicePreference,
    /// Context window in tokens, capped at the model's own; bounds memory.
    #[arg(long, default_value_t = cmdbar_engine::DEFAULT_MAX_CONTEXT)]
    pub context: usize,
}

/// The model the user named: the flag, else `$CMDBAR_MODEL`.
pub fn explicit_model(arg: &Option<PathBuf>) -> Option<PathBuf> {
    arg.clone().or_else(|| std::env::var_os("CMDBAR_MODEL").filter(|v| !v.is_empty()).map(PathBuf::from))
}

/// The model path from the flag, else `$CMDBAR_MODEL`, else the active
/// model (`cmdbar models use`, or the app's choice), else the default
/// model wherever it is installed; None when there is none.
pub fn model_path(arg: &Option<PathBuf>) -> Option<PathBuf> {
    if let Some(p) = explicit_model(arg) {
        return Some(p);
    }
    let active = cmdbar_settings::Settings::load(&cmdbar_settings::settings_path()).value.active_model;
    active.or_else(cmdbar_models::default_model_path)
}

/// No model to load, and what to run about it.
#[derive(Debug, thiserror::Error)]
#[error(
    "no model is installed; download the default one with `cmdbar models pull {id}` ({size:.1} GB), \
     or give one with --model FILE.gguf"
)]
pub struct NoModel {
    id: &'static str,
    size: f64,
}

impl NoModel {
    pub fn new() -> Self {
        let d = cmdbar_models::catalog::default_entry();
        Self { id: &d.id, size: d.size as f64 / 1e9 }
    }
}

/// Spawns the engine thread and loads the model on it.
pub fn start(args: &ModelArgs) -> anyhow::Result<(Engine, ModelInfo)> {
    let path = model_path(&args.model).ok_or_else(NoModel::new)?;
    let engine = Engine::spawn(EngineConfig { device: args.device, max_context: args.context, ..Default::default() });
    let info = engine.load(&path).recv().map_err(|_| EngineError::Disconnected)?.map_err(|e| match e {
        // The chosen or default file is gone: say how to get one.
        EngineError::NotFound(p) => anyhow::Error::new(EngineError::NotFound(p))
            .context(format!("download the default model with `cmdbar models pull {}`", NoModel::new().id)),
        e => e.into(),
    })?;
    Ok((engine, info))
}

/// A server that answers instead of a model loaded here.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// An OpenAI-compatible server to ask instead of loading a model
    /// (Ollama, llama.cpp's server, vLLM), e.g. http://localhost:11434;
    /// its API key, if it needs one, from $CMDBAR_API_KEY [default: the
    /// app's server, if Settings has one and no model is named]
    #[arg(long, value_name = "URL", requires = "server_model", conflicts_with = "model")]
    pub server: Option<String>,
    /// The model's name on that server, e.g. qwen2.5-coder:7b
    #[arg(long, value_name = "NAME", requires = "server")]
    pub server_model: Option<String>,
    /// Completions the server streams at once: Ollama, vLLM and llama.cpp's
    /// server (with --parallel) serve several; llama-cpp-python's cuts off
    /// a request when another arrives, so 1 is the default
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16))]
    pub server_parallel: usize,
}

impl ServerArgs {
    /// The server to ask: the flags, else the app's (Settings › Use a
    /// server) unless a model was named (--model, $CMDBAR_MODEL); None
    /// for a local model. `context` bounds the request.
    pub fn config(&self, model: &ModelArgs) -> Option<cmdbar_remote::RemoteConfig> {
        let from_env = || std::env::var("CMDBAR_API_KEY").ok().filter(|k| !k.is_empty());
        let (url, name, key) = match (&self.server, &self.server_model) {
            (Some(url), Some(name)) => (url.clone(), name.clone(), from_env()),
            _ if explicit_model(&model.model).is_some() => return None,
            _ => {
                let server = cmdbar_settings::Settings::load(&cmdbar_settings::settings_path()).value.server?;
                let key = from_env().or_else(|| {
                    let keychain = cmdbar_settings::secrets::Keychain;
                    cmdbar_settings::secrets::api_key(&server, &keychain)
                        .inspect_err(|e| eprintln!("note: {e}; asking without a key"))
                        .ok()
                        .flatten()
                });
                (server.base_url, server.model, key)
            }
        };
        let mut c = cmdbar_remote::RemoteConfig::new(url, name);
        c.api_key = key;
        c.context_length = model.context;
        c.parallel = self.server_parallel;
        Some(c)
    }
}
