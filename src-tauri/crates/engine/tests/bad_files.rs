//! Every kind of bad model file gets a clear error, never a panic.
mod common;
mod tiny;

use std::io::Write;

use cmdbar_engine::{DevicePreference, EngineError, Model};

fn load_err(path: &std::path::Path) -> EngineError {
    match Model::load(path, DevicePreference::Cpu, 4096) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e,
    }
}

enum Meta<'a> {
    Str(&'a str),
    U64(u64),
}

/// A minimal GGUF v3 file: metadata and tensor infos, given as
/// (name, ggml type id, dims), with `data` bytes of tensor data.
fn craft(meta: &[(&str, Meta)], tensors: &[(&str, u32, &[u64])], data: usize) -> tempfile::NamedTempFile {
    let mut b: Vec<u8> = vec![];
    let s = |b: &mut Vec<u8>, x: &str| {
        b.extend((x.len() as u64).to_le_bytes());
        b.extend(x.as_bytes());
    };
    b.extend(b"GGUF");
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((meta.len() as u64).to_le_bytes());
    for (k, v) in meta {
        s(&mut b, k);
        match v {
            Meta::Str(v) => {
                b.extend(8u32.to_le_bytes());
                s(&mut b, v);
            }
            Meta::U64(v) => {
                b.extend(10u32.to_le_bytes());
                b.extend(v.to_le_bytes());
            }
        }
    }
    for (name, ty, dims) in tensors {
        s(&mut b, name);
        b.extend((dims.len() as u32).to_le_bytes());
        for d in *dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(ty.to_le_bytes());
        b.extend(0u64.to_le_bytes());
    }
    while !b.len().is_multiple_of(32) {
        b.push(0);
    }
    b.extend(std::iter::repeat_n(0u8, data));
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&b).unwrap();
    f
}

#[test]
fn missing_file() {
    let e = load_err(std::path::Path::new("/nonexistent/model.gguf"));
    assert!(matches!(e, EngineError::NotFound(_)), "{e}");
    assert!(e.to_string().contains("not found"));
}

#[test]
fn directory_is_not_a_model() {
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(load_err(d.path()), EngineError::NotGguf { .. }));
}

#[test]
fn text_file_is_not_gguf() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"<html>404 Not Found</html>").unwrap();
    let e = load_err(f.path());
    assert!(matches!(e, EngineError::NotGguf { .. }), "{e}");
    assert!(e.to_string().contains("<htm"), "{e}");
}

#[test]
fn empty_file_is_not_gguf() {
    let f = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(load_err(f.path()), EngineError::NotGguf { .. }));
}

#[test]
fn truncated_download_is_reported_as_truncated() {
    let real = std::fs::read(common::model("0.5b")).unwrap();
    for keep in [10usize, 4096, 3 << 20, real.len() / 2, real.len() - 1] {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&real[..keep]).unwrap();
        let e = load_err(f.path());
        assert!(matches!(e, EngineError::Corrupt { .. }), "cut at {keep}: {e}");
        assert!(e.to_string().contains("truncated or corrupt"), "{e}");
    }
}

#[test]
fn unsupported_architecture_is_named() {
    let f = craft(&[("general.architecture", Meta::Str("mamba"))], &[], 0);
    let e = load_err(f.path());
    assert!(matches!(e, EngineError::UnsupportedArchitecture(ref a) if a == "mamba"), "{e}");
    assert!(e.to_string().contains("mamba") && e.to_string().contains("qwen2"));
}

#[test]
fn unsupported_quantization_is_named() {
    // Type 20 is IQ4_NL, which Candle cannot run.
    let f = craft(&[("general.architecture", Meta::Str("qwen2"))], &[("blk.0.attn_q.weight", 20, &[32, 32])], 1024);
    let e = load_err(f.path());
    assert!(matches!(e, EngineError::UnsupportedQuantization { .. }), "{e}");
}

