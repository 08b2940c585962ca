//! Names that come from a server (`X-Repo-Commit`, a listing's file names)
//! or from a user (`--file`, `--revision`, a repo) are checked here before
//! any of them becomes part of a path: a mirror named by `HF_ENDPOINT` is
//! untrusted input, as huggingface_hub treats it (`_get_pointer_path`).
use std::path::{Component, Path, PathBuf};

use crate::{ModelsError, Result};

fn refuse(what: &str, name: &str, reason: &str) -> ModelsError {
    ModelsError::BadName { what: what.to_string(), name: name.chars().take(200).collect(), reason: reason.to_string() }
}

/// A commit id: exactly 40 lowercase hexadecimal digits.
pub fn commit(what: &str, c: &str) -> Result<()> {
    if c.len() == 40 && c.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(refuse(what, c, "a commit id is 40 lowercase hexadecimal digits"))
    }
}

/// A blob name: a sha256, 64 lowercase hexadecimal digits.
pub fn sha256(what: &str, s: &str) -> Result<()> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(refuse(what, s, "a sha256 is 64 lowercase hexadecimal digits"))
    }
}

/// A relative path inside a repo (a file name, or a revision such as
/// `refs/pr/1`): `/`-separated segments, none empty, `.` or `..`; no
/// backslash, colon or control character; not absolute.
pub fn relative(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(refuse(what, name, "it is empty"));
    }
    if name.len() > 1024 {
        return Err(refuse(what, name, "it is longer than 1024 bytes"));
    }
    if name.starts_with('/') {
        return Err(refuse(what, name, "it is an absolute path"));
    }
    if name.contains('\\') {
        return Err(refuse(what, name, "it contains a backslash"));
    }
    if name.contains(':') {
        return Err(refuse(what, name, "it contains a colon"));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse(what, name, "it contains a control character"));
    }
    for seg in name.split('/') {
        match seg {
            "" => return Err(refuse(what, name, "it has an empty path segment")),
            "." | ".." => return Err(refuse(what, name, "it has a '.' or '..' segment")),
            _ => {}
        }
    }
    Ok(())
}

/// One segment of a Hub repo id (`org` or `name`): letters, digits, `-`,
/// `_` and `.`, not `.` or `..`, and no `--` (the cache's separator).
pub fn repo_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 96
        && s != "."
        && s != ".."
        && !s.contains("--")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `org/name`, each part as `repo_part` wants it.
pub fn repo(r: &str) -> Result<()> {
    match r.split_once('/') {
        Some((org, name)) if repo_part(org) && repo_part(name) => Ok(()),
        _ => Err(ModelsError::BadRepo(r.to_string())),
    }
}

/// `dir.join(rel)`, and proof that it stays inside `dir`: lexically (no
/// component of `rel` leaves it) and on disk (the deepest part that exists,
/// with symlinks resolved, lies inside `dir` resolved).
pub fn join_inside(dir: &Path, rel: &str) -> std::io::Result<PathBuf> {
    let p = dir.join(rel);
    let lexical = Path::new(rel).components().all(|c| matches!(c, Component::Normal(_)));
    if !lexical || !inside(dir, &p) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} would lie outside {}", p.display(), dir.display()),
        ));
    }
    Ok(p)
}

/// Whether `p`, with symlinks resolved as far as it exists, lies inside
/// `dir` (resolved the same way). A path whose folders don't exist yet is
/// judged by its deepest existing ancestor.
pub fn inside(dir: &Path, p: &Path) -> bool {
    let Some(dir) = resolve_existing(dir) else { return false };
    // The entry itself may be a symlink (a snapshot entry is one): judge
    // the folder it is in, and its name.
    let (parent, name) = match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => (parent, name),
        _ => return false,
    };
    match resolve_existing(parent) {
        Some(parent) => parent.join(name).starts_with(&dir) && parent.join(name) != dir,
        None => false,
    }
}

