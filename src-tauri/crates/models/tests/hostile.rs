//! The download manager and the library against a hostile mirror
//! (`HF_ENDPOINT` is a setting users change, so a mirror is untrusted) and
//! against hostile cache contents: every name from a server or a user is
//! checked before it touches the file system, and delete removes only what
//! the library lists.
mod hub;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmdbar_models::{download, Control, Hub, HubCache, Library, ModelsError, Source};
use hub::{model, Server, COMMIT, FILE, REPO};

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

/// Every entry under `dir`, links not followed.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.clone());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(tree(&p));
        }
    }
    out.sort();
    out
}

/// `X-Repo-Commit` was used as a path: `../../…` made folders outside the
/// cache, and an absolute value replaced a user's file with a dangling
/// link (and the pull exited 0).
#[tokio::test]
async fn a_commit_header_that_is_a_path_is_refused_before_anything_is_written() {
    let e = env().await;
    let outside = e.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let victim = outside.join(FILE);
    std::fs::write(&victim, b"the user's own file").unwrap();
    let good = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let tricks = [
        "../../../outside/escape".to_string(),
        outside.display().to_string(),
        format!("{}/", &COMMIT[..39]),
        COMMIT.to_uppercase(),
        "main".into(),
        "..".into(),
    ];
    for t in &tricks {
        e.server.faults.lock().unwrap().commit = Some(Some(t.clone()));
        let got = e.hub.file_info(REPO, "main", FILE).await;
        assert!(got.as_ref().is_err_and(|e| e.to_string().contains("commit")), "{t:?}: {got:?}");
        // The same commit in a RemoteFile made by hand gets no further.
        let mut f = good.clone();
        f.commit = t.clone();
        let got = download(&e.hub, &e.cache, &f, &control(), |_| {}).await;
        assert!(got.as_ref().is_err_and(|e| e.to_string().contains("commit")), "{t:?}: {got:?}");
    }
    assert!(std::fs::symlink_metadata(&victim).unwrap().is_file(), "the user's file is still a file");
    assert_eq!(std::fs::read(&victim).unwrap(), b"the user's own file");
    assert_eq!(tree(&outside), vec![victim.clone()], "nothing was made outside the cache");
    let top: Vec<PathBuf> = std::fs::read_dir(e.dir.path()).unwrap().flatten().map(|d| d.path()).collect();
    assert!(top.iter().all(|p| p == &outside || p == &e.cache.root), "{top:?}");
    assert!(e.server.gets_with_range().is_empty(), "nothing was downloaded");

    // With no header the revision would be the folder: only a commit id is.
    e.server.faults.lock().unwrap().commit = Some(None);
    for rev in ["main", "v1.0", "../../../outside"] {
        let got = e.hub.file_info(REPO, rev, FILE).await;
        assert!(got.is_err(), "{rev}: {got:?}");
    }
    let f = e.hub.file_info(REPO, COMMIT, FILE).await.unwrap();
    assert_eq!(f.commit, COMMIT);
}

/// A listing's names are a mirror's too: path tricks and control
/// characters are left out, as are checksums that are not sha256.
#[tokio::test]
async fn a_listing_with_path_tricks_keeps_only_safe_names() {
    let e = env().await;
    let sha = model().sha256.clone();
    let names = [
        "../../evil.gguf",
        "/etc/evil.gguf",
        "a\\..\\evil.gguf",
        "a//evil.gguf",
        "./evil.gguf",
        "\u{1b}]0;pwned\u{7}evil.gguf",
        "C:evil.gguf",
        "good.gguf",
        "Q4_K_M/good-00001-of-00002.gguf",
    ];
    let mut files: Vec<(String, u64, String)> = names.iter().map(|n| (n.to_string(), 10, sha.clone())).collect();
    files.push(("bad-sha.gguf".into(), 10, "../../x".into()));
    e.server.faults.lock().unwrap().listing = Some(hub::listing(&files));
    let (_, got) = e.hub.repo_files(REPO).await.unwrap();
    let got: Vec<&str> = got.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(got, ["good.gguf", "Q4_K_M/good-00001-of-00002.gguf"]);

    // The listing's commit is checked too.
    let bad = hub::listing(&files).replace(COMMIT, "../../../tmp");
    e.server.faults.lock().unwrap().listing = Some(bad);
    assert!(e.hub.repo_files(REPO).await.is_err());
}

