//! The client side, for the CLI: connect if a server listens, ask, stream.
use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use cmdbar_engine::Timings;
use cmdbar_suggest::{Candidate, Context, Options};

use crate::server::read_line;
use crate::{ClientMsg, ErrorKind, ServerMsg, VERSION};

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    model_path: Option<PathBuf>,
}

/// A finished answer from the server.
#[derive(Debug, Clone)]
pub struct Answer {
    pub candidates: Vec<Candidate>,
    pub hidden: usize,
    pub notices: Vec<String>,
    pub timings: Timings,
    pub model: String,
    pub model_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nobody answers there: no app running, or a stale socket file.
    #[error("no Cmdbar answers on {0}")]
    NotServing(PathBuf),
    #[error("the running Cmdbar speaks protocol {server}, this one {VERSION}; update the older one")]
    Version { server: u32 },
    /// The server hung up before the answer was complete; `shown`
    /// candidates had already arrived.
    #[error("the running Cmdbar quit mid-request")]
    Gone { shown: usize },
    #[error("{message}")]
    Server { kind: ErrorKind, message: String },
    #[error("the running Cmdbar sent something unreadable: {0}")]
    Protocol(String),
    #[error("talking to the running Cmdbar: {0}")]
    Io(#[from] std::io::Error),
}

impl Client {
    /// Connects and reads the server's greeting. `NotServing` when no
    /// server listens (the caller falls back to loading the model itself).
    pub fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path).map_err(|_| ClientError::NotServing(path.to_path_buf()))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        match read_line(&mut reader)? {
            // A server that hangs up before greeting turned us away (a
            // wrong uid) or is shutting down: as good as none.
            None => Err(ClientError::NotServing(path.to_path_buf())),
            Some(line) => match serde_json::from_str::<ServerMsg>(&line) {
                Ok(ServerMsg::Hello { v, model_path, .. }) if v == VERSION => {
                    Ok(Self { reader, writer: stream, model_path })
                }
                Ok(ServerMsg::Hello { v, .. }) => Err(ClientError::Version { server: v }),
                // An older or newer server whose greeting we cannot read.
                _ => Err(ClientError::Protocol(line.trim().chars().take(200).collect())),
            },
        }
    }

    /// The server's loaded model, None while it has none.
    pub fn model_path(&self) -> Option<&Path> {
        self.model_path.as_deref()
    }

    /// A handle that cancels the request from another thread.
    pub fn canceller(&self) -> std::io::Result<Canceller> {
        Ok(Canceller(self.writer.try_clone()?))
    }

    /// Asks, calling `on_candidate` as each candidate arrives.
    pub fn suggest(
        mut self,
        query: &str,
        context: &Context,
        options: &Options,
        mut on_candidate: impl FnMut(&Candidate),
    ) -> Result<Answer, ClientError> {
        let msg =
            ClientMsg::Suggest { v: VERSION, query: query.to_string(), context: context.clone(), options: options.clone() };
        write_msg(&mut self.writer, &msg)?;
        let mut candidates = vec![];
        loop {
            let Some(line) = read_line(&mut self.reader).map_err(|_| ClientError::Gone { shown: candidates.len() })?
            else {
                return Err(ClientError::Gone { shown: candidates.len() });
            };
            match serde_json::from_str::<ServerMsg>(&line) {
                Ok(ServerMsg::Candidate { candidate }) => {
                    on_candidate(&candidate);
                    candidates.push(candidate);
                }
                Ok(ServerMsg::Done { candidates, hidden, notices, timings, model, model_path }) => {
                    return Ok(Answer { candidates, hidden, notices, timings, model, model_path })
                }
                Ok(ServerMsg::Error { kind, message }) => return Err(ClientError::Server { kind, message }),
                Ok(ServerMsg::Hello { .. }) | Err(_) => {
                    return Err(ClientError::Protocol(line.trim().chars().take(200).collect()))
                }
            }
        }
    }
}

/// Sends `cancel` for the connection's request.
pub struct Canceller(UnixStream);

impl Canceller {
    pub fn cancel(mut self) -> std::io::Result<()> {
        write_msg(&mut self.0, &ClientMsg::Cancel { v: VERSION })
    }
}

fn write_msg(w: &mut UnixStream, msg: &ClientMsg) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}