/// The path with symlinks resolved: its deepest existing ancestor made
/// canonical, the rest appended (rest has only normal components).
fn resolve_existing(p: &Path) -> Option<PathBuf> {
    let mut rest = vec![];
    let mut cur = p.to_path_buf();
    loop {
        match std::fs::canonicalize(&cur) {
            Ok(c) => {
                let mut out = c;
                for r in rest.iter().rev() {
                    out.push(r);
                }
                return Some(out);
            }
            Err(_) => {
                let name = cur.file_name()?.to_os_string();
                if !Path::new(&name).components().all(|c| matches!(c, Component::Normal(_))) {
                    return None;
                }
                rest.push(name);
                cur = cur.parent()?.to_path_buf();
                if cur.as_os_str().is_empty() {
                    cur = PathBuf::from(".");
                }
            }
        }
    }
}

/// A file name as a server would read it, for comparing with the
/// catalog's: percent-escapes decoded, `.` and empty segments dropped,
/// lowercased (mirrors on case-insensitive file systems serve either).
pub fn normalised(file: &str) -> String {
    let bytes = file.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    let s = String::from_utf8_lossy(&out).replace('\\', "/");
    s.split('/').filter(|seg| !seg.is_empty() && *seg != ".").collect::<Vec<_>>().join("/").to_lowercase()
}

/// `s` percent-encoded for one URL path segment (all but unreserved
/// characters), so the server is asked for exactly the name checked here.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_are_40_lowercase_hex_digits() {
        commit("c", &"a".repeat(40)).unwrap();
        for bad in
            ["", "main", "../../etc", "/tmp/x", &"A".repeat(40), &"a".repeat(41), &format!("{}/", "a".repeat(39))]
        {
            assert!(commit("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names_are_relative_without_tricks() {
        for ok in ["model.gguf", "Q4_K_M/model-00001-of-00002.gguf", "a.b/c..d.gguf"] {
            relative("f", ok).unwrap();
        }
        for bad in
            ["", "/etc/passwd", "../x.gguf", "a/../../x", "./m.gguf", "a//b", "a/", "a\\..\\b", "C:x", "a\0b", "a\nb"]
        {
            assert!(relative("f", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn repo_ids_are_two_plain_parts() {
        repo("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF").unwrap();
        for bad in ["a", "a/b/c", "../b", "a/..", "a--b/c", "a b/c", "a/b\\c", "/b"] {
            assert!(repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalised_names_are_what_a_server_reads() {
        assert_eq!(normalised("./Model.GGUF"), "model.gguf");
        assert_eq!(normalised("qwen2%2E5.gguf"), "qwen2.5.gguf");
        assert_eq!(normalised("a//b/./c"), "a/b/c");
        assert_eq!(encode_segment("a b%2E.gguf"), "a%20b%252E.gguf");
    }

    #[test]
    fn joins_stay_inside_their_folder() {
        let d = tempfile::tempdir().unwrap();
        let snaps = d.path().join("snapshots");
        std::fs::create_dir_all(snaps.join("c")).unwrap();
        assert!(join_inside(&snaps, "c/m.gguf").is_ok());
        assert!(join_inside(&snaps, "c/new/deeper/m.gguf").is_ok(), "folders that don't exist yet");
        assert!(join_inside(&snaps, "../x").is_err());
        assert!(join_inside(&snaps, "/etc/passwd").is_err());
        #[cfg(unix)]
        {
            // A folder that is a symlink out of the cache.
            std::os::unix::fs::symlink(d.path(), snaps.join("out")).unwrap();
            assert!(join_inside(&snaps, "out/m.gguf").is_err());
            // An entry that is itself a symlink is judged by its folder.
            std::os::unix::fs::symlink("/etc/passwd", snaps.join("c/link.gguf")).unwrap();
            assert!(join_inside(&snaps, "c/link.gguf").is_ok());
        }
    }
}