#[test]
fn tensor_past_the_end_of_the_file() {
    let f = craft(&[("general.architecture", Meta::Str("qwen2"))], &[("token_embd.weight", 0, &[1024, 1024])], 16);
    let e = load_err(f.path());
    assert!(matches!(e, EngineError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("token_embd.weight"), "{e}");
}

#[test]
fn gguf_without_a_tokenizer() {
    let f = craft(&[("general.architecture", Meta::Str("qwen2"))], &[], 0);
    let e = load_err(f.path());
    assert!(matches!(e, EngineError::Tokenizer(_)), "{e}");
}

#[test]
fn integer_metadata_of_any_width_is_read() {
    let f = craft(&[("general.architecture", Meta::Str("qwen2")), ("qwen2.context_length", Meta::U64(1234))], &[], 0);
    let g = cmdbar_engine::gguf::GgufFile::open(f.path()).unwrap();
    assert_eq!(g.arch_u32("context_length"), Some(1234));
}

/// The header of a GGUF v3 file with one metadata entry, written by hand:
/// the cases a crafted file can lie about.
fn header_with(kv: &[u8], kv_count: u64, tensor_count: u64) -> tempfile::NamedTempFile {
    let mut b: Vec<u8> = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(tensor_count.to_le_bytes());
    b.extend(kv_count.to_le_bytes());
    b.extend(kv);
    b.extend([0u8; 64]);
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&b).unwrap();
    f
}

fn key(name: &str) -> Vec<u8> {
    let mut b = (name.len() as u64).to_le_bytes().to_vec();
    b.extend(name.as_bytes());
    b
}

/// Lengths that would make a reader allocate terabytes are refused from the
/// file's size, before anything is allocated (an allocation that large
/// aborts the process, which no error handling can catch).
#[test]
fn huge_declared_lengths_are_refused_without_allocating() {
    let mut huge_array = key("tokenizer.ggml.tokens");
    huge_array.extend(9u32.to_le_bytes()); // array
    huge_array.extend(8u32.to_le_bytes()); // of strings
    huge_array.extend((1u64 << 60).to_le_bytes());
    let mut huge_string = key("general.architecture");
    huge_string.extend(8u32.to_le_bytes());
    huge_string.extend((1u64 << 50).to_le_bytes());
    let mut huge_key = (1u64 << 55).to_le_bytes().to_vec();
    huge_key.extend(b"x");
    let mut nested = key("a");
    nested.extend(9u32.to_le_bytes());
    nested.extend(9u32.to_le_bytes()); // an array of arrays
    nested.extend((1u64 << 40).to_le_bytes());
    let cases: Vec<(&str, tempfile::NamedTempFile)> = vec![
        ("array", header_with(&huge_array, 1, 0)),
        ("string", header_with(&huge_string, 1, 0)),
        ("key", header_with(&huge_key, 1, 0)),
        ("nested", header_with(&nested, 1, 0)),
        ("kv count", header_with(&[], 1 << 62, 0)),
        ("tensor count", header_with(&[], 0, 1 << 62)),
    ];
    for (what, f) in cases {
        let e = load_err(f.path());
        assert!(matches!(e, EngineError::Corrupt { .. } | EngineError::NotGguf { .. }), "{what}: {e}");
    }
}

/// Bad UTF-8 is read lossily (so the name shows as unsupported); an unknown
/// value type is corrupt.
#[test]
fn bad_utf8_and_unknown_value_types_are_errors() {
    let mut bad_utf8 = key("general.architecture");
    bad_utf8.extend(8u32.to_le_bytes());
    bad_utf8.extend(4u64.to_le_bytes());
    bad_utf8.extend([0xff, 0xfe, 0xfd, 0xfc]);
    let mut bad_type = key("general.architecture");
    bad_type.extend(77u32.to_le_bytes());
    for f in [header_with(&bad_utf8, 1, 0), header_with(&bad_type, 1, 0)] {
        let e = load_err(f.path());
        assert!(matches!(e, EngineError::Corrupt { .. } | EngineError::UnsupportedArchitecture(_)), "{e}");
    }
}

