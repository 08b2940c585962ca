//! The engine thread. Requests go in over a channel; each gets its own stream
//! of events back. A new request cancels the one running.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::device::DevicePreference;
use crate::error::{EngineError, Result};
use crate::generate::{self, Cancel, Event, Prompt, Request, Scratch};
use crate::model::{Model, ModelInfo};

/// The context cap the app and the CLI use unless told otherwise: the
/// prompt, examples and answers fit well inside it, and its KV cache stays
/// small. Defined in `cmdbar-gguf`, where the fit estimate reads it too.
pub use cmdbar_gguf::DEFAULT_MAX_CONTEXT;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub device: DevicePreference,
    /// Caps the context below the model's own, bounding KV-cache memory.
    pub max_context: usize,
    /// Drafts of this many tokens wherever a draft is found, in place of the
    /// length this machine's measured costs pick (tests that must see drafts
    /// checked; comparisons of lengths). `None`: by cost.
    pub draft_len: Option<usize>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { device: DevicePreference::Auto, max_context: DEFAULT_MAX_CONTEXT, draft_len: None }
    }
}

/// Called on the engine thread with the share of the model loaded, 0 to 1.
pub type Progress = Box<dyn Fn(f32) + Send>;

enum Job {
    Load {
        path: PathBuf,
        reply: Sender<Result<ModelInfo>>,
        progress: Option<Progress>,
    },
    Generate {
        epoch: u64,
        request: Request,
        events: Sender<Event>,
    },
    /// Computes `prompt` into the cache, so a request that starts with it
    /// only pays for the rest.
    Warm {
        prompt: Prompt,
        done: Sender<Result<usize>>,
    },
    /// Tests: the next generation panics on the engine thread.
    #[cfg(feature = "fault-injection")]
    PanicNextGenerate,
}

pub struct Engine {
    jobs: Option<Sender<Job>>,
    epoch: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

struct EpochCancel<'a> {
    current: &'a AtomicU64,
    mine: u64,
}

impl Cancel for EpochCancel<'_> {
    #[inline]
    fn cancelled(&self) -> bool {
        self.current.load(Ordering::Relaxed) != self.mine
    }
}

impl Engine {
    pub fn spawn(config: EngineConfig) -> Self {
        let (tx, rx) = channel::<Job>();
        let epoch = Arc::new(AtomicU64::new(0));
        let shared = epoch.clone();
        let thread = std::thread::Builder::new()
            .name("cmdbar-engine".into())
            .spawn(move || {
                // The engine runs inside its own thread pool, so each matmul's
                // fork-join stays among pool threads instead of handing work
                // to the global pool and sleeping on it ~200 times a token.
                match rayon::ThreadPoolBuilder::new().thread_name(|i| format!("cmdbar-engine-{i}")).build() {
                    Ok(pool) => pool.install(move || worker(config, rx, shared)),
                    Err(e) => {
                        tracing::warn!("no thread pool for the engine ({e}); using the global one");
                        worker(config, rx, shared)
                    }
                }
            })
            .expect("spawn engine thread");
        Self { jobs: Some(tx), epoch, thread: Some(thread) }
    }

    fn send(&self, job: Job) -> Result<()> {
        self.jobs.as_ref().ok_or(EngineError::Disconnected)?.send(job).map_err(|_| EngineError::Disconnected)
    }

    /// Loads a model; the current one stays active if this one fails.
    pub fn load(&self, path: impl Into<PathBuf>) -> Receiver<Result<ModelInfo>> {
        self.load_inner(path.into(), None)
    }

    /// As `load`, calling `progress` as the weights are read.
    pub fn load_with_progress(
        &self,
        path: impl Into<PathBuf>,
        progress: impl Fn(f32) + Send + 'static,
    ) -> Receiver<Result<ModelInfo>> {
        self.load_inner(path.into(), Some(Box::new(progress)))
    }

    fn load_inner(&self, path: PathBuf, progress: Option<Progress>) -> Receiver<Result<ModelInfo>> {
        let (reply, rx) = channel();
        if let Err(e) = self.send(Job::Load { path, reply: reply.clone(), progress }) {
            let _ = reply.send(Err(e));
        }
        rx
    }

