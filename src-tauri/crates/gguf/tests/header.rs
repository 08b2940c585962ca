//! Headers written by hand, byte by byte: what the parse reads from each
//! kind of value and length, and the typed error each bad file gets. (The
//! engine's tests check this reader against Candle's on real and tiny
//! models, and its bad_files.rs every message through a model load.)
use std::io::Write;
use std::path::PathBuf;

use cmdbar_gguf::{read_header, shapes, Architecture, GgmlDType, GgufError, GgufFile, Value};

/// A header under construction: version 3 (64-bit lengths) unless `v1`.
struct H {
    b: Vec<u8>,
    wide: bool,
}

impl H {
    fn new(version: u32, tensors: u64, kvs: u64) -> Self {
        let wide = version >= 2;
        let mut h = H { b: b"GGUF".to_vec(), wide };
        h.u32(version);
        h.len(tensors);
        h.len(kvs);
        h
    }
    fn u32(&mut self, x: u32) -> &mut Self {
        self.b.extend(x.to_le_bytes());
        self
    }
    fn u64(&mut self, x: u64) -> &mut Self {
        self.b.extend(x.to_le_bytes());
        self
    }
    fn len(&mut self, n: u64) -> &mut Self {
        if self.wide {
            self.u64(n)
        } else {
            self.u32(n as u32)
        }
    }
    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.b.extend(bytes);
        self
    }
    fn str(&mut self, s: &[u8]) -> &mut Self {
        self.len(s.len() as u64).raw(s)
    }
    /// A key of type `ty` followed by `value`'s bytes.
    fn kv(&mut self, key: &str, ty: u32, value: &[u8]) -> &mut Self {
        self.str(key.as_bytes()).u32(ty).raw(value)
    }
    fn string_kv(&mut self, key: &str, value: &str) -> &mut Self {
        self.str(key.as_bytes()).u32(8);
        self.str(value.as_bytes())
    }
    /// A tensor info: dims as the file stores them (innermost first).
    fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name.as_bytes()).u32(dims.len() as u32);
        for &d in dims {
            self.len(d);
        }
        self.u32(ty).u64(offset)
    }
    /// Pads to `align` and appends `data` bytes of zeros.
    fn file(&self, align: usize, data: usize) -> tempfile::NamedTempFile {
        let mut b = self.b.clone();
        while !b.len().is_multiple_of(align) {
            b.push(0);
        }
        b.extend(std::iter::repeat_n(0u8, data));
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&b).unwrap();
        f
    }
}

#[test]
fn every_value_type_is_read() {
    let mut h = H::new(3, 0, 16);
    h.string_kv("general.architecture", "qwen2")
        .kv("u8", 0, &[200])
        .kv("i8", 1, &[0xff])
        .kv("u16", 2, &300u16.to_le_bytes())
        .kv("i16", 3, &(-300i16).to_le_bytes())
        .kv("u32", 4, &70_000u32.to_le_bytes())
        .kv("i32", 5, &(-70_000i32).to_le_bytes())
        .kv("f32", 6, &1.5f32.to_le_bytes())
        .kv("bool", 7, &[1])
        .kv("u64", 10, &(1u64 << 40).to_le_bytes())
        .kv("i64", 11, &(-1i64 << 40).to_le_bytes())
        .kv("f64", 12, &2.25f64.to_le_bytes());
    // Trailing NULs are cut; bad UTF-8 is read lossily.
    h.str(b"nul").u32(8).str(b"text\0\0");
    h.str(b"utf8").u32(8).str(&[b'a', 0xff]);
    h.str(b"strings").u32(9).u32(8).len(2).str(b"x").str(b"yz");
    h.str(b"nested").u32(9).u32(9).len(1).u32(4).len(2).u32(7).u32(8);
    let f = h.file(32, 0);
    let (c, _, size) = read_header(f.path()).unwrap();
    assert_eq!(size, std::fs::metadata(f.path()).unwrap().len());
    let m = &c.metadata;
    assert_eq!(m.len(), 16);
    assert_eq!(m["u8"], Value::U8(200));
    assert_eq!(m["i8"], Value::I8(-1));
    assert_eq!(m["u16"], Value::U16(300));
    assert_eq!(m["i16"], Value::I16(-300));
    assert_eq!(m["u32"], Value::U32(70_000));
    assert_eq!(m["i32"], Value::I32(-70_000));
    assert_eq!(m["f32"], Value::F32(1.5));
    assert_eq!(m["bool"], Value::Bool(true));
    assert_eq!(m["u64"], Value::U64(1 << 40));
    assert_eq!(m["i64"], Value::I64(-1 << 40));
    assert_eq!(m["f64"], Value::F64(2.25));
    assert_eq!(m["nul"], Value::String("text".into()));
    assert_eq!(m["utf8"], Value::String("a\u{fffd}".into()));
    assert_eq!(m["strings"], Value::Array(vec![Value::String("x".into()), Value::String("yz".into())]));
    assert_eq!(m["nested"], Value::Array(vec![Value::Array(vec![Value::U32(7), Value::U32(8)])]));
    assert_eq!(c.version, 3);
    assert!(c.tensor_infos.is_empty());
}