#[test]
fn a_tensor_with_too_many_dimensions_is_refused() {
    let mut b = key("general.architecture");
    b.extend(8u32.to_le_bytes());
    b.extend(key("qwen2"));
    let mut t = key("token_embd.weight");
    t.extend(1_000_000u32.to_le_bytes()); // n_dims
    let mut kv = b.clone();
    kv.extend(t);
    let e = load_err(header_with(&kv, 1, 1).path());
    assert!(matches!(e, EngineError::Corrupt { .. }), "{e}");
}

fn message(model: tiny::Tiny) -> String {
    let dir = tempfile::tempdir().unwrap();
    load_err(&model.write(dir.path(), "m.gguf")).to_string()
}

/// The tiny models load: so each case below fails for its one change.
#[test]
fn tiny_models_load_and_generate() {
    let dir = tempfile::tempdir().unwrap();
    for (name, model) in [("qwen2", tiny::qwen2(false)), ("llama", tiny::qwen2(true)), ("gemma3", tiny::gemma3())] {
        let path = model.write(dir.path(), &format!("{name}.gguf"));
        let mut m = Model::load(&path, DevicePreference::Cpu, 64).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids = m.tokenizer.encode("the ab").unwrap();
        let mut logits = Vec::new();
        m.prefill(&ids, &mut logits).unwrap();
        assert_eq!(logits.len(), m.info.vocab_size.max(logits.len()), "{name}");
        assert!(logits.iter().all(|x| x.is_finite()), "{name}");
    }
}

/// Sizes in the header that disagree with the tensors are refused before
/// any buffer is sized from them (the fuzzer's way to a 16 GB KV cache).
#[test]
fn header_sizes_must_match_the_tensors() {
    use candle_core::quantized::gguf_file::Value;
    let h = tiny::HIDDEN;
    let cases: Vec<(tiny::Tiny, &str)> = vec![
        (tiny::qwen2(false).set("qwen2.block_count", Value::U32(4_000_000_000)), "4000000000 layers"),
        (tiny::qwen2(false).set("qwen2.block_count", Value::U32(2)), "tensor blk.1.attn_norm.weight is missing"),
        (tiny::qwen2(false).set("qwen2.embedding_length", Value::U32(1 << 20)), "262144 wide"),
        (
            tiny::qwen2(false).set("qwen2.embedding_length", Value::U32(64)),
            "token_embd.weight has shape [262, 32], not [vocabulary, 64]",
        ),
        (tiny::qwen2(false).set("qwen2.attention.head_count", Value::U32(0)), "inconsistent head counts"),
        (tiny::qwen2(false).set("qwen2.attention.head_count_kv", Value::U32(3)), "inconsistent head counts"),
        (tiny::qwen2(false).tensor("blk.0.attn_k.weight", &[h, h]), "blk.0.attn_k.weight has shape [32, 32]"),
        (tiny::qwen2(false).tensor("blk.0.attn_q.bias", &[7]), "blk.0.attn_q.bias has shape [7]"),
        (tiny::qwen2(true).tensor("token_embd.weight", &[10, h]), "the embeddings only 10"),
        (tiny::qwen2(true).without("blk.0.ffn_up.weight"), "blk.0.ffn_up.weight is missing"),
        (tiny::gemma3().set("gemma3.attention.key_length", Value::U32(1 << 20)), "1048576 wide"),
        (tiny::gemma3().set("gemma3.attention.value_length", Value::U32(8)), "different widths"),
        (tiny::gemma3().without("blk.0.attn_q_norm.weight"), "attn_q_norm.weight is missing"),
    ];
    for (model, want) in cases {
        let msg = message(model);
        assert!(msg.contains("is truncated or corrupt") && msg.contains(want), "{want}: got {msg}");
    }
}

