//! Flags a command that will not work on the user's userland: a program
//! this machine does not have, GNU-only options on macOS (BSD) and BSD-only
//! ones on Linux (GNU). Small models mix the two up and name tools from
//! other systems; a flagged candidate is ranked last and carries the note.
use crate::context::Os;

/// Why `command` won't run as written on `os`, if we know it won't.
pub fn problem(os: Os, command: &str) -> Option<String> {
    problem_with(os, command, &|name| os != Os::current() || installed(name))
}

/// As `problem`, with `has` saying whether a program exists on the target.
pub(crate) fn problem_with(os: Os, command: &str, has: &dyn Fn(&str) -> bool) -> Option<String> {
    let parts = cmdbar_safety::parts(command).ok()?;
    let defined = defined_functions(command);
    parts.iter().find_map(|p| {
        let words = skip_wrappers(&p.words);
        let (name, args) = words.split_first()?;
        if is_program_name(name) && !defined.contains(&name.as_str()) && !has(name) {
            return Some(format!("{name} is not installed here (it is not on the PATH)"));
        }
        let name = name.rsplit('/').next().unwrap_or(name);
        match os {
            Os::MacOs => gnu_only(name, args),
            Os::Linux => bsd_only(name, args),
        }
    })
}

/// A word the shell looks up on the PATH: not a builtin, a keyword, a path
/// or anything it expands first.
fn is_program_name(name: &str) -> bool {
    !(name.is_empty()
        || name.contains(['/', '$', '`', '*', '?', '[', '=', '(', '{', '~'])
        || BUILTINS.contains(&name))
}

/// Builtins and keywords of bash and zsh: never on the PATH, always there.
const BUILTINS: &[&str] = &[
    ".", ":", "[", "[[", "]]", "!", "{", "}", "alias", "autoload", "bg", "bind", "bindkey", "break", "builtin",
    "caller", "case", "cd", "command", "compgen", "complete", "continue", "coproc", "declare", "dirs", "disown", "do",
    "done", "echo", "elif", "else", "emulate", "enable", "esac", "eval", "exec", "exit", "export", "false", "fc",
    "fg", "fi", "for", "function", "getopts", "hash", "help", "history", "if", "in", "jobs", "kill", "let", "limit",
    "local", "logout", "mapfile", "noglob", "popd", "print", "printf", "pushd", "pwd", "read", "readarray",
    "readonly", "rehash", "return", "select", "set", "setopt", "shift", "shopt", "source", "suspend", "test", "then",
    "time", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "unsetopt", "until",
    "wait", "whence", "where", "which", "while", "zle",
];