    /// Starts `request`, cancelling any request still running.
    pub fn generate(&self, request: Request) -> Receiver<Event> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let (events, rx) = channel();
        if let Err(e) = self.send(Job::Generate { epoch, request, events: events.clone() }) {
            let _ = events.send(Event::Error(e));
        }
        rx
    }

    /// Puts `prompt` (a request's fixed prefix) into the model's cache now,
    /// so the first request after a load is as fast as the next. It never
    /// cancels a running request; the reply is the number of tokens cached.
    pub fn warm(&self, prompt: Prompt) -> Receiver<Result<usize>> {
        let (done, rx) = channel();
        if let Err(e) = self.send(Job::Warm { prompt, done: done.clone() }) {
            let _ = done.send(Err(e));
        }
        rx
    }

    /// Makes the next generation panic on the engine thread, to test that a
    /// crash is caught, reported and recovered from.
    #[cfg(feature = "fault-injection")]
    pub fn inject_panic(&self) {
        let _ = self.send(Job::PanicNextGenerate);
    }

    /// Stops the running request, if any.
    pub fn cancel(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cancel();
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn worker(config: EngineConfig, jobs: Receiver<Job>, epoch: Arc<AtomicU64>) {
    let mut model: Option<Model> = None;
    let mut scratch = Scratch::default();
    #[cfg(feature = "fault-injection")]
    let mut fault = false;
    while let Ok(job) = jobs.recv() {
        match job {
            #[cfg(feature = "fault-injection")]
            Job::PanicNextGenerate => fault = true,
            Job::Load { path, reply, progress } => {
                let report = |f: f32| {
                    if let Some(p) = &progress {
                        p(f)
                    }
                };
                let loaded = catch_unwind(AssertUnwindSafe(|| {
                    Model::load_with_progress(&path, config.device, config.max_context, &report)
                }))
                .unwrap_or_else(|p| Err(panic_error("loading the model", p)));
                let _ = reply.send(loaded.map(|mut m| {
                    if let Some(k) = config.draft_len {
                        m.costs = crate::lookup::Costs::pinned(k);
                    }
                    let info = m.info.clone();
                    model = Some(m);
                    info
                }));
            }
            Job::Warm { prompt, done } => {
                let Some(m) = model.as_mut() else {
                    let _ = done.send(Err(EngineError::NoModel));
                    continue;
                };
                let outcome = catch_unwind(AssertUnwindSafe(|| generate::warm(m, &prompt, &mut scratch)))
                    .unwrap_or_else(|p| Err(panic_error("warming the cache", p)));
                if matches!(outcome, Err(EngineError::Crashed(_))) {
                    model = None;
                    scratch = Scratch::default();
                }
                let _ = done.send(outcome);
            }
            Job::Generate { epoch: mine, request, events } => {
                let cancel = EpochCancel { current: &epoch, mine };
                if cancel.cancelled() {
                    let _ = events.send(Event::Cancelled);
                    continue;
                }
                let Some(m) = model.as_mut() else {
                    let _ = events.send(Event::Error(EngineError::NoModel));
                    continue;
                };
                let mut emit = |e| {
                    let _ = events.send(e);
                };
                #[cfg(feature = "fault-injection")]
                let inject = std::mem::take(&mut fault);
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    #[cfg(feature = "fault-injection")]
                    if inject {
                        panic!("injected fault");
                    }
                    generate::run(m, &request, &cancel, &mut scratch, &mut emit)
                }));
                match outcome {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => emit(Event::Cancelled),
                    Ok(Err(e)) => emit(Event::Error(e)),
                    Err(p) => {
                        // The model's state may be half-updated: drop it.
                        model = None;
                        scratch = Scratch::default();
                        emit(Event::Error(panic_error("generating", p)));
                    }
                }
            }
        }
    }
}

fn panic_error(what: &str, payload: Box<dyn std::any::Any + Send>) -> EngineError {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!("engine panicked while {what}: {msg}");
    EngineError::Crashed(format!("{what} ({msg})"))
}
