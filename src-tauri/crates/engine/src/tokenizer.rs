//! A `tokenizers::Tokenizer` built from a GGUF's own `tokenizer.ggml.*`
//! metadata, so one file is enough; a `tokenizer.json` beside it wins.
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::{Prepend, Replace};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::error::{EngineError, Result};
use crate::gguf::{GgufFile, Value};

// llama.cpp's token types (tokenizer.ggml.token_type).
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;
const TYPE_UNUSED: i32 = 5;
const TYPE_BYTE: i32 = 6;

/// Pre-tokenizer patterns by `tokenizer.ggml.pre`, as llama.cpp names them.
fn pre_pattern(pre: &str) -> &'static str {
    match pre {
        "qwen2" | "deepseek-r1-qwen" => {
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        }
        "llama3" | "llama-bpe" | "smaug-bpe" => {
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        }
        _ => r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    }
}

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// Raw bytes of each token, flattened: `bytes[offsets[i]..offsets[i + 1]]`.
    /// Streaming decode appends these, so the hot loop never calls the decoder.
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    bos: Option<u32>,
    add_bos: bool,
    stop_ids: Vec<u32>,
    control: ControlTokens,
}

/// The text of a model's control tokens (`<|im_end|>`, `<end_of_turn>`…),
/// matched in one pass. Untrusted text is stripped of them so that it
/// cannot end a turn or fake one. Cheap to clone.
#[derive(Clone, Default)]
pub struct ControlTokens(Option<Arc<AhoCorasick>>);

impl ControlTokens {
    pub fn new<I, P>(texts: I) -> Result<Self>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(texts)
            .map_err(|e| EngineError::Tokenizer(format!("control tokens: {e}")))?;
        Ok(Self((ac.patterns_len() > 0).then(|| Arc::new(ac))))
    }

    /// `text` without any control-token text; borrowed when there was none.
    pub fn strip<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(ac) = &self.0 else {
            return Cow::Borrowed(text);
        };
        let mut matches = ac.find_iter(text).peekable();
        if matches.peek().is_none() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in matches {
            out.push_str(&text[last..m.start()]);
            last = m.end();
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }
}

impl std::fmt::Debug for ControlTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ControlTokens({})", self.0.as_ref().map_or(0, |ac| ac.patterns_len()))
    }
}

