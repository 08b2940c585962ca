//! `cmdbar bench`: what a user feels (load, time to a command) and what the
//! engine does (prefill at several lengths, decode, the prefix cache,
//! sampling, memory), optionally side by side with llama.cpp on the same
//! file, token ids and threads, the runs paired A B A B. Medians of several
//! runs after a warm-up; a text table or one JSON object.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use cmdbar_engine::{DevicePreference, Engine, Event, ModelInfo, Prompt, Request, Timings};
use cmdbar_suggest::{Context, Options};
use serde_json::{json, Value};

use crate::load::{start, ModelArgs};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Prompt lengths for the prefill figures, in tokens.
    #[arg(long, value_delimiter = ',', default_value = "16,128,512,2048")]
    prefill: Vec<usize>,
    /// Tokens to decode for the decode figure (after the 128-token prompt).
    #[arg(long, default_value_t = 64)]
    decode_tokens: usize,
    /// Measured runs per figure (after one warm-up).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Requests timed end to end, taken in turn (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "list all files in the current directory,show free disk space,find files over 100 MB changed this week,count the lines of every python file here"
    )]
    query: Vec<String>,
    /// Run the same workload through llama.cpp (llama-cpp-python) in the same
    /// run, paired with ours; on the GPU too where ours runs there (a CUDA
    /// build of llama-cpp-python, every layer offloaded).
    #[arg(long)]
    vs_llamacpp: bool,
    /// The Python that has llama-cpp-python [default: $CMDBAR_LLAMACPP_PYTHON, else python3].
    #[arg(long)]
    python: Option<String>,
    #[arg(long)]
    json: bool,
    /// Bench a model with the shapes, tokenizer and quantization of this file
    /// (a model, or its header alone) and random weights, written to a
    /// temporary file: for a machine the real model cannot be copied to.
    /// With --vs-llamacpp, llama.cpp runs the same random file.
    #[arg(long)]
    synthetic_from: Option<std::path::PathBuf>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| x.is_finite());
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => xs[n / 2],
        _ => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// One request's timings, and when the command's closing fence came.
struct Timed {
    t: Timings,
    text: String,
    command_ms: Option<f64>,
}

fn timed(engine: &Engine, req: Request) -> anyhow::Result<Timed> {
    let start = Instant::now();
    let mut text = String::new();
    let mut command_ms = None;
    for e in engine.generate(req) {
        match e {
            Event::Token { index: 0, text: piece } => {
                text.push_str(&piece);
                if command_ms.is_none() && text.matches("```").count() >= 2 {
                    command_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
            Event::Done(t) => return Ok(Timed { t, text, command_ms }),
            Event::Error(e) => return Err(e.into()),
            Event::Cancelled => anyhow::bail!("cancelled"),
            _ => {}
        }
    }
    anyhow::bail!("the engine stopped")
}

/// The same workload through llama.cpp, in a worker process.
struct LlamaCpp {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl LlamaCpp {
    fn start(python: &str, model: &std::path::Path, threads: usize, context: usize, gpu: bool) -> anyhow::Result<Self> {
        // The checkout it was built from, else the one it runs in (a binary
        // carried to another machine with the repository).
        let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/llamacpp-worker");
        let script = if built.exists() { built } else { std::path::PathBuf::from("scripts/llamacpp-worker") };
        anyhow::ensure!(script.exists(), "scripts/llamacpp-worker is not here: run --vs-llamacpp from the repository");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(model)
            .arg(threads.to_string())
            .arg(context.to_string())
            // Every layer on the GPU, or none.
            .arg(if gpu { "-1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{python} {}: {e}", script.display()))?;
        let input = child.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let output = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?);
        Ok(Self { child, input, output })
    }

    fn ask(&mut self, req: Value) -> anyhow::Result<Value> {
        writeln!(self.input, "{req}")?;
        let mut line = String::new();
        if self.output.read_line(&mut line)? == 0 {
            anyhow::bail!("the llama.cpp worker stopped (is llama-cpp-python installed? see docs/BENCHMARKS.md)");
        }
        let v: Value = serde_json::from_str(&line)?;
        if let Some(e) = v.get("error") {
            anyhow::bail!("llama.cpp worker: {e}");
        }
        Ok(v)
    }

    fn run(
        &mut self,
        ids: &[u32],
        n: usize,
        reset: bool,
        until_fence: bool,
    ) -> anyhow::Result<(f64, f64, f64, Option<f64>)> {
        let v = self.ask(json!({"op": "run", "ids": ids, "n": n, "reset": reset, "until_fence": until_fence}))?;
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        Ok((f("first_ms"), f("total_ms"), f("generated"), v["command_ms"].as_f64()))
    }
}

impl Drop for LlamaCpp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples per figure, for one engine.
#[derive(Default)]
struct Samples(BTreeMap<String, Vec<f64>>);

fn median_of(s: &Samples, key: &str) -> Option<f64> {
    s.0.get(key).map(|v| median(v.clone()))
}

impl Samples {
    fn push(&mut self, key: impl Into<String>, v: f64) {
        self.0.entry(key.into()).or_default().push(v);
    }
    fn medians(self) -> BTreeMap<String, f64> {
        self.0.into_iter().map(|(k, v)| (k, median(v))).collect()
    }
}

/// A memory line of /proc/self/status (`VmHWM`, `VmRSS`), in MiB.
fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| Some(l.strip_prefix(key)?.strip_prefix(':')?.trim().trim_end_matches(" kB").to_string()))
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM")
}

