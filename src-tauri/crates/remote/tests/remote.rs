//! The remote backend against a stand-in server that streams real SSE:
//! events and their order, cancellation, and the faults a user meets.
mod common;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use cmdbar_engine::error::{RemoteError, RemoteKind};
use cmdbar_engine::{
    Also, Backend, EngineError, Event, FinishReason, Message, Prompt, Request, SamplingParams, Timings,
};
use cmdbar_remote::{Remote, RemoteConfig, NEUTRAL_LOGPROB};
use common::{answer, finish, last_user, piece, serve, stream, usage, Reply};
use serde_json::json;

/// Longer than any test should take: a hang fails instead of waiting.
const LIMIT: Duration = Duration::from_secs(10);

fn remote(base: &str) -> Remote {
    let mut c = RemoteConfig::new(base, "qwen2.5-coder:7b");
    c.read_timeout = Duration::from_secs(5);
    Remote::new(c).unwrap()
}

fn chat(user: &str) -> Prompt {
    Prompt::Chat(vec![Message::new("system", "You write one shell command."), Message::new("user", user)])
}

fn sampled(seed: u64) -> SamplingParams {
    SamplingParams { temperature: 0.7, top_p: 0.95, top_k: 40, seed, ..Default::default() }
}

/// Every event of a request, up to and including its last.
fn events(rx: &Receiver<Event>) -> Vec<Event> {
    let mut all = vec![];
    loop {
        let e = rx.recv_timeout(LIMIT).expect("an event before the limit");
        let last = matches!(e, Event::Done(_) | Event::Cancelled | Event::Error(_));
        all.push(e);
        if last {
            return all;
        }
    }
}

fn done(all: &[Event]) -> &Timings {
    match all.last() {
        Some(Event::Done(t)) => t,
        other => panic!("not done: {other:?}"),
    }
}

fn error(all: &[Event]) -> &RemoteError {
    match all.last() {
        Some(Event::Error(EngineError::Remote(e))) => e,
        other => panic!("no remote error: {other:?}"),
    }
}