/// Inputs the fuzzer crashed on and files crafted to attack the loader
/// (tests/fixtures/bad-gguf), each kept with what it now gets: an error
/// with this message, or a load whose peak memory stays under a bound.
/// Every file there must be listed; `write_crafted_fixtures` makes the
/// crafted ones.
#[test]
fn fuzzer_findings_and_crafted_files_stay_fixed() {
    let dir = common::repo_root().join("tests/fixtures/bad-gguf");
    let errors = [
        ("tensor-dims-overflow.gguf", "dimensions multiply to more elements than any file can hold"),
        ("alignment-zero.gguf", "general.alignment 0 is not a power of two"),
        ("alignment-three.gguf", "general.alignment 3 is not a power of two"),
    ];
    // Loaded in a child process, to measure its peak memory alone.
    let bounded = ["gemma3-rope-tables.gguf"];
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut listed: Vec<String> =
        errors.iter().map(|(f, _)| f.to_string()).chain(bounded.iter().map(|f| f.to_string())).collect();
    listed.sort();
    assert_eq!(files, listed, "every file has an expected outcome");
    for (file, want) in errors {
        let msg = load_err(&dir.join(file)).to_string();
        assert!(msg.contains(file) && msg.contains(want), "{file}: {msg}");
    }
}

/// `general.alignment = 0` made Candle's header reader divide by zero: a
/// panic in `models list`, `models import` and the app's Settings.
#[test]
fn a_zero_alignment_is_an_error_not_a_panic() {
    let dir = common::repo_root().join("tests/fixtures/bad-gguf");
    for (file, want) in [("alignment-zero.gguf", "alignment 0"), ("alignment-three.gguf", "alignment 3")] {
        let path = dir.join(file);
        let r = std::panic::catch_unwind(|| cmdbar_engine::gguf::GgufFile::open(&path).map(|_| ()));
        match r {
            Ok(Err(e)) => assert!(e.to_string().contains(want), "{file}: {e}"),
            Ok(Ok(())) => panic!("{file} was accepted"),
            Err(_) => panic!("{file}: the header reader panicked"),
        }
    }
}

/// Arrays of one-byte values cost 32 bytes each once parsed: a 4.6 MB file
/// would hold 150 MB, a 20 MB one 633 MB. The header check refuses them.
#[test]
fn metadata_arrays_are_bounded_in_memory() {
    let f = metadata_bloat();
    let e = cmdbar_engine::gguf::GgufFile::open(f.path()).err().expect("the bloated header was accepted");
    assert!(e.to_string().contains("128 MiB"), "{e}");
    // The real vocabularies fit: Gemma 3's 262,144 tokens, scores and types.
    cmdbar_engine::gguf::GgufFile::open(&common::model("gemma-270m")).unwrap();
}

/// This machine's memory, from /proc/meminfo.
fn mem_total() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// A header whose sizes ask for more memory than the machine has (here a
/// KV cache of 256 layers at a context four times the machine's memory)
/// is refused before any of it is allocated.
#[test]
fn a_header_needing_more_memory_than_the_machine_has_is_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = kv_cache_beyond_memory(dir.path());
    // 256 layers of 2 kv heads of 8, both keys and values, f16 on the CPU.
    let per_token = 2 * 256 * 2 * 8 * 2;
    let ctx = (4 * mem_total() / per_token).next_power_of_two().min(u32::MAX as u64) as usize;
    let t = std::time::Instant::now();
    let e = match Model::load(&path, DevicePreference::Cpu, ctx) {
        Ok(_) => panic!("loaded with a {ctx}-token context"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("more than this machine's") && e.contains("GB of memory"), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "refused only after {:?}", t.elapsed());
}