/// Names the command defines as functions (`f() { …; }; f`).
fn defined_functions(command: &str) -> Vec<&str> {
    command
        .match_indices("()")
        .filter_map(|(i, _)| {
            let before = command[..i].trim_end();
            // After the last char that is not part of a name, whatever its width.
            let start = before
                .char_indices()
                .rfind(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-'))
                .map_or(0, |(j, c)| j + c.len_utf8());
            (start < before.len()).then(|| &before[start..])
        })
        .collect()
}

/// A program on this machine's PATH (looked up once per name).
fn installed(name: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashMap<String, bool>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    *seen.get_or_insert_with(HashMap::new).entry(name.to_string()).or_insert_with(|| on_path(name))
}

/// The PATH, and the folders package managers install to: an app started
/// from the Finder gets launchd's short PATH, not the login shell's, and
/// must not call the user's Homebrew tools missing.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let extra = ["/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin", "/nix/var/nix/profiles/default/bin"]
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(home.iter().flat_map(|h| [".cargo/bin", ".local/bin", ".nix-profile/bin"].map(|d| h.join(d))));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra)
        .any(|d| std::fs::metadata(d.join(name)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

fn skip_wrappers(words: &[String]) -> &[String] {
    let i = words.iter().position(|w| !(w.contains('=') || matches!(w.as_str(), "sudo" | "env" | "time" | "nohup")));
    i.map_or(&[], |i| &words[i..])
}

/// BSD base tools that take no `--long` options (except a few noted below).
const BSD_TOOLS: &[&str] = &[
    "ls", "cp", "mv", "rm", "du", "df", "head", "tail", "date", "stat", "wc", "cut", "touch", "mkdir", "chmod",
    "chown", "ln", "find", "xargs", "sed", "split", "tr", "uniq", "cat", "readlink", "basename", "dirname", "ps",
];

fn gnu_only(name: &str, args: &[String]) -> Option<String> {
    let has = |f: &str| args.iter().any(|a| a == f || a.starts_with(&format!("{f}=")));
    // A short option in a cluster (`-Rd`), not a letter of an option's
    // value (`date -v-7d` is BSD's own form).
    let flag = |f: char| {
        let short = |c: &str| !c.starts_with('-') && c.chars().take_while(char::is_ascii_alphabetic).any(|x| x == f);
        args.iter().any(|a| a.strip_prefix('-').is_some_and(short))
    };
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
        "stat" if flag('c') || has("--format") || has("--printf") => return says("stat -c", "use stat -f FORMAT"),
        "date" if flag('d') || has("--date") => {
            return says("date -d", "use date -v-Nd for N days ago (-v adjusts by y, m, w, d, H, M, S) or date -j -f to parse")
        }
        "ps" if has("--sort") => return says("ps --sort", "use ps -m to sort by memory, ps -r by CPU"),
        "du" if has("--max-depth") => return says("du --max-depth", "use du -d N"),
        "du" if flag('b') => return says("du -b", "use du -A or stat -f %z"),
        "xargs" if flag('i') || flag('r') => return says("xargs -i/-r", "use xargs -I {}"),
        "grep" if flag('P') => return says("grep -P", "use grep -E"),
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
    fn a_function_name_after_a_wide_character_is_found_without_a_panic() {
        // Found by the model_output fuzz target: a byte offset of one past
        // a three-byte character.
        assert_eq!(defined_functions("x\u{2192}f() { :; }; f"), vec!["f"]);
        assert_eq!(defined_functions("\u{fffd}() { :; }"), Vec::<&str>::new());
    }

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
            "ps aux --sort=-%mem",
            "ps -eo pid,comm --sort -rss",
        ] {
            assert!(problem(Os::MacOs, cmd).is_some(), "{cmd}");
            assert_eq!(problem(Os::Linux, cmd), None, "{cmd}");
        }
    }

    #[test]
    fn bsd_forms_are_fine_on_macos() {
        for cmd in [
            "du -h -d 1 .",
            "sed -i '' 's/a/b/' f.txt",
            "sed -i.bak 's/a/b/' f",
            "stat -f %z file",
            "ls --color=auto",
            "ps aux -m",
            "date -v-7d",
            "date -j -v-1d +%F",
        ] {
            assert_eq!(problem(Os::MacOs, cmd), None, "{cmd}");
        }
        assert!(problem(Os::Linux, "sed -i '' 's/a/b/' f.txt").is_some());
        assert!(problem(Os::Linux, "ls | pbcopy").is_some());
    }

    #[test]
    fn a_program_this_machine_lacks_is_flagged_builtins_and_functions_are_not() {
        let has = |n: &str| matches!(n, "ls" | "grep" | "sudo");
        assert_eq!(
            problem_with(Os::Linux, "ls | lslogins", &has).as_deref(),
            Some("lslogins is not installed here (it is not on the PATH)")
        );
        assert!(problem_with(Os::Linux, "sudo userdbctl list", &has).is_some());
        for ok in [
            "ls -la",
            "cd /tmp && ls",
            "ulimit -t",
            "for f in *; do echo $f; done",
            "./run.sh",
            "$EDITOR notes",
            "FOO=1 ls",
            "f() { ls; }; f",
            "[[ -d x ]] && grep a b",
        ] {
            assert_eq!(problem_with(Os::Linux, ok, &has), None, "{ok}");
        }
        // On this machine, for real: ls is here, a made-up name is not.
        assert_eq!(problem(Os::current(), "ls"), None);
        assert!(problem(Os::current(), "cmdbar-no-such-tool-x --help").is_some());
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
