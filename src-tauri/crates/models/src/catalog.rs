//! The curated models Cmdbar recommends (`catalog.json`, versioned), and
//! whether a model fits this machine's memory.
use std::sync::OnceLock;

use cmdbar_gguf::KvShape;
use serde::{Deserialize, Serialize};

use crate::hub::RemoteFile;
use crate::{ModelsError, Result};

pub const CATALOG_VERSION: u32 = 1;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub id: String,
    pub name: String,
    pub repo: String,
    pub file: String,
    pub quantization: String,
    pub size: u64,
    /// The file's LFS sha256 as published on the Hub; a mirror that offers
    /// other bytes under this name is refused.
    pub sha256: String,
    /// The attention shape, so the memory estimate needs no download.
    pub kv: KvShape,
    pub default: bool,
    pub note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: u32,
    models: Vec<CatalogEntry>,
}

fn parse(text: &str) -> std::result::Result<Vec<CatalogEntry>, String> {
    let f: CatalogFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if f.version != CATALOG_VERSION {
        return Err(format!("catalog version {} is not {CATALOG_VERSION}", f.version));
    }
    if f.models.iter().filter(|m| m.default).count() != 1 {
        return Err("the catalog must have exactly one default model".into());
    }
    for m in &f.models {
        if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(format!("{}: sha256 must be 64 lowercase hex digits", m.id));
        }
        crate::repo_name(&m.repo).map_err(|e| format!("{}: {e}", m.id))?;
    }
    Ok(f.models)
}

/// The catalog built into this binary.
pub fn catalog() -> &'static [CatalogEntry] {
    static C: OnceLock<Vec<CatalogEntry>> = OnceLock::new();
    // The file is compiled in and checked by a unit test, so it parses.
    C.get_or_init(|| parse(include_str!("catalog.json")).expect("catalog.json is valid"))
}

/// The model Cmdbar uses when none is chosen (the catalog has exactly one).
pub fn default_entry() -> &'static CatalogEntry {
    // parse() requires exactly one default, and a unit test parses the file.
    catalog().iter().find(|m| m.default).expect("catalog has a default model")
}

pub fn by_id(id: &str) -> Option<&'static CatalogEntry> {
    catalog().iter().find(|m| m.id.eq_ignore_ascii_case(id))
}

/// The catalog entry a repo and file name stand for, compared as a server
/// reads them (`crate::names::normalised`: `./name`, `NAME` and `na%6De`
/// are the same file to a mirror, so they are the same pin here).
pub fn find(repo: &str, file: &str) -> Option<&'static CatalogEntry> {
    let (repo, file) = (crate::names::normalised(repo), crate::names::normalised(file));
    catalog().iter().find(|m| crate::names::normalised(&m.repo) == repo && crate::names::normalised(&m.file) == file)
}

/// A catalog file must be the one the catalog names: a mirror (or a
/// changed repo) offering other bytes under that name, or any spelling of
/// it, is refused before anything is downloaded.
pub fn check_offer(f: &RemoteFile) -> Result<()> {
    match find(&f.repo, &f.file) {
        Some(e) if e.sha256 != f.sha256 => Err(ModelsError::NotTheCatalogFile {
            file: f.file.clone(),
            expected: e.sha256.clone(),
            offered: f.sha256.clone(),
        }),
        _ => Ok(()),
    }
}

/// This machine's memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
}

