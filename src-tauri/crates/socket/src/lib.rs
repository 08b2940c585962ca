//! The running app's warm engine, for the CLI and the shell widget.
//!
//! A Unix socket in the user's runtime folder, mode 0600, whose server
//! talks only to a peer of its own uid. One request a connection, as JSON
//! lines: the server greets (`hello`, with its protocol version), the
//! client sends `suggest`, the server streams `candidate`s and ends with
//! `done` or `error`. A client's `cancel` line, or its hanging up, stops
//! the request (and only that request) on the engine.
#![cfg(unix)]

mod client;
mod server;

pub use client::{Answer, Canceller, Client, ClientError};
pub use server::{Backend, Ready, Server, ServerError};

use std::path::PathBuf;

use cmdbar_suggest::{Candidate, Context, Options};
use cmdbar_engine::Timings;
use serde::{Deserialize, Serialize};

/// Bumped on any change a peer of the other version would misread.
pub const VERSION: u32 = 1;

/// One line is at most this long; a longer one is a bad peer.
pub const MAX_LINE: u64 = 256 << 10;

/// Client to server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClientMsg {
    Suggest { v: u32, query: String, context: Context, options: Options },
    Cancel { v: u32 },
}

/// Server to client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ServerMsg {
    /// `model_path`: the model loaded now, if any, so a client that asked
    /// for another one can load it itself.
    Hello { v: u32, server: String, model_path: Option<PathBuf> },
    Candidate { candidate: Candidate },
    /// `candidates`: all of them, ranked (by then agreement among the
    /// completions has been counted); the streamed ones came in arrival order.
    Done {
        candidates: Vec<Candidate>,
        hidden: usize,
        notices: Vec<String>,
        timings: Timings,
        model: String,
        model_path: PathBuf,
    },
    Error { kind: ErrorKind, message: String },
}

/// Why a request failed, so a client can act on it (fall back, exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The peer speaks another protocol version.
    Version,
    /// A line that is not a request.
    Protocol,
    /// No model is loaded yet (loading, missing or failed).
    NotReady,
    /// The request itself is bad: empty, not a task.
    Request,
    /// The model gave no usable command.
    NoCommand,
    Cancelled,
    /// The engine failed.
    Engine,
}

/// Where the socket is: `$CMDBAR_SOCKET`, else `cmdbar.sock` in the user's
/// runtime folder (`$XDG_RUNTIME_DIR`, 0700 by the system), else in
/// `cmdbar-<uid>` under the temporary folder (on macOS `$TMPDIR`, which is
/// the user's own).
pub fn socket_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CMDBAR_SOCKET") {
        return PathBuf::from(p);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("cmdbar.sock");
    }
    std::env::temp_dir().join(format!("cmdbar-{}", nix::unistd::getuid())).join("cmdbar.sock")
}
