//! The server side: bind (replacing a stale socket), check each peer's uid,
//! serve each connection on a thread of its own.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cmdbar_engine::ModelInfo;
use cmdbar_suggest::examples::Examples;
use cmdbar_suggest::{Stop, SuggestError};

use crate::{ClientMsg, ErrorKind, ServerMsg, MAX_LINE, VERSION};

/// What the server answers with: the engine and, once loaded, its model.
pub trait Backend: Send + Sync + 'static {
    /// The local engine or a server's (`cmdbar_engine::Backend`); the same
    /// object for every request, so a cancel stops only its own.
    fn engine(&self) -> &dyn cmdbar_engine::Backend;
    /// The loaded model and the prompt's examples, or why none is loaded.
    fn ready(&self) -> Result<Ready, String>;
}

pub struct Ready {
    pub info: ModelInfo,
    pub examples: Option<Arc<Examples>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("another Cmdbar already answers on {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    #[error("socket {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    uid: u32,
}

/// A client that connects and says nothing is dropped after this.
const FIRST_LINE_WAIT: Duration = Duration::from_secs(10);

impl Server {
    /// Binds `path` for peers of this process's uid.
    pub fn bind(path: &Path) -> Result<Self, ServerError> {
        Self::bind_for(path, nix::unistd::getuid().as_raw())
    }

    /// Binds `path` for peers of `uid` only (tests use another uid to see
    /// a wrong peer turned away).
    pub fn bind_for(path: &Path, uid: u32) -> Result<Self, ServerError> {
        let io = |source| ServerError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(io)?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_socket() => return Err(ServerError::NotASocket(path.to_path_buf())),
            Ok(_) => match UnixStream::connect(path) {
                Ok(_) => return Err(ServerError::InUse(path.to_path_buf())),
                // Left by a server that died: nobody listens, so replace it.
                Err(_) => std::fs::remove_file(path).map_err(io)?,
            },
            Err(_) => {}
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(Self { listener, path: path.to_path_buf(), uid })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves connections on this thread until the listener fails.
    pub fn serve(&self, backend: Arc<dyn Backend>) {
        for conn in self.listener.incoming() {
            let conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("socket accept: {e}");
                    continue;
                }
            };
            match peer_uid(&conn) {
                Ok(uid) if uid == self.uid => {}
                Ok(uid) => {
                    tracing::warn!("socket: turned away a peer of uid {uid}");
                    continue;
                }
                Err(e) => {
                    tracing::warn!("socket: no peer credentials ({e}); turned away");
                    continue;
                }
            }
            let backend = backend.clone();
            let spawned = std::thread::Builder::new().name("cmdbar-socket-conn".into()).spawn(move || {
                if let Err(e) = connection(conn, &*backend) {
                    tracing::debug!("socket connection: {e}");
                }
            });
            if let Err(e) = spawned {
                tracing::warn!("socket: no thread for a connection: {e}");
            }
        }
    }

    /// Serves on a thread of its own.
    pub fn spawn(self, backend: Arc<dyn Backend>) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new().name("cmdbar-socket".into()).spawn(move || self.serve(backend))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_uid(s: &UnixStream) -> nix::Result<u32> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    Ok(getsockopt(s, PeerCredentials)?.uid())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_uid(s: &UnixStream) -> nix::Result<u32> {
    Ok(nix::unistd::getpeereid(s)?.0.as_raw())
}

fn send(w: &mut impl Write, msg: &ServerMsg) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one line of at most MAX_LINE bytes; None at the end.
pub(crate) fn read_line(r: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.take(MAX_LINE + 1).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && n as u64 > MAX_LINE {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long"));
    }
    String::from_utf8(buf).map(Some).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn error(kind: ErrorKind, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error { kind, message: message.into() }
}

fn connection(conn: UnixStream, backend: &dyn Backend) -> std::io::Result<()> {
    let mut out = conn.try_clone()?;
    let hello = ServerMsg::Hello {
        v: VERSION,
        server: format!("cmdbar {}", env!("CARGO_PKG_VERSION")),
        model_path: backend.ready().ok().map(|r| r.info.path),
    };
    send(&mut out, &hello)?;
    conn.set_read_timeout(Some(FIRST_LINE_WAIT))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let first = match read_line(&mut reader) {
        Ok(Some(l)) => l,
        Ok(None) => return Ok(()),
        Err(e) => return send(&mut out, &error(ErrorKind::Protocol, e.to_string())),
    };
    let (query, ctx, mut opts) = match serde_json::from_str::<ClientMsg>(&first) {
        Ok(ClientMsg::Suggest { v, .. }) | Ok(ClientMsg::Cancel { v }) if v != VERSION => {
            let msg = format!("this Cmdbar speaks protocol {VERSION}, the client {v}; update the older one");
            return send(&mut out, &error(ErrorKind::Version, msg));
        }
        Ok(ClientMsg::Suggest { query, context, options, .. }) => (query, context, options),
        Ok(ClientMsg::Cancel { .. }) => return Ok(()),
        Err(e) => return send(&mut out, &error(ErrorKind::Protocol, format!("not a request: {e}"))),
    };
    // A client's numbers are bounded here, not trusted.
    opts.candidates = opts.candidates.clamp(1, 10);
    opts.max_tokens = opts.max_tokens.clamp(1, 512);
    opts.examples = opts.examples.min(10);
    let ready = match backend.ready() {
        Ok(r) => r,
        Err(why) => return send(&mut out, &error(ErrorKind::NotReady, why)),
    };
    let prepared = match cmdbar_suggest::prepare_with(&ctx, &query, &opts, &ready.info, ready.examples.as_deref()) {
        Ok(p) => p,
        Err(e) => return send(&mut out, &failure(&e)),
    };
    let engine = backend.engine();
    let stop = Stop::default();
    conn.set_read_timeout(None)?;
    let result = std::thread::scope(|s| {
        // A cancel line or the client hanging up stops the request; the
        // read ends when the request is over and the socket is shut down.
        s.spawn(|| {
            loop {
                match read_line(&mut reader) {
                    Ok(Some(l)) if !matches!(serde_json::from_str(&l), Ok(ClientMsg::Cancel { .. })) => continue,
                    _ => break,
                }
            }
            stop.stop(engine);
        });
        let mut gone = false;
        let result = cmdbar_suggest::suggest_with(engine, prepared, &stop, |c| {
            if !gone && send(&mut out, &ServerMsg::Candidate { candidate: c.clone() }).is_err() {
                gone = true;
                stop.stop(engine);
            }
        });
        let end = match &result {
            Ok(s) => ServerMsg::Done {
                candidates: s.candidates.clone(),
                hidden: s.hidden,
                notices: s.notices.clone(),
                timings: s.timings.clone(),
                model: ready.info.name.clone(),
                model_path: ready.info.path.clone(),
            },
            Err(e) => failure(e),
        };
        let sent = send(&mut out, &end);
        let _ = conn.shutdown(std::net::Shutdown::Both);
        sent
    });
    result
}

fn failure(e: &SuggestError) -> ServerMsg {
    use SuggestError::*;
    let kind = match e {
        EmptyQuery | NotARequest(_) | ContextTooSmall { .. } | EmptyCommand | CommandTooLong { .. } | BadCommand(_) => {
            ErrorKind::Request
        }
        NoCommand => ErrorKind::NoCommand,
        Cancelled => ErrorKind::Cancelled,
        Engine(_) => ErrorKind::Engine,
    };
    error(kind, e.to_string())
}
