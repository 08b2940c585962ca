//! Words as the program will see them: variables the command set, brace
//! expansion, `$IFS`, quotes and backslashes resolved; and what a path names
//! (the root, a home folder, a system folder, a disk).
use std::collections::HashMap;

use crate::syntax::{Node, Piece, Script, Word};

/// Stands for a part that is only known when the command runs.
pub(crate) const UNKNOWN: char = '\u{1}';
/// Stands for an unquoted `~` (or `$HOME`): a home folder.
pub(crate) const HOME: char = '\u{2}';
/// Brace expansion stops here: `{a,b}{c,d}…` multiplies.
const MAX_WORDS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Arg {
    /// For messages and names: `~` for home, expansions as written.
    pub text: String,
    /// For paths: `HOME` and `UNKNOWN` markers in their places.
    pub shape: String,
    /// For matching a command name: quoted glob characters escaped.
    pub pattern: String,
    pub dynamic: bool,
    pub glob: bool,
    /// What the substitutions in the word run.
    pub feeds: Feeds,
}

/// What the substitutions in a word run: a download, decoded text, and the
/// first two words of each command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Feeds {
    pub download: bool,
    pub decoded: bool,
    pub names: Vec<String>,
}

impl Arg {
    pub(crate) fn plain(s: &str) -> Self {
        Arg { text: s.into(), shape: s.into(), pattern: s.into(), ..Default::default() }
    }
    pub(crate) fn unknown(display: &str) -> Self {
        Arg {
            text: display.into(),
            shape: UNKNOWN.to_string(),
            pattern: "*".into(),
            dynamic: true,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Seg {
    C(char, bool),
    Unknown,
    Split,
}

/// Values of variables assigned earlier in the command, and whether a
/// variable is known to be set.
#[derive(Debug, Default, Clone)]
pub(crate) struct Env {
    pub vars: HashMap<String, String>,
}

pub(crate) fn expand(w: &Word, env: &Env) -> Vec<Arg> {
    let mut alts: Vec<(Vec<Seg>, Vec<String>)> = vec![(vec![], vec![])];
    for p in &w.pieces {
        let add = |segs: &[Seg], shown: &[String], alts: &mut Vec<(Vec<Seg>, Vec<String>)>| {
            for a in alts.iter_mut() {
                a.0.extend_from_slice(segs);
                a.1.extend_from_slice(shown);
            }
        };
        match p {
            Piece::Lit(t, q) => {
                let segs: Vec<Seg> = t.chars().map(|c| Seg::C(c, *q)).collect();
                add(&segs, &[], &mut alts);
            }
            Piece::Home(user) => {
                let mut segs = vec![Seg::C(HOME, true)];
                segs.extend(user.chars().map(|c| Seg::C(c, true)));
                add(&segs, &[], &mut alts);
            }
            Piece::Var(name, false) if name == "IFS" => add(&[Seg::Split], &[], &mut alts),
            Piece::Var(name, quoted) => match var_value(name, env) {
                Value::Home => add(&[Seg::C(HOME, true)], &[], &mut alts),
                Value::Known(v) => {
                    let segs: Vec<Seg> = v
                        .chars()
                        .map(|c| if !quoted && c.is_whitespace() { Seg::Split } else { Seg::C(c, *quoted) })
                        .collect();
                    add(&segs, &[], &mut alts);
                }
                Value::Ifs if !quoted => add(&[Seg::Split], &[], &mut alts),
                _ => add(&[Seg::Unknown], &[format!("${name}")], &mut alts),
            },
            Piece::Dyn(t) => add(&[Seg::Unknown], std::slice::from_ref(t), &mut alts),
            Piece::Sub(s, quoted) => match static_output(s, env) {
                Some(out) => {
                    let segs: Vec<Seg> = out
                        .chars()
                        .map(|c| if !quoted && c.is_whitespace() { Seg::Split } else { Seg::C(c, *quoted) })
                        .collect();
                    add(&segs, &[], &mut alts);
                }
                None => add(&[Seg::Unknown], &["$(…)".to_string()], &mut alts),
            },
            Piece::Proc(_) => add(&[Seg::Unknown], &["<(…)".to_string()], &mut alts),
            Piece::Brace(ws) => {
                let mut next = vec![];
                for (segs, shown) in &alts {
                    for alt in ws {
                        for a in expand(alt, env) {
                            if next.len() >= MAX_WORDS {
                                break;
                            }
                            let mut s = segs.clone();
                            s.extend(
                                a.shape.chars().map(|c| if c == UNKNOWN { Seg::Unknown } else { Seg::C(c, true) }),
                            );
                            let mut sh = shown.clone();
                            if a.dynamic {
                                sh.push(a.text.clone());
                            }
                            next.push((s, sh));
                        }
                    }
                }
                if !next.is_empty() {
                    alts = next;
                }
            }
        }
    }
    let mut out = vec![];
    for (segs, shown) in alts {
        for segs in brace_expand(&segs, 0) {
            out.extend(to_args(&segs, &shown));
            if out.len() >= MAX_WORDS {
                return out;
            }
        }
    }
    out
}

enum Value {
    Home,
    Ifs,
    Known(String),
    Unknown,
}

fn var_value(name: &str, env: &Env) -> Value {
    if let Some(v) = env.vars.get(name) {
        return Value::Known(v.clone());
    }
    match name {
        "HOME" => Value::Home,
        "IFS" => Value::Ifs,
        _ => Value::Unknown,
    }
}

/// What `$(echo rm)` or `$(printf rm)` prints, when that is all it does.
fn static_output(s: &Script, env: &Env) -> Option<String> {
    let [Node::Cmd(c)] = s.nodes.as_slice() else { return None };
    if !c.redirects.is_empty() || !c.assigns.is_empty() {
        return None;
    }
    let (name, rest) = c.words.split_first()?;
    let name = expand(name, env).into_iter().next()?;
    if !matches!(name.text.as_str(), "echo" | "printf" | "print") {
        return None;
    }
    let mut out = vec![];
    for w in rest {
        for a in expand(w, env) {
            if a.dynamic {
                return None;
            }
            out.push(if name.text == "printf" { crate::syntax::ansi_c(&a.text) } else { a.text });
        }
    }
    if out.first().is_some_and(|f| f.starts_with('-')) && name.text != "printf" {
        out.remove(0);
    }
    Some(out.join(" "))
}

fn to_args(segs: &[Seg], shown: &[String]) -> Vec<Arg> {
    let mut out = vec![];
    let mut cur: Option<Arg> = None;
    let mut shown = shown.iter();
    for s in segs {
        match *s {
            Seg::Split => {
                if let Some(a) = cur.take() {
                    out.push(a);
                }
            }
            Seg::C(c, quoted) => {
                let a = cur.get_or_insert_with(Arg::default);
                a.shape.push(c);
                a.text.push(if c == HOME { '~' } else { c });
                if quoted && matches!(c, '*' | '?' | '[' | ']' | '\\') {
                    a.pattern.push('\\');
                }
                a.pattern.push(if c == HOME { '~' } else { c });
                if !quoted && matches!(c, '*' | '?' | '[') {
                    a.glob = true;
                }
            }
            Seg::Unknown => {
                let a = cur.get_or_insert_with(Arg::default);
                a.shape.push(UNKNOWN);
                a.text.push_str(shown.next().map_or("$…", String::as_str));
                a.pattern.push('*');
                a.dynamic = true;
            }
        }
    }
    // An empty quoted word ("") is still a word.
    if let Some(a) = cur {
        out.push(a);
    } else if segs.iter().any(|s| matches!(s, Seg::C(..))) || segs.is_empty() {
        out.push(Arg::default());
    }
    out
}

/// Bash brace expansion on unquoted braces: `{a,b}` and `{1..3}`.
fn brace_expand(segs: &[Seg], depth: usize) -> Vec<Vec<Seg>> {
    if depth > 8 {
        return vec![segs.to_vec()];
    }
    let open = segs.iter().position(|s| *s == Seg::C('{', false));
    let Some(open) = open else { return vec![segs.to_vec()] };
    // The matching close and the top-level commas.
    let mut level = 0;
    let mut commas = vec![];
    let mut close = None;
    for (i, s) in segs.iter().enumerate().skip(open) {
        match s {
            Seg::C('{', false) => level += 1,
            Seg::C('}', false) => {
                level -= 1;
                if level == 0 {
                    close = Some(i);
                    break;
                }
            }
            Seg::C(',', false) if level == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else { return vec![segs.to_vec()] };
    let (pre, body, post) = (&segs[..open], &segs[open + 1..close], &segs[close + 1..]);
    let mut alts: Vec<Vec<Seg>> = vec![];
    if commas.is_empty() {
        // `{1..3}`, `{a..c}`; anything else is literal text.
        let text: String = body.iter().map(|s| if let Seg::C(c, _) = s { *c } else { UNKNOWN }).collect();
        match seq(&text) {
            Some(items) => alts = items.into_iter().map(|t| t.chars().map(|c| Seg::C(c, true)).collect()).collect(),
            None => {
                // Literal: expand what follows, keep these braces.
                let mut tail = vec![];
                for t in brace_expand(post, depth + 1) {
                    let mut v = segs[..=close].to_vec();
                    // Mark the kept braces quoted so they are not taken again.
                    v[open] = Seg::C('{', true);
                    v[close] = Seg::C('}', true);
                    v.extend(t);
                    tail.push(v);
                }
                return tail;
            }
        }
    } else {
        let mut start = open + 1;
        for &c in commas.iter().chain(std::iter::once(&close)) {
            alts.push(segs[start..c].to_vec());
            start = c + 1;
        }
    }
    let mut out = vec![];
    for alt in alts {
        let mut v = pre.to_vec();
        v.extend(alt);
        v.extend_from_slice(post);
        for e in brace_expand(&v, depth + 1) {
            if out.len() >= MAX_WORDS {
                return out;
            }
            out.push(e);
        }
    }
    out
}

fn seq(text: &str) -> Option<Vec<String>> {
    let (a, b) = text.split_once("..")?;
    let b = b.split("..").next()?;
    if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) {
        let n = (y - x).unsigned_abs().min(MAX_WORDS as u64) as i64;
        let step = if y >= x { 1 } else { -1 };
        return Some((0..=n).map(|i| (x + i * step).to_string()).collect());
    }
    let (x, y) = (a.chars().next()?, b.chars().next()?);
    if a.len() == 1 && b.len() == 1 && x.is_ascii_alphabetic() && y.is_ascii_alphabetic() {
        let (lo, hi) = (x.min(y) as u8, x.max(y) as u8);
        return Some((lo..=hi).map(|c| (c as char).to_string()).collect());
    }
    None
}

/// Shell glob matching of a name against a pattern (`sh[r]ed`, `r?`, `*m`).
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative with one backtrack point for `*`: linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                '\\' if pi + 1 < p.len() => {}
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `[abc]`, `[a-z]`, `[!x]`: whether `c` matches, and the class's length.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some('!' | '^'));
    if neg {
        i += 1;
    }
    let mut ok = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((ok != neg, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            ok |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            ok |= p[i] == c;
            i += 1;
        }
        first = false;
    }
    None
}

/// What a path names, for judging a write or a deletion there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// `/`, or everything in it (`/*`, `/[a-z]*`).
    Root,
    /// Every user's home: `/home`, `/Users`, `~/..`.
    AllHomes,
    /// A home folder or everything in it.
    Home,
    /// A top-level system folder (`/usr`, `/etc`), or everything in one.
    SystemTop(String),
    /// A file or folder inside a system folder.
    System(String),
    /// A disk or partition device.
    Disk(String),
    /// Memory, the kernel's controls and other device files.
    Device(String),
    /// `/dev/null` and other harmless targets.
    Harmless,
    /// A file that runs at login or gives access: shell startup files, launch
    /// agents, cron, `authorized_keys`.
    Startup(String),
    /// Keys and credentials in a home: `~/.ssh`, `~/.gnupg`.
    Secrets(String),
    /// The current folder or a parent: `.`, `*`, `..`.
    Here,
    /// Named by an expansion: only known when it runs.
    Unknown,
    Ordinary,
}

impl Place {
    /// Losing it loses the system or a user's data.
    pub(crate) fn is_everything(&self) -> bool {
        matches!(self, Place::Root | Place::AllHomes | Place::Home) || self.is_vital_top()
    }
    fn is_vital_top(&self) -> bool {
        matches!(self, Place::SystemTop(d) if !matches!(d.as_str(), "/opt" | "/mnt" | "/media" | "/srv" | "/Volumes"))
    }
    pub(crate) fn is_system(&self) -> bool {
        matches!(self, Place::SystemTop(_) | Place::System(_) | Place::Device(_) | Place::Disk(_))
    }
    pub(crate) fn describe(&self, shown: &str) -> String {
        match self {
            Place::Root => "/ (the whole machine)".into(),
            Place::AllHomes => "every user's home folder".into(),
            Place::Home => "your home folder".into(),
            Place::SystemTop(d) => format!("the system folder {d}"),
            Place::Here => format!(
                "everything in {}",
                if shown.starts_with("..") { "a parent folder" } else { "the current folder" }
            ),
            _ => shown.to_string(),
        }
    }
}

const SYSTEM_TOP: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/proc",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/usr",
    "/var",
    "/System",
    "/Library",
    "/Applications",
    "/private",
    "/cores",
    "/nix",
    "/snap",
    "/mnt",
    "/media",
    "/Volumes",
    "/efi",
];
const TEMP: &[&str] =
    &["/tmp", "/var/tmp", "/private/tmp", "/private/var/tmp", "/dev/shm", "/var/folders", "/private/var/folders"];
const HOMES: &[&str] = &["/home", "/Users"];
const HARMLESS: &[&str] = &[
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/stdin",
    "/dev/tty",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/full",
];
const DISKS: &[&str] = &[
    "/dev/sd",
    "/dev/hd",
    "/dev/vd",
    "/dev/xvd",
    "/dev/nvme",
    "/dev/disk",
    "/dev/rdisk",
    "/dev/mmcblk",
    "/dev/md",
    "/dev/dm-",
    "/dev/mapper/",
    "/dev/loop",
    "/dev/sr",
    "/dev/nbd",
    "/dev/zd",
    "/dev/bcache",
    "/dev/root",
    "/dev/ada",
    "/dev/da",
];
/// Startup files, by name, in a home folder.
const RC_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".kshrc",
    ".cshrc",
    ".tcshrc",
    ".login",
    ".xinitrc",
    ".xprofile",
    ".xsession",
    ".inputrc",
    ".envrc",
];

