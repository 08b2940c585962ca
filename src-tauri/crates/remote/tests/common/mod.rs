//! A stand-in OpenAI-compatible server on std's TcpListener: it reads each
//! request, records it, and answers as the test's handler says, streaming
//! real SSE over HTTP/1.1.
#![allow(dead_code)]
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub auth: Option<String>,
    pub body: Value,
}

pub enum Reply {
    /// Each entry is one `data:` event; `pause` comes before each, and
    /// `[DONE]` after the last unless `done` is false.
    Stream { events: Vec<String>, pause: Duration, done: bool },
    /// A status line and a JSON body.
    Status(u16, String),
    /// Read the request, then say nothing for this long.
    Silent(Duration),
    /// A 200 event-stream head, then these bytes, then close.
    Raw(Vec<u8>),
}

pub struct StandIn {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Streams the client hung up on before they were all sent.
    pub hung_up: Arc<AtomicUsize>,
    /// Requests being answered now, and the most at once.
    active: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl StandIn {
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn hang_ups(&self) -> usize {
        self.hung_up.load(Ordering::SeqCst)
    }

    /// The most requests answered at the same time.
    pub fn most_at_once(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

pub fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hung_up = Arc::new(AtomicUsize::new(0));
    let (active, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let handler = Arc::new(handler);
    let (s, h, a, m) = (seen.clone(), hung_up.clone(), active.clone(), most.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (s, h, a, m, handler) = (s.clone(), h.clone(), a.clone(), m.clone(), handler.clone());
            std::thread::spawn(move || {
                let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                respond(conn, &s, &h, &*handler, &mut Active(&a, false));
            });
        }
    });
    StandIn { base, seen, hung_up, active, most }
}

/// A request being answered, counted until just before its last byte is
/// written: once the client has it, it may open the next request before
/// this thread runs again, and that one must not count as a fourth.
struct Active<'a>(&'a AtomicUsize, bool);

impl Active<'_> {
    fn end(&mut self) {
        if !std::mem::replace(&mut self.1, true) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

fn respond(
    mut conn: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    hung_up: &AtomicUsize,
    handler: &dyn Fn(&Seen) -> Reply,
    active: &mut Active,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let (mut length, mut auth) = (0usize, None);
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => auth = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Seen { path, auth, body: serde_json::from_slice(&body).unwrap_or(Value::Null) };
    seen.lock().unwrap().push(request.clone());
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    match handler(&request) {
        Reply::Stream { events, pause, done } => {
            let mut out = vec![head.to_string()];
            out.extend(events.iter().map(|e| format!("data: {e}\n\n")));
            if done {
                out.push("data: [DONE]\n\n".into());
            }
            for (i, part) in out.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(pause);
                }
                if i + 1 == out.len() {
                    active.end();
                }
                if conn.write_all(part.as_bytes()).and_then(|_| conn.flush()).is_err() {
                    hung_up.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
        }
        Reply::Status(code, body) => {
            let _ = write!(
                conn,
                "HTTP/1.1 {code} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Reply::Silent(d) => std::thread::sleep(d),
        Reply::Raw(bytes) => {
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&bytes);
        }
    }
}

/// One content piece, with its logprob when given.
pub fn piece(text: &str, logprob: Option<f32>) -> String {
    let lp = logprob.map(|l| json!({"content": [{"token": text, "logprob": l, "top_logprobs": []}]}));
    json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}, "logprobs": lp, "finish_reason": null}]})
        .to_string()
}

pub fn finish(reason: &str) -> String {
    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}).to_string()
}

/// The usage event OpenAI sends last when asked (`include_usage`).
pub fn usage(prompt: usize, completion: usize, cached: Option<usize>) -> String {
    let mut u = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    if let Some(c) = cached {
        u["prompt_tokens_details"] = json!({"cached_tokens": c});
    }
    json!({"choices": [], "usage": u}).to_string()
}

/// A whole answer: the role first, as servers send it, then the pieces,
/// then the finish reason.
pub fn answer(pieces: &[&str], logprob: Option<f32>) -> Vec<String> {
    let mut events =
        vec![json!({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}).to_string()];
    events.extend(pieces.iter().map(|p| piece(p, logprob)));
    events.push(finish("stop"));
    events
}

pub fn stream(events: Vec<String>) -> Reply {
    Reply::Stream { events, pause: Duration::ZERO, done: true }
}

pub fn last_user(body: &Value) -> String {
    body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("").to_string()
}