impl Tokenizer {
    pub fn load(gguf: &GgufFile) -> Result<Self> {
        let tokens = string_array(gguf, "tokenizer.ggml.tokens")?;
        let types = int_array(gguf, "tokenizer.ggml.token_type").unwrap_or_default();
        let type_of = |i: usize| types.get(i).copied().unwrap_or(1);
        let model = gguf.string("tokenizer.ggml.model").unwrap_or("gpt2");

        let beside = gguf.path.with_file_name("tokenizer.json");
        let inner = if beside.is_file() {
            tokenizers::Tokenizer::from_file(&beside)
                .map_err(|e| EngineError::Tokenizer(format!("{}: {e}", beside.display())))?
        } else {
            match model {
                "gpt2" => build_bpe(gguf, &tokens)?,
                "llama" => build_spm(gguf, &tokens, &types)?,
                other => {
                    return Err(EngineError::Tokenizer(format!(
                        "tokenizer type '{other}' is not supported (supported: gpt2, llama); \
                         place a tokenizer.json beside the model to use it"
                    )))
                }
            }
        };
        let mut inner = inner;
        // Control and user-defined tokens are matched whole in text, as the
        // chat template writes them.
        let added: Vec<AddedToken> = tokens
            .iter()
            .enumerate()
            .filter(|&(i, _)| matches!(type_of(i), TYPE_CONTROL | TYPE_USER_DEFINED))
            .map(|(i, t)| AddedToken::from(t.clone(), type_of(i) == TYPE_CONTROL).normalized(false))
            .collect();
        inner.add_special_tokens(&added);

        let byte_level = model == "gpt2";
        let unicode_to_byte = byte_level.then(byte_decoder);
        let mut bytes = Vec::with_capacity(tokens.len() * 4);
        let mut offsets = Vec::with_capacity(tokens.len() + 1);
        offsets.push(0u32);
        for (i, t) in tokens.iter().enumerate() {
            match type_of(i) {
                TYPE_CONTROL | TYPE_UNUSED => {}
                TYPE_USER_DEFINED => bytes.extend_from_slice(t.as_bytes()),
                TYPE_BYTE if !byte_level => bytes.push(parse_byte_token(t).unwrap_or(b'?')),
                _ => match &unicode_to_byte {
                    Some(map) => {
                        for c in t.chars() {
                            match map.get(&c) {
                                Some(b) => bytes.push(*b),
                                None => bytes.extend_from_slice(c.to_string().as_bytes()),
                            }
                        }
                    }
                    None => bytes.extend_from_slice(t.replace('\u{2581}', " ").as_bytes()),
                },
            }
            offsets.push(bytes.len() as u32);
        }

        let bos = gguf.u32("tokenizer.ggml.bos_token_id");
        let add_bos = gguf.bool("tokenizer.ggml.add_bos_token").unwrap_or(false) && bos.is_some();
        let mut stop_ids: Vec<u32> = ["eos", "eot", "eom"]
            .iter()
            .filter_map(|k| gguf.u32(&format!("tokenizer.ggml.{k}_token_id")))
            .filter(|&id| (id as usize) < tokens.len())
            .collect();
        stop_ids.sort_unstable();
        stop_ids.dedup();
        if stop_ids.is_empty() {
            return Err(EngineError::Tokenizer("the model names no end-of-sequence token".into()));
        }
        let control =
            ControlTokens::new(tokens.iter().enumerate().filter(|&(i, _)| type_of(i) == TYPE_CONTROL).map(|(_, t)| t))?;
        Ok(Self { inner, bytes, offsets, bos, add_bos, stop_ids, control })
    }

    /// Tokens of `text`, with BOS when the model asks for it. Control tokens
    /// written in the text (e.g. `<|im_start|>`) become their single ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if self.add_bos {
            ids.extend(self.bos);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// The raw bytes a token stands for; empty for control tokens.
    #[inline]
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.bytes[a as usize..b as usize],
            _ => &[],
        }
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = Vec::new();
        for &id in ids {
            out.extend_from_slice(self.token_bytes(id));
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn is_stop(&self, id: u32) -> bool {
        self.stop_ids.contains(&id)
    }

    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    pub fn vocab_size(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn control_tokens(&self) -> &ControlTokens {
        &self.control
    }
}

fn string_array(gguf: &GgufFile, key: &str) -> Result<Vec<String>> {
    match gguf.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(EngineError::Tokenizer(format!("{key} holds a non-string"))),
            })
            .collect(),
        _ => Err(EngineError::Tokenizer(format!("{key} is missing from the model file"))),
    }
}

fn int_array(gguf: &GgufFile, key: &str) -> Option<Vec<i32>> {
    match gguf.get(key) {
        Some(Value::Array(items)) => items.iter().map(|v| v.to_i32().ok()).collect(),
        _ => None,
    }
}

fn f32_array(gguf: &GgufFile, key: &str) -> Option<Vec<f32>> {
    match gguf.get(key) {
        Some(Value::Array(items)) => items.iter().map(|v| v.to_f32().ok()).collect(),
        _ => None,
    }
}

fn vocab_map(tokens: &[String]) -> tokenizers::models::bpe::Vocab {
    tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect()
}

fn tok_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Tokenizer(e.to_string())
}

