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
    while b.len() % 32 != 0 {
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
    b.extend(key("qwen2")[..].iter().copied().skip(0));
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

/// Inputs the fuzzer crashed on (tests/fixtures/bad-gguf), each kept with
/// the message it now gets. Every file there must be listed.
#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = common::repo_root().join("tests/fixtures/bad-gguf");
    let expected = [("tensor-dims-overflow.gguf", "dimensions multiply to more elements than any file can hold")];
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut listed: Vec<String> = expected.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every fuzzer finding has an expected message");
    for (file, want) in expected {
        let msg = load_err(&dir.join(file)).to_string();
        assert!(msg.contains(file) && msg.contains(want), "{file}: {msg}");
    }
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