/// A path with `.` and `..` resolved, as segments, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Base {
    Root,
    /// A home; `None` is the user's own.
    Home,
    Relative,
}

pub(crate) fn resolve(shape: &str, cwd: Option<&(Base, Vec<String>)>) -> (Base, Vec<String>, usize) {
    let (mut base, rest) = if let Some(r) = shape.strip_prefix(HOME) {
        // `~user` is that user's home: the same kind of place.
        let r = r.find('/').map_or("", |i| &r[i..]);
        (Base::Home, r)
    } else if let Some(r) = shape.strip_prefix('/') {
        (Base::Root, r)
    } else {
        (Base::Relative, shape)
    };
    let mut segs: Vec<String> = vec![];
    if base == Base::Relative {
        if let Some((b, s)) = cwd {
            base = b.clone();
            segs = s.clone();
        }
    }
    // Parents climbed above the start (`~/..`, `../..`).
    let mut above = 0;
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if segs.pop().is_none() {
                    above += 1;
                }
            }
            s => segs.push(s.to_string()),
        }
    }
    if base == Base::Home && above > 0 {
        // Above a home is the folder of all homes, then the root.
        base = Base::Root;
        segs = if above == 1 { vec!["home".into()] } else { vec![] };
        above = 0;
    } else if base == Base::Root {
        above = 0;
    }
    (base, segs, above)
}