/// Runs this test binary's test `name` alone in a child process with
/// `CMDBAR_CHILD` set to `arg`, and returns the child's peak RSS in bytes.
fn peak_rss_in_child(name: &str, arg: &str) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("CMDBAR_CHILD", arg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed: {text}");
    let kb: u64 = text
        .lines()
        .find_map(|l| l.split("peak_rss_kb=").nth(1))
        .unwrap_or_else(|| panic!("no peak in {text}"))
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// In the child: loads the model at `CMDBAR_CHILD` (`path:context`), runs
/// one short prompt and prints its peak RSS (VmHWM).
fn child_load_and_report() -> bool {
    let Ok(arg) = std::env::var("CMDBAR_CHILD") else { return false };
    let (path, ctx) = arg.rsplit_once(':').unwrap();
    let mut m = Model::load(std::path::Path::new(path), DevicePreference::Cpu, ctx.parse().unwrap()).unwrap();
    let ids = m.tokenizer.encode("list the files in this folder, largest first").unwrap();
    let mut logits = Vec::new();
    m.prefill(&ids, &mut logits).unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches("kB").trim();
    println!("peak_rss_kb={hwm}");
    true
}

/// Candle's Gemma 3 built rotary tables for 131,072 positions in every
/// layer, whatever the context cap: 128 MB a layer for 256-wide heads. A
/// 0.8 MB file of 18 such layers took 2.3 GB at a 64-token context.
#[test]
fn gemma3_memory_follows_the_context_cap_for_a_crafted_file() {
    if child_load_and_report() {
        return;
    }
    let path = common::repo_root().join("tests/fixtures/bad-gguf/gemma3-rope-tables.gguf");
    let peak = peak_rss_in_child(
        "gemma3_memory_follows_the_context_cap_for_a_crafted_file",
        &format!("{}:64", path.display()),
    );
    assert!(peak < 300 << 20, "peak RSS {} MB", peak >> 20);
}

/// The real Gemma 3 270M at the default 4096-token cap took 3.6 GB; its
/// weights are 253 MB.
#[test]
fn gemma3_memory_follows_the_context_cap_for_the_real_model() {
    if child_load_and_report() {
        return;
    }
    let path = common::model("gemma-270m");
    let peak = peak_rss_in_child(
        "gemma3_memory_follows_the_context_cap_for_the_real_model",
        &format!("{}:4096", path.display()),
    );
    assert!(peak < 1200 << 20, "peak RSS {} MB", peak >> 20);
}

/// Writes the crafted files of tests/fixtures/bad-gguf (run with
/// `--ignored` to make them again). Weights are zeros: the files are about
/// their headers and sizes, and compress to almost nothing in git.
#[test]
#[ignore]
fn write_crafted_fixtures() {
    use candle_core::quantized::gguf_file::Value;
    use candle_core::quantized::GgmlDType;
    let dir = common::repo_root().join("tests/fixtures/bad-gguf");

    // A header of a few bytes with general.alignment 0 (Candle divided by
    // it) or 3 (not a power of two).
    for (name, a) in [("alignment-zero.gguf", 0u32), ("alignment-three.gguf", 3)] {
        let f = header_with(
            &[key("general.alignment"), 4u32.to_le_bytes().to_vec(), a.to_le_bytes().to_vec()].concat(),
            1,
            0,
        );
        let mut b = std::fs::read(f.path()).unwrap();
        // With an architecture, as a model would have.
        let mut arch = key("general.architecture");
        arch.extend(8u32.to_le_bytes());
        arch.extend(key("qwen2"));
        b.splice(24..24, arch);
        b[16..24].copy_from_slice(&2u64.to_le_bytes());
        std::fs::write(dir.join(name), b).unwrap();
    }

    // Gemma 3 with 18 layers of one 256-wide head, as the 270M has: every
    // header check passes, and Candle's tables took 2.3 GB.
    let (w, l) = (256usize, 18usize);
    let mut g = tiny::gemma3()
        .set("gemma3.attention.head_count", Value::U32(1))
        .set("gemma3.attention.key_length", Value::U32(w as u32))
        .set("gemma3.attention.value_length", Value::U32(w as u32))
        .set("gemma3.block_count", Value::U32(l as u32))
        .set("gemma3.context_length", Value::U32(32768));
    for (name, shape) in [
        ("blk.0.attn_q.weight", vec![w, tiny::HIDDEN]),
        ("blk.0.attn_k.weight", vec![w, tiny::HIDDEN]),
        ("blk.0.attn_v.weight", vec![w, tiny::HIDDEN]),
        ("blk.0.attn_output.weight", vec![tiny::HIDDEN, w]),
    ] {
        g.tensors.retain(|(n, _)| n != name);
        g.tensors.push((name.into(), zeros(&shape, GgmlDType::Q8_0)));
    }
    for name in ["blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight"] {
        g.tensors.retain(|(n, _)| n != name);
        g.tensors.push((name.into(), zeros(&[w], GgmlDType::F32)));
    }
    std::fs::write(dir.join("gemma3-rope-tables.gguf"), stack(g, l).bytes()).unwrap();
}

/// `cmdbar bench --synthetic-from` reads a file from the command line: a bad
/// one gets the same messages as a model load, and a good one (here a tiny
/// model, or its header alone) gives a model of the same shapes that loads.
#[test]
fn synthesized_models_load_and_bad_sources_are_refused() {
    use cmdbar_engine::gguf::synthesize;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("random.gguf");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a model").unwrap();
    assert!(matches!(synthesize(&text, &to), Err(EngineError::NotGguf { .. })));
    let huge = header_with(
        &[key("x"), 9u32.to_le_bytes().to_vec(), 8u32.to_le_bytes().to_vec(), (1u64 << 60).to_le_bytes().to_vec()]
            .concat(),
        1,
        0,
    );
    let err = synthesize(huge.path(), &to).unwrap_err().to_string();
    assert!(err.contains("is truncated or corrupt"), "{err}");

    let model = tiny::qwen2(false).write(dir.path(), "tiny.gguf");
    let bytes = std::fs::read(&model).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut std::io::Cursor::new(&bytes)).unwrap();
    let header = dir.path().join("tiny.header.gguf");
    std::fs::write(&header, &bytes[..content.tensor_data_offset as usize]).unwrap();
    for from in [&model, &header] {
        synthesize(from, &to).unwrap();
        assert_eq!(std::fs::metadata(&to).unwrap().len(), bytes.len() as u64);
        let mut m = Model::load(&to, DevicePreference::Cpu, 64).unwrap();
        let mut logits = Vec::new();
        m.prefill(&m.tokenizer.encode("the").unwrap(), &mut logits).unwrap();
        assert!(logits.iter().all(|x| x.is_finite()));
    }
}

