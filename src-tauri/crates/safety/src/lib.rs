//! Rates how risky a shell command is, with a reason a user can read.
//!
//! The command is tokenized with a bash tokenizer (brush-parser), split into
//! pipelines and simple commands, and quotes are removed per word, so a
//! danger hidden in quotes (`r""m`) is seen and text inside quotes is not
//! mistaken for a command. Command substitutions and `sh -c` strings are
//! judged recursively. Nothing is ever executed.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Safe,
    Moderate,
    High,
    Critical,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::Moderate => "moderate",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub risk: Risk,
    pub reason: String,
}

impl Assessment {
    fn safe() -> Self {
        Self { risk: Risk::Safe, reason: "reads only; changes nothing".into() }
    }
    fn raise(&mut self, risk: Risk, reason: impl Into<String>) {
        if risk > self.risk {
            self.risk = risk;
            self.reason = reason.into();
        }
    }
}

/// How cautious the user wants to be: what is shown, what needs a second,
/// explicit confirm before it is copied, and what is hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Strict,
    #[default]
    Moderate,
    Permissive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Show,
    Confirm,
    Hide,
}

impl Level {
    /// Critical never goes without a confirm, whatever the level.
    pub fn action(self, risk: Risk) -> Action {
        match (self, risk) {
            (_, Risk::Safe) => Action::Show,
            (Level::Strict, Risk::Moderate) => Action::Confirm,
            (Level::Strict, _) => Action::Hide,
            (Level::Moderate, Risk::Moderate) => Action::Show,
            (Level::Moderate, _) => Action::Confirm,
            (Level::Permissive, Risk::Critical) => Action::Confirm,
            (Level::Permissive, _) => Action::Show,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Strict => "strict",
            Level::Moderate => "moderate",
            Level::Permissive => "permissive",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strict" => Ok(Level::Strict),
            "moderate" => Ok(Level::Moderate),
            "permissive" => Ok(Level::Permissive),
            _ => Err(format!("unknown safety level '{s}' (strict, moderate, permissive)")),
        }
    }
}

/// One simple command of a command line, as the shell would split it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The words as written, quotes kept.
    pub raw: Vec<String>,
    /// The words with quotes removed.
    pub words: Vec<String>,
    /// Redirections: operator and target.
    pub redirects: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse the command: {0}")]
pub struct ParseError(String);

/// Splits a command line into its simple commands, in order, across pipes
/// and `&&`/`||`/`;`.
pub fn parts(command: &str) -> Result<Vec<Part>, ParseError> {
    let tokens = tokenize(command).map_err(|e| ParseError(e.to_string()))?;
    Ok(split_pipelines(&tokens)
        .into_iter()
        .flatten()
        .map(|s| Part { raw: s.raw, words: s.words, redirects: s.writes })
        .collect())
}

/// brush-parser 0.4 loops forever, allocating, on some here-documents that
/// never properly start or end (`<<\r\t`, `` `$(<<  ` ``, `$(e<<  - `,
/// `` $(a<<  sh`\nsh\n` ``: forms found by fuzzing). So a here-document reaches
/// it only in the plain form it handles: a word of letters, digits and `_`,
/// bare or in one pair of quotes, after `<<`; nothing on the rest of that
/// line that could open a construct spanning lines; and a later line that
/// ends it. Anything else is refused as unparseable (a shell may accept some
/// of it; refusing is the safe side). Control characters are judged as the
/// spaces a terminal shows.
fn tokenize(command: &str) -> Result<Vec<brush_parser::Token>, String> {
    let odd = |c: char| c.is_control() && c != '\n' && c != '\t';
    let command: std::borrow::Cow<str> =
        if command.contains(odd) { command.replace(odd, " ").into() } else { command.into() };
    if !heredocs_are_plain(&command) {
        return Err("a here-document is not in a form that can be judged".into());
    }
    // It can also panic (an unwrap in its nested-construct code, found by
    // fuzzing): that too is a command it cannot judge.
    std::panic::catch_unwind(|| brush_parser::tokenize_str(&command))
        .map_err(|_| "the shell tokenizer failed on it".to_string())?
        .map_err(|e| e.to_string())
}

