//! The tldr data path against a local server that serves the shared
//! snapshot (../shared/data/tldr) as upstream's release archive: download,
//! cache, update, a corrupt archive, a server that lies, and offline.
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use cmdbar_tldr::{Index, Platform, Store, TldrError, Updated};

/// The snapshot's pages zipped as upstream's `tldr-pages.en.zip` lays them
/// out (platform folders at the top), made once per test binary.
fn archive() -> &'static [u8] {
    static A: OnceLock<Vec<u8>> = OnceLock::new();
    A.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data/tldr/pages");
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for platform in ["common", "linux", "osx", "windows"] {
            let Ok(dir) = std::fs::read_dir(root.join(platform)) else { continue };
            for f in dir.flatten() {
                let name = format!("{platform}/{}", f.file_name().to_string_lossy());
                zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
                zip.write_all(&std::fs::read(f.path()).unwrap()).unwrap();
            }
        }
        zip.finish().unwrap().into_inner()
    })
}

/// What the server answers for the archive.
#[derive(Clone)]
enum Answer {
    Archive {
        etag: &'static str,
        body: Vec<u8>,
    },
    Status(u16),
    /// Content-Length claims this much; nothing follows.
    Claims(u64),
}

struct Server {
    url: String,
    answer: Arc<Mutex<Answer>>,
    /// The If-None-Match header of each request.
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

fn server(answer: Answer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tldr-pages.en.zip", listener.local_addr().unwrap());
    let answer = Arc::new(Mutex::new(answer));
    let seen = Arc::new(Mutex::new(vec![]));
    let (a, s) = (answer.clone(), seen.clone());
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let mut sock = sock;
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req).to_string();
            let inm = text
                .lines()
                .find_map(|l| l.to_ascii_lowercase().starts_with("if-none-match:").then(|| l[14..].trim().to_string()));
            s.lock().unwrap().push(inm.clone());
            let answer = a.lock().unwrap().clone();
            let _ = match answer {
                Answer::Archive { etag, .. } if inm.as_deref() == Some(etag) => {
                    write!(sock, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n")
                }
                Answer::Archive { etag, body } => {
                    let _ = write!(
                        sock,
                        "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Type: application/zip\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    sock.write_all(&body)
                }
                Answer::Status(code) => write!(sock, "HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\n\r\n"),
                Answer::Claims(n) => write!(sock, "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n"),
            };
        }
    });
    Server { url, answer, seen }
}

fn real() -> Answer {
    Answer::Archive { etag: "\"v1\"", body: archive().to_vec() }
}

#[test]
fn the_archive_is_downloaded_cached_and_searched() {
    let s = server(real());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    assert!(store.load().unwrap().is_none(), "nothing before the first download");
    let Updated::Fetched { examples } = store.update(&s.url).unwrap() else { panic!("not fetched") };
    assert!(examples > 20_000, "{examples} examples");
    let data = store.load().unwrap().unwrap();
    assert_eq!(data.source, s.url);
    assert_eq!(data.etag.as_deref(), Some("\"v1\""));
    // Windows pages are not kept; the three platforms are.
    for p in [Platform::Common, Platform::Linux, Platform::Osx] {
        assert!(data.examples.iter().any(|e| e.platform == p), "{p:?}");
    }
    let linux = Index::new(data.examples.clone(), &[Platform::Common, Platform::Linux], |_| true);
    let hits = linux.search("compress a file and keep the original file", 3, 0.0, 0.5);
    assert!(hits.iter().any(|h| h.example.command.starts_with("gzip")), "{hits:#?}");
    // macOS gets its own pages, not Linux's.
    let mac = Index::new(data.examples, &[Platform::Common, Platform::Osx], |_| true);
    let hits = mac.search("install a package with apt", 5, 0.0, 0.0);
    assert!(hits.iter().all(|h| h.example.platform != Platform::Linux), "{hits:#?}");
}

