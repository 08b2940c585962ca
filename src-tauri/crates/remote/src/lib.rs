//! Cmdbar's engine on a server: anything that speaks the OpenAI-compatible
//! chat API (Ollama, llama.cpp's server, vLLM, llama-cpp-python), behind the
//! same `Backend` trait as the local engine, so suggestions, ranking and
//! safety work the same on either. Knows nothing of the UI.
//!
//! What a server cannot tell us is left at its neutral value, not guessed:
//! `warm` caches nothing here (0); `Timings::prompt_tokens` comes from
//! `usage`, `cached_tokens` from `usage.prompt_tokens_details` or
//! llama.cpp's `timings.cache_n`, `prefill_ms` from llama.cpp's
//! `timings.prompt_ms`, each 0 where the server sends none; `sample_ms` is
//! always 0; a completion without logprobs scores `NEUTRAL_LOGPROB` and
//! counts a token per streamed piece unless `usage` says. `first_token_ms`
//! and `total_ms` are measured here, the network included.
mod sse;
mod wire;

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cmdbar_engine::error::{RemoteError, RemoteKind};
use cmdbar_engine::{
    Backend, ControlTokens, EngineError, Event, FinishReason, Message, ModelInfo, Prompt, Request, Result,
    SamplingParams, Timings,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::Url;

/// The context assumed when none is configured: the server's own limit
/// decides, and a request over it gets the server's error.
pub const DEFAULT_CONTEXT: usize = 4096;
/// The score of a completion whose server sent no logprobs: the same for
/// every completion, so ranking falls back to agreement among candidates
/// and their order (the greedy answer first).
pub const NEUTRAL_LOGPROB: f32 = 0.0;
/// How often a wait on the network looks at the cancel epoch.
const POLL: Duration = Duration::from_millis(10);
/// How much of an error body is read and shown.
const ERROR_BODY: usize = 4096;

/// The control-token text of the common chat formats (ChatML, Llama 3,
/// Gemma, Mistral, Phi): the server's template is unknown here, so typed
/// text is stripped of all of them and cannot end or fake a turn.
const CONTROL_TOKENS: &[&str] = &[
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<start_of_turn>",
    "<end_of_turn>",
    "[INST]",
    "[/INST]",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|end|>",
];

#[derive(Clone)]
pub struct RemoteConfig {
    /// e.g. `http://localhost:11434` or `http://localhost:8080/v1`.
    pub base_url: String,
    /// The name the server knows the model by.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
    /// The longest wait for the answer's head and then for each further
    /// piece of the stream (a model loading on demand can take a while).
    pub read_timeout: Duration,
    /// What `info()` reports; bounds how long a request may be.
    pub context_length: usize,
    /// Completions streamed at once. 1 by default: llama-cpp-python's
    /// server cuts off a running request when another arrives; Ollama,
    /// vLLM and llama.cpp's server (`--parallel`) serve several.
    pub parallel: usize,
}

impl RemoteConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            context_length: DEFAULT_CONTEXT,
            parallel: 1,
        }
    }
}

// The key stays out of logs.
impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("context_length", &self.context_length)
            .field("parallel", &self.parallel)
            .finish()
    }
}