pub(crate) fn place(arg: &Arg, cwd: Option<&(Base, Vec<String>)>) -> Place {
    let shape = arg.shape.as_str();
    if shape.is_empty() {
        return Place::Ordinary;
    }
    let (base, segs, above) = resolve(shape, cwd);
    let is_glob = |s: &str| s.contains(['*', '?', '[']) && arg.glob;
    let unknown = |s: &str| s.contains(UNKNOWN);
    // A pattern with no letters of its own (`*`, `.*`, `[a-z]*`, `?*`) matches
    // everything there.
    let all = |s: &str| {
        let mut depth = 0;
        let literal = s.chars().any(|c| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            depth == 0 && !matches!(c, '*' | '?' | '.' | ']' | '[' | UNKNOWN)
        });
        (is_glob(s) && !literal) || s == UNKNOWN.to_string()
    };
    match base {
        Base::Home => {
            if segs.is_empty() || (segs.len() == 1 && all(&segs[0])) {
                return Place::Home;
            }
            let first = segs[0].as_str();
            if segs.len() == 1 && RC_FILES.contains(&first) {
                return Place::Startup(arg.text.clone());
            }
            home_place(&segs, arg)
        }
        Base::Root => {
            let path = format!("/{}", segs.join("/"));
            if segs.is_empty() || (segs.len() == 1 && (all(&segs[0]) || unknown(&segs[0]))) {
                return Place::Root;
            }
            let top = format!("/{}", segs[0]);
            if HOMES.contains(&top.as_str()) || (top == "/root" && segs.len() == 1) {
                // `/home/alice`, `/Users/$(whoami)`: a home; `/home/*`: all of them.
                if top == "/root" && segs.len() == 1 {
                    return Place::Home;
                }
                if segs.len() == 1 || (segs.len() == 2 && all(&segs[1]) && !unknown(&segs[1])) {
                    return Place::AllHomes;
                }
                if segs.len() == 2 {
                    return Place::Home;
                }
                if segs.len() == 3 && all(&segs[2]) {
                    return Place::Home;
                }
                let inner = &segs[if top == "/root" { 1 } else { 2 }..];
                return home_place(inner, arg);
            }
            if top == "/root" {
                return home_place(&segs[1..], arg);
            }
            if HARMLESS.contains(&path.as_str()) || path.starts_with("/dev/fd/") {
                return Place::Harmless;
            }
            if DISKS.iter().any(|d| path.starts_with(d) && path.len() > d.len()) {
                return Place::Disk(path);
            }
            if TEMP.iter().any(|t| path == *t || path.starts_with(&format!("{t}/"))) {
                return Place::Ordinary;
            }
            if let Some(s) = system_startup(&path) {
                return Place::Startup(s);
            }
            if top == "/dev" || top == "/proc" || top == "/sys" {
                return if segs.len() == 1 { Place::SystemTop(top) } else { Place::Device(path) };
            }
            if SYSTEM_TOP.contains(&top.as_str()) {
                if segs.len() == 1 || (segs.len() == 2 && all(&segs[1])) {
                    return Place::SystemTop(top);
                }
                // `/usr/local`, `/usr/bin`: as vital as the top.
                if segs.len() == 2
                    && matches!(top.as_str(), "/usr" | "/System" | "/private" | "/var")
                    && !matches!(segs[1].as_str(), "local" | "log" | "cache" | "folders" | "tmp")
                {
                    return Place::SystemTop(path);
                }
                return Place::System(path);
            }
            if arg.dynamic {
                return Place::Unknown;
            }
            Place::Ordinary
        }
        Base::Relative => {
            if above > 0 || segs.is_empty() || segs.iter().all(|s| all(s) || s == "**") {
                if segs.len() == 1 && unknown(&segs[0]) && !arg.glob {
                    return Place::Unknown;
                }
                return Place::Here;
            }
            if shape.starts_with(UNKNOWN) {
                // `$DIR/x`: if the variable is empty this is `/x`.
                return Place::Unknown;
            }
            if arg.dynamic && segs.iter().any(|s| unknown(s)) {
                return Place::Unknown;
            }
            Place::Ordinary
        }
    }
}

