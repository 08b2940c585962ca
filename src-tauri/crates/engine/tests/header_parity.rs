//! `cmdbar-gguf` reads headers itself; Candle's reader is the reference.
//! On the real models, the tiny ones and the crafted fixtures that open,
//! both must find the same metadata, tensors and data offset.
mod common;
mod tiny;

use std::path::Path;

use candle_core::quantized::gguf_file;
use cmdbar_engine::gguf::{candle_dtype, read_header, GgmlDType};

fn same_header(path: &Path) {
    let (ours, _, _) = read_header(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).unwrap();
    let theirs = gguf_file::Content::read(&mut f).unwrap();
    let p = path.display();
    assert_eq!(ours.tensor_data_offset, theirs.tensor_data_offset, "{p}");
    assert_eq!(ours.metadata.len(), theirs.metadata.len(), "{p}");
    for (k, v) in &theirs.metadata {
        // The two `Value`s have the same variants, so the same `Debug`.
        let mine = ours.metadata.get(k).unwrap_or_else(|| panic!("{p}: {k} is missing"));
        assert_eq!(format!("{mine:?}"), format!("{v:?}"), "{p}: {k}");
    }
    assert_eq!(ours.tensor_infos.len(), theirs.tensor_infos.len(), "{p}");
    for (name, t) in &theirs.tensor_infos {
        let mine = &ours.tensor_infos[name];
        assert_eq!(candle_dtype(mine.ggml_dtype), t.ggml_dtype, "{p}: {name}");
        assert_eq!(mine.shape.dims(), t.shape.dims(), "{p}: {name}");
        assert_eq!(mine.offset, t.offset, "{p}: {name}");
    }
}

#[test]
fn real_models_read_the_same() {
    for m in ["0.5b", "gemma-270m"] {
        same_header(&common::model(m));
    }
}

#[test]
fn tiny_models_and_fixtures_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    for (name, model) in [("qwen2", tiny::qwen2(false)), ("llama", tiny::qwen2(true)), ("gemma3", tiny::gemma3())] {
        same_header(&model.write(dir.path(), &format!("{name}.gguf")));
    }
    same_header(&common::repo_root().join("tests/fixtures/bad-gguf/gemma3-rope-tables.gguf"));
}

/// The block sizes the header's checks and estimates use are Candle's.
#[test]
fn block_sizes_are_candles() {
    use GgmlDType as D;
    let all = [
        D::F32,
        D::F16,
        D::BF16,
        D::Q4_0,
        D::Q4_1,
        D::Q5_0,
        D::Q5_1,
        D::Q8_0,
        D::Q8_1,
        D::Q2K,
        D::Q3K,
        D::Q4K,
        D::Q5K,
        D::Q6K,
        D::Q8K,
    ];
    for d in all {
        let c = candle_dtype(d);
        assert_eq!((d.block_size(), d.type_size()), (c.block_size(), c.type_size()), "{d:?}");
        assert_eq!(D::from_u32(d.to_u32()), Some(d));
    }
    // Every id Candle reads, and no other, in 0..64.
    let candle_reads = |id: u32| {
        let t = [b"GGUF".as_slice(), &3u32.to_le_bytes(), &1u64.to_le_bytes(), &0u64.to_le_bytes()].concat();
        let t = [t, 1u64.to_le_bytes().to_vec(), b"t".to_vec(), 1u32.to_le_bytes().to_vec()].concat();
        let t = [t, 256u64.to_le_bytes().to_vec(), id.to_le_bytes().to_vec(), 0u64.to_le_bytes().to_vec()].concat();
        gguf_file::Content::read(&mut std::io::Cursor::new(t)).is_ok()
    };
    for id in 0..64 {
        assert_eq!(D::from_u32(id).is_some(), candle_reads(id), "type {id}");
    }
}