/// The chat-completions URL of a base URL: `{base}/v1/chat/completions`,
/// `/v1` added unless the base ends with it. Only http and https.
pub fn endpoint(base_url: &str) -> Result<Url> {
    let bad = |detail: &str| remote(RemoteKind::BadUrl, base_url, detail);
    let trimmed = base_url.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty; give one such as http://localhost:11434"));
    }
    let mut url = Url::parse(trimmed).map_err(|e| bad(&format!("{e}; give one such as http://localhost:11434")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query (?…) or fragment (#…)"));
    }
    let mut path = url.path().trim_end_matches('/').to_string();
    if !path.ends_with("/v1") {
        path.push_str("/v1");
    }
    path.push_str("/chat/completions");
    url.set_path(&path);
    Ok(url)
}

fn remote(kind: RemoteKind, server: &str, detail: impl Into<String>) -> EngineError {
    EngineError::Remote(RemoteError { kind, server: server.to_string(), detail: detail.into() })
}

struct Job {
    epoch: u64,
    request: Request,
    events: Sender<Event>,
}

/// A server's model as a `Backend`. Requests run on one thread of its own,
/// in turn; a newer `generate` or `cancel` ends the running one within a
/// few milliseconds, even while the server is silent.
pub struct Remote {
    jobs: Option<Sender<Job>>,
    epoch: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    info: ModelInfo,
}

impl Remote {
    /// Checks the address and starts the request thread; nothing is sent
    /// to the server until the first request.
    pub fn new(config: RemoteConfig) -> Result<Self> {
        let url = endpoint(&config.base_url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| remote(RemoteKind::Unreachable, &config.base_url, cause(&e)))?;
        // Async reqwest on a runtime of our own rather than
        // reqwest::blocking: every wait (connect, head, each piece of the
        // stream) is raced against the cancel epoch, so a cancel is prompt
        // even mid-stream, which a blocking read cannot be. One worker
        // thread drives hyper's connection tasks between requests too, so a
        // stream we drop is closed at once and the server stops generating.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cmdbar-remote-io")
            .enable_all()
            .build()
            .map_err(|e| EngineError::Inference(format!("cannot start the network thread: {e}")))?;
        let info = model_info(&config);
        let (tx, rx) = channel::<Job>();
        let epoch = Arc::new(AtomicU64::new(0));
        let shared = epoch.clone();
        let server = Server { client, url, config };
        let thread = std::thread::Builder::new()
            .name("cmdbar-remote".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let cancel = Epoch { current: &shared, mine: job.epoch };
                    let mut emit = |e| {
                        let _ = job.events.send(e);
                    };
                    if cancel.cancelled() {
                        emit(Event::Cancelled);
                        continue;
                    }
                    match runtime.block_on(server.run(&job.request, &cancel, &mut emit)) {
                        Ok(true) => {}
                        Ok(false) => emit(Event::Cancelled),
                        Err(e) => emit(Event::Error(e)),
                    }
                }
            })
            .map_err(|e| EngineError::Inference(format!("cannot start the network thread: {e}")))?;
        Ok(Self { jobs: Some(tx), epoch, thread: Some(thread), info })
    }

    /// What `cmdbar_suggest::prepare` needs to know of the model: its
    /// context (as configured) and the control tokens to strip.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }
}

fn model_info(config: &RemoteConfig) -> ModelInfo {
    ModelInfo {
        path: config.base_url.clone().into(),
        name: config.model.clone(),
        // Unknown behind the API.
        architecture: None,
        context_length: config.context_length,
        vocab_size: 0,
        file_size: 0,
        device: "server",
        fallback: None,
        // The server applies the model's own template.
        chat_template: true,
        load_ms: 0,
        control_tokens: ControlTokens::new(CONTROL_TOKENS).unwrap_or_default(),
    }
}

impl Backend for Remote {
    fn generate(&self, request: Request) -> Receiver<Event> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let (events, rx) = channel();
        let sent = self.jobs.as_ref().is_some_and(|j| j.send(Job { epoch, request, events: events.clone() }).is_ok());
        if !sent {
            let _ = events.send(Event::Error(EngineError::Disconnected));
        }
        rx
    }

    /// The server's cache is out of sight: nothing is sent, 0 cached.
    fn warm(&self, _prompt: Prompt) -> Receiver<Result<usize>> {
        let (tx, rx) = channel();
        let _ = tx.send(Ok(0));
        rx
    }

    fn cancel(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.cancel();
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Epoch<'a> {
    current: &'a AtomicU64,
    mine: u64,
}

impl Epoch<'_> {
    fn cancelled(&self) -> bool {
        self.current.load(Ordering::Relaxed) != self.mine
    }

    /// `fut`'s output, or None once this request is cancelled.
    async fn or_cancel<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        tokio::pin!(fut);
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = tick.tick() => if self.cancelled() { return None },
                v = &mut fut => return Some(v),
            }
        }
    }
}

struct Server {
    client: reqwest::Client,
    url: Url,
    config: RemoteConfig,
}

/// One completion as it ended.
struct Finished {
    text: String,
    finish: FinishReason,
    tokens: usize,
    mean_logprob: f32,
    usage: Option<wire::Usage>,
    /// llama.cpp's own figures, when it sends them.
    server: Option<wire::ServerTimings>,
}

impl Server {
    fn error(&self, kind: RemoteKind, detail: impl Into<String>) -> EngineError {
        remote(kind, &self.config.base_url, detail)
    }