#[test]
fn conversions_are_exact_and_the_file_getters_widen() {
    let v = Value::U64(5);
    assert_eq!(v.to_u64().unwrap(), 5);
    assert_eq!(v.to_u32().unwrap_err().to_string(), "not a u32 U64(5)");
    assert_eq!(Value::U16(7).to_u64().unwrap(), 7);
    assert!(Value::I32(-1).to_u64().is_err());
    assert_eq!(Value::String("a".into()).to_string().unwrap(), "a");

    let mut h = H::new(3, 0, 5);
    h.string_kv("general.architecture", "llama")
        .kv("llama.block_count", 10, &3u64.to_le_bytes())
        .kv("llama.context_length", 5, &(-1i32).to_le_bytes())
        .kv("llama.rope.freq_base", 6, &1e4f32.to_le_bytes())
        .kv("tokenizer.ggml.add_bos_token", 7, &[0]);
    let f = h.file(32, 0);
    let g = GgufFile::open(f.path()).unwrap();
    assert_eq!(g.architecture, Architecture::Llama);
    assert_eq!(g.arch_u32("block_count"), Some(3));
    assert_eq!(g.arch_u32("context_length"), None, "a negative count is no count");
    assert_eq!(g.arch_f32("rope.freq_base"), Some(1e4));
    assert_eq!(g.bool("tokenizer.ggml.add_bos_token"), Some(false));
    assert_eq!(g.string("general.architecture"), Some("llama"));
    assert_eq!(g.string("llama.block_count"), None);
}

#[test]
fn version_1_has_32_bit_lengths() {
    let mut h = H::new(1, 1, 1);
    h.string_kv("general.architecture", "qwen2").tensor("t", &[32, 2], 0, 0);
    let f = h.file(32, 256);
    let g = GgufFile::open(f.path()).unwrap();
    assert_eq!(g.content.version, 1);
    let t = &g.content.tensor_infos["t"];
    assert_eq!(t.shape.dims(), &[2, 32], "outermost first");
    assert_eq!((t.ggml_dtype, t.offset, t.bytes()), (GgmlDType::F32, 0, 256));
}

#[test]
fn tensor_data_starts_at_the_alignment() {
    for (align, ty, value) in [(32usize, None, vec![]), (64, Some(4u32), 64u32.to_le_bytes().to_vec())] {
        let mut h = H::new(3, 2, 1 + ty.is_some() as u64);
        h.string_kv("general.architecture", "qwen2");
        if let Some(ty) = ty {
            h.kv("general.alignment", ty, &value);
        }
        // Q8_0: 34 bytes a block of 32; Q4_K: 144 bytes a block of 256.
        h.tensor("a", &[64, 3], 8, 0).tensor("b", &[256], 12, 256);
        let f = h.file(align, 256 + 144);
        let g = GgufFile::open(f.path()).unwrap();
        assert_eq!(g.content.tensor_data_offset % align as u64, 0);
        assert_eq!(g.content.tensor_data_offset + 400, g.file_size);
        assert_eq!(g.content.tensor_infos["a"].bytes(), 6 * 34);
        assert_eq!(g.content.tensor_infos["b"].ggml_dtype, GgmlDType::Q4K);
    }
}