/// Whether every `<<` or `<<-` has a plain end word and a later line that
/// is that word. A run of `<` splits as the tokenizer splits it: `<<<`
/// (a here-string) first, then `<<`, then `<`; an escaped `<` is a letter,
/// and a line continuation joins what it splits.
fn heredocs_are_plain(s: &str) -> bool {
    let s = s.replace("\\\n", "");
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1 {
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|&&c| c == b'<').count();
        let at = i + run / 3 * 3;
        i += run;
        // A shift in `$(( ))` is judged as a here-document too: telling
        // them apart needs the parse this guards (the fuzzer hid one in a
        // backquoted `((`).
        if run % 3 != 2 {
            continue;
        }
        let rest = &s[at + 2..];
        let (rest, tabs) = match rest.strip_prefix('-') {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let word = |r: &str| r.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(r.len());
        let (tag, after) = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let n = word(&rest[1..]);
                match rest[1 + n..].strip_prefix(q) {
                    Some(after) => (&rest[1..1 + n], after),
                    None => return false,
                }
            }
            _ => rest.split_at(word(rest)),
        };
        if tag.is_empty() {
            return false;
        }
        let Some((line, body)) = after.split_once('\n') else { return false };
        // A quote, backquote, `$`, escape or bracket here may carry the line,
        // and so the end word, into a construct the tokenizer loops on.
        if line.contains(['\'', '"', '`', '$', '\\', '(', ')', '{', '}']) {
            return false;
        }
        let ends = body.lines().any(|l| if tabs { l.trim_start_matches('\t') == tag } else { l == tag });
        if !ends {
            return false;
        }
    }
    true
}

const MAX_DEPTH: usize = 4;

pub fn classify(command: &str) -> Assessment {
    let mut a = Assessment::safe();
    classify_into(command, 0, &mut a);
    a
}

fn classify_into(command: &str, depth: usize, a: &mut Assessment) {
    if depth > MAX_DEPTH {
        a.raise(Risk::High, "nests commands too deeply to judge");
        return;
    }
    let tokens = match tokenize(command) {
        Ok(t) => t,
        Err(_) => {
            a.raise(Risk::Moderate, "cannot be parsed reliably (unbalanced quotes?)");
            return;
        }
    };
    if is_fork_bomb(&tokens) {
        a.raise(Risk::Critical, "is a fork bomb: it starts processes until the machine stalls");
        return;
    }
    let mut at_top = false;
    for pipeline in split_pipelines(&tokens) {
        judge_pipeline(&pipeline, depth, &mut at_top, a);
    }
}

/// A simple command: its words (quotes removed) and where its output goes.
#[derive(Debug, Default)]
struct Simple {
    raw: Vec<String>,
    words: Vec<String>,
    writes: Vec<(String, String)>,
}

type Pipeline = Vec<Simple>;

fn split_pipelines(tokens: &[brush_parser::Token]) -> Vec<Pipeline> {
    use brush_parser::Token;
    let mut pipelines = vec![];
    let mut pipeline: Pipeline = vec![];
    let mut cmd = Simple::default();
    let mut pending_redirect: Option<String> = None;
    for t in tokens {
        match t {
            Token::Word(w, _) => {
                if let Some(op) = pending_redirect.take() {
                    cmd.writes.push((op, unquote(w)));
                } else if !(w == "{" || w == "}") {
                    cmd.raw.push(w.clone());
                    cmd.words.push(unquote(w));
                }
            }
            Token::Operator(op, _) => match op.as_str() {
                "|" | "|&" => pipeline.push(std::mem::take(&mut cmd)),
                // The next word is the redirect's target, not an argument.
                ">" | ">>" | ">|" | "&>" | "&>>" | "<>" | "<" | "<<" | "<<-" | "<<<" | ">&" | "<&" => {
                    pending_redirect = Some(op.clone())
                }
                _ => {
                    pipeline.push(std::mem::take(&mut cmd));
                    pipelines.push(std::mem::take(&mut pipeline));
                }
            },
        }
    }
    pipeline.push(cmd);
    pipelines.push(pipeline);
    pipelines
        .into_iter()
        .map(|p| p.into_iter().filter(|c| !c.words.is_empty() || !c.writes.is_empty()).collect::<Vec<_>>())
        .filter(|p: &Pipeline| !p.is_empty())
        .collect()
}