    /// Every completion of `req`, one streamed call each (servers often
    /// refuse `n > 1` with streaming), numbered as the local engine numbers
    /// them: `completions`, then each `also` prompt's. Up to `parallel`
    /// stream at once, their tokens interleaved as in the local engine's
    /// batch; done events keep the completions' order. False when
    /// cancelled.
    async fn run(&self, req: &Request, cancel: &Epoch<'_>, emit: &mut dyn FnMut(Event)) -> Result<bool> {
        let start = Instant::now();
        let mut jobs = Vec::new();
        for (prompt, completions) in
            std::iter::once((&req.prompt, &req.completions)).chain(req.also.iter().map(|a| (&a.prompt, &a.completions)))
        {
            let messages = self.messages(prompt)?;
            for params in completions {
                jobs.push((jobs.len(), messages, params));
            }
        }
        let sink = RefCell::new(Sink { emit, timings: Timings::default(), start, finished: vec![], emitted: 0 });
        let shared = &sink;
        let mut queue = jobs.into_iter();
        let mut running = FuturesUnordered::new();
        let start_next = |running: &mut FuturesUnordered<_>, queue: &mut std::vec::IntoIter<_>| {
            if let Some((index, messages, params)) = queue.next() {
                running.push(async move { (index, self.complete(req, messages, params, index, cancel, shared).await) });
            }
        };
        for _ in 0..self.config.parallel.max(1) {
            start_next(&mut running, &mut queue);
        }
        // An error or a cancel drops the other streams, hanging up on them.
        while let Some((index, done)) = running.next().await {
            let Some(done) = done? else { return Ok(false) };
            sink.borrow_mut().finished(index, done);
            start_next(&mut running, &mut queue);
        }
        drop(running);
        let mut sink = sink.into_inner();
        sink.timings.total_ms = ms(start);
        (sink.emit)(Event::Done(sink.timings));
        Ok(true)
    }