fn home_place(segs: &[String], arg: &Arg) -> Place {
    let first = segs.first().map_or("", String::as_str);
    let joined = segs.join("/");
    match first {
        ".ssh" if segs.get(1).is_some_and(|s| s.starts_with("authorized_keys") || s == "rc") => {
            Place::Startup(arg.text.clone())
        }
        ".ssh" | ".gnupg" | ".password-store" | ".aws" | ".kube" => Place::Secrets(arg.text.clone()),
        "Library" if segs.get(1).is_some_and(|s| s == "Keychains") => Place::Secrets(arg.text.clone()),
        "Library" if segs.get(1).is_some_and(|s| s == "LaunchAgents") => Place::Startup(arg.text.clone()),
        ".config"
            if joined.starts_with(".config/fish/config.fish")
                || joined.starts_with(".config/fish/conf.d/")
                || joined.starts_with(".config/autostart")
                || joined.starts_with(".config/systemd/user") =>
        {
            Place::Startup(arg.text.clone())
        }
        _ if arg.dynamic && segs.iter().any(|s| s.contains(UNKNOWN)) => Place::Unknown,
        _ => Place::Ordinary,
    }
}

fn system_startup(path: &str) -> Option<String> {
    const DIRS: &[&str] = &[
        "/etc/profile",
        "/etc/bash.bashrc",
        "/etc/bashrc",
        "/etc/zshrc",
        "/etc/zsh/",
        "/etc/zprofile",
        "/etc/zshenv",
        "/etc/profile.d/",
        "/etc/cron",
        "/etc/anacrontab",
        "/var/spool/cron",
        "/etc/rc.local",
        "/etc/systemd/system/",
        "/lib/systemd/system/",
        "/etc/init.d/",
        "/Library/LaunchAgents",
        "/Library/LaunchDaemons",
        "/etc/ld.so.preload",
        "/etc/environment",
        "/etc/fish/",
        "/etc/periodic/",
        "/etc/launchd.conf",
    ];
    DIRS.iter().any(|d| path.starts_with(d)).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(s: &str) -> Arg {
        let shape = s.replacen('~', &HOME.to_string(), 1);
        Arg { text: s.into(), shape, pattern: s.into(), glob: s.contains('*'), ..Default::default() }
    }

    #[test]
    fn places() {
        let cases = [
            ("/", Place::Root),
            ("/*", Place::Root),
            ("//", Place::Root),
            ("/var/..", Place::Root),
            ("/tmp/../", Place::Root),
            ("~", Place::Home),
            ("~/", Place::Home),
            ("~/*", Place::Home),
            ("~/..", Place::AllHomes),
            ("/home", Place::AllHomes),
            ("/home/alice", Place::Home),
            ("/Users/bob/*", Place::Home),
            ("/root", Place::Home),
            ("/usr", Place::SystemTop("/usr".into())),
            ("/usr/bin", Place::SystemTop("/usr/bin".into())),
            ("/etc/hosts", Place::System("/etc/hosts".into())),
            ("/dev/sda", Place::Disk("/dev/sda".into())),
            ("/dev/null", Place::Harmless),
            ("~/.bashrc", Place::Startup("~/.bashrc".into())),
            ("~/.ssh/authorized_keys", Place::Startup("~/.ssh/authorized_keys".into())),
            (".", Place::Here),
            ("*", Place::Here),
            ("../..", Place::Here),
            ("build", Place::Ordinary),
            ("/tmp/x", Place::Ordinary),
        ];
        for (p, want) in cases {
            assert_eq!(place(&arg(p), None), want, "{p}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("sh[r]ed", "shred"));
        assert!(!glob_match("??m", "rm"));
        assert!(glob_match("?m", "rm"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("r*", "rm"));
        assert!(!glob_match("r\\*", "rm"));
        assert!(glob_match("[!a]m", "rm"));
    }
}
