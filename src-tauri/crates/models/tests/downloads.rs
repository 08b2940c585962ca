//! Downloads over real HTTP from the local Hub server, with faults.
mod hub;

use std::time::Duration;

use cmdbar_models::{download, Control, Hub, HubCache, ModelsError};
use hub::{model, second, Server, COMMIT, FILE, FILE2, REPO};

fn control() -> Control {
    Control::with_retries(6, Duration::from_millis(20))
}

struct Env {
    server: Server,
    hub: Hub,
    dir: tempfile::TempDir,
    cache: HubCache,
}

async fn env() -> Env {
    let server = Server::start().await;
    let hub = Hub::new(&server.url, None);
    let dir = tempfile::tempdir().unwrap();
    let cache = HubCache { root: dir.path().join("hub") };
    Env { server, hub, dir, cache }
}

fn assert_complete(e: &Env, path: &std::path::Path) {
    let m = model();
    assert_eq!(path, e.cache.snapshot(REPO, COMMIT, FILE).unwrap());
    assert!(std::fs::symlink_metadata(path).unwrap().file_type().is_symlink());
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes == m.bytes, "the downloaded bytes differ from the served file");
    assert!(!e.cache.part(REPO, &m.sha256).exists(), "no .part left behind");
    assert_eq!(std::fs::read_to_string(e.cache.repo_dir(REPO).join("refs/main")).unwrap(), COMMIT);
    assert_eq!(e.cache.find(REPO, FILE).as_deref(), Some(path));
}

#[tokio::test]
async fn a_file_lands_verified_in_the_hub_cache_layout_and_is_reused() {
    let e = env().await;
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    assert_eq!(
        (f.sha256.as_str(), f.size, f.commit.as_str()),
        (model().sha256.as_str(), model().bytes.len() as u64, COMMIT)
    );
    let mut events = vec![];
    let path = download(&e.hub, &e.cache, &f, &control(), |p| events.push(p.clone())).await.unwrap();
    assert_complete(&e, &path);
    let last = events.last().unwrap();
    assert_eq!((last.downloaded, last.total), (f.size, f.size));
    assert!(events.windows(2).all(|w| w[0].downloaded <= w[1].downloaded));

    let gets = e.server.gets_with_range().len();
    download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert_eq!(e.server.gets_with_range().len(), gets, "a blob in the cache is not downloaded again");
}

#[tokio::test]
async fn dropped_connections_resume_with_range_and_the_bytes_are_verified() {
    let e = env().await;
    let size = model().bytes.len() as u64;
    // Offsets spread over the file, not at chunk boundaries.
    let cuts: Vec<u64> = (1..=4).map(|i| size * i / 5 + 12_345 * i).collect();
    e.server.faults.lock().unwrap().drop_at = cuts.iter().copied().collect();
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let path = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert_complete(&e, &path);
    let starts: Vec<u64> = e.server.gets_with_range().into_iter().flatten().collect();
    assert_eq!(starts, cuts, "each retry asks for the rest from where the cut was");
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried() {
    let e = env().await;
    e.server.faults.lock().unwrap().statuses = [500, 429, 503].into_iter().collect();
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let path = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert_complete(&e, &path);

    let e = env().await;
    e.server.faults.lock().unwrap().statuses = std::iter::repeat_n(500, 20).collect();
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("gave up after 6 retries"), "{err}");
}

#[tokio::test]
async fn a_server_that_ignores_range_restarts_cleanly_instead_of_appending() {
    let e = env().await;
    let size = model().bytes.len() as u64;
    {
        let mut f = e.server.faults.lock().unwrap();
        f.drop_at = [size / 2].into_iter().collect();
    }
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    // The first answer is cut at half; from then on Range is ignored.
    let c = control();
    let srv = e.server.faults.clone();
    let path = download(&e.hub, &e.cache, &f, &c, move |p| {
        if p.downloaded >= size / 4 {
            srv.lock().unwrap().ignore_range = true;
        }
    })
    .await
    .unwrap();
    assert_complete(&e, &path);
    assert!(e.server.gets_with_range().iter().any(|r| r.is_some()), "a Range request was made");
}