#[test]
fn an_update_of_unchanged_pages_downloads_nothing_and_new_pages_replace_the_old() {
    let s = server(real());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.update(&s.url).unwrap();
    assert_eq!(store.update(&s.url).unwrap(), Updated::Unchanged);
    assert_eq!(s.seen.lock().unwrap().last().unwrap().as_deref(), Some("\"v1\""), "the ETag was sent back");
    // A new release: fewer pages here, so the change shows.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..150 {
        zip.start_file(format!("common/tool{i}.md"), zip::write::SimpleFileOptions::default()).unwrap();
        write!(zip, "# tool{i}\n\n> A tool.\n\n- Do thing {i}:\n\n`tool{i} --go`\n").unwrap();
    }
    *s.answer.lock().unwrap() = Answer::Archive { etag: "\"v2\"", body: zip.finish().unwrap().into_inner() };
    assert_eq!(store.update(&s.url).unwrap(), Updated::Fetched { examples: 150 });
    let data = store.load().unwrap().unwrap();
    assert_eq!(data.etag.as_deref(), Some("\"v2\""));
    assert!(data.examples.iter().all(|e| e.page.starts_with("tool")));
}

#[test]
fn a_corrupt_or_false_archive_is_refused_and_the_cache_kept() {
    let s = server(real());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.update(&s.url).unwrap();
    let before = std::fs::read(store.path()).unwrap();
    let cut = archive()[..archive().len() / 2].to_vec();
    let mut not_pages = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    not_pages.start_file("README.md", zip::write::SimpleFileOptions::default()).unwrap();
    not_pages.write_all(b"# hello").unwrap();
    let cases: Vec<(Answer, &str)> = vec![
        (Answer::Archive { etag: "\"x1\"", body: b"<html>Sign in to the Wi-Fi</html>".to_vec() }, "not a zip archive"),
        (Answer::Archive { etag: "\"x2\"", body: cut }, "not a zip archive"),
        (Answer::Archive { etag: "\"x3\"", body: not_pages.finish().unwrap().into_inner() }, "only 0 tldr pages"),
        (Answer::Status(503), "HTTP 503"),
        (Answer::Claims(1 << 40), "larger than 64 MB"),
    ];
    for (answer, want) in cases {
        *s.answer.lock().unwrap() = answer;
        let e = store.update(&s.url).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
        assert_eq!(std::fs::read(store.path()).unwrap(), before, "{want}: the cache changed");
    }
    assert!(store.load().unwrap().unwrap().examples.len() > 20_000);
}

#[test]
fn offline_the_update_fails_clearly_and_the_examples_stay() {
    let s = server(real());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.update(&s.url).unwrap();
    // A port nothing listens on.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tldr-pages.en.zip", l.local_addr().unwrap())
    };
    let e = store.update(&dead).unwrap_err();
    assert!(matches!(e, TldrError::Network { .. }), "{e}");
    assert!(e.to_string().contains("can't reach"), "{e}");
    assert!(store.load().unwrap().is_some());
    // Without any cache, there are simply no examples.
    let empty = tempfile::tempdir().unwrap();
    assert!(Store::new(empty.path()).load().unwrap().is_none());
}

#[test]
fn a_damaged_cache_file_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    std::fs::write(store.path(), b"{\"version\": 1, \"examples\": [tru").unwrap();
    let e = store.load().unwrap_err().to_string();
    assert!(e.contains("damaged") && e.contains("cmdbar tldr update"), "{e}");
}

#[test]
fn a_local_archive_file_is_read_as_a_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("tldr-pages.en.zip");
    std::fs::write(&zip, archive()).unwrap();
    let store = Store::new(dir.path().join("cache"));
    assert!(matches!(store.update(zip.to_str().unwrap()).unwrap(), Updated::Fetched { .. }));
    let missing = dir.path().join("nope.zip");
    assert!(store.update(missing.to_str().unwrap()).unwrap_err().to_string().contains("nope.zip"));
}
