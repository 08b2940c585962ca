//! The OpenAI-compatible chat API's shapes, as far as Cmdbar uses them.
//! Read leniently: servers differ in what they add or leave out.
use cmdbar_engine::{Message, Request, SamplingParams};
use serde::Deserialize;
use serde_json::{json, Value};

/// The body of one streamed completion.
pub fn body(model: &str, messages: &[Message], params: &SamplingParams, req: &Request) -> Value {
    let mut b = json!({
        "model": model,
        "messages": messages,
        "stream": true,
        // OpenAI and vLLM send token counts only when asked.
        "stream_options": { "include_usage": true },
        "max_tokens": req.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        // llama.cpp's seed is 32 bits; the same seed gives the same number.
        "seed": params.seed & u64::from(u32::MAX >> 1),
        // For ranking; servers that cannot give them ignore it.
        "logprobs": true,
    });
    let o = b.as_object_mut().expect("an object");
    if !req.stop.is_empty() {
        // The API takes up to four; the rest are applied here as the text
        // comes in.
        o.insert("stop".into(), json!(req.stop.iter().take(4).collect::<Vec<_>>()));
    }
    // Not in OpenAI's API, but llama.cpp, llama-cpp-python, vLLM and
    // Ollama take these names; sent only when they change anything.
    if params.top_k > 0 {
        o.insert("top_k".into(), json!(params.top_k));
    }
    if params.repeat_penalty != 1.0 && params.repeat_last_n > 0 {
        o.insert("repeat_penalty".into(), json!(params.repeat_penalty));
    }
    if req.ignore_eos {
        o.insert("ignore_eos".into(), json!(true));
    }
    b
}

#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    /// llama.cpp's server adds its own timings.
    pub timings: Option<ServerTimings>,
    /// Some servers report a failure inside the stream.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    pub delta: Option<Delta>,
    pub finish_reason: Option<String>,
    pub logprobs: Option<Logprobs>,
}

#[derive(Debug, Deserialize)]
pub struct Delta {
    pub content: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Logprobs {
    pub content: Option<Vec<TokenLogprob>>,
}

#[derive(Debug, Deserialize)]
pub struct TokenLogprob {
    pub logprob: f32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: usize,
    #[serde(default)]
    pub completion_tokens: usize,
    pub prompt_tokens_details: Option<PromptDetails>,
}

impl Usage {
    /// Reused prompt tokens where the server says (vLLM with prefix
    /// caching, recent llama.cpp); 0 otherwise.
    pub fn cached_tokens(&self) -> usize {
        self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PromptDetails {
    pub cached_tokens: Option<usize>,
}

/// llama.cpp's server: `prompt_ms` for the prompt tokens it computed,
/// `cache_n` for those it reused from its cache.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerTimings {
    pub prompt_ms: Option<f64>,
    pub cache_n: Option<usize>,
}

/// `{"message": …}` (OpenAI, llama.cpp) or a bare string (some proxies).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ErrorBody {
    Object { message: Option<String> },
    Text(String),
}

impl ErrorBody {
    pub fn text(&self) -> String {
        match self {
            ErrorBody::Object { message: Some(m) } | ErrorBody::Text(m) => m.clone(),
            ErrorBody::Object { message: None } => "no message given".into(),
        }
    }
}

/// The message of an error answer's body: the API's `error.message`, or
/// `detail` (FastAPI-based servers), or the body's first line.
pub fn error_message(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Answer {
        error: Option<ErrorBody>,
        detail: Option<Value>,
        message: Option<String>,
    }
    if let Ok(a) = serde_json::from_str::<Answer>(body) {
        if let Some(e) = a.error {
            return Some(e.text());
        }
        if let Some(d) = a.detail {
            return Some(d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string()));
        }
        if let Some(m) = a.message {
            return Some(m);
        }
    }
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_of_the_common_shapes() {
        let m = |b: &str| error_message(b);
        assert_eq!(m(r#"{"error":{"message":"Invalid API key","type":"auth"}}"#).as_deref(), Some("Invalid API key"));
        assert_eq!(m(r#"{"detail":"Not authenticated"}"#).as_deref(), Some("Not authenticated"));
        assert_eq!(m(r#"{"error":"model not found"}"#).as_deref(), Some("model not found"));
        assert_eq!(m("\n  Bad Gateway\n").as_deref(), Some("Bad Gateway"));
        assert_eq!(m(""), None);
    }
}