#[tokio::test]
async fn a_wrong_checksum_deletes_the_download_and_says_so() {
    let e = env().await;
    e.server.faults.lock().unwrap().wrong_sha = true;
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap_err();
    assert!(matches!(err, ModelsError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("checksum mismatch") && err.to_string().contains("deleted"));
    assert!(!e.cache.part(REPO, &f.sha256).exists());
    assert!(!e.cache.blob(REPO, &f.sha256).exists());
    assert!(e.cache.find(REPO, FILE).is_none());
}

#[tokio::test]
async fn pause_keeps_the_part_and_a_later_download_resumes_it() {
    let e = env().await;
    e.server.faults.lock().unwrap().slow = Some(Duration::from_millis(2));
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let c = control();
    let err = download(&e.hub, &e.cache, &f, &c, |p| {
        if p.downloaded > 4 << 20 {
            c.pause();
        }
    })
    .await
    .unwrap_err();
    assert!(matches!(err, ModelsError::Paused), "{err}");
    let part = e.cache.part(REPO, &f.sha256);
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 4 << 20 && kept < f.size, "{kept}");

    e.server.faults.lock().unwrap().slow = None;
    c.resume();
    let path = download(&e.hub, &e.cache, &f, &c, |_| {}).await.unwrap();
    assert_complete(&e, &path);
    assert_eq!(e.server.gets_with_range().last().unwrap(), &Some(kept), "resumed from the kept bytes");
}