/// Memory read bandwidth with all threads: the decode ceiling's numerator.
fn bandwidth_gbps() -> f64 {
    use rayon::prelude::*;
    let buf = vec![1u64; (1usize << 30) / 8];
    let mut best = f64::NAN;
    for _ in 0..5 {
        let t = Instant::now();
        let s: u64 = buf.par_chunks(1 << 16).map(|c| c.iter().fold(0u64, |a, &x| a.wrapping_add(x))).sum();
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(s);
        let gbps = (buf.len() * 8) as f64 / secs / 1e9;
        best = if best.is_nan() { gbps } else { best.max(gbps) };
    }
    best
}

/// Weight bytes read per decoded token: every tensor but the embedding
/// table (of which one row is read), unless it doubles as the output.
fn bytes_per_token(path: &std::path::Path) -> anyhow::Result<u64> {
    let g = cmdbar_engine::gguf::GgufFile::open(path)?;
    let infos = &g.content.tensor_infos;
    let tied = !infos.contains_key("output.weight");
    Ok(infos
        .iter()
        .filter(|(name, _)| tied || name.as_str() != "token_embd.weight")
        .map(|(_, i)| cmdbar_engine::gguf::tensor_bytes(i) as u64)
        .sum())
}

/// Prompts of ordinary text whose first id differs from the previous
/// prompt's, so the prefix cache reuses nothing.
struct Prompts {
    base: Vec<u32>,
    firsts: Vec<u32>,
    next: usize,
}

impl Prompts {
    fn new(base: Vec<u32>) -> Self {
        let mut firsts = base.clone();
        firsts.sort_unstable();
        firsts.dedup();
        Self { base, firsts, next: 0 }
    }

    fn first(&mut self) -> u32 {
        self.next += 1;
        self.firsts[self.next % self.firsts.len()]
    }

    fn of(&mut self, len: usize) -> Vec<u32> {
        let mut ids: Vec<u32> = self.base.iter().cycle().take(len).copied().collect();
        ids[0] = self.first();
        ids
    }
}

fn raw(ids: Vec<u32>, n: usize) -> Request {
    // No drafts: decode here is the kernels' speed, and the bench's repeated
    // text would be drafted far better than any answer.
    Request { prompt: Prompt::Tokens(ids), max_tokens: n, ignore_eos: true, speculate: false, ..Request::chat(vec![]) }
}

