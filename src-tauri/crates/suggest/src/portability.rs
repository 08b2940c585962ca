//! Flags a command that will not work on the user's userland: GNU-only
//! options on macOS (BSD) and BSD-only ones on Linux (GNU). Small models mix
//! the two up; a flagged candidate is ranked last and carries the note.
use crate::context::Os;

/// Why `command` won't run as written on `os`, if we know it won't.
pub fn problem(os: Os, command: &str) -> Option<String> {
    let parts = cmdbar_safety::parts(command).ok()?;
    parts.iter().find_map(|p| {
        let words = skip_wrappers(&p.words);
        let (name, args) = words.split_first()?;
        let name = name.rsplit('/').next().unwrap_or(name);
        match os {
            Os::MacOs => gnu_only(name, args),
            Os::Linux => bsd_only(name, args),
        }
    })
}

fn skip_wrappers(words: &[String]) -> &[String] {
    let i = words.iter().position(|w| !(w.contains('=') || matches!(w.as_str(), "sudo" | "env" | "time" | "nohup")));
    i.map_or(&[], |i| &words[i..])
}

/// BSD base tools that take no `--long` options (except a few noted below).
const BSD_TOOLS: &[&str] = &[
    "ls", "cp", "mv", "rm", "du", "df", "head", "tail", "date", "stat", "wc", "cut", "touch", "mkdir", "chmod",
    "chown", "ln", "find", "xargs", "sed", "split", "tr", "uniq", "cat", "readlink", "basename", "dirname",
];

fn gnu_only(name: &str, args: &[String]) -> Option<String> {
    let has = |f: &str| args.iter().any(|a| a == f || a.starts_with(&format!("{f}=")));
    let flag = |f: &str| args.iter().any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(f));
    let says = |what: &str, instead: &str| Some(format!("{what} is GNU-only; on macOS {instead}"));
    match name {
        "md5sum" => return says("md5sum", "use md5 -r"),
        "sha1sum" | "sha256sum" | "sha512sum" => return says(name, "use shasum -a 1/256/512"),
        "tac" => return says("tac", "use tail -r"),
        "getent" => return says("getent", "use dscl or id"),
        "nproc" => return says("nproc", "use sysctl -n hw.ncpu"),
        "free" => return says("free", "use vm_stat or top -l 1"),
        "zcat" if args.iter().any(|a| a.ends_with(".gz")) => return says("zcat on .gz files", "use gzcat"),
        _ => {}
    }
    match name {
        "sed" if has("-i") => {
            let next = args.iter().skip_while(|a| *a != "-i").nth(1);
            // BSD sed takes the backup suffix as the next word: -i '' or -i .bak.
            if next.is_some_and(|n| !(n.is_empty() || n.starts_with('.'))) {
                return says("sed -i without a suffix", "write sed -i '' …");
            }
        }
        "find" => {
            if let Some(f) = ["-printf", "-daystart", "-regextype", "-fprintf"].into_iter().find(|f| has(f)) {
                return says(&format!("find {f}"), "use -exec stat -f … or other tests");
            }
        }
        "stat" if flag("c") || has("--format") || has("--printf") => return says("stat -c", "use stat -f FORMAT"),
        "date" if flag("d") || has("--date") => return says("date -d", "use date -j -f FORMAT STRING"),
        "du" if has("--max-depth") => return says("du --max-depth", "use du -d N"),
        "du" if flag("b") => return says("du -b", "use du -A or stat -f %z"),
        "xargs" if flag("i") || flag("r") => return says("xargs -i/-r", "use xargs -I {}"),
        "grep" if flag("P") => return says("grep -P", "use grep -E"),
        _ => {}
    }
    let long = args.iter().find(|a| a.starts_with("--") && a.len() > 2 && !allowed_long(name, a))?;
    if BSD_TOOLS.contains(&name) {
        let opt = long.split('=').next().unwrap_or(long);
        return says(&format!("{name} {opt}"), &format!("check man {name} for the BSD option"));
    }
    None
}

fn allowed_long(name: &str, arg: &str) -> bool {
    // Long options BSD tools do accept.
    matches!((name, arg), ("ls", "--color") | ("ls", "--color=auto") | ("grep", _) | ("sort", _))
}

fn bsd_only(name: &str, args: &[String]) -> Option<String> {
    let says = |what: &str, instead: &str| Some(format!("{what} is macOS-only; on Linux {instead}"));
    match name {
        "pbcopy" | "pbpaste" => says(name, "use xclip or wl-copy"),
        "open" => says("open", "use xdg-open"),
        "md5" => says("md5", "use md5sum"),
        "diskutil" | "launchctl" | "defaults" | "mdfind" | "sw_vers" => says(name, "there is no such tool"),
        "stat" if args.iter().any(|a| a == "-f") => says("stat -f FORMAT", "use stat -c FORMAT"),
        "sed" => {
            let next = args.iter().skip_while(|a| *a != "-i").nth(1);
            next.is_some_and(|n| n.is_empty()).then(|| "sed -i '' is the BSD form; on Linux write sed -i …".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_flags_are_flagged_on_macos_only() {
        for cmd in [
            "du -h --max-depth=1 .",
            "sed -i 's/a/b/' f.txt",
            "find . -printf '%s %p\\n'",
            "stat -c %s file",
            "date -d yesterday",
            "ls -l | xargs -i echo {}",
            "md5sum *.iso",
            "sudo tac log",
        ] {
            assert!(problem(Os::MacOs, cmd).is_some(), "{cmd}");
            assert_eq!(problem(Os::Linux, cmd), None, "{cmd}");
        }
    }

    #[test]
    fn bsd_forms_are_fine_on_macos() {
        for cmd in
            ["du -h -d 1 .", "sed -i '' 's/a/b/' f.txt", "sed -i.bak 's/a/b/' f", "stat -f %z file", "ls --color=auto"]
        {
            assert_eq!(problem(Os::MacOs, cmd), None, "{cmd}");
        }
        assert!(problem(Os::Linux, "sed -i '' 's/a/b/' f.txt").is_some());
        assert!(problem(Os::Linux, "ls | pbcopy").is_some());
    }

    #[test]
    fn the_note_names_the_alternative() {
        assert_eq!(
            problem(Os::MacOs, "du -h --max-depth=1").unwrap(),
            "du --max-depth is GNU-only; on macOS use du -d N"
        );
        assert!(problem(Os::MacOs, "sed -i 's/x/y/' a").unwrap().contains("sed -i ''"));
    }
}