#[tokio::test]
async fn cancel_removes_the_partial_file() {
    let e = env().await;
    e.server.faults.lock().unwrap().slow = Some(Duration::from_millis(2));
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let c = control();
    let err = download(&e.hub, &e.cache, &f, &c, |p| {
        if p.downloaded > 2 << 20 {
            c.cancel();
        }
    })
    .await
    .unwrap_err();
    assert!(matches!(err, ModelsError::Cancelled));
    assert!(!e.cache.part(REPO, &f.sha256).exists());
    assert!(e.cache.find(REPO, FILE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_downloads_of_the_same_file_at_once_do_not_corrupt_it() {
    let e = env().await;
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let (c1, c2) = (control(), control());
    let (a, b) =
        tokio::join!(download(&e.hub, &e.cache, &f, &c1, |_| {}), download(&e.hub, &e.cache, &f, &c2, |_| {}),);
    assert_complete(&e, &a.unwrap());
    assert_complete(&e, &b.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_of_different_files_run_side_by_side_and_pause_independently() {
    let e = env().await;
    e.server.faults.lock().unwrap().slow = Some(Duration::from_millis(2));
    let (f1, f2) =
        (e.hub.file_info(REPO, "main", FILE).await.unwrap(), e.hub.file_info(REPO, "main", FILE2).await.unwrap());
    assert_ne!(f1.sha256, f2.sha256);
    let (c1, c2) = (control(), control());
    let (a, b) = tokio::join!(
        download(&e.hub, &e.cache, &f1, &c1, |p| {
            if p.downloaded > 8 << 20 {
                c1.pause();
            }
        }),
        download(&e.hub, &e.cache, &f2, &c2, |_| {}),
    );
    assert!(matches!(a, Err(ModelsError::Paused)), "{a:?}");
    let done = b.unwrap();
    assert_eq!(std::fs::read(&done).unwrap(), second().bytes, "the other download finished, verified");
    let kept = std::fs::metadata(e.cache.part(REPO, &f1.sha256)).unwrap().len();
    assert!(kept > 8 << 20, "the paused one kept its .part ({kept} bytes)");
    e.server.faults.lock().unwrap().slow = None;
    let path = download(&e.hub, &e.cache, &f1, &control(), |_| {}).await.unwrap();
    assert_complete(&e, &path);
    assert!(e.server.gets_with_range().contains(&Some(kept)), "resumed from byte {kept}");
}

#[tokio::test]
async fn missing_repos_files_and_bad_tokens_get_clear_errors() {
    let e = env().await;
    let err = e.hub.file_info("nobody/nothing", "main", FILE).await.unwrap_err();
    assert!(matches!(err, ModelsError::RepoNotFound { .. }), "{err}");
    assert!(err.to_string().contains("nobody/nothing was not found"));
    let err = e.hub.file_info(REPO, "main", "missing.gguf").await.unwrap_err();
    assert_eq!(err.to_string(), format!("missing.gguf was not found in {REPO}"));
    e.server.faults.lock().unwrap().unauthorized = true;
    let err = e.hub.file_info(REPO, "main", FILE).await.unwrap_err();
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    let err = Hub::new("http://127.0.0.1:9", None).file_info(REPO, "main", FILE).await.unwrap_err();
    assert!(matches!(err, ModelsError::Network(_)), "{err}");
}

/// A real small filesystem: a 64 MiB tmpfs, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path) -> Tmpfs {
        Self::mount_with(dir, "small", "size=64m")
    }

    fn mount_with(dir: &std::path::Path, name: &str, opts: &str) -> Tmpfs {
        let p = dir.join(name);
        std::fs::create_dir_all(&p).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs needs root (as in CI)");
        Tmpfs(p)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_full_disk_is_refused_before_downloading() {
    let e = env().await;
    let small = Tmpfs::mount(e.dir.path());
    let cache = HubCache { root: small.0.join("hub") };
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e.hub, &cache, &f, &control(), |_| {}).await.unwrap_err();
    let ModelsError::DiskFull { needed, available, .. } = err else { panic!("{err}") };
    assert_eq!(needed, f.size);
    assert!(available <= 64 << 20);
    assert!(err_text(needed, available).contains("not enough disk space"));
    assert!(e.server.gets_with_range().is_empty(), "nothing was downloaded");
}

#[tokio::test]
async fn a_disk_that_fills_up_mid_download_keeps_the_part_and_resumes_once_space_is_freed() {
    let e = env().await;
    let fs = Tmpfs::mount_with(e.dir.path(), "fills", "size=300m");
    let cache = HubCache { root: fs.0.join("hub") };
    let filler = fs.0.join("other-app-data");
    e.server.faults.lock().unwrap().slow = Some(Duration::from_millis(1));
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e.hub, &cache, &f, &control(), |p| {
        if p.downloaded > 16 << 20 && !filler.exists() {
            // Another program takes the space after the check passed.
            let free = fs4::available_space(&fs.0).unwrap();
            std::fs::write(&filler, vec![0u8; (free - (2 << 20)) as usize]).unwrap();
        }
    })
    .await
    .unwrap_err();
    let ModelsError::DiskFilled { downloaded, .. } = err else { panic!("{err}") };
    assert!(err.to_string().contains("free some space and download again to resume"), "{err}");
    let part = std::fs::metadata(cache.part(REPO, &f.sha256)).unwrap().len();
    assert!(part > 16 << 20 && part <= downloaded + (4 << 20), "the .part is kept ({part} bytes)");
    assert!(cache.find(REPO, FILE).is_none(), "nothing half-written is in place");

    std::fs::remove_file(&filler).unwrap();
    e.server.faults.lock().unwrap().slow = None;
    let path = download(&e.hub, &cache, &f, &control(), |_| {}).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model().bytes);
    assert!(e.server.gets_with_range().iter().any(|r| r.is_some_and(|s| s > 16 << 20)), "it resumed");
}

fn err_text(needed: u64, available: u64) -> String {
    ModelsError::DiskFull { dir: "x".into(), needed, available }.to_string()
}

#[tokio::test]
async fn search_and_repo_listing_give_gguf_files_with_sizes_and_checksums() {
    let e = env().await;
    let hits = e.hub.search("GEMMA-3", 20).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), [REPO]);
    assert!(e.hub.search("no such model", 20).await.unwrap().is_empty());
    let (commit, files) = e.hub.repo_files(REPO).await.unwrap();
    assert_eq!(commit, COMMIT);
    assert_eq!(files.len(), 1, "README.md is not a model: {files:?}");
    assert_eq!((files[0].file.as_str(), files[0].size), (FILE, model().bytes.len() as u64));
    assert_eq!(files[0].sha256, model().sha256);
    assert_eq!(files[0].quantization.as_deref(), Some("Q4_K_M"));
    let err = e.hub.repo_files("nobody/nothing").await.unwrap_err();
    assert!(matches!(err, ModelsError::RepoNotFound { .. }), "{err}");
}