fn unquote(word: &str) -> String {
    match shell_words::split(word) {
        Ok(parts) => parts.join(" "),
        Err(_) => word.to_string(),
    }
}

fn is_fork_bomb(tokens: &[brush_parser::Token]) -> bool {
    use brush_parser::Token;
    // name ( ) { ... name | name ... }
    let text: Vec<&str> = tokens.iter().map(|t| t.to_str()).collect();
    tokens.windows(3).any(|w| match (&w[0], &w[1], &w[2]) {
        (Token::Word(name, _), Token::Operator(o, _), Token::Operator(c, _)) if o == "(" && c == ")" => {
            text.windows(3).any(|x| x[0] == name && x[1] == "|" && x[2].trim_end_matches('&') == name)
        }
        (Token::Word(w, _), _, _) => w.contains("(){") && w.contains('|'),
        _ => false,
    })
}

/// `at_top` is set once a `cd` has moved to `/` or home, after which a
/// relative `*` or `.` means everything there.
fn judge_pipeline(p: &Pipeline, depth: usize, at_top: &mut bool, a: &mut Assessment) {
    let mut downloads = false;
    let mut decodes = false;
    // What `echo`/`printf` put into the pipe, in case a shell runs it.
    let mut piped_text: Option<String> = None;
    for (i, cmd) in p.iter().enumerate() {
        for w in &cmd.raw {
            for inner in substitutions(w) {
                classify_into(&inner, depth + 1, a);
            }
        }
        for (op, target) in &cmd.writes {
            judge_redirect(op, target, a);
        }
        let words = strip_wrappers(&cmd.words, a);
        let Some(name) = words.first() else { continue };
        // `$x`, `$'\x72m'`, `rm${IFS}-rf`, `$(...)`: the name is only known
        // when it runs, so it could be anything.
        let raw_name = &cmd.raw[cmd.words.len() - words.len()];
        if raw_name.contains('$') || raw_name.contains('`') {
            a.raise(Risk::High, "runs a command that is computed when it runs");
        }
        let base = name.rsplit('/').next().unwrap_or(name).to_string();
        if is_shell(&base) {
            for (op, text) in &cmd.writes {
                if op == "<<<" {
                    a.raise(Risk::High, "runs a string as code");
                    classify_into(text, depth + 1, a);
                }
            }
            let reads_stdin = !words[1..].iter().any(|w| !w.starts_with('-'));
            if i > 0 && reads_stdin {
                a.raise(Risk::High, "runs text piped into it as code");
                if let Some(text) = piped_text.take() {
                    classify_into(&text, depth + 1, a);
                }
            }
        }
        piped_text = matches!(base.as_str(), "echo" | "printf").then(|| words[1..].join(" "));
        if is_shell(&base) && (downloads || decodes) {
            a.raise(
                Risk::Critical,
                if downloads { "pipes a download into a shell" } else { "runs decoded, hidden text as code" },
            );
        }
        if matches!(base.as_str(), "curl" | "wget") {
            downloads = true;
        }
        if base == "base64" || base == "xxd" || base == "openssl" {
            decodes = true;
        }
        if base == "cd" {
            *at_top = words.get(1).is_none_or(|d| is_root_or_home(d));
        }
        let args: Vec<String> = if *at_top {
            words[1..]
                .iter()
                .map(|w| if matches!(w.as_str(), "*" | "." | "./*") { "/*".to_string() } else { w.clone() })
                .collect()
        } else {
            words[1..].to_vec()
        };
        judge_simple(&base, &args, depth, a);
    }
}