    fn messages<'a>(&self, prompt: &'a Prompt) -> Result<&'a [Message]> {
        match prompt {
            Prompt::Chat(m) if m.is_empty() => Err(EngineError::EmptyPrompt),
            Prompt::Chat(m) => Ok(m),
            Prompt::Raw(_) => Err(self.error(RemoteKind::Unsupported, "a server takes chat messages, not raw text")),
            Prompt::Tokens(_) => {
                Err(self.error(RemoteKind::Unsupported, "a server takes chat messages, not token ids"))
            }
        }
    }

    /// One streamed completion; None when cancelled.
    #[allow(clippy::too_many_arguments)]
    async fn complete(
        &self,
        req: &Request,
        messages: &[Message],
        params: &SamplingParams,
        index: usize,
        cancel: &Epoch<'_>,
        sink: &RefCell<Sink<'_>>,
    ) -> Result<Option<Finished>> {
        let enough = || req.enough.as_ref().is_some_and(|e| e.is_set(index));
        if enough() {
            // Marked before it began: as the local engine, it ends empty.
            let none = Text { finish: Some(FinishReason::Enough), ..Default::default() };
            return none.finished().map(Some).map_err(|e| self.error(RemoteKind::BadResponse, e));
        }
        let mut post = self.client.post(self.url.clone()).json(&wire::body(&self.config.model, messages, params, req));
        if let Some(key) = self.config.api_key.as_deref().filter(|k| !k.is_empty()) {
            post = post.bearer_auth(key);
        }
        let wait = self.config.read_timeout;
        let response = match cancel.or_cancel(tokio::time::timeout(wait, post.send())).await {
            None => return Ok(None),
            Some(Err(_)) => return Err(self.error(RemoteKind::Timeout, format!("no answer within {wait:?}"))),
            Some(Ok(r)) => r.map_err(|e| self.failed(&e))?,
        };
        let status = response.status();
        let mut response = response;
        if !status.is_success() {
            let body = match cancel.or_cancel(tokio::time::timeout(wait, read_some(&mut response))).await {
                None => return Ok(None),
                // A body cut short or late still leaves the status to report.
                Some(body) => body.ok().and_then(|b| b.ok()).unwrap_or_default(),
            };
            let detail = wire::error_message(&body)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason given").to_string());
            let kind = match status.as_u16() {
                401 | 403 => RemoteKind::Unauthorized,
                code => RemoteKind::Status(code),
            };
            return Err(self.error(kind, detail));
        }
        let mut stream = sse::Stream::default();
        let mut out = Text::default();
        let mut data = Vec::new();
        loop {
            let chunk = match cancel.or_cancel(tokio::time::timeout(wait, response.chunk())).await {
                None => return Ok(None),
                Some(Err(_)) => {
                    return Err(self.error(RemoteKind::Timeout, format!("the stream stalled for {wait:?}")));
                }
                Some(Ok(c)) => c.map_err(|e| self.failed(&e))?,
            };
            match &chunk {
                Some(bytes) => stream.push(bytes, &mut data),
                None => stream.end(&mut data),
            }
            .map_err(|e| self.error(RemoteKind::BadResponse, e))?;
            for event in data.drain(..) {
                if event.trim() == "[DONE]" {
                    return out.finished().map(Some).map_err(|e| self.error(RemoteKind::BadResponse, e));
                }
                let event: wire::Chunk = serde_json::from_str(&event).map_err(|e| {
                    self.error(
                        RemoteKind::BadResponse,
                        format!("a stream event is not the API's ({e}): {}", clip(&event)),
                    )
                })?;
                if let Some(e) = event.error {
                    return Err(
                        self.error(RemoteKind::BadResponse, format!("the server failed mid-answer: {}", e.text()))
                    );
                }
                if out.take(event, index, &req.stop, &mut sink.borrow_mut()) {
                    // A stop string we found ourselves: hanging up ends the
                    // server's generation too.
                    return out.finished().map(Some).map_err(|e| self.error(RemoteKind::BadResponse, e));
                }
            }
            if enough() {
                // The caller has what it needs: hang up, the server stops.
                out.finish = Some(FinishReason::Enough);
                return out.finished().map(Some).map_err(|e| self.error(RemoteKind::BadResponse, e));
            }
            if chunk.is_none() {
                // Some servers close without `[DONE]` once they have sent
                // the finish reason; without one, the answer was cut.
                return out.finished().map(Some).map_err(|e| self.error(RemoteKind::BadResponse, e));
            }
        }
    }

    fn failed(&self, e: &reqwest::Error) -> EngineError {
        let kind = if e.is_timeout() {
            RemoteKind::Timeout
        } else if e.is_decode() || e.is_body() && !e.is_connect() {
            RemoteKind::BadResponse
        } else {
            RemoteKind::Unreachable
        };
        self.error(kind, cause(e))
    }
}

/// Up to `ERROR_BODY` bytes of an error answer.
async fn read_some(response: &mut reqwest::Response) -> reqwest::Result<String> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY {
        match response.chunk().await? {
            Some(c) => body.extend_from_slice(&c),
            None => break,
        }
    }
    body.truncate(ERROR_BODY);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The innermost cause: reqwest's own text ("error sending request for
/// url") says less than the system's ("Connection refused").
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Where the streams' events go. Borrowed only between awaits: every
/// stream is polled on one task.
struct Sink<'a> {
    emit: &'a mut dyn FnMut(Event),
    timings: Timings,
    start: Instant,
    /// Finished completions waiting for an earlier one, by index.
    finished: Vec<Option<Finished>>,
    emitted: usize,
}

impl Sink<'_> {
    /// Completion `index` is finished: its done event, and those of later
    /// ones it held back, go out in index order.
    fn finished(&mut self, index: usize, done: Finished) {
        if self.finished.len() <= index {
            self.finished.resize_with(index + 1, || None);
        }
        self.finished[index] = Some(done);
        while let Some(done) = self.finished.get_mut(self.emitted).and_then(Option::take) {
            let index = self.emitted;
            if index == 0 {
                let server = done.server.as_ref();
                if let Some(u) = &done.usage {
                    self.timings.prompt_tokens = u.prompt_tokens;
                    self.timings.cached_tokens = u.cached_tokens();
                }
                if let Some(n) = server.and_then(|t| t.cache_n).filter(|_| self.timings.cached_tokens == 0) {
                    self.timings.cached_tokens = n;
                }
                self.timings.prefill_ms = server.and_then(|t| t.prompt_ms).unwrap_or(0.0);
            }
            self.timings.generated_tokens += done.tokens;
            (self.emit)(Event::CompletionDone {
                index,
                text: done.text,
                finish: done.finish,
                tokens: done.tokens,
                mean_logprob: done.mean_logprob,
            });
            self.emitted += 1;
        }
    }
}