#[tokio::test]
async fn the_library_lists_imports_and_deletes_without_losing_user_files() {
    use cmdbar_models::{Library, Source};
    let e = env().await;
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let snap = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    let lib = Library::new(e.cache.clone(), e.dir.path().join("config/imports.json"));
    let list = lib.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].source, Source::Hub { repo: REPO.into(), file: FILE.into() });
    assert_eq!((list[0].architecture.as_deref(), list[0].size), (Some("gemma3"), f.size));

    // Import by reference: a real GGUF elsewhere on disk.
    let elsewhere = e.dir.path().join("mine/model.gguf");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::write(&elsewhere, &model().bytes).unwrap();
    let m = lib.import(&elsewhere).unwrap();
    assert_eq!(m.source, Source::Imported);
    assert_eq!(lib.list().len(), 2);
    lib.import(&elsewhere).unwrap();
    assert_eq!(lib.list().len(), 2, "importing twice adds it once");

    // Not a model: refused with the reason, nothing recorded.
    let html = e.dir.path().join("mine/page.gguf");
    std::fs::write(&html, "<html>").unwrap();
    let err = lib.import(&html).unwrap_err();
    assert!(err.to_string().contains("can't be used") && err.to_string().contains("not a GGUF"), "{err}");
    assert_eq!(lib.list().len(), 2);

    // A damaged imports list is kept aside, not overwritten.
    let list_file = e.dir.path().join("config/imports.json");
    let good = std::fs::read(&list_file).unwrap();
    std::fs::write(&list_file, b"{ not json").unwrap();
    assert!(lib.take_notices().is_empty());
    assert_eq!(lib.list().len(), 1, "only the Hub file; the import list can't be read");
    let notices = lib.take_notices();
    assert!(notices.len() == 1 && notices[0].contains("imports.json"), "the user is told: {notices:?}");
    let kept: Vec<_> = std::fs::read_dir(e.dir.path().join("config"))
        .unwrap()
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().starts_with("imports.json.bad-"))
        .collect();
    assert_eq!(kept.len(), 1, "the damaged list is set aside");
    assert_eq!(std::fs::read(kept[0].path()).unwrap(), b"{ not json");
    std::fs::write(&list_file, good).unwrap();
    assert_eq!(lib.list().len(), 2);

    // Deleting an import forgets it; the user's file stays.
    lib.delete(&m.path).unwrap();
    assert!(elsewhere.exists());
    // Deleting a Hub model removes the snapshot entry and its blob.
    lib.delete(&snap).unwrap();
    assert!(lib.list().is_empty());
    assert!(!e.cache.blob(REPO, &f.sha256).exists());
    assert!(lib.delete(&elsewhere).unwrap_err().to_string().contains("not one of the installed models"));
}

#[tokio::test]
async fn a_read_only_models_folder_gets_a_clear_error_and_nothing_is_written() {
    // Root ignores file modes, so the folder is a read-only filesystem.
    let e = env().await;
    let ro = Tmpfs::mount_with(e.dir.path(), "ro", "size=8m,ro");
    let cache = HubCache { root: ro.0.join("hub") };
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e.hub, &cache, &f, &control(), |_| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&ro.0.display().to_string()) && text.contains("Read-only file system"), "{text}");
    assert!(e.server.gets_with_range().is_empty(), "nothing was downloaded");
}