/// A tensor of zeros: crafted files are about headers and sizes.
fn zeros(shape: &[usize], dtype: candle_core::quantized::GgmlDType) -> candle_core::quantized::QTensor {
    let t = candle_core::Tensor::zeros(shape, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    candle_core::quantized::QTensor::quantize(&t, dtype).unwrap()
}

/// Every blk.0 tensor again for blocks 1..n, same shape and type, zeros.
fn stack(mut m: tiny::Tiny, n: usize) -> tiny::Tiny {
    let first: Vec<(String, Vec<usize>, candle_core::quantized::GgmlDType)> = m
        .tensors
        .iter()
        .filter(|(k, _)| k.starts_with("blk.0."))
        .map(|(k, t)| (k.clone(), t.shape().dims().to_vec(), t.dtype()))
        .collect();
    for (k, shape, dtype) in &first {
        m.tensors.retain(|(n, _)| n != k);
        for i in 0..n {
            m.tensors.push((k.replacen("blk.0.", &format!("blk.{i}."), 1), zeros(shape, *dtype)));
        }
    }
    m
}

/// 4.5 million one-byte array elements: 4.5 MB of file, 144 MB parsed.
/// Made at test time, not kept in git (it is megabytes of zeros).
fn metadata_bloat() -> tempfile::NamedTempFile {
    let mut bloat = key("general.architecture");
    bloat.extend(8u32.to_le_bytes());
    bloat.extend(key("qwen2"));
    bloat.extend(key("general.padding"));
    bloat.extend(9u32.to_le_bytes());
    bloat.extend(0u32.to_le_bytes()); // of u8
    let n = 4_500_000u64;
    bloat.extend(n.to_le_bytes());
    bloat.extend(std::iter::repeat_n(0u8, n as usize));
    header_with(&bloat, 2, 0)
}

/// A llama of 256 layers whose own context is 2^32 - 1 tokens: at a large
/// cap its KV cache needs more than any machine has. Made at test time.
fn kv_cache_beyond_memory(dir: &std::path::Path) -> std::path::PathBuf {
    use candle_core::quantized::gguf_file::Value;
    let m =
        tiny::qwen2(true).set("llama.block_count", Value::U32(256)).set("llama.context_length", Value::U32(u32::MAX));
    let p = dir.join("kv-cache-beyond-memory.gguf");
    std::fs::write(&p, stack(m, 256).bytes()).unwrap();
    p
}
