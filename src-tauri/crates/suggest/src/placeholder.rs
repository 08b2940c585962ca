//! Placeholders where the request already gives the place: a request for
//! "this folder" that gets `find /path/to/folder …` should get `find . …`.

/// Whether the request speaks of the current folder.
pub fn names_current_folder(request: &str) -> bool {
    let r = format!(" {} ", request.to_lowercase().replace(|c: char| !c.is_alphanumeric(), " "));
    [
        " here ",
        " this folder ",
        " this directory ",
        " this dir ",
        " current folder ",
        " current directory ",
        " current dir ",
        " working directory ",
        " cwd ",
    ]
    .iter()
    .any(|p| r.contains(p))
}

/// Whether a word is a stand-in for a folder: `/path/to/folder`,
/// `path/to/your/directory`, `<directory>`, `/your/folder` and the like.
fn is_folder_placeholder(word: &str) -> bool {
    let w = word.trim_matches(|c| c == '"' || c == '\'').trim_end_matches('/');
    let w = w.to_lowercase();
    let folder = |s: &str| {
        matches!(
            s,
            "folder" | "dir" | "directory" | "directory_name" | "folder_name" | "your_directory" | "your_folder"
        )
    };
    if let Some(inner) = w.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
        return folder(inner) || inner.ends_with("directory") || inner.ends_with("folder");
    }
    let rest = w
        .strip_prefix("/path/to/")
        .or_else(|| w.strip_prefix("path/to/"))
        .or_else(|| w.strip_prefix("/your/"))
        .or_else(|| w.strip_prefix("your/"));
    match rest {
        Some(r) => {
            let r = r.strip_prefix("your/").or_else(|| r.strip_prefix("the/")).unwrap_or(r);
            folder(r)
        }
        None => false,
    }
}

/// The command with each folder placeholder word made `.`; None when it
/// has none.
pub fn current_folder(command: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(command.len());
    // Words are split on spaces only, and spaces kept, so nothing else of
    // the command changes.
    for (i, word) in command.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if is_folder_placeholder(word) {
            out.push('.');
            changed = true;
        } else {
            out.push_str(word);
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_that_name_the_current_folder() {
        for r in [
            "show the five largest files in this folder",
            "count lines in all python files here",
            "list the current directory",
        ] {
            assert!(names_current_folder(r), "{r}");
        }
        for r in ["find big files in /var", "where is the config", "list the files in hereford"] {
            assert!(!names_current_folder(r), "{r}");
        }
    }

    #[test]
    fn a_placeholder_folder_becomes_dot() {
        assert_eq!(
            current_folder("find /path/to/folder -type f -exec du -h {} + | sort -rh | head -n 5").as_deref(),
            Some("find . -type f -exec du -h {} + | sort -rh | head -n 5")
        );
        assert_eq!(
            current_folder("du -sh '/path/to/your/directory'/*").as_deref(),
            None,
            "a glob after it is not a folder word"
        );
        assert_eq!(current_folder("ls <directory>").as_deref(), Some("ls ."));
        assert_eq!(current_folder("ls path/to/dir/").as_deref(), Some("ls ."));
        // Real paths and file placeholders stay.
        assert_eq!(current_folder("find /var/log -name '*.log'"), None);
        assert_eq!(current_folder("cat /path/to/file.txt"), None);
    }
}