pub fn run(mut args: BenchArgs) -> anyhow::Result<()> {
    let runs = args.runs.max(1);
    anyhow::ensure!(!args.query.is_empty(), "--query needs at least one request");
    anyhow::ensure!(args.decode_tokens >= 2, "--decode-tokens must be at least 2");
    // Kept to the end: the random model lives in it.
    let _synthetic = match &args.synthetic_from {
        Some(from) => {
            let dir = tempfile::tempdir()?;
            let to = dir.path().join(from.file_name().unwrap_or_default()).with_extension("random.gguf");
            cmdbar_engine::gguf::synthesize(from, &to)?;
            args.model.model = Some(to);
            Some(dir)
        }
        None => None,
    };
    let path = crate::load::model_path(&args.model.model).ok_or_else(crate::load::NoModel::new)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let text = "The quick brown fox jumps over the lazy dog, then the dog chases the fox around the old barn. ";
    let mut prompts = Prompts::new(cmdbar_engine::prompt_ids(&path, &Prompt::Raw(text.repeat(4)))?);
    let context = args.model.context;
    if let Some(&too_long) = args.prefill.iter().find(|&&l| l + 64 > context) {
        anyhow::bail!("a {too_long}-token prefill does not fit --context {context}");
    }

    let mut llama = if args.vs_llamacpp {
        let python =
            args.python.clone().or_else(|| std::env::var("CMDBAR_LLAMACPP_PYTHON").ok()).unwrap_or("python3".into());
        // Where ours runs on a GPU, so does theirs.
        let gpu = match args.model.device {
            DevicePreference::Cpu => false,
            DevicePreference::Cuda | DevicePreference::Metal => true,
            DevicePreference::Auto => cfg!(any(feature = "cuda", feature = "metal")),
        };
        Some(LlamaCpp::start(&python, &path, threads, context, gpu)?)
    } else {
        None
    };
    let (mut ours, mut theirs) = (Samples::default(), Samples::default());

    // Cold load, paired.
    for _ in 0..runs {
        let t = Instant::now();
        let (engine, _) = start(&args.model)?;
        ours.push("load_ms", t.elapsed().as_secs_f64() * 1000.0);
        drop(engine);
        if let Some(l) = llama.as_mut() {
            theirs.push("load_ms", l.ask(json!({"op": "load"}))?["ms"].as_f64().unwrap_or(f64::NAN));
        }
    }
    let (engine, info) = start(&args.model)?;

    // Prefill at each length (and decode after it), paired; run 0 warms up.
    let mut sample_share = vec![];
    for run in 0..=runs {
        for &len in &args.prefill {
            if run == 0 && len != args.prefill[0] {
                continue;
            }
            let n = if len == 128 { args.decode_tokens } else { 16 };
            let ids = prompts.of(len);
            let r = timed(&engine, raw(ids.clone(), n))?;
            anyhow::ensure!(r.t.cached_tokens == 0, "the bench prompt was served from the cache");
            if run > 0 {
                ours.push(format!("prefill_tps_{len}"), r.t.prefill_tps());
                let decode_ms = r.t.total_ms - r.t.first_token_ms;
                ours.push(format!("decode_tps_ctx{len}"), (r.t.generated_tokens - 1) as f64 * 1000.0 / decode_ms);
                let forward_ms = r.t.total_ms - r.t.sample_ms;
                sample_share
                    .push(r.t.sample_ms / r.t.generated_tokens as f64 / (forward_ms / (r.t.generated_tokens as f64)));
            }
            if let Some(l) = llama.as_mut() {
                let (first, total, generated, _) = l.run(&ids, n, true, false)?;
                if run > 0 {
                    theirs.push(format!("prefill_tps_{len}"), len as f64 * 1000.0 / first);
                    theirs.push(format!("decode_tps_ctx{len}"), (generated - 1.0) * 1000.0 / (total - first));
                }
            }
        }
    }

    // Real requests, warm (the system prompt and examples cached), paired:
    // time to the first token and to the command's closing fence.
    let ctx = Context::detect();
    let mut command = String::new();
    for run in 0..=runs {
        let query = &args.query[run % args.query.len()];
        let opts = Options { candidates: 1, ..Default::default() };
        let req = cmdbar_suggest::prepare(&ctx, query, &opts, &info)?.request;
        let ids = cmdbar_engine::prompt_ids(&path, &req.prompt)?;
        let warm = Request { prompt: Prompt::Tokens(ids.clone()), ..req.clone() };
        let r = timed(&engine, warm.clone())?;
        if run > 0 {
            ours.push("first_token_ms", r.t.first_token_ms);
            ours.push("first_command_ms", r.command_ms.unwrap_or(f64::NAN));
            ours.push("full_answer_ms", r.t.total_ms);
            // Drafting paired with one token at a time, on the same request.
            let plain = timed(&engine, Request { speculate: false, ..warm.clone() })?;
            ours.push("first_command_ms_no_drafts", plain.command_ms.unwrap_or(f64::NAN));
            ours.push("full_answer_ms_no_drafts", plain.t.total_ms);
            let decode =
                |t: &Timings| (t.generated_tokens.max(2) - 1) as f64 * 1000.0 / (t.total_ms - t.first_token_ms);
            ours.push("answer_decode_tps", decode(&r.t));
            ours.push("answer_decode_tps_no_drafts", decode(&plain.t));
            ours.push("drafted_tokens", r.t.drafted_tokens as f64);
            ours.push("accepted_tokens", r.t.accepted_tokens as f64);
            if run == 1 {
                command = cmdbar_suggest::parse::parse(&r.text).map(|p| p.command).unwrap_or_default();
            }
            // The same request with nothing cached: what the prefix cache saves.
            let mut cold_ids = ids.clone();
            cold_ids[0] = prompts.first();
            let cold = timed(&engine, Request { prompt: Prompt::Tokens(cold_ids), max_tokens: 1, ..req.clone() })?;
            ours.push("cold_first_token_ms", cold.t.first_token_ms);
            // A new query cancels one in flight (after its first token), as
            // typing on does in the popup: the time from there to its command.
            let rx = engine.generate(warm.clone());
            for e in rx.iter() {
                if matches!(e, Event::Token { .. }) {
                    break;
                }
            }
            engine.cancel();
            let next = timed(&engine, warm.clone())?;
            ours.push("cancel_then_command_ms", next.command_ms.unwrap_or(f64::NAN));
        }
        if let Some(l) = llama.as_mut() {
            if run == 0 {
                l.run(&ids, 1, true, false)?; // cache the system prompt, as a llama.cpp app would
            }
            let (first, _, _, command_ms) = l.run(&ids, opts.max_tokens, false, true)?;
            if run > 0 {
                theirs.push("first_token_ms", first);
                theirs.push("first_command_ms", command_ms.unwrap_or(f64::NAN));
            }
        }
    }

    // A request's three candidates, warm: when all three commands are
    // complete, and all three with their explanations; decoded together
    // (as the app and CLI do) and one after another, paired, and llama.cpp
    // making them one after another.
    for run in 0..=runs {
        let query = &args.query[run % args.query.len()];
        for sequential in [false, true] {
            // Three completions, as llama.cpp makes: the app's pool of five
            // (`scripts/pool-latency` prices it) is not the same work.
            let opts = Options { candidates: 3, pool: 3, examples: 0, sequential, ..Default::default() };
            let prepared = cmdbar_suggest::prepare(&ctx, query, &opts, &info)?;
            let t = Instant::now();
            let s = cmdbar_suggest::suggest(&engine, prepared, |_| {})?;
            if run > 0 {
                let tag = if sequential { "_sequential" } else { "" };
                ours.push(format!("commands_ms{tag}"), s.timings.commands_ms);
                ours.push(format!("first_of_commands_ms{tag}"), s.timings.first_command_ms);
                ours.push(format!("candidates_ms{tag}"), t.elapsed().as_secs_f64() * 1000.0);
                if !sequential {
                    ours.push("candidates_shown", s.candidates.len() as f64);
                }
            }
        }
        if let Some(l) = llama.as_mut() {
            let opts = Options { candidates: 1, ..Default::default() };
            let req = cmdbar_suggest::prepare(&ctx, query, &opts, &info)?.request;
            let ids = cmdbar_engine::prompt_ids(&path, &req.prompt)?;
            let v = l.ask(json!({"op": "commands", "ids": ids, "count": 3, "n": opts.max_tokens}))?;
            if run > 0 {
                theirs.push("commands_ms", v["commands_ms"].as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    if let (Some(b), Some(s)) = (median_of(&ours, "commands_ms"), median_of(&ours, "commands_ms_sequential")) {
        ours.push("batch_speedup_commands", s / b);
    }
    if let (Some(d), Some(p)) = (median_of(&ours, "full_answer_ms"), median_of(&ours, "full_answer_ms_no_drafts")) {
        ours.push("draft_speedup_answer", p / d);
    }
    let sum = |k: &str| ours.0.get(k).map_or(0.0, |v| v.iter().sum::<f64>());
    let (drafted, accepted) = (sum("drafted_tokens"), sum("accepted_tokens"));
    if drafted > 0.0 {
        ours.push("draft_acceptance", accepted / drafted);
    }

    let g = cmdbar_engine::gguf::GgufFile::open(&path)?;
    let kv = cmdbar_engine::gguf::shapes::check(&g, 0)
        .ok()
        .map(|s| s.kv_shape().bytes(info.context_length, info.device == "cpu"));
    let mut figures = ours.medians();
    figures.insert("peak_rss_mb".into(), peak_rss_mb());
    figures.insert("kv_cache_mb".into(), kv.map_or(f64::NAN, |b| b as f64 / 1048576.0));
    figures.insert("sampling_overhead_pct".into(), median(sample_share) * 100.0);
    let cold = figures.get("cold_first_token_ms").copied().unwrap_or(f64::NAN);
    figures.insert("prefix_cache_speedup".into(), cold / figures.get("first_token_ms").copied().unwrap_or(f64::NAN));
    if let (Some(p), Some(d)) = (figures.get("prefill_tps_512"), figures.get("decode_tps_ctx512")) {
        // Without a KV cache each new token recomputes its whole context.
        figures.insert("kv_cache_speedup_ctx512".into(), 512.0 / p * d);
    }
    figures.insert("decode_tps".into(), figures.get("decode_tps_ctx128").copied().unwrap_or(f64::NAN));

    let mut out = json!({
        "model": info.name,
        "model_path": info.path,
        "device": info.device,
        "synthetic_from": args.synthetic_from,
        "threads": threads,
        "runs": runs,
        "command": command,
    });
    let bandwidth = bandwidth_gbps();
    let per_token = bytes_per_token(&path)? as f64;
    out["bandwidth_gbps"] = json!(bandwidth);
    out["decode_ceiling_tps"] = json!(bandwidth * 1e9 / per_token);
    out["decode_share_of_ceiling"] = json!(figures["decode_tps"] / (bandwidth * 1e9 / per_token));
    if let Some(mut l) = llama {
        let mut t = theirs.medians();
        t.insert("peak_rss_mb".into(), l.ask(json!({"op": "rss"}))?["peak_mb"].as_f64().unwrap_or(f64::NAN));
        t.insert("decode_tps".into(), t.get("decode_tps_ctx128").copied().unwrap_or(f64::NAN));
        let ratios: BTreeMap<String, f64> =
            t.iter().filter_map(|(k, v)| figures.get(k).map(|ours| (k.clone(), ours / v))).collect();
        out["versions"] = l.ask(json!({"op": "info"}))?;
        out["llamacpp"] = json!(t);
        out["ratios"] = json!(ratios);
    }
    out["figures"] = json!(figures);
    print(&out, &info, args.json)
}

fn print(out: &Value, info: &ModelInfo, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(out)?);
        return Ok(());
    }
    println!(
        "model  {} ({} on {}, {} threads, medians of {} runs)",
        info.name, out["model_path"], info.device, out["threads"], out["runs"]
    );
    if !out["synthetic_from"].is_null() {
        println!("weights random, shapes and quantization from {}", out["synthetic_from"]);
    }
    println!("{:<26} {:>12} {:>12} {:>8}", "figure", "cmdbar", "llama.cpp", "ratio");
    let empty = serde_json::Map::new();
    let theirs = out["llamacpp"].as_object().unwrap_or(&empty);
    let ratios = out["ratios"].as_object().unwrap_or(&empty);
    for (k, v) in out["figures"].as_object().unwrap_or(&empty) {
        let cell = |v: Option<&Value>| v.and_then(Value::as_f64).map_or("".into(), |x| format!("{x:.1}"));
        let ratio = ratios.get(k).and_then(Value::as_f64).map_or("".into(), |r| format!("{r:.2}x"));
        println!("{k:<26} {:>12} {:>12} {ratio:>8}", cell(Some(v)), cell(theirs.get(k)));
    }
    println!(
        "memory bandwidth {:.1} GB/s; decode ceiling {:.1} tok/s; decode at {:.0}% of it",
        out["bandwidth_gbps"].as_f64().unwrap_or(f64::NAN),
        out["decode_ceiling_tps"].as_f64().unwrap_or(f64::NAN),
        out["decode_share_of_ceiling"].as_f64().unwrap_or(f64::NAN) * 100.0
    );
    println!("first command: {}", out["command"]);
    Ok(())
}

#[derive(clap::Args)]
pub struct SoakArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Requests in all.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Every Nth request is cancelled by the next after its first token.
    #[arg(long, default_value_t = 5)]
    cancel_every: usize,
    /// The baseline: resources after this many requests.
    #[arg(long, default_value_t = 50)]
    baseline_after: usize,
    /// Tokens per answer (the command and the start of its explanation).
    #[arg(long, default_value_t = 24)]
    max_tokens: usize,
}

/// Resident memory, threads and open files of this process, from /proc.
fn resources() -> (f64, usize, usize) {
    let rss = status_mb("VmRSS");
    let count = |dir: &str| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    (rss, count("/proc/self/task"), count("/proc/self/fd"))
}

/// `cmdbar soak`: many back-to-back requests with cancellations mixed in;
/// memory, threads and open files must not grow.
pub fn soak(args: SoakArgs) -> anyhow::Result<()> {
    let (engine, info) = start(&args.model)?;
    let ctx = Context::detect();
    let queries = [
        "list all files in the current directory",
        "show free disk space",
        "find files over 100 MB changed this week",
        "count the lines of every python file here",
        "show the ten biggest folders in my home",
        "kill the process listening on port 8080",
        "compress the logs folder into a tar.gz",
        "show my IP address",
    ];
    let opts = Options { candidates: 1, max_tokens: args.max_tokens, ..Default::default() };
    let started = Instant::now();
    let (mut baseline, mut cancelled, mut completed, mut errors) = (None, 0, 0, 0);
    let mut latencies = vec![];
    for i in 0..args.queries {
        if i == args.baseline_after {
            baseline = Some(resources());
        }
        if i > 0 && i % 100 == 0 {
            let (rss, threads, fds) = resources();
            eprintln!("{i:>5} requests  rss {rss:.1} MiB  threads {threads}  fds {fds}");
        }
        let req = cmdbar_suggest::prepare(&ctx, queries[i % queries.len()], &opts, &info)?.request;
        if args.cancel_every > 0 && i % args.cancel_every == args.cancel_every - 1 {
            let rx = engine.generate(req);
            if rx.iter().any(|e| matches!(e, Event::Token { .. })) {
                engine.cancel();
            }
            // The cancelled request's events end with Cancelled (or Done if it won the race).
            cancelled += 1;
            continue;
        }
        let t = Instant::now();
        match timed(&engine, req) {
            Ok(_) => {
                completed += 1;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Err(e) => {
                errors += 1;
                eprintln!("request {i}: {e}");
            }
        }
    }
    let (b_rss, b_threads, b_fds) = baseline.unwrap_or_else(resources);
    let (rss, threads, fds) = resources();
    let out = json!({
        "model": info.name,
        "queries": args.queries,
        "completed": completed,
        "cancelled": cancelled,
        "errors": errors,
        "minutes": started.elapsed().as_secs_f64() / 60.0,
        "median_request_ms": median(latencies),
        "baseline_after": args.baseline_after,
        "rss_mb": {"baseline": b_rss, "end": rss, "growth_pct": (rss - b_rss) / b_rss * 100.0},
        "threads": {"baseline": b_threads, "end": threads},
        "open_files": {"baseline": b_fds, "end": fds},
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    Ok(())
}