impl Memory {
    /// None where the platform won't say; then no fit is shown.
    pub fn of_this_machine() -> Option<Self> {
        let mut s = sysinfo::System::new().ok()?;
        s.refresh_memory();
        Some(Self { total: s.total_memory(), available: s.available_memory() }).filter(|m| m.total > 0)
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    Fits,
    /// Fits the machine, but not in the memory free right now.
    Tight,
    TooBig,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitHint {
    pub fit: Fit,
    /// Estimated bytes of memory while loaded.
    pub needed: u64,
    pub text: String,
}

/// Tokenizer, activations, logits and the app around them.
const OVERHEAD: u64 = 300 << 20;

/// Memory a model needs loaded: its weights (read whole), the KV cache at
/// the engine's context cap, and a fixed overhead. The cache is counted at
/// f32, as on a GPU (Metal shares the Mac's memory); the CPU's is half.
pub fn ram_needed(file_size: u64, kv: Option<KvShape>) -> u64 {
    let max_context = cmdbar_gguf::DEFAULT_MAX_CONTEXT;
    file_size + kv.map_or(0, |k| k.bytes(max_context, false)) + OVERHEAD
}

/// Memory a model file needs loaded, from its header: what the engine
/// allocates at its context cap (`Sizes::memory_needed`: weights as
/// held, KV cache, rotary tables, scratch) and the fixed overhead. The
/// cache is counted at f32, as on a GPU. Sizes that do not match the
/// tensors (a file that will not load) count as the file's size.
pub fn ram_needed_for(g: &cmdbar_gguf::GgufFile) -> u64 {
    let max_context = cmdbar_gguf::DEFAULT_MAX_CONTEXT;
    // The tokenizer is not read here: 0 skips its check against the table.
    let needed = cmdbar_gguf::shapes::check(g, 0).map_or(g.file_size, |s| s.memory_needed(g, max_context, false));
    needed.saturating_add(OVERHEAD)
}

/// Too big when it would take over 3/4 of the machine's memory (the rest is
/// the user's other work); tight when it fits but not in what is free now.
pub fn judge(needed: u64, mem: Memory) -> FitHint {
    let gb = |b: u64| format!("{:.1} GB", b as f64 / 1e9);
    let (fit, text) = if needed > mem.total / 4 * 3 {
        (Fit::TooBig, format!("too big: needs about {}, this machine has {}", gb(needed), gb(mem.total)))
    } else if needed > mem.available {
        (Fit::Tight, format!("tight: needs about {}, {} is free now", gb(needed), gb(mem.available)))
    } else {
        (Fit::Fits, format!("fits: needs about {} of {}", gb(needed), gb(mem.total)))
    };
    FitHint { fit, needed, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_parses_with_one_default_the_engine_can_size() {
        let c = catalog();
        assert!(c.len() >= 4);
        let d = c.iter().find(|m| m.default).unwrap();
        assert_eq!(d.file, crate::DEFAULT_MODEL_FILE);
        for m in c {
            assert!(m.file.ends_with(".gguf") && m.size > 0, "{}", m.id);
            assert!(m.kv.bytes(4096, true) > 0);
        }
        assert_eq!(by_id("QWEN2.5-coder-3b").unwrap().repo, "Qwen/Qwen2.5-Coder-3B-Instruct-GGUF");
    }

    /// A header whose sizes contradict each other (a file that will not
    /// load) is sized by the file, not by the sizes it claims.
    #[test]
    fn sizes_that_do_not_check_count_as_the_file() {
        let s = |t: &str| [(t.len() as u64).to_le_bytes().to_vec(), t.as_bytes().to_vec()].concat();
        let u32_kv = |k: &str, v: u32| [s(k), 4u32.to_le_bytes().to_vec(), v.to_le_bytes().to_vec()].concat();
        let mut b =
            [b"GGUF".to_vec(), 3u32.to_le_bytes().to_vec(), 0u64.to_le_bytes().to_vec(), 5u64.to_le_bytes().to_vec()]
                .concat();
        b.extend([s("general.architecture"), 8u32.to_le_bytes().to_vec(), s("qwen2")].concat());
        // A thousand layers a million wide, in three heads that do not divide
        // the width, and no tensors at all.
        b.extend(u32_kv("qwen2.block_count", 1000));
        b.extend(u32_kv("qwen2.embedding_length", 1 << 20));
        b.extend(u32_kv("qwen2.attention.head_count", 3));
        b.extend(u32_kv("qwen2.context_length", 32768));
        b.resize(b.len().next_multiple_of(32), 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.gguf");
        std::fs::write(&path, &b).unwrap();
        let g = cmdbar_gguf::GgufFile::open(&path).unwrap();
        assert!(cmdbar_gguf::shapes::check(&g, 0).is_err());
        assert_eq!(ram_needed_for(&g), g.file_size + OVERHEAD);
    }

    #[test]
    fn a_bad_catalog_says_what_is_wrong() {
        let good = include_str!("catalog.json");
        assert!(parse(&good.replace("\"version\": 1", "\"version\": 2")).unwrap_err().contains("version 2"));
        assert!(parse(&good.replace("\"default\": false", "\"default\": true")).unwrap_err().contains("one default"));
        let bad_sha = good.replace("cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "cc32");
        assert!(parse(&bad_sha).unwrap_err().contains("64 lowercase hex"));
        assert!(parse(&good.replace("\"note\"", "\"notes\"")).is_err());
    }

    #[test]
    fn the_kv_cache_estimate_follows_the_engine_cap() {
        // Qwen2.5-Coder-1.5B: 28 layers, 2 kv heads of 128, 4096 tokens.
        let kv = by_id("qwen2.5-coder-1.5b").unwrap().kv;
        assert_eq!(kv.bytes(4096, false), 2 * 28 * 2 * 128 * 4096 * 4);
        assert_eq!(kv.bytes(4096, true), 2 * 28 * 2 * 128 * 4096 * 2, "f16 on the CPU");
        assert_eq!(kv.bytes(1 << 20, false), kv.bytes(32768, false), "never more than the model's own context");
        assert_eq!(ram_needed(1000, None), 1000 + OVERHEAD);
    }

    #[test]
    fn fit_is_judged_from_total_and_free_memory() {
        const G: u64 = 1 << 30;
        let laptop = Memory { total: 8 * G, available: 3 * G };
        assert_eq!(judge(2 * G, laptop).fit, Fit::Fits);
        assert_eq!(judge(4 * G, laptop).fit, Fit::Tight);
        let big = judge(7 * G, laptop);
        assert_eq!(big.fit, Fit::TooBig);
        assert!(big.text.contains("this machine has 8.6 GB"), "{}", big.text);
    }

    #[test]
    fn a_mirror_offering_other_bytes_under_a_catalog_name_is_refused() {
        let e = by_id("qwen2.5-coder-0.5b").unwrap();
        let mut f = RemoteFile {
            repo: e.repo.clone(),
            file: e.file.clone(),
            revision: "main".into(),
            commit: "c".repeat(40),
            sha256: e.sha256.clone(),
            size: e.size,
            url: "http://mirror/x".into(),
        };
        check_offer(&f).unwrap();
        f.sha256 = "0".repeat(64);
        let err = check_offer(&f).unwrap_err().to_string();
        assert!(err.contains("not the file the catalog names"), "{err}");
        // Other spellings of the same file are the same pin.
        for spelling in
            [format!("./{}", e.file), e.file.to_uppercase(), e.file.replace('.', "%2E"), format!("/{}", e.file)]
        {
            let g = RemoteFile { file: spelling.clone(), ..f.clone() };
            assert!(check_offer(&g).is_err(), "{spelling} got past the pin");
        }
        let g = RemoteFile { repo: e.repo.to_lowercase(), ..f.clone() };
        assert!(check_offer(&g).is_err(), "the repo in lower case got past the pin");
        f.repo = "someone/else".into();
        check_offer(&f).unwrap();
    }

    #[test]
    fn this_machine_reports_its_memory() {
        let m = Memory::of_this_machine().unwrap();
        assert!(m.total > 0 && m.available <= m.total, "{m:?}");
    }
}
