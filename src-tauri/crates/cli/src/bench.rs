//! `cmdbar bench`: what a user feels (load, time to a command) and what the
//! engine does (prefill and decode speed). Medians of several runs after a
//! warm-up; text table or one JSON object.
use std::time::Instant;

use cmdbar_engine::{Event, Prompt, Request, SamplingParams, Timings};
use cmdbar_suggest::{Context, Options};
use serde::Serialize;

use crate::{start, ModelArgs};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Prompt length for the prefill figure, in tokens (about).
    #[arg(long, default_value_t = 200)]
    prompt_tokens: usize,
    /// Tokens to decode for the decode figure.
    #[arg(long, default_value_t = 64)]
    decode_tokens: usize,
    /// Measured runs per figure (after one warm-up).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Requests timed end to end, taken in turn (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "list all files in the current directory,show free disk space,find files over 100 MB changed this week,count the lines of every python file here"
    )]
    query: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    model: String,
    model_path: String,
    device: &'static str,
    threads: usize,
    runs: usize,
    load_ms: f64,
    prompt_tokens: usize,
    prefill_tps: f64,
    decode_tokens: usize,
    decode_tps: f64,
    first_token_ms: f64,
    first_command_ms: f64,
    command: String,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn timed(engine: &cmdbar_engine::Engine, req: Request) -> anyhow::Result<(Timings, String)> {
    let mut text = String::new();
    for e in engine.generate(req) {
        match e {
            Event::CompletionDone { text: t, .. } => text = t,
            Event::Done(t) => return Ok((t, text)),
            Event::Error(e) => return Err(e.into()),
            Event::Cancelled => anyhow::bail!("cancelled"),
            Event::Token { .. } => {}
        }
    }
    anyhow::bail!("the engine stopped")
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runs = args.runs.max(1);
    let mut loads = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let (engine, _) = start(&args.model)?;
        loads.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(engine);
    }
    let (engine, info) = start(&args.model)?;

    // A prompt of about the asked length: a sentence of ~10 tokens, repeated.
    let sentence = "The quick brown fox jumps over the lazy dog again. ";
    let raw = sentence.repeat((args.prompt_tokens / 10).max(1));
    // Each run starts differently, so the prefix cache reuses nothing and
    // the prefill figure is a real prefill.
    let bench_req = |run: usize, max_tokens| Request {
        prompt: Prompt::Raw(format!("{} {raw}", char::from(b'A' + (run % 26) as u8))),
        completions: vec![SamplingParams::greedy()],
        max_tokens,
        stop: vec![],
        ignore_eos: true,
    };
    let mut prefill = vec![];
    let mut decode = vec![];
    let mut prompt_tokens = 0;
    for i in 0..=runs {
        let (t, _) = timed(&engine, bench_req(i, args.decode_tokens.max(2)))?;
        anyhow::ensure!(t.cached_tokens == 0, "the bench prompt was served from the cache");
        if i == 0 {
            continue; // warm-up
        }
        prompt_tokens = t.prompt_tokens;
        prefill.push(t.prefill_tps());
        let decode_ms = t.total_ms - t.first_token_ms;
        decode.push((t.generated_tokens - 1) as f64 * 1000.0 / decode_ms);
    }

    anyhow::ensure!(!args.query.is_empty(), "--query needs at least one request");
    let ctx = Context::detect();
    // A real request, warm: the system prompt and examples are cached, as
    // they are for every request after the first.
    let mut first_token = vec![];
    let mut first_command = vec![];
    let mut command = String::new();
    for i in 0..=runs {
        let query = &args.query[i % args.query.len().max(1)];
        // One greedy candidate: the time until the first command is ready.
        let opts = Options { candidates: 1, ..Default::default() };
        let req = cmdbar_suggest::prepare(&ctx, query, &opts, &info)?.request;
        let (t, text) = timed(&engine, req)?;
        if i == 0 {
            continue;
        }
        first_token.push(t.first_token_ms);
        first_command.push(t.total_ms);
        if i == 1 {
            command = cmdbar_suggest::parse::parse(&text).map(|p| p.command).unwrap_or_default();
        }
    }

    let f = Figures {
        model: info.name.clone(),
        model_path: info.path.display().to_string(),
        device: info.device,
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        runs,
        load_ms: median(loads),
        prompt_tokens,
        prefill_tps: median(prefill),
        decode_tokens: args.decode_tokens,
        decode_tps: median(decode),
        first_token_ms: median(first_token),
        first_command_ms: median(first_command),
        command,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&f)?);
    } else {
        println!("model            {} ({} on {}, {} threads)", f.model, f.model_path, f.device, f.threads);
        println!("load             {:8.0} ms", f.load_ms);
        println!("prefill          {:8.1} tok/s  ({} tokens)", f.prefill_tps, f.prompt_tokens);
        println!("decode           {:8.1} tok/s  ({} tokens)", f.decode_tps, f.decode_tokens);
        println!("first token      {:8.0} ms     (warm, real request)", f.first_token_ms);
        println!("first command    {:8.0} ms     {:?}", f.first_command_ms, f.command);
        println!("(medians of {} runs after a warm-up)", f.runs);
    }
    Ok(())
}
