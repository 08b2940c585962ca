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

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/bad-gguf").join(name)
}

/// `cmdbar` with its own empty config and caches, against `server`.
fn against(server: &Server, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cmdbar"))
        .args(args)
        .env("HF_ENDPOINT", &server.url)
        .env("CMDBAR_CONFIG_DIR", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("HF_HOME", dir.join("hf"))
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_TOKEN")
        .env_remove("CMDBAR_MODEL")
        .output()
        .unwrap()
}

/// The catalog's pin compared the name as typed: `--file ./<name>` from a
/// mirror installed other bytes, and `models catalog` then called the
/// catalog model installed.
#[test]
fn a_mirror_cannot_pass_other_bytes_off_as_a_catalog_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    server.faults.lock().unwrap().any_name = true;
    let dir = tempfile::tempdir().unwrap();
    let repo = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF";
    let file = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
    for spelling in [format!("./{file}"), file.to_uppercase(), file.replace(".gguf", "%2Egguf"), file.to_string()] {
        let out = against(&server, dir.path(), &["models", "pull", repo, "--file", &spelling]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{spelling}: pulled other bytes: {err}");
        assert!(err.contains("not the file the catalog names") || err.contains("refused"), "{spelling}: {err}");
    }
    let out = against(&server, dir.path(), &["models", "catalog"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("qwen2.5-coder-0.5b")).unwrap();
    assert!(line.ends_with("not installed"), "{line}");
    assert!(String::from_utf8_lossy(&against(&server, dir.path(), &["models", "list"]).stdout).is_empty());
}

/// An absolute `X-Repo-Commit` replaced the user's file with a dangling
/// link, and the pull exited 0.
#[test]
fn a_commit_header_that_is_a_path_fails_the_pull_and_touches_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join(FILE), b"my notes").unwrap();
    for commit in [mine.display().to_string(), "../../../../mine".into()] {
        server.faults.lock().unwrap().commit = Some(Some(commit.clone()));
        let out = against(&server, dir.path(), &["models", "pull", REPO, "--file", FILE]);
        assert!(!out.status.success(), "{commit}: the pull succeeded");
        assert!(String::from_utf8_lossy(&out.stderr).contains("commit"), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(std::fs::symlink_metadata(mine.join(FILE)).unwrap().is_file());
        assert_eq!(std::fs::read(mine.join(FILE)).unwrap(), b"my notes");
        assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1, "{commit}: something was made in the user's folder");
    }
}

/// A 166-byte file with `general.alignment = 0` made `models list` and
/// `models import` exit 101 (a panic in Candle).
#[test]
fn one_bad_file_does_not_crash_the_model_list() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("cache/cmdbar/models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(fixture("alignment-zero.gguf"), models.join("alignment-zero.gguf")).unwrap();
    std::fs::write(models.join(FILE), &model().bytes).unwrap();
    let out = isolated(dir.path(), &["models", "list"]);
    assert!(out.status.success(), "{:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alignment-zero.gguf\tunusable") && text.contains(&format!("{FILE}\tgemma3")), "{text}");
    // Arrays of one-byte values cost 32 bytes each once parsed: 4.5 MB of
    // file, 144 MB held. Made here, not kept in git.
    let bloat = dir.path().join("metadata-array-bloat.gguf");
    let s = |t: &str| [(t.len() as u64).to_le_bytes().to_vec(), t.as_bytes().to_vec()].concat();
    let mut b =
        [b"GGUF".to_vec(), 3u32.to_le_bytes().to_vec(), 0u64.to_le_bytes().to_vec(), 2u64.to_le_bytes().to_vec()]
            .concat();
    b.extend(s("general.architecture"));
    b.extend(8u32.to_le_bytes());
    b.extend(s("qwen2"));
    b.extend(s("general.padding"));
    b.extend(9u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(4_500_000u64.to_le_bytes());
    b.resize(b.len() + 4_500_000, 0);
    std::fs::write(&bloat, b).unwrap();
    for bad in [fixture("alignment-zero.gguf"), bloat] {
        let bad = bad.display().to_string();
        let out = isolated(dir.path(), &["models", "import", &bad]);
        assert_eq!(out.status.code(), Some(6), "{bad}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("can't be used"), "{bad}");
    }
}

/// `cmdbar models rm <hub root>/../victim` deleted the victim.
#[test]
fn rm_deletes_only_installed_models() {
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path().join("hf/hub");
    std::fs::create_dir_all(&hub).unwrap();
    let victim = dir.path().join("hf/victim.gguf");
    std::fs::write(&victim, b"precious").unwrap();
    let out = isolated(dir.path(), &["models", "rm", hub.join("../victim.gguf").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one of the installed models"));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
}

/// `--json` on every `models` subcommand: one JSON document on stdout,
/// progress and notices on stderr only.
#[test]
fn every_models_subcommand_speaks_json() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = against(&server, dir.path(), &[&["models", "--json"][..], args].concat());
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    assert_eq!(json(&["search", "gemma"])[0]["id"], REPO);
    let files = json(&["files", REPO]);
    assert_eq!(files["files"][0]["sha256"], model().sha256);
    let pulled = json(&["pull", REPO, "--file", FILE]);
    let path = pulled["path"].as_str().unwrap().to_string();
    assert!(path.ends_with(FILE), "{pulled}");
    let list = json(&["list"]);
    assert_eq!(list["models"][0]["name"], FILE, "{list}");
    assert!(json(&["catalog"]).as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(json(&["use", &path])["active_model"], std::fs::canonicalize(&path).unwrap().to_str().unwrap());
    let outside = dir.path().join("elsewhere.gguf");
    std::fs::write(&outside, &model().bytes).unwrap();
    assert_eq!(json(&["import", outside.to_str().unwrap()])["source"]["kind"], "imported");
    assert_eq!(json(&["rm", outside.to_str().unwrap()])["removed"], outside.to_str().unwrap());
    // Subcommand first, flag after, works the same.
    let out = against(&server, dir.path(), &["models", "list", "--json"]);
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok());
}