/// Byte-level BPE (GPT-2 style), as Qwen and Llama 3 use.
fn build_bpe(gguf: &GgufFile, tokens: &[String]) -> Result<tokenizers::Tokenizer> {
    let merges = string_array(gguf, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) => Ok((a.to_string(), b.to_string())),
            None => Err(EngineError::Tokenizer(format!("malformed merge '{m}'"))),
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder().vocab_and_merges(vocab_map(tokens), merges).build().map_err(tok_err)?;
    let pre = gguf.string("tokenizer.ggml.pre").unwrap_or("default");
    let split = Split::new(SplitPattern::Regex(pre_pattern(pre).to_string()), SplitDelimiterBehavior::Isolated, false)
        .map_err(tok_err)?;
    let mut tk = tokenizers::Tokenizer::new(bpe);
    tk.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(PreSequence::new(vec![
        split.into(),
        ByteLevel::new(false, false, false).into(),
    ]))));
    tk.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevelDecoder::default())));
    Ok(tk)
}

/// SentencePiece BPE (`llama` tokenizer type, e.g. Gemma): merges are derived
/// from the piece scores, as Hugging Face's converter does, with byte fallback.
fn build_spm(gguf: &GgufFile, tokens: &[String], types: &[i32]) -> Result<tokenizers::Tokenizer> {
    let scores = f32_array(gguf, "tokenizer.ggml.scores")
        .ok_or_else(|| EngineError::Tokenizer("tokenizer.ggml.scores is missing".into()))?;
    let vocab = vocab_map(tokens);
    let mut merges: Vec<(f32, u32, u32, &str, &str)> = Vec::new();
    for (i, piece) in tokens.iter().enumerate() {
        if types.get(i).copied().unwrap_or(1) != 1 {
            continue;
        }
        let score = scores.get(i).copied().unwrap_or(0.0);
        for (split, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(split);
            if let (Some(&li), Some(&ri)) = (vocab.get(l), vocab.get(r)) {
                merges.push((score, li, ri, l, r));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let merges = merges.into_iter().map(|(_, _, _, l, r)| (l.to_string(), r.to_string())).collect();
    let unk = gguf.u32("tokenizer.ggml.unknown_token_id").and_then(|id| tokens.get(id as usize).cloned());
    let mut builder = BPE::builder().vocab_and_merges(vocab, merges).byte_fallback(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(unk);
    }
    let bpe = builder.build().map_err(tok_err)?;
    let space_prefix = gguf.bool("tokenizer.ggml.add_space_prefix").unwrap_or(true);
    let mut tk = tokenizers::Tokenizer::new(bpe);
    let replace = Replace::new(" ", "\u{2581}").map_err(tok_err)?;
    let normalizer = if space_prefix {
        NormalizerWrapper::Sequence(tokenizers::normalizers::Sequence::new(vec![
            Prepend::new("\u{2581}".into()).into(),
            replace.into(),
        ]))
    } else {
        replace.into()
    };
    tk.with_normalizer(Some(normalizer));
    let mut decoders: Vec<DecoderWrapper> = vec![
        tokenizers::decoders::DecoderWrapper::Replace(Replace::new("\u{2581}", " ").map_err(tok_err)?),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if space_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tk.with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(decoders))));
    Ok(tk)
}

fn parse_byte_token(t: &str) -> Option<u8> {
    let hex = t.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// GPT-2's reversible map from bytes to printable characters, inverted.
fn byte_decoder() -> HashMap<char, u8> {
    let mut printable: Vec<u8> = (b'!'..=b'~').chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut map: HashMap<char, u8> = printable.iter().map(|&b| (b as char, b)).collect();
    let mut n = 0u32;
    for b in 0..=255u8 {
        if !printable.contains(&b) {
            map.insert(char::from_u32(256 + n).expect("valid char"), b);
            printable.push(b);
            n += 1;
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_tokens_are_stripped_in_one_pass() {
        let c = ControlTokens::new(["<|im_end|>", "<|im_start|>", "<|im"]).unwrap();
        assert_eq!(c.strip("a<|im_end|>b<|im_start|>c"), "abc");
        // Longest match wins, and what is left is not matched again.
        assert_eq!(c.strip("<<|im_end|>|im_end|>"), "<|im_end|>");
        assert!(matches!(c.strip("plain text"), Cow::Borrowed(_)));
        assert!(matches!(ControlTokens::default().strip("<|im_end|>"), Cow::Borrowed(_)));
    }
}