/// One completion's text and figures as its stream comes in.
#[derive(Default)]
struct Text {
    out: String,
    /// Content pieces: the token count when the server gives no other.
    pieces: usize,
    logprobs: Option<(f32, usize)>,
    finish: Option<FinishReason>,
    usage: Option<wire::Usage>,
    server: Option<wire::ServerTimings>,
}

impl Text {
    /// Takes one stream event; true when a stop string ended the text.
    fn take(&mut self, event: wire::Chunk, index: usize, stop: &[String], sink: &mut Sink<'_>) -> bool {
        if let Some(u) = event.usage {
            self.usage = Some(u);
        }
        if let Some(t) = event.timings {
            self.server = Some(t);
        }
        let Some(choice) = event.choices.into_iter().next() else {
            return false;
        };
        if let Some(lp) = choice.logprobs.and_then(|l| l.content) {
            let (sum, n) = self.logprobs.get_or_insert((0.0, 0));
            for t in lp {
                *sum += t.logprob;
                *n += 1;
            }
        }
        if let Some(f) = choice.finish_reason {
            self.finish = Some(match f.as_str() {
                "length" => FinishReason::Length,
                _ => FinishReason::Stop,
            });
        }
        let Some(piece) = choice.delta.and_then(|d| d.content).filter(|c| !c.is_empty()) else {
            return false;
        };
        if sink.timings.first_token_ms == 0.0 {
            sink.timings.first_token_ms = ms(sink.start);
        }
        self.pieces += 1;
        let from = self.out.len();
        self.out.push_str(&piece);
        (sink.emit)(Event::Token { index, text: piece });
        // As the local engine: the event carries the piece, the text ends
        // before the stop string (servers that apply `stop` never send it).
        let look = from.saturating_sub(stop.iter().map(String::len).max().unwrap_or(0));
        let look = (0..=look).rev().find(|&i| self.out.is_char_boundary(i)).unwrap_or(0);
        if let Some(cut) = stop.iter().filter_map(|s| self.out[look..].find(s.as_str()).map(|i| i + look)).min() {
            self.out.truncate(cut);
            self.finish = Some(FinishReason::StopString);
            return true;
        }
        false
    }

    fn finished(self) -> std::result::Result<Finished, String> {
        let Some(finish) = self.finish else {
            return Err("the stream ended before the answer did (no finish reason)".into());
        };
        let tokens =
            self.usage.as_ref().map(|u| u.completion_tokens).or(self.logprobs.map(|(_, n)| n)).unwrap_or(self.pieces);
        let mean_logprob = match self.logprobs {
            Some((sum, n)) if n > 0 => sum / n as f32,
            _ => NEUTRAL_LOGPROB,
        };
        Ok(Finished { text: self.out, finish, tokens, mean_logprob, usage: self.usage, server: self.server })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_the_usual_base_urls() {
        let e = |s: &str| endpoint(s).map(|u| u.to_string());
        assert_eq!(e("http://localhost:11434").unwrap(), "http://localhost:11434/v1/chat/completions");
        assert_eq!(e("http://localhost:8080/v1/").unwrap(), "http://localhost:8080/v1/chat/completions");
        assert_eq!(e(" https://gpu.lan/ollama ").unwrap(), "https://gpu.lan/ollama/v1/chat/completions");
    }

    #[test]
    fn only_http_and_https_with_a_host() {
        for (url, says) in [
            ("", "empty"),
            ("localhost:8080", "http:// or https://"),
            ("ftp://files.lan", "http:// or https://"),
            ("file:///tmp/x", "http:// or https://"),
            ("http://", "http://localhost:11434"),
            ("http://h:1/?key=x", "query"),
        ] {
            match endpoint(url) {
                Err(EngineError::Remote(RemoteError { kind: RemoteKind::BadUrl, .. })) => {}
                other => panic!("{url:?}: {other:?}"),
            }
            let msg = endpoint(url).unwrap_err().to_string();
            assert!(msg.contains(says), "{url:?}: {msg}");
        }
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let mut c = RemoteConfig::new("http://h", "m");
        c.api_key = Some("sk-secret".into());
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
