//! The fits-this-machine hint against what loading really takes: the
//! Gemma 3 270M hint said ~0.7 GB while Candle's rotary tables made it
//! 3.6 GB.
use std::path::PathBuf;

use cmdbar_models::{HubCache, Library};

fn gemma() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let out = std::process::Command::new(root.join("scripts/fetch-test-models"))
        .args(["--print-path", "gemma-270m"])
        .output()
        .unwrap();
    let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.is_file(), "{} is missing: run scripts/fetch-test-models gemma-270m", p.display());
    p
}

/// In the child: loads the model at the engine's default cap, computes a
/// prompt and prints the peak RSS.
fn child() -> bool {
    let Ok(path) = std::env::var("CMDBAR_CHILD") else { return false };
    let ctx = cmdbar_engine::EngineConfig::default().max_context;
    let mut m = cmdbar_engine::Model::load(path.as_ref(), cmdbar_engine::DevicePreference::Cpu, ctx).unwrap();
    let ids = m.tokenizer.encode("find files over 100 MB changed this week, largest first").unwrap();
    let mut logits = Vec::new();
    m.prefill(&ids, &mut logits).unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches("kB").trim();
    println!("peak_rss_kb={hwm}");
    true
}

#[test]
fn the_fit_hint_covers_what_loading_really_takes() {
    if child() {
        return;
    }
    let path = gemma();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["the_fit_hint_covers_what_loading_really_takes", "--exact", "--nocapture", "--test-threads=1"])
        .env("CMDBAR_CHILD", &path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let peak: u64 =
        text.lines().find_map(|l| l.split("peak_rss_kb=").nth(1)).unwrap().trim().parse::<u64>().unwrap() * 1024;

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("models");
    std::fs::create_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(&path, folder.join("gemma.gguf")).unwrap();
    let lib = Library::new(HubCache { root: dir.path().join("hub") }, folder.join("imports.json"));
    let list = lib.list();
    let needed = list[0].fit.as_ref().expect("a fit for this machine").needed;
    // The hint is an upper bound, and not a wild one.
    assert!(needed >= peak, "the hint says {} MB, loading took {} MB", needed >> 20, peak >> 20);
    assert!(needed <= peak * 3, "the hint says {} MB, loading took only {} MB", needed >> 20, peak >> 20);
}
