//! `cmdbar models pull` against the local Hub server: killed with SIGKILL in
//! the middle of a download, it resumes with `Range` when run again.
#[path = "../../models/tests/hub/mod.rs"]
mod hub;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hub::{model, Server, FILE, REPO};

fn pull(server: &Server, home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmdbar"));
    c.args(["models", "pull", REPO, "--file", FILE])
        .env("HF_ENDPOINT", &server.url)
        .env("HF_HOME", home)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_CACHE");
    c
}

#[test]
fn a_pull_killed_mid_download_resumes_where_it_stopped() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    server.faults.lock().unwrap().slow = Some(Duration::from_millis(3));
    let home = tempfile::tempdir().unwrap();
    let part = home.path().join(format!("hub/models--{}/blobs/{}.part", REPO.replace('/', "--"), model().sha256));

    let mut child = pull(&server, home.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 16 << 20 {
        assert!(start.elapsed() < Duration::from_secs(120), "the download did not start");
        assert!(child.try_wait().unwrap().is_none(), "the pull ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept < model().bytes.len() as u64);

    server.faults.lock().unwrap().slow = None;
    let out = pull(&server, home.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(std::fs::read(&path).unwrap() == model().bytes, "the resumed file differs");
    assert_eq!(server.gets_with_range().last().unwrap(), &Some(kept), "resumed from the bytes on disk");
    assert!(!part.exists());

    let list = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["models", "list"])
        .env("HF_HOME", home.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains(&format!("{REPO}\t{FILE}")));
}

#[test]
fn a_missing_repo_or_bad_name_exits_with_a_clear_message() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(["models", "pull", "nobody/nothing", "--file", FILE])
        .env("HF_ENDPOINT", &server.url)
        .env("HF_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody/nothing was not found"));
    let out =
        Command::new(env!("CARGO_BIN_EXE_cmdbar")).args(["models", "pull", "qwen", "--file", FILE]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Hub repo"));
}

#[test]
fn search_and_files_list_what_the_hub_has() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    let run = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_cmdbar")).args(args).env("HF_ENDPOINT", &server.url).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run(&["models", "search", "gemma"]), format!("{REPO}\t1234 downloads\n"));
    let files = run(&["models", "files", &format!("{}/{REPO}", server.url)]);
    assert!(files.starts_with(&format!("{FILE}\tQ4_K_M\t")) && files.contains(&model().sha256), "{files}");
}

/// `cmdbar` with its own empty config, caches and Hub cache.
fn isolated(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(args)
        .env("CMDBAR_CONFIG_DIR", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("HF_HOME", dir.join("hf"))
        .env_remove("HF_HUB_CACHE")
        .env_remove("CMDBAR_MODEL")
        .output()
        .unwrap()
}

#[test]
fn the_catalog_lists_recommended_models_with_their_fit() {
    let dir = tempfile::tempdir().unwrap();
    let out = isolated(dir.path(), &["models", "catalog"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("qwen2.5-coder-1.5b (default)\tQ4_K_M\t1.12 GB\tfits: needs about"), "{text}");
    assert!(lines.iter().all(|l| l.ends_with("not installed")), "{text}");
    let out = isolated(dir.path(), &["models", "pull", "no-such-model"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the file with --file, or pull a catalog id"));
}

#[test]
fn use_makes_a_model_active_for_the_cli_and_the_app_and_refuses_what_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("cache/cmdbar/models");
    std::fs::create_dir_all(&models).unwrap();
    let gguf = models.join(FILE);
    std::fs::write(&gguf, &model().bytes).unwrap();
    let settings = dir.path().join("config/settings.json");

    // By file name: a model in Cmdbar's folder.
    let out = isolated(dir.path(), &["models", "use", FILE]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(saved["active_model"], gguf.to_str().unwrap());
    let list = String::from_utf8(isolated(dir.path(), &["models", "list"]).stdout).unwrap();
    assert!(list.starts_with(&format!("* cmdbar\t{FILE}\tgemma3")), "{list}");

    // Not a model, not installed, not there: refused, settings unchanged.
    let page = dir.path().join("page.gguf");
    std::fs::write(&page, "<html>").unwrap();
    let before = std::fs::read(&settings).unwrap();
    for (what, says) in [
        (page.to_str().unwrap(), "not a GGUF"),
        ("qwen2.5-coder-3b", "qwen2.5-coder-3b is not installed: download it first"),
        ("nothing.gguf", "nothing.gguf is not installed"),
    ] {
        let out = isolated(dir.path(), &["models", "use", what]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read(&settings).unwrap(), before, "settings unchanged after {what}");
    }
}