/// `general.alignment` with a NUL after it is the same key once read: the
/// parse checks the value it uses, not only the first pass.
#[test]
fn an_alignment_under_a_nul_padded_key_is_checked_too() {
    for a in [0u32, 3] {
        let mut h = H::new(3, 0, 2);
        h.string_kv("general.architecture", "qwen2").str(b"general.alignment\0").u32(4).u32(a);
        let f = h.file(32, 0);
        let r = std::panic::catch_unwind(|| GgufFile::open(f.path()).map(|_| ()));
        let e = r.expect("no panic").expect_err("accepted");
        assert!(matches!(e, GgufError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains(&format!("general.alignment {a} is not a power of two")), "{e}");
    }
}

#[test]
fn bad_files_get_typed_errors() {
    let e = GgufFile::open(&PathBuf::from("/nonexistent/m.gguf")).err().unwrap();
    assert!(matches!(e, GgufError::NotFound(_)), "{e}");
    assert_eq!(e.to_string(), "model file not found: /nonexistent/m.gguf");

    let d = tempfile::tempdir().unwrap();
    assert!(matches!(GgufFile::open(d.path()), Err(GgufError::NotGguf { .. })));
    let mut t = tempfile::NamedTempFile::new().unwrap();
    t.write_all(b"<html>").unwrap();
    let e = GgufFile::open(t.path()).err().unwrap();
    assert!(e.to_string().contains("(it starts with \"<htm\", a GGUF file starts with \"GGUF\")"), "{e}");

    let mut h = H::new(3, 0, 1);
    h.string_kv("general.architecture", "mamba");
    let e = GgufFile::open(h.file(32, 0).path()).err().unwrap();
    assert!(matches!(e, GgufError::UnsupportedArchitecture(ref a) if a == "mamba"), "{e}");

    let e = GgufFile::open(H::new(3, 0, 0).file(1, 0).path()).err().unwrap();
    assert!(e.to_string().ends_with("is truncated or corrupt: general.architecture is missing"), "{e}");

    // IQ4_NL (20): named as unsupported, with the type's id.
    let mut h = H::new(3, 1, 1);
    h.string_kv("general.architecture", "qwen2").tensor("t", &[32], 20, 0);
    let e = GgufFile::open(h.file(32, 64).path()).err().unwrap();
    match &e {
        GgufError::UnsupportedQuantization { detail, .. } => assert_eq!(detail, "unknown dtype for tensor 20"),
        _ => panic!("{e}"),
    }

    let mut h = H::new(3, 0, 2);
    h.string_kv("general.architecture", "qwen2").kv("b", 7, &[2]);
    let e = GgufFile::open(h.file(1, 0).path()).err().unwrap();
    assert!(e.to_string().ends_with("is truncated or corrupt: unexpected bool value 2"), "{e}");

    // A tensor past the end; a tensor not a whole number of blocks.
    let mut h = H::new(3, 1, 1);
    h.string_kv("general.architecture", "qwen2").tensor("t", &[1024], 0, 0);
    let e = GgufFile::open(h.file(32, 16).path()).err().unwrap();
    assert!(e.to_string().contains("tensor t ends at byte"), "{e}");
    let mut h = H::new(3, 1, 1);
    h.string_kv("general.architecture", "qwen2").tensor("t", &[33], 8, 0);
    let e = GgufFile::open(h.file(32, 64).path()).err().unwrap();
    assert!(e.to_string().contains("not a multiple of its block size 32"), "{e}");
}

/// Every length the header declares is checked against the file before
/// the parse would allocate it.
#[test]
fn lengths_past_the_file_are_refused() {
    let cases: Vec<(&str, H)> = vec![
        ("string", {
            let mut h = H::new(3, 0, 1);
            h.str(b"k").u32(8).len(1 << 50);
            h
        }),
        ("array", {
            let mut h = H::new(3, 0, 1);
            h.str(b"k").u32(9).u32(8).len(1 << 60);
            h
        }),
        ("kv count", H::new(3, 0, 1 << 62)),
        ("tensor count", H::new(3, 1 << 62, 0)),
        ("dims", {
            let mut h = H::new(3, 1, 0);
            h.str(b"t").u32(5);
            h
        }),
        ("version", H::new(4, 0, 0)),
    ];
    for (what, h) in cases {
        let e = GgufFile::open(h.file(1, 64).path()).err().unwrap();
        assert!(matches!(e, GgufError::Corrupt { .. }), "{what}: {e}");
    }
}

/// A real model, from its header alone: the sizes the engine and the model
/// list read.
#[test]
fn a_real_model_header() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let out = std::process::Command::new(root.join("scripts/fetch-test-models"))
        .args(["--print-path", "0.5b"])
        .output()
        .unwrap();
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(path.is_file(), "{} is missing: run scripts/fetch-test-models 0.5b", path.display());
    let g = GgufFile::open(&path).unwrap();
    assert_eq!(g.architecture, Architecture::Qwen2);
    let vocab = match g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(t)) => t.len(),
        _ => panic!("no tokens"),
    };
    let sizes = shapes::check(&g, vocab).unwrap();
    let kv = sizes.kv_shape();
    assert_eq!((kv.layers, kv.kv_heads, kv.head_dim), (24, 2, 64));
    assert_eq!((sizes.hidden, sizes.heads, sizes.ffn, sizes.vocab_rows), (896, 14, 4864, 151936));
    let e = shapes::check(&g, 1 << 20).unwrap_err();
    assert!(e.to_string().contains("the tokenizer has 1048576 tokens but the embeddings only"), "{e}");
    let small = sizes.memory_needed(&g, 1024, true);
    let large = sizes.memory_needed(&g, cmdbar_gguf::DEFAULT_MAX_CONTEXT, true);
    assert!(g.file_size < small && small < large && large < sizes.memory_needed(&g, 4096, false));
}