/// Skips `sudo`, `env VAR=x`, `nohup`, `xargs` and the like to the real
/// command, noting privilege.
fn strip_wrappers<'a>(words: &'a [String], a: &mut Assessment) -> &'a [String] {
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if is_assignment(w) {
            i += 1;
            continue;
        }
        match w {
            "sudo" | "doas" | "su" => {
                a.raise(Risk::High, "runs as administrator (sudo)");
                i += 1;
                while i < words.len() && words[i].starts_with('-') {
                    i += 1;
                }
            }
            "env" | "nohup" | "time" | "nice" | "command" | "builtin" | "exec" | "caffeinate" => {
                i += 1;
                while i < words.len() && words[i].starts_with('-') {
                    i += 1;
                }
            }
            "xargs" => {
                i += 1;
                while i < words.len() && words[i].starts_with('-') {
                    // Flags with a separate value.
                    if matches!(words[i].as_str(), "-I" | "-n" | "-P" | "-L" | "-d" | "-s" | "-E") {
                        i += 1;
                    }
                    i += 1;
                }
            }
            _ => break,
        }
    }
    &words[i.min(words.len())..]
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((k, _)) => !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        None => false,
    }
}

fn is_shell(base: &str) -> bool {
    matches!(base, "sh" | "bash" | "zsh" | "fish" | "dash" | "ksh" | "python" | "python3" | "perl" | "ruby" | "node")
}