/// A listing of 100,000 files is read and checked in reasonable time; an
/// answer larger than any listing is refused rather than held in memory.
#[tokio::test]
async fn a_listing_of_100000_files_is_read_and_an_endless_one_refused() {
    let e = env().await;
    let sha = model().sha256.clone();
    let files: Vec<(String, u64, String)> = (0..100_000)
        .map(|i| {
            let name = if i % 2 == 0 { format!("m/model-{i:06}-Q4_K_M.gguf") } else { format!("../x/{i}.gguf") };
            (name, 1 << 20, sha.clone())
        })
        .collect();
    e.server.faults.lock().unwrap().listing = Some(hub::listing(&files));
    let t = Instant::now();
    let (_, got) = e.hub.repo_files(REPO).await.unwrap();
    assert_eq!(got.len(), 50_000);
    assert!(got.iter().all(|f| !f.file.contains("..")));
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());

    // 70 MB of listing: more than any repo has.
    let huge: Vec<(String, u64, String)> =
        (0..420_000).map(|i| (format!("{:0>100}.gguf", i), 1, sha.clone())).collect();
    e.server.faults.lock().unwrap().listing = Some(hub::listing(&huge));
    let err = e.hub.repo_files(REPO).await.unwrap_err().to_string();
    assert!(err.contains("larger than"), "{err}");
}

/// Sizes that lie: a claim below the real size stops at the claim and
/// keeps nothing; a claim above it never completes a blob; an absurd one is
/// refused before a byte is downloaded.
#[tokio::test]
async fn wrong_sizes_never_put_a_file_in_place() {
    let e = env().await;
    let real = model().bytes.len() as u64;
    for claim in [real / 2, real + 1000] {
        e.server.faults.lock().unwrap().claimed_size = Some(claim);
        let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
        assert_eq!(f.size, claim);
        let err = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap_err();
        assert!(!e.cache.blob(REPO, &f.sha256).exists(), "{claim}: {err}");
        assert!(e.cache.find(REPO, FILE).is_none(), "{claim}: {err}");
    }
    e.server.faults.lock().unwrap().claimed_size = Some(1 << 60);
    let gets = e.server.gets_with_range().len();
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap_err();
    assert!(matches!(err, ModelsError::DiskFull { .. }), "{err}");
    assert_eq!(e.server.gets_with_range().len(), gets, "nothing was downloaded");
}

