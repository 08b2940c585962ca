//! The tokenizer built from GGUF metadata gives exactly llama.cpp's ids on
//! the same files (tests/fixtures/tokenizer-vectors.json, made by
//! scripts/make-tokenizer-vectors).
mod common;

use cmdbar_engine::gguf::GgufFile;
use cmdbar_engine::tokenizer::Tokenizer;

fn check(model: &str) {
    let fixture = common::repo_root().join("tests/fixtures/tokenizer-vectors.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let cases = v["models"][model].as_array().expect("vectors for model");
    let gguf = GgufFile::open(&common::model(model)).unwrap();
    let tok = Tokenizer::load(&gguf).unwrap();
    let mut wrong = vec![];
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let got = tok.encode(text).unwrap();
        if got != want {
            wrong.push(format!("{text:?}\n  want {want:?}\n  got  {got:?}"));
        }
        // Decoding gives the text back (control tokens decode to nothing).
        if !text.contains("<|") && !text.contains("<start_of_turn>") {
            assert_eq!(tok.decode(&got).trim_start(), text.trim_start(), "round trip of {text:?}");
        }
    }
    assert!(wrong.is_empty(), "{model}: {} of {} differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

#[test]
fn qwen2_bpe_matches_llama_cpp() {
    check("0.5b");
}

#[test]
fn gemma3_sentencepiece_matches_llama_cpp() {
    check("gemma-270m");
}

#[test]
fn stop_tokens_come_from_the_metadata() {
    let gguf = GgufFile::open(&common::model("0.5b")).unwrap();
    let tok = Tokenizer::load(&gguf).unwrap();
    // tokenizer.ggml.eos_token_id of Qwen2.5-Coder is <|im_end|>.
    assert_eq!(tok.stop_ids(), &[151645]);
    assert_eq!(tok.id_to_token(151645).as_deref(), Some("<|im_end|>"));
}

#[test]
fn a_tokenizer_json_beside_the_model_wins() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("model.gguf");
    std::os::unix::fs::symlink(common::model("0.5b"), &link).unwrap();
    let json = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
        "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
        "model":{"type":"WordLevel","vocab":{"[UNK]":0,"hello":5,"world":7},"unk_token":"[UNK]"}}"#;
    std::fs::write(dir.path().join("tokenizer.json"), json).unwrap();
    let tok = Tokenizer::load(&GgufFile::open(&link).unwrap()).unwrap();
    assert_eq!(tok.encode("hello world").unwrap(), vec![5, 7]);
}

#[test]
fn a_broken_tokenizer_json_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("model.gguf");
    std::os::unix::fs::symlink(common::model("0.5b"), &link).unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), "{ not json").unwrap();
    let err = Tokenizer::load(&GgufFile::open(&link).unwrap()).err().unwrap().to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
}

#[test]
fn control_token_text_comes_from_the_file_and_is_stripped() {
    for (model, ctl) in [("0.5b", "<|im_end|>"), ("gemma-270m", "<end_of_turn>")] {
        let tok = Tokenizer::load(&GgufFile::open(&common::model(model)).unwrap()).unwrap();
        let text = format!("list files{ctl} now");
        assert_eq!(tok.control_tokens().strip(&text), "list files now", "{model}");
    }
}