/// `$(...)` and backtick bodies inside a raw word.
fn substitutions(raw: &str) -> Vec<String> {
    let mut out = vec![];
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'(') && b.get(i + 2) != Some(&b'(') {
            let start = i + 2;
            let mut depth = 1;
            let mut j = start;
            while j < b.len() && depth > 0 {
                match b[j] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                j += 1;
            }
            let end = if depth == 0 { j - 1 } else { j };
            out.push(raw[start..end].to_string());
            i = j;
        } else if b[i] == b'`' {
            if let Some(len) = raw[i + 1..].find('`') {
                out.push(raw[i + 1..i + 1 + len].to_string());
                i += len + 2;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

fn is_harmless_device(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/zero" | "/dev/random" | "/dev/urandom"
    ) || path.starts_with("/dev/fd/")
}

fn is_disk_device(path: &str) -> bool {
    let dev = [
        "/dev/sd",
        "/dev/disk",
        "/dev/rdisk",
        "/dev/nvme",
        "/dev/hd",
        "/dev/vd",
        "/dev/mmcblk",
        "/dev/xvd",
        "/dev/md",
        "/dev/dm-",
        "/dev/mapper/",
    ];
    dev.iter().any(|d| path.starts_with(d))
}

const SYSTEM_DIRS: &[&str] = &[
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/boot",
    "/System",
    "/Library",
    "/var",
    "/opt",
    "/private",
    "/dev",
    "/proc",
    "/sys",
    "/Applications",
];

fn is_system_path(path: &str) -> bool {
    SYSTEM_DIRS.iter().any(|d| path == *d || path.starts_with(&format!("{d}/")))
}

/// `//x/./y` → `/x/y`: the same path, spelt so the checks below see it.
fn normalise_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for (i, seg) in p.split('/').enumerate() {
        if i > 0 && (seg.is_empty() || seg == ".") {
            continue;
        }
        if i > 0 || seg.is_empty() {
            out.push('/');
        }
        out.push_str(seg);
    }
    if out.len() > 1 && out.starts_with("//") {
        out.remove(0);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `/`, `~`, `$HOME`, with or without a trailing `/*`.
fn is_root_or_home(path: &str) -> bool {
    if !path.starts_with(['/', '~', '$']) {
        return false;
    }
    let p = path.trim_end_matches('*').trim_end_matches('/');
    p.is_empty() || matches!(p, "~" | "$HOME" | "${HOME}")
}

/// The root, home, or a top-level system folder: deleting these loses everything.
fn is_everything(path: &str) -> bool {
    let p = path.trim_end_matches('*').trim_end_matches('/');
    is_root_or_home(path) || (SYSTEM_DIRS.contains(&p) && p != "/var" && p != "/opt")
}

fn judge_redirect(op: &str, target: &str, a: &mut Assessment) {
    if op.starts_with('<') || op == ">&" {
        return;
    }
    if is_harmless_device(target) {
        return;
    }
    if is_disk_device(target) {
        a.raise(Risk::Critical, format!("writes straight onto the disk device {target}"));
    } else if is_system_path(target) {
        a.raise(Risk::High, format!("writes to the system file {target}"));
    } else if op == ">" || op == ">|" || op == "&>" {
        a.raise(Risk::Moderate, format!("overwrites {target} if it exists"));
    }
}

fn has_flag(args: &[String], short: char, long: &str) -> bool {
    args.iter().any(|a| a == long || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains(short)))
}

fn operands(args: &[String]) -> impl Iterator<Item = &String> {
    args.iter().filter(|a| !a.starts_with('-'))
}

fn judge_simple(name: &str, args: &[String], depth: usize, a: &mut Assessment) {
    match name {
        "rm" | "rmdir" | "unlink" | "srm" => {
            let recursive = has_flag(args, 'r', "--recursive") || has_flag(args, 'R', "--recursive");
            let paths: Vec<String> = operands(args).map(|p| normalise_path(p)).collect();
            let catastrophic =
                args.iter().any(|x| x == "--no-preserve-root") || paths.iter().any(|p| is_everything(p) || p == "/*");
            if recursive && catastrophic {
                a.raise(Risk::Critical, "deletes everything under a top-level folder");
            } else if paths.iter().any(|p| p.starts_with("/*")) {
                a.raise(Risk::Critical, "deletes files in every top-level folder");
            } else if recursive {
                a.raise(Risk::High, "deletes files and folders recursively");
            } else if paths.iter().any(|p| is_system_path(p)) {
                a.raise(Risk::High, "deletes system files");
            } else {
                a.raise(Risk::Moderate, "deletes files");
            }
        }
        "find" => {
            let deletes = args.iter().any(|x| x == "-delete")
                || args.windows(2).any(|w| {
                    matches!(w[0].as_str(), "-exec" | "-execdir" | "-ok")
                        && matches!(w[1].as_str(), "rm" | "shred" | "unlink")
                });
            if deletes {
                let root = operands(args).next().map(String::as_str).unwrap_or(".");
                // A name, size or age test picks files out, like naming them
                // to `rm`; without one, everything under the root goes.
                let filtered = args.iter().any(|x| {
                    matches!(
                        x.as_str(),
                        "-name"
                            | "-iname"
                            | "-path"
                            | "-ipath"
                            | "-wholename"
                            | "-regex"
                            | "-iregex"
                            | "-size"
                            | "-mtime"
                            | "-mmin"
                            | "-atime"
                            | "-amin"
                            | "-ctime"
                            | "-cmin"
                            | "-newer"
                            | "-empty"
                            | "-user"
                            | "-perm"
                            | "-links"
                    )
                });
                match (is_everything(root) || root == "/", filtered) {
                    (true, false) => a.raise(Risk::Critical, format!("deletes everything it finds under {root}")),
                    (true, true) => a.raise(Risk::High, format!("deletes matching files anywhere under {root}")),
                    (false, true) => a.raise(Risk::Moderate, "deletes the files that match its tests"),
                    (false, false) => a.raise(Risk::High, "deletes every file it finds"),
                }
            }
            if let Some(i) = args.iter().position(|x| matches!(x.as_str(), "-exec" | "-execdir" | "-ok")) {
                let end = args[i + 1..]
                    .iter()
                    .position(|x| x == ";" || x == "+" || x == "\\;")
                    .map_or(args.len(), |e| i + 1 + e);
                let inner: Vec<String> = args[i + 1..end].iter().filter(|x| *x != "{}").cloned().collect();
                if let Some((n, rest)) = inner.split_first() {
                    judge_simple(n.rsplit('/').next().unwrap_or(n), rest, depth, a);
                }
            }
        }
        "dd" => {
            if let Some(of) = args.iter().find_map(|x| x.strip_prefix("of=")) {
                if is_disk_device(of) {
                    a.raise(Risk::Critical, format!("writes raw data onto the disk {of}"));
                } else if !is_harmless_device(of) {
                    a.raise(Risk::Moderate, format!("overwrites {of}"));
                }
            }
        }
        "mkfs" | "fdisk" | "sfdisk" | "gdisk" | "parted" | "wipefs" | "newfs" | "newfs_apfs" | "newfs_hfs" => {
            a.raise(Risk::Critical, "formats or repartitions a disk, erasing it")
        }
        n if n.starts_with("mkfs.") => a.raise(Risk::Critical, "formats a disk, erasing it"),
        "diskutil" => match args.first().map(String::as_str) {
            Some(
                "eraseDisk" | "eraseVolume" | "partitionDisk" | "zeroDisk" | "randomDisk" | "secureErase" | "reformat",
            ) => a.raise(Risk::Critical, "erases or repartitions a disk"),
            Some("unmount" | "unmountDisk" | "eject") => a.raise(Risk::Moderate, "unmounts a disk"),
            _ => {}
        },
        "shred" | "truncate" => a.raise(Risk::High, "destroys file contents"),
        "chmod" | "chown" | "chgrp" | "chflags" => {
            let recursive = has_flag(args, 'R', "--recursive");
            let targets: Vec<&String> = operands(args).skip(1).collect();
            if targets.iter().any(|t| is_root_or_home(t)) && recursive {
                a.raise(Risk::Critical, "changes permissions of the whole system");
            } else if targets.iter().any(|t| is_system_path(t)) {
                a.raise(Risk::High, "changes permissions on system folders");
            } else if name == "chmod" && operands(args).next().is_some_and(|m| m.ends_with("777") || m == "a+rwx") {
                a.raise(Risk::High, "makes files writable by every user");
            } else {
                a.raise(Risk::Moderate, "changes file permissions or owners");
            }
        }
        "eval" => {
            a.raise(Risk::High, "runs a string as code (eval)");
            classify_into(&args.join(" "), depth + 1, a);
        }
        "source" | "." => a.raise(Risk::Moderate, "runs a script in the current shell"),
        "sh" | "bash" | "zsh" | "fish" | "dash" | "ksh" => {
            if let Some(i) = args.iter().position(|x| x == "-c") {
                if let Some(code) = args.get(i + 1) {
                    classify_into(code, depth + 1, a);
                }
            }
        }
        s if is_shell(s) => {
            // Inline Python, Perl, Ruby or JavaScript: not parsed, but the
            // calls that delete files or run commands are easy to spot.
            if let Some(i) = args.iter().position(|x| x == "-c" || x == "-e") {
                let code = args.get(i + 1).map(String::as_str).unwrap_or("");
                const RISKY: &[&str] = &[
                    "rmtree",
                    "remove(",
                    "unlink",
                    "rmdir",
                    "system(",
                    "popen",
                    "subprocess",
                    "exec(",
                    "spawn",
                    "execSync",
                    "rm -",
                    "truncate",
                    "chmod",
                    "kill(",
                    "`",
                ];
                if let Some(what) = RISKY.iter().find(|r| code.contains(*r)) {
                    a.raise(Risk::High, format!("runs inline {s} code that can delete files or run commands ({what})"));
                }
                for quoted in code.split(['"', '\'']).skip(1).step_by(2) {
                    classify_into(quoted, depth + 1, a);
                }
            }
        }
        "tee" => {
            for p in operands(args) {
                if is_disk_device(p) {
                    a.raise(Risk::Critical, format!("writes straight onto the disk device {p}"));
                } else if is_system_path(p) {
                    a.raise(Risk::High, format!("writes to the system file {p}"));
                } else if !is_harmless_device(p) {
                    a.raise(Risk::Moderate, format!("overwrites {p} if it exists"));
                }
            }
        }
        "shutdown" | "reboot" | "halt" | "poweroff" => a.raise(Risk::High, "shuts down or restarts the machine"),
        "kill" | "pkill" | "killall" => {
            // `kill -9 -1` signals every process; pid 1 is init/launchd.
            if name == "kill" && args.last().is_some_and(|p| p == "-1" || p == "1") {
                a.raise(Risk::Critical, "kills every process or the init process");
            } else {
                a.raise(Risk::Moderate, "stops running processes");
            }
        }
        "mv" => {
            if operands(args).any(|p| p == "/dev/null") {
                a.raise(Risk::High, "moves files into /dev/null, destroying them");
            } else if operands(args).any(|p| is_system_path(p)) {
                a.raise(Risk::High, "moves system files");
            } else {
                a.raise(Risk::Moderate, "moves or renames files, replacing any at the target");
            }
        }
        "cp" | "rsync" | "ln" | "install" => {
            if operands(args).last().is_some_and(|p| is_system_path(p)) {
                a.raise(Risk::High, "writes into a system folder");
            } else if name == "rsync" && args.iter().any(|x| x.starts_with("--delete")) {
                a.raise(Risk::High, "deletes files at the destination that the source lacks");
            }
        }
        "sed" | "perl" | "gsed" => {
            if args.iter().any(|x| {
                x.starts_with("-i")
                    || x == "--in-place"
                    || (x.starts_with('-') && !x.starts_with("--") && x.contains('i') && name != "perl")
            }) {
                a.raise(Risk::Moderate, "edits files in place");
            }
        }
        "crontab" => {
            if args.iter().any(|x| x == "-r") {
                a.raise(Risk::High, "removes all scheduled jobs");
            }
        }
        "git" => match args.first().map(String::as_str) {
            Some("push") if args.iter().any(|x| x == "-f" || x.starts_with("--force")) => {
                a.raise(Risk::High, "rewrites history on the remote (force push)")
            }
            Some("reset") if args.iter().any(|x| x == "--hard") => {
                a.raise(Risk::Moderate, "discards uncommitted changes")
            }
            Some("clean") if has_flag(&args[1..], 'f', "--force") => a.raise(Risk::Moderate, "deletes untracked files"),
            Some("checkout" | "restore") if args.iter().any(|x| x == "." || x == "--") => {
                a.raise(Risk::Moderate, "discards uncommitted changes")
            }
            _ => {}
        },
        "systemctl" | "launchctl" | "service" => {
            if args.iter().any(|x| matches!(x.as_str(), "stop" | "disable" | "mask" | "unload" | "bootout" | "remove"))
            {
                a.raise(Risk::Moderate, "stops or disables a system service");
            }
        }
        "brew" | "apt" | "apt-get" | "dnf" | "yum" | "pacman" | "port" | "pip" | "pip3" | "npm" | "gem" | "cargo" => {
            if args.iter().any(|x| {
                matches!(
                    x.as_str(),
                    "install" | "uninstall" | "remove" | "purge" | "upgrade" | "autoremove" | "-S" | "-R" | "i"
                )
            }) {
                a.raise(Risk::Moderate, "installs or removes software");
            }
        }
        "history" => {
            if args.iter().any(|x| x == "-c") {
                a.raise(Risk::Moderate, "erases your shell history");
            }
        }
        "nvram" | "csrutil" | "spctl" | "bless" => a.raise(Risk::High, "changes firmware or system security settings"),
        "iptables" | "pfctl" | "ufw" => a.raise(Risk::Moderate, "changes the firewall"),
        "passwd" | "usermod" | "userdel" | "dscl" | "visudo" => a.raise(Risk::High, "changes user accounts"),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