/// The bytes may come from another host, as the Hub's CDN is: they are
/// checked by sha256, and the token never goes there.
#[tokio::test]
async fn a_redirect_to_another_host_gets_no_token_and_the_bytes_are_checked() {
    let e = env().await;
    let other = Server::start().await;
    e.server.faults.lock().unwrap().cdn = Some(other.url.clone());
    let hub = Hub::new(&e.server.url, Some("hf_secret_token".into()));
    let f = hub.file_info(REPO, "main", FILE).await.unwrap();
    let path = download(&hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert!(std::fs::read(&path).unwrap() == model().bytes);
    let mine = e.server.log.lock().unwrap().authorization.clone();
    assert!(mine.iter().any(|(_, a)| a.as_deref() == Some("Bearer hf_secret_token")), "{mine:?}");
    let theirs = other.log.lock().unwrap().authorization.clone();
    assert!(!theirs.is_empty() && theirs.iter().all(|(_, a)| a.is_none()), "the other host saw {theirs:?}");

    // And other bytes from there are refused.
    let e2 = env().await;
    let liar = Server::start().await;
    e2.server.faults.lock().unwrap().cdn = Some(liar.url.clone());
    e2.server.faults.lock().unwrap().wrong_sha = true;
    let f = e2.hub.file_info(REPO, "main", FILE).await.unwrap();
    let err = download(&e2.hub, &e2.cache, &f, &control(), |_| {}).await.unwrap_err();
    assert!(matches!(err, ModelsError::Checksum { .. }), "{err}");
}

/// Waits until `part` holds at least `n` bytes.
async fn until_part_has(part: &Path, n: u64) {
    let t = Instant::now();
    while std::fs::metadata(part).map(|m| m.len()).unwrap_or(0) < n {
        assert!(t.elapsed() < Duration::from_secs(60), "the download did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A cancel while waiting to retry (30 s here) ended only after the wait,
/// and left the `.part` behind. It now ends the wait and removes it.
#[tokio::test]
async fn a_cancel_during_a_retry_wait_is_prompt_and_removes_the_part() {
    // A dropped connection, then a retry delay of 30 s.
    let e = env().await;
    e.server.faults.lock().unwrap().drop_at = [1 << 20].into_iter().collect();
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let part = e.cache.part(REPO, &f.sha256);
    let c = Arc::new(Control::with_retries(6, Duration::from_secs(30)));
    let (got, cancelled_at) = tokio::join!(download(&e.hub, &e.cache, &f, &c, |_| {}), async {
        until_part_has(&part, 1 << 20).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.cancel();
        Instant::now()
    });
    assert!(matches!(got, Err(ModelsError::Cancelled)), "{got:?}");
    assert!(cancelled_at.elapsed() < Duration::from_secs(3), "took {:?} after the cancel", cancelled_at.elapsed());
    assert!(!part.exists(), "the .part was left behind");

    // A 503 that asks to retry after 30 s.
    let e = env().await;
    {
        let mut f = e.server.faults.lock().unwrap();
        f.statuses = [503].into_iter().collect();
        f.retry_after = 30;
    }
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let part = e.cache.part(REPO, &f.sha256);
    let c = Arc::new(control());
    let (got, cancelled_at) = tokio::join!(download(&e.hub, &e.cache, &f, &c, |_| {}), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.cancel();
        Instant::now()
    });
    assert!(matches!(got, Err(ModelsError::Cancelled)), "{got:?}");
    assert!(cancelled_at.elapsed() < Duration::from_secs(3), "took {:?} after the cancel", cancelled_at.elapsed());
    assert!(!part.exists(), "the .part was left behind");
}

/// A mirror that drips a byte every 10 s can't hold a pause or a cancel.
#[tokio::test]
async fn a_slow_drip_cannot_hold_a_pause_or_a_cancel() {
    for pause in [true, false] {
        let e = env().await;
        e.server.faults.lock().unwrap().drip = Some((1 << 20, Duration::from_secs(10)));
        let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
        let part = e.cache.part(REPO, &f.sha256);
        let c = Arc::new(control());
        let (got, stopped_at) = tokio::join!(download(&e.hub, &e.cache, &f, &c, |_| {}), async {
            until_part_has(&part, 1 << 20).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            if pause {
                c.pause()
            } else {
                c.cancel()
            }
            Instant::now()
        });
        assert!(stopped_at.elapsed() < Duration::from_secs(3), "took {:?}", stopped_at.elapsed());
        if pause {
            assert!(matches!(got, Err(ModelsError::Paused)), "{got:?}");
            assert!(std::fs::metadata(&part).unwrap().len() >= 1 << 20, "a pause keeps the .part");
        } else {
            assert!(matches!(got, Err(ModelsError::Cancelled)), "{got:?}");
            assert!(!part.exists());
        }
    }
}

/// `refs/main` was overwritten whatever revision was asked for.
#[tokio::test]
async fn a_revision_is_recorded_under_its_own_ref() {
    let e = env().await;
    let refs = e.cache.repo_dir(REPO).join("refs");
    std::fs::create_dir_all(&refs).unwrap();
    let main = "1111111111111111111111111111111111111111";
    std::fs::write(refs.join("main"), main).unwrap();
    let f = e.hub.file_info(REPO, "v1.0", FILE).await.unwrap();
    download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert_eq!(std::fs::read_to_string(refs.join("main")).unwrap(), main, "refs/main is another revision's");
    assert_eq!(std::fs::read_to_string(refs.join("v1.0")).unwrap(), COMMIT);
    // A revision that is the commit itself needs no ref.
    let f = e.hub.file_info(REPO, COMMIT, FILE).await.unwrap();
    download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert!(!refs.join(COMMIT).exists());
}

/// Repos that keep each quantization in a folder of its own: the file
/// lands in the snapshot's sub-folder, and the library lists it.
#[tokio::test]
async fn models_in_a_repos_sub_folders_are_in_the_library() {
    let e = env().await;
    e.server.faults.lock().unwrap().any_name = true;
    let file = "Q4_K_M/gemma-3-270m-Q4_K_M-00001-of-00001.gguf";
    let f = e.hub.file_info(REPO, "main", file).await.unwrap();
    let path = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    assert!(path.ends_with(file));
    assert!(std::fs::read(&path).unwrap() == model().bytes);
    let lib = Library::new(e.cache.clone(), e.dir.path().join("config/imports.json"));
    let list = lib.list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].source, Source::Hub { repo: REPO.into(), file: file.into() });
    assert_eq!(list[0].architecture.as_deref(), Some("gemma3"));
    lib.delete(&path).unwrap();
    assert!(lib.list().is_empty());
    assert!(!e.cache.blob(REPO, &f.sha256).exists());
}

/// Delete checked confinement with `Path::starts_with` on the path as
/// given: `<hub>/../victim` and a snapshot link to an outside file
/// deleted the user's files.
#[tokio::test]
async fn delete_removes_only_what_the_library_lists() {
    let e = env().await;
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let snap = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    let lib = Library::new(e.cache.clone(), e.dir.path().join("config/imports.json"));

    // Outside the cache, spelled as if inside.
    let victim = e.dir.path().join("victim.gguf");
    std::fs::write(&victim, &model().bytes).unwrap();
    let err = lib.delete(&e.cache.root.join("../victim.gguf")).unwrap_err();
    assert!(matches!(err, ModelsError::NotInLibrary(_)), "{err}");
    assert!(victim.exists(), "the victim was deleted");

    // A snapshot entry that links to an outside file: the entry goes, the
    // file stays.
    let outside = e.dir.path().join("mine/real.gguf");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::write(&outside, &model().bytes).unwrap();
    let link = snap.with_file_name("link.gguf");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    assert!(lib.list().iter().any(|m| m.path == link), "the link is listed");
    lib.delete(&link).unwrap();
    assert!(std::fs::symlink_metadata(&link).is_err(), "the entry is gone");
    assert!(outside.exists(), "the file it linked to was deleted");

    // A snapshot folder that is a link to the user's folder: not ours.
    let other = e.cache.repo_dir(REPO).join("snapshots").join("2".repeat(40));
    std::os::unix::fs::symlink(outside.parent().unwrap(), &other).unwrap();
    let _ = lib.delete(&other.join("real.gguf"));
    assert!(outside.exists(), "a file in the user's folder was deleted");

    // The real entry, under another spelling, is deleted with its blob.
    let spelled = e.cache.root.join(".").join(snap.strip_prefix(&e.cache.root).unwrap());
    lib.delete(&spelled).unwrap();
    assert!(!snap.exists() && !e.cache.blob(REPO, &f.sha256).exists());
    assert!(victim.exists() && outside.exists());
}

/// A blob path outside the repo's `blobs/` (a link to it from a snapshot
/// of another repo) is never removed as a blob.
#[tokio::test]
async fn a_link_to_another_repos_blob_does_not_remove_it() {
    let e = env().await;
    let f = e.hub.file_info(REPO, "main", FILE).await.unwrap();
    let snap = download(&e.hub, &e.cache, &f, &control(), |_| {}).await.unwrap();
    let lib = Library::new(e.cache.clone(), e.dir.path().join("config/imports.json"));
    let foreign = e.cache.repo_dir("other/repo").join("snapshots").join(COMMIT);
    std::fs::create_dir_all(&foreign).unwrap();
    let entry = foreign.join("borrowed.gguf");
    std::os::unix::fs::symlink(e.cache.blob(REPO, &f.sha256), &entry).unwrap();
    // Still linked from the other repo: the blob stays.
    lib.delete(&snap).unwrap();
    assert!(e.cache.blob(REPO, &f.sha256).exists());
    // The other repo's entry goes; the blob is not in its blobs/.
    lib.delete(&entry).unwrap();
    assert!(std::fs::symlink_metadata(&entry).is_err());
    assert!(e.cache.blob(REPO, &f.sha256).exists(), "another repo's blob was removed");
}