#[test]
fn completions_stream_in_order_with_the_request_mapped() {
    // Each answer names the prompt and the seed it was asked with.
    let server = serve(|seen| {
        let which = if last_user(&seen.body).starts_with("Examples") { "also" } else { "main" };
        let seed = seen.body["seed"].to_string();
        let mut events = answer(&["```bash\n", "ls ", "# ", which, " ", &seed, "\n```"], Some(-0.5));
        events.push(usage(20 + seen.body["messages"].to_string().len() % 7, 7, Some(12)));
        stream(events)
    });
    let r = remote(&server.base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    req.completions = vec![SamplingParams::greedy(), sampled(43)];
    req.also = vec![Also {
        prompt: chat("Examples: ls -la\n\nRequest: list files"),
        completions: vec![sampled(44), sampled(45)],
    }];
    req.max_tokens = 64;
    req.stop = vec!["\n\n".into()];
    let all = events(&r.generate(req));

    // Tokens of a completion come before its done event, done events in
    // index order: 0 and 1 from the prompt, 2 and 3 from `also`.
    let mut texts = vec![String::new(); 4];
    let mut order = vec![];
    for e in &all {
        match e {
            Event::Token { index, text } => {
                assert_eq!(order.len(), *index, "a token of {index} after {order:?} were done");
                texts[*index].push_str(text);
            }
            Event::CompletionDone { index, text, finish, tokens, mean_logprob } => {
                assert_eq!(text, &texts[*index]);
                assert_eq!(*finish, FinishReason::Stop);
                assert_eq!(*tokens, 7, "from usage");
                assert!((mean_logprob + 0.5).abs() < 1e-6, "{mean_logprob}");
                order.push(*index);
            }
            _ => {}
        }
    }
    assert_eq!(order, [0, 1, 2, 3]);
    assert_eq!(texts[0], "```bash\nls # main 0\n```");
    assert_eq!(texts[1], "```bash\nls # main 43\n```");
    assert_eq!(texts[2], "```bash\nls # also 44\n```");
    assert_eq!(texts[3], "```bash\nls # also 45\n```");

    let seen = server.requests();
    assert_eq!(seen.len(), 4, "one streamed call per completion");
    assert_eq!(server.most_at_once(), 1, "one at a time unless asked");
    let t = done(&all);
    assert_eq!(t.generated_tokens, 28);
    assert_eq!(t.prompt_tokens, 20 + seen[0].body["messages"].to_string().len() % 7, "the first prompt's, as locally");
    assert_eq!(t.cached_tokens, 12, "the server reported it");
    assert_eq!((t.sample_ms, t.prefill_ms), (0.0, 0.0), "not reported by this server");
    assert!(t.first_token_ms > 0.0 && t.total_ms >= t.first_token_ms, "{t:?}");

    for s in &seen {
        assert_eq!(s.path, "/v1/chat/completions");
        assert_eq!(s.auth, None, "no key, no header");
        let b = &s.body;
        assert_eq!(b["model"], "qwen2.5-coder:7b");
        assert_eq!(b["stream"], true);
        assert_eq!(b["max_tokens"], 64);
        assert_eq!(b["stop"], json!(["\n\n"]));
        assert_eq!(b["logprobs"], true);
        assert_eq!(b["messages"][0], json!({"role": "system", "content": "You write one shell command."}));
    }
    assert_eq!(seen[0].body["temperature"], 0.0);
    assert_eq!(seen[0].body["top_p"], 1.0);
    assert!(seen[0].body.get("top_k").is_none(), "greedy has no top-k");
    let t1 = &seen[1].body;
    assert!((t1["temperature"].as_f64().unwrap() - 0.7).abs() < 1e-6);
    assert!((t1["top_p"].as_f64().unwrap() - 0.95).abs() < 1e-6);
    assert_eq!((t1["top_k"].clone(), t1["seed"].clone()), (json!(40), json!(43)));
    assert_eq!(last_user(&seen[1].body), "list files");
    assert!(last_user(&seen[2].body).starts_with("Examples"));
}

#[test]
fn without_logprobs_or_usage_the_figures_are_neutral_and_warm_sends_nothing() {
    // As llama-cpp-python streams: logprobs null, no usage.
    let server = serve(|_| stream(answer(&["ls", " -la"], None)));
    let r = remote(&server.base);
    assert_eq!(r.warm(chat("x")).recv_timeout(LIMIT).unwrap().unwrap(), 0);
    assert!(server.requests().is_empty(), "warm asked the server");
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let all = events(&r.generate(req));
    match &all[all.len() - 2] {
        Event::CompletionDone { text, tokens, mean_logprob, .. } => {
            assert_eq!(text, "ls -la");
            assert_eq!(*tokens, 2, "one token a piece");
            assert_eq!(*mean_logprob, NEUTRAL_LOGPROB);
        }
        other => panic!("{other:?}"),
    }
    let t = done(&all);
    assert_eq!((t.prompt_tokens, t.cached_tokens, t.generated_tokens), (0, 0, 2));
}

#[test]
fn a_stop_string_ends_the_completion_even_when_the_server_ignores_it() {
    let server = serve(|_| Reply::Stream {
        events: answer(&["```\nls\n```", "\n", "\nAnd", " more", " text", " that", " never", " ends"], None),
        pause: Duration::from_millis(30),
        done: true,
    });
    let r = remote(&server.base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    req.stop = vec!["\n\n".into()];
    let all = events(&r.generate(req));
    let Some(Event::CompletionDone { text, finish, .. }) =
        all.iter().find(|e| matches!(e, Event::CompletionDone { .. }))
    else {
        panic!("{all:?}")
    };
    assert_eq!((text.as_str(), *finish), ("```\nls\n```", FinishReason::StopString));
    done(&all);
    let t0 = Instant::now();
    while server.hang_ups() == 0 && t0.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.hang_ups(), 1, "the rest of the stream was read");
}

/// The stream's second piece comes only after 8 s: a cancel must not wait
/// for it (nor for the read timeout).
#[test]
fn cancel_ends_a_silent_stream_at_once() {
    let server =
        serve(|_| Reply::Stream { events: answer(&["ls", " -la"], None), pause: Duration::from_secs(8), done: true });
    let mut c = RemoteConfig::new(&server.base, "m");
    c.read_timeout = Duration::from_secs(30);
    let r = Remote::new(c).unwrap();
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let rx = r.generate(req);
    // The role event comes at once, the first piece 8 s later: wait for the
    // head to be read, then cancel while the server is silent.
    let t0 = Instant::now();
    while server.requests().is_empty() && t0.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    r.cancel();
    let all = events(&rx);
    assert!(matches!(all.last(), Some(Event::Cancelled)), "{all:?}");
    assert!(asked.elapsed() < Duration::from_millis(500), "cancel took {:?}", asked.elapsed());
}

#[test]
fn cancel_mid_stream_hangs_up_on_the_server() {
    let pieces: Vec<String> = (0..200).map(|i| format!(" w{i}")).collect();
    let server = serve(move |_| Reply::Stream {
        events: answer(&pieces.iter().map(String::as_str).collect::<Vec<_>>(), None),
        pause: Duration::from_millis(20),
        done: true,
    });
    let r = remote(&server.base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let rx = r.generate(req);
    let first = rx.recv_timeout(LIMIT).unwrap();
    assert!(matches!(first, Event::Token { index: 0, .. }), "{first:?}");
    r.cancel();
    let all = events(&rx);
    assert!(matches!(all.last(), Some(Event::Cancelled)), "{all:?}");
    assert!(all.len() < 20, "{} events after the cancel", all.len());
    let t0 = Instant::now();
    while server.hang_ups() == 0 && t0.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.hang_ups(), 1, "the server kept streaming to no one");
}

#[test]
fn a_newer_request_cancels_the_older() {
    let server = serve(|seen| {
        if last_user(&seen.body) == "slow" {
            let pieces: Vec<String> = (0..200).map(|i| format!(" s{i}")).collect();
            Reply::Stream {
                events: answer(&pieces.iter().map(String::as_str).collect::<Vec<_>>(), None),
                pause: Duration::from_millis(20),
                done: true,
            }
        } else {
            stream(answer(&["pwd"], None))
        }
    });
    let r = remote(&server.base);
    let mut slow = Request::chat(vec![]);
    slow.prompt = chat("slow");
    let old = r.generate(slow);
    assert!(matches!(old.recv_timeout(LIMIT).unwrap(), Event::Token { .. }));
    let mut fast = Request::chat(vec![]);
    fast.prompt = chat("fast");
    let new = r.generate(fast);
    let old_events = events(&old);
    assert!(matches!(old_events.last(), Some(Event::Cancelled)), "{old_events:?}");
    let new_events = events(&new);
    done(&new_events);
    assert!(matches!(&new_events[new_events.len() - 2], Event::CompletionDone { text, .. } if text == "pwd"));
}

#[test]
fn a_refused_connection_says_the_server_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let r = remote(&base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let all = events(&r.generate(req));
    let e = error(&all);
    assert_eq!(e.kind, RemoteKind::Unreachable, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("cannot reach the server") && msg.contains(&base), "{msg}");
    assert!(msg.to_lowercase().contains("refused"), "the system's reason: {msg}");
}

#[test]
fn a_silent_server_times_out_instead_of_hanging() {
    let server = serve(|_| Reply::Silent(Duration::from_secs(8)));
    let mut c = RemoteConfig::new(&server.base, "m");
    c.read_timeout = Duration::from_millis(300);
    let r = Remote::new(c).unwrap();
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let t0 = Instant::now();
    let all = events(&r.generate(req));
    assert_eq!(error(&all).kind, RemoteKind::Timeout, "{:?}", all.last());
    assert!(error(&all).to_string().contains("did not answer in time"));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[test]
fn a_stream_that_stalls_times_out() {
    let server = serve(|_| Reply::Stream {
        events: vec![piece("ls", None), piece(" -la", None), finish("stop")],
        pause: Duration::from_secs(8),
        done: true,
    });
    let mut c = RemoteConfig::new(&server.base, "m");
    c.read_timeout = Duration::from_millis(300);
    let r = Remote::new(c).unwrap();
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let t0 = Instant::now();
    let all = events(&r.generate(req));
    assert_eq!(error(&all).kind, RemoteKind::Timeout, "{:?}", all.last());
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[test]
fn a_malformed_stream_is_a_bad_response() {
    for (what, bytes) in [
        ("cut JSON", &b"data: {\"choices\": [{\"delta\": {\"content\": \"ls\"\n\ndata: [DONE]\n\n"[..]),
        ("the wrong shape", b"data: {\"choices\": \"ls\"}\n\ndata: [DONE]\n\n"),
        ("not UTF-8", b"data: \xff\xfe\n\n"),
        ("no finish", b"data: {\"choices\": [{\"delta\": {\"content\": \"ls\"}}]}\n\n"),
        ("an HTML page", b"<html><body>It works!</body></html>"),
    ] {
        let server = serve(move |_| Reply::Raw(bytes.to_vec()));
        let r = remote(&server.base);
        let mut req = Request::chat(vec![]);
        req.prompt = chat("list files");
        let all = events(&r.generate(req));
        let e = error(&all);
        assert_eq!(e.kind, RemoteKind::BadResponse, "{what}: {e}");
        assert!(e.to_string().contains("cannot read"), "{what}: {e}");
    }
}

#[test]
fn an_error_inside_the_stream_is_reported() {
    let server = serve(|_| {
        stream(vec![piece("ls", None), json!({"error": {"message": "out of memory", "code": 500}}).to_string()])
    });
    let r = remote(&server.base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let all = events(&r.generate(req));
    assert!(error(&all).to_string().contains("out of memory"), "{}", error(&all));
}

#[test]
fn a_wrong_key_is_unauthorized_and_the_right_one_works() {
    let server = serve(|seen| {
        if seen.auth.as_deref() == Some("Bearer sk-right") {
            stream(answer(&["ls"], None))
        } else {
            Reply::Status(
                401,
                json!({"error": {"message": "Invalid API key", "type": "invalid_request_error"}}).to_string(),
            )
        }
    });
    let ask = |key: Option<&str>| {
        let mut c = RemoteConfig::new(&server.base, "m");
        c.api_key = key.map(str::to_string);
        let r = Remote::new(c).unwrap();
        let mut req = Request::chat(vec![]);
        req.prompt = chat("list files");
        events(&r.generate(req))
    };
    for key in [None, Some("sk-wrong")] {
        let all = ask(key);
        let e = error(&all);
        assert_eq!(e.kind, RemoteKind::Unauthorized, "{e}");
        let msg = e.to_string();
        assert!(msg.contains("refused the API key") && msg.contains("Invalid API key"), "{msg}");
    }
    done(&ask(Some("sk-right")));
}

#[test]
fn other_statuses_carry_the_servers_message() {
    let server = serve(|_| {
        Reply::Status(404, json!({"error": {"message": "model 'qwen9' not found, try pulling it first"}}).to_string())
    });
    let r = remote(&server.base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let all = events(&r.generate(req));
    let e = error(&all);
    assert_eq!(e.kind, RemoteKind::Status(404));
    assert!(e.to_string().contains("HTTP 404: model 'qwen9' not found"), "{e}");
}

#[test]
fn raw_and_token_prompts_are_refused_without_a_call() {
    let server = serve(|_| stream(answer(&["ls"], None)));
    let r = remote(&server.base);
    for prompt in [Prompt::Raw("list files".into()), Prompt::Tokens(vec![1, 2, 3])] {
        let mut req = Request::chat(vec![]);
        req.prompt = prompt;
        let all = events(&r.generate(req));
        assert_eq!(error(&all).kind, RemoteKind::Unsupported);
    }
    assert!(server.requests().is_empty());
}

/// `Request::enough`: a completion the caller marks ends at its next piece
/// (the stream is hung up on); one marked before its turn is not asked for.
#[test]
fn a_completion_marked_enough_ends_and_the_next_goes_on() {
    let server = serve(|seen| {
        if seen.body["seed"] == 0 {
            let pieces: Vec<String> = (0..200).map(|i| format!(" w{i}")).collect();
            Reply::Stream {
                events: answer(&pieces.iter().map(String::as_str).collect::<Vec<_>>(), None),
                pause: Duration::from_millis(20),
                done: true,
            }
        } else {
            stream(answer(&["pwd"], None))
        }
    });
    let r = remote(&server.base);
    let enough = std::sync::Arc::new(cmdbar_engine::Enough::new(3));
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    req.completions = vec![SamplingParams::greedy(), sampled(1), sampled(2)];
    req.enough = Some(enough.clone());
    enough.set(2);
    let rx = r.generate(req);
    assert!(matches!(rx.recv_timeout(LIMIT).unwrap(), Event::Token { index: 0, .. }));
    enough.set(0);
    let all = events(&rx);
    let ends: Vec<(usize, String, FinishReason)> = all
        .iter()
        .filter_map(|e| match e {
            Event::CompletionDone { index, text, finish, .. } => Some((*index, text.clone(), *finish)),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 3, "{all:?}");
    assert_eq!(ends[0].2, FinishReason::Enough);
    assert!(ends[0].1.split_whitespace().count() < 20, "{}", ends[0].1);
    assert_eq!((ends[1].1.as_str(), ends[1].2), ("pwd", FinishReason::Stop));
    assert_eq!((ends[2].1.as_str(), ends[2].2), ("", FinishReason::Enough));
    done(&all);
    assert_eq!(server.requests().len(), 2, "the third was marked before its turn");
    let t0 = Instant::now();
    while server.hang_ups() == 0 && t0.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.hang_ups(), 1);
}

/// `parallel`: completions stream at once, their tokens interleaved; the
/// done events still come in index order though the first ends last.
#[test]
fn parallel_completions_interleave_and_end_in_order() {
    let server = serve(|seen| {
        let seed = seen.body["seed"].as_u64().unwrap();
        let tag = format!("{seed}");
        let pieces = ["x", &tag, "y", &tag, "z"];
        let pause = Duration::from_millis(if seed == 0 { 80 } else { 15 });
        Reply::Stream { events: answer(&pieces, None), pause, done: true }
    });
    let mut c = RemoteConfig::new(&server.base, "m");
    c.parallel = 3;
    let r = Remote::new(c).unwrap();
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    req.completions = vec![SamplingParams::greedy(), sampled(1), sampled(2)];
    req.also = vec![Also { prompt: chat("other"), completions: vec![sampled(3)] }];
    let all = events(&r.generate(req));
    let t = done(&all).clone();
    let mut texts = vec![String::new(); 4];
    let mut order = vec![];
    let mut others_before_first_done = 0;
    for e in &all {
        match e {
            Event::Token { index, text } => {
                texts[*index].push_str(text);
                if *index > 0 && order.is_empty() {
                    others_before_first_done += 1;
                }
            }
            Event::CompletionDone { index, text, .. } => {
                assert_eq!(text, &texts[*index]);
                order.push(*index);
            }
            _ => {}
        }
    }
    assert_eq!(order, [0, 1, 2, 3]);
    assert_eq!(texts, ["x0y0z", "x1y1z", "x2y2z", "x3y3z"]);
    assert!(others_before_first_done > 0, "no interleaving");
    assert_eq!(server.most_at_once(), 3);
    assert_eq!(t.generated_tokens, 20);
}

/// One parallel stream failing ends the request and hangs up on the rest.
#[test]
fn a_failing_parallel_stream_stops_the_others() {
    let server = serve(|seen| {
        if seen.body["seed"] == 0 {
            let pieces: Vec<String> = (0..200).map(|i| format!(" w{i}")).collect();
            Reply::Stream {
                events: answer(&pieces.iter().map(String::as_str).collect::<Vec<_>>(), None),
                pause: Duration::from_millis(20),
                done: true,
            }
        } else {
            std::thread::sleep(Duration::from_millis(100));
            Reply::Status(500, json!({"error": {"message": "CUDA out of memory"}}).to_string())
        }
    });
    let mut c = RemoteConfig::new(&server.base, "m");
    c.parallel = 2;
    let r = Remote::new(c).unwrap();
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    req.completions = vec![SamplingParams::greedy(), sampled(1)];
    let all = events(&r.generate(req));
    let e = error(&all);
    assert_eq!(e.kind, RemoteKind::Status(500));
    assert!(e.to_string().contains("CUDA out of memory"));
    let t0 = Instant::now();
    while server.hang_ups() == 0 && t0.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.hang_ups(), 1, "the first stream went on");
}

/// llama.cpp's server sends its own timings in the last event: its prompt
/// time and the prompt tokens it reused from its cache.
#[test]
fn llama_cpp_timings_fill_prefill_and_cached_tokens() {
    let server = serve(|_| {
        let mut events = answer(&["ls"], None);
        events.push(
            json!({"choices": [], "timings": {"prompt_n": 9, "prompt_ms": 12.5, "cache_n": 310, "predicted_n": 1}})
                .to_string(),
        );
        stream(events)
    });
    let r = remote(&server.base);
    let mut req = Request::chat(vec![]);
    req.prompt = chat("list files");
    let all = events(&r.generate(req));
    let t = done(&all);
    assert_eq!((t.prefill_ms, t.cached_tokens), (12.5, 310));
}
