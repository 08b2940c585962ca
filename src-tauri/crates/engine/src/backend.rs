//! The seam between what asks for text and what makes it: the local engine
//! here, or a server that speaks the OpenAI-compatible chat API.
use std::sync::mpsc::Receiver;

use crate::engine::Engine;
use crate::error::Result;
use crate::generate::{Event, Prompt, Request};

/// Something that turns a request into a stream of events. A newer
/// `generate` cancels the one still running, as on the local engine.
pub trait Backend: Send + Sync {
    /// Starts `request`; its events end with `Done`, `Cancelled` or `Error`.
    fn generate(&self, request: Request) -> Receiver<Event>;
    /// Computes a prompt's fixed start ahead of time where the backend can;
    /// the reply is the number of tokens cached (0 where it cannot tell).
    fn warm(&self, prompt: Prompt) -> Receiver<Result<usize>>;
    /// Stops the running request, if any.
    fn cancel(&self);
}

impl Backend for Engine {
    fn generate(&self, request: Request) -> Receiver<Event> {
        Engine::generate(self, request)
    }

    fn warm(&self, prompt: Prompt) -> Receiver<Result<usize>> {
        Engine::warm(self, prompt)
    }

    fn cancel(&self) {
        Engine::cancel(self)
    }
}
