//! Walks the command's tree and rates every simple command in it: through
//! pipes, lists, compound commands, substitutions, redirections, wrappers
//! and code passed to shells as strings.
use crate::syntax::{self, Cmd, Node, Piece, Redirect, Script, Word};
use crate::words::{self, Arg, Base, Env, Place};
use crate::{Dialect, Risk};
pub(crate) use crate::verdict::{special, Ctx, Input, Judge, Verdict, Write};

/// Code in strings (`sh -c`, `eval`, `ssh host …`) nests at most this deep.
const MAX_CODE_DEPTH: usize = 6;
/// Wrappers around one command (`sudo nice env …`) at most this many.
const MAX_WRAPPERS: usize = 16;
/// Simple commands judged per classification, brace expansions included.
const BUDGET: usize = 20_000;

impl Judge {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Judge { dialect, depth: 0, env: Env::default(), cwd: None, downloaded: vec![], funcs: vec![], budget: BUDGET }
    }

    pub(crate) fn script(&mut self, s: &Script, stdin: &Input) -> Verdict {
        let mut v = Verdict::safe();
        for n in &s.nodes {
            v = v.or(self.node(n, stdin));
        }
        if let Some(bomb) = fork_bomb(&s.nodes) {
            v = v.or(Verdict::new(
                Risk::Critical,
                format!("is a fork bomb: `{bomb}` starts copies of itself until the machine stalls"),
            ));
        }
        v
    }

    fn nodes(&mut self, nodes: &[Node], stdin: &Input) -> Verdict {
        nodes.iter().fold(Verdict::safe(), |v, n| v.or(self.node(n, stdin)))
    }

    fn node(&mut self, n: &Node, stdin: &Input) -> Verdict {
        match n {
            Node::Cmd(c) => self.cmd(c, stdin),
            Node::Pipe(elems) => {
                let mut v = Verdict::safe();
                let mut up = stdin.clone();
                for (i, e) in elems.iter().enumerate() {
                    if i > 0 {
                        up = self.output_of(&elems[i - 1], &up);
                    }
                    v = v.or(self.node(e, &up));
                }
                v
            }
            Node::Seq(v) => self.nodes(v, stdin),
            Node::Group { body, words, redirects } => {
                let mut v = Verdict::safe();
                for w in words {
                    v = v.or(self.word_scripts(w));
                }
                let mut input = stdin.clone();
                for r in redirects {
                    v = v.or(self.redirect(r, &mut input));
                }
                v.or(self.nodes(body, &input))
            }
            Node::Func { name, body } => {
                self.funcs.push(name.clone());
                self.nodes(body, &Input::default())
            }
            Node::Bg(inner) => self.node(inner, stdin),
        }
    }

    /// What a pipeline element writes into the next one.
    fn output_of(&mut self, n: &Node, input: &Input) -> Input {
        let mut out = Input { some: true, ..Default::default() };
        let mut cmds = vec![];
        collect_cmds(n, &mut cmds);
        for c in cmds {
            let args: Vec<Arg> = c.words.iter().flat_map(|w| words::expand(w, &self.env)).collect();
            let Some((name, rest)) = skip_runners(&args) else { continue };
            let base = name.text.rsplit('/').next().unwrap_or("");
            if is_downloader(base, rest) {
                out.download = true;
                out.url = rest.iter().find(|a| a.text.contains("://")).map(|a| a.text.clone());
            }
            if is_decoder(base, rest) {
                out.decoded = true;
            }
            // Text passed through keeps what it carries.
            if matches!(
                base,
                "cat" | "tee" | "head" | "tail" | "tr" | "sed" | "grep" | "sort" | "rev" | "gunzip" | "zcat" | "xargs"
            ) {
                out.download |= input.download;
                out.decoded |= input.decoded;
                if out.url.is_none() {
                    out.url = input.url.clone();
                }
                if base == "cat" && rest.is_empty() {
                    out.text = heredoc_text(c).or_else(|| input.text.clone());
                }
                if base == "rev" || base == "tr" {
                    out.decoded = true;
                }
            }
            if matches!(base, "echo" | "printf" | "print") && rest.iter().all(|a| !a.dynamic) {
                let mut words: Vec<&str> = rest.iter().map(|a| a.text.as_str()).collect();
                if words.first().is_some_and(|w| w.starts_with('-')) && base != "printf" {
                    words.remove(0);
                }
                let text = words.join(" ");
                out.text = Some(if base == "printf" { syntax::ansi_c(&text) } else { text });
            }
            if rest.iter().any(|a| a.dynamic) || c.words.iter().any(|w| !w.scripts().is_empty()) {
                for s in c.words.iter().flat_map(|w| w.scripts()) {
                    let inner = self.output_of_script(s);
                    out.download |= inner.download;
                    out.decoded |= inner.decoded;
                }
            }
        }
        out
    }

    fn output_of_script(&mut self, s: &Script) -> Input {
        let mut out = Input::default();
        for n in &s.nodes {
            let o = self.output_of(n, &Input::default());
            out.download |= o.download;
            out.decoded |= o.decoded;
        }
        out
    }

    /// What the substitutions in a word run, for the rules that run it.
    fn feeds(&mut self, w: &Word) -> words::Feeds {
        let mut f = words::Feeds::default();
        for s in w.scripts() {
            let o = self.output_of_script(s);
            f.download |= o.download;
            f.decoded |= o.decoded;
            let mut cmds = vec![];
            s.nodes.iter().for_each(|n| collect_cmds(n, &mut cmds));
            for c in cmds {
                let args: Vec<Arg> = c.words.iter().take(2).flat_map(|w| words::expand(w, &self.env)).collect();
                f.names.push(args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" "));
            }
        }
        f
    }

    /// The scripts that run while a word is expanded.
    fn word_scripts(&mut self, w: &Word) -> Verdict {
        let mut v = Verdict::safe();
        for s in w.scripts() {
            v = v.or(self.script(s, &Input::default()));
        }
        v
    }

    fn cmd(&mut self, c: &Cmd, stdin: &Input) -> Verdict {
        let mut v = Verdict::safe();
        // `export X=…` and the like set the variable for what follows.
        let declares = c
            .words
            .first()
            .is_some_and(|w| matches!(w.raw.as_str(), "export" | "declare" | "typeset" | "local" | "readonly" | "set"));
        for (name, value) in &c.assigns {
            v = v.or(self.word_scripts(value));
            v = v.or(self.assignment(name, value, c.words.is_empty() || declares));
        }
        for w in &c.words {
            v = v.or(self.word_scripts(w));
        }
        let mut input = stdin.clone();
        for r in &c.redirects {
            v = v.or(self.redirect(r, &mut input));
        }
        let mut args: Vec<Arg> = vec![];
        for w in &c.words {
            let feeds = self.feeds(w);
            args.extend(words::expand(w, &self.env).into_iter().map(|mut a| {
                a.feeds = feeds.clone();
                a
            }));
        }
        if args.is_empty() {
            return v;
        }
        let ctx = Ctx { stdin: input, raw: c.raw.clone(), prefix: vec![], wrappers: 0 };
        v.or(self.simple(&args, &ctx))
    }

    fn assignment(&mut self, name: &str, value: &Word, alone: bool) -> Verdict {
        let vals = words::expand(value, &self.env);
        let text = vals.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
        let known = vals.iter().all(|a| !a.dynamic);
        if alone && known {
            self.env.vars.insert(name.to_string(), text.clone());
        } else if alone {
            self.env.vars.remove(name);
        }
        let v = special(name, &text);
        if matches!(name, "PROMPT_COMMAND" | "precmd_functions" | "BASH_ENV" | "ENV") && known && !text.is_empty() {
            let d = self.dialect;
            let inner = self.code(&text, d, &Input::default());
            if inner.risk > v.risk {
                return Verdict {
                    reason: format!("sets {name} to a command that {}; it runs at every prompt", inner.reason),
                    ..inner
                };
            }
        }
        v
    }

    pub(crate) fn redirect(&mut self, r: &Redirect, input: &mut Input) -> Verdict {
        let mut v = self.word_scripts(&r.target);
        if let Some((_, subs)) = &r.body {
            for s in subs {
                v = v.or(self.script(s, &Input::default()));
            }
        }
        let op = r.op.as_str();
        match op {
            "<<" | "<<-" => {
                let (body, subs) = r.body.clone().unwrap_or_default();
                let down = subs.iter().any(|s| self.output_of_script(s).download);
                *input =
                    Input { download: down, text: Some(dedent(&body, op == "<<-")), some: true, ..Default::default() };
                return v;
            }
            "<<<" => {
                let args = words::expand(&r.target, &self.env);
                let known = args.iter().all(|a| !a.dynamic);
                let inner = r.target.scripts().iter().fold(Input::default(), |acc, s| {
                    let o = self.output_of_script(s);
                    Input { download: acc.download || o.download, decoded: acc.decoded || o.decoded, ..acc }
                });
                *input = Input {
                    download: inner.download,
                    decoded: inner.decoded,
                    text: known.then(|| args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ")),
                    some: true,
                    url: None,
                };
                return v;
            }
            _ => {}
        }
        let targets = words::expand(&r.target, &self.env);
        let Some(t) = targets.first() else { return v };
        if op == "<" {
            // Reading a file; from a process substitution, what it prints.
            let procs: Vec<&Script> =
                r.target.pieces.iter().filter_map(|p| if let Piece::Proc(s) = p { Some(s) } else { None }).collect();
            let mut inp = Input { some: true, ..Default::default() };
            for s in procs {
                let o = self.output_of_script(s);
                inp.download |= o.download;
                inp.decoded |= o.decoded;
            }
            *input = inp;
            return v;
        }
        // `>&2`, `2>&1`, `<&3`: a descriptor, not a file.
        if (op.ends_with('&') || op == ">&" || op == "<&")
            && (t.text.chars().all(|c| c.is_ascii_digit()) || t.text == "-")
        {
            return v;
        }
        if matches!(r.target.pieces.first(), Some(Piece::Proc(_))) {
            return v;
        }
        let append = op.contains(">>");
        v.or(self.write_to(t, if append { Write::Append } else { Write::Overwrite }))
    }

    /// Judges a write to a file by any means.
    pub(crate) fn write_to(&self, t: &Arg, how: Write) -> Verdict {
        let place = words::place(t, self.cwd.as_ref());
        let shown = &t.text;
        let verb = match how {
            Write::Append => "appends to",
            Write::Overwrite => "overwrites",
            Write::Copy => "writes",
        };
        if let Some(peer) = t.text.strip_prefix("/dev/tcp/").or_else(|| t.text.strip_prefix("/dev/udp/")) {
            return Verdict::new(
                Risk::High,
                format!("connects to {} and sends output there (/dev/tcp)", peer.replace('/', ":")),
            );
        }
        match place {
            Place::Harmless => Verdict::safe(),
            Place::Disk(d) => Verdict::new(
                Risk::Critical,
                format!("writes straight onto the disk device {d}, destroying what is on it"),
            ),
            Place::Device(d)
                if d.starts_with("/dev/mem")
                    || d.starts_with("/dev/kmem")
                    || d.starts_with("/dev/port")
                    || d == "/proc/sysrq-trigger" =>
            {
                Verdict::new(Risk::Critical, format!("writes to {d}, which can crash or corrupt the running system"))
            }
            Place::Device(d) => Verdict::new(Risk::High, format!("writes to the device or kernel setting {d}")),
            Place::Startup(f) => Verdict::new(
                Risk::High,
                if f.contains("authorized_keys") {
                    format!("{verb} {f}, which decides who can log in as you")
                } else if f.contains("rc")
                    || f.contains("profile")
                    || f.contains("fish")
                    || f.contains("login")
                    || f.contains("zsh")
                {
                    format!("{verb} {f}, which runs in every new shell")
                } else if f.contains("preload") {
                    format!("{verb} {f}, which loads code into every program")
                } else {
                    format!("{verb} {f}, which runs by itself at login, at boot or on a schedule")
                },
            ),
            Place::System(f) | Place::SystemTop(f) => {
                let vital =
                    ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/fstab", "/boot", "/etc/pam.d"]
                        .iter()
                        .any(|p| f.starts_with(p));
                if vital && how == Write::Overwrite {
                    Verdict::new(
                        Risk::Critical,
                        format!(
                            "overwrites the system file {f}, which can lock everyone out or stop the machine booting"
                        ),
                    )
                } else {
                    Verdict::new(Risk::High, format!("{verb} the system file {f}"))
                }
            }
            Place::Secrets(f) => {
                Verdict::new(Risk::High, format!("{verb} {f}, where your keys or credentials are kept"))
            }
            Place::Root | Place::AllHomes | Place::Home | Place::Here
                if t.text.ends_with('/') || t.text == "." || t.text == "~" =>
            {
                Verdict::new(Risk::Moderate, format!("{verb} {shown}"))
            }
            _ if how == Write::Append => Verdict::new(Risk::Moderate, format!("appends to {shown}")),
            _ => Verdict::new(Risk::Moderate, format!("{verb} {shown} if it exists")),
        }
    }

    /// Judges code given as a string to a shell (`sh -c`, `eval`, `ssh`).
    pub(crate) fn code(&mut self, text: &str, dialect: Dialect, stdin: &Input) -> Verdict {
        if self.depth >= MAX_CODE_DEPTH {
            return Verdict::new(Risk::High, "nests code in strings too deeply to judge");
        }
        self.depth += 1;
        let saved = self.dialect;
        self.dialect = dialect;
        let v = crate::judge_text(self, text, stdin);
        self.dialect = saved;
        self.depth -= 1;
        v
    }

    /// One simple command: a name and its arguments, after expansion.
    pub(crate) fn simple(&mut self, args: &[Arg], ctx: &Ctx) -> Verdict {
        if self.budget == 0 {
            return Verdict::new(Risk::High, "is too large to judge");
        }
        self.budget -= 1;
        if ctx.wrappers > MAX_WRAPPERS {
            return Verdict::new(Risk::High, "wraps the command in too many layers to judge");
        }
        let Some(name) = args.first() else { return Verdict::safe() };
        let rest = &args[1..];
        if name.dynamic {
            return self.computed_name(name, rest, ctx);
        }
        let mut text = name.text.clone();
        if self.dialect == Dialect::Zsh {
            // zsh's `=cmd` is the path of cmd.
            if let Some(t) = text.strip_prefix('=') {
                text = t.to_string();
            }
        }
        if name.glob {
            return self.pattern_name(name, rest, ctx);
        }
        if text.is_empty() {
            return Verdict::new(Risk::Moderate, "runs a command with an empty name");
        }
        let base = text.rsplit('/').next().unwrap_or("").to_string();
        if text.contains('/') {
            let dir = &text[..text.len() - base.len()];
            let system_bin = matches!(
                dir.trim_end_matches('/'),
                "/bin"
                    | "/sbin"
                    | "/usr/bin"
                    | "/usr/sbin"
                    | "/usr/local/bin"
                    | "/usr/local/sbin"
                    | "/opt/homebrew/bin"
                    | "/opt/local/bin"
                    | "/usr/libexec"
                    | "/run/current-system/sw/bin"
                    | "/usr/gnu/bin"
                    | "/usr/xpg4/bin"
            ) || dir.starts_with("/nix/store/")
                || dir.starts_with("/opt/homebrew/Cellar/");
            if !system_bin {
                if self.downloaded.iter().any(|d| d.rsplit('/').next() == Some(base.as_str())) {
                    return Verdict::new(Risk::High, format!("runs {text}, a program it just downloaded"));
                }
                if crate::rules::is_known(&base) && !base.is_empty() {
                    // `/tmp/bin/rm`: judged as the tool it is named after.
                    let v = self.named(&base, rest, ctx);
                    return v.at_least(Risk::Moderate, format!("runs {text}, a program outside the system folders"));
                }
                return Verdict::new(Risk::Moderate, format!("runs {text}, a program Cmdbar cannot see into"));
            }
        }
        if base.is_empty() {
            return Verdict::new(Risk::Moderate, format!("runs {text}, which is a folder, not a command"));
        }
        self.named(&base, rest, ctx)
    }

    /// A command whose name is a glob (`/usr/bin/sh[r]ed`): judged as every
    /// known command it could match.
    fn pattern_name(&mut self, name: &Arg, rest: &[Arg], ctx: &Ctx) -> Verdict {
        let pat = name.pattern.rsplit('/').next().unwrap_or("");
        let mut v = Verdict::new(Risk::Moderate, format!("names the command with a pattern (`{}`)", name.text));
        let mut matched = 0;
        for known in crate::rules::KNOWN_NAMES.iter().chain(crate::rules::DANGER_NAMES) {
            if words::glob_match(pat, known) {
                matched += 1;
                let inner = self.named(known, rest, ctx);
                if inner.risk > v.risk {
                    v = Verdict::new(
                        inner.risk,
                        format!("names the command with a pattern that matches `{known}`, which {}", inner.reason),
                    );
                }
            }
        }
        if matched == 0 {
            v = Verdict::new(
                Risk::High,
                format!("names the command with a pattern (`{}`) that could be any program", name.text),
            );
        }
        v
    }

    /// `$x -rf /`, `$(echo rm) …`: the name is only known when it runs.
    fn computed_name(&mut self, name: &Arg, rest: &[Arg], ctx: &Ctx) -> Verdict {
        // Judge the arguments as if under each dangerous command they
        // could belong to: a computed name in front of `-rf /` is the
        // classic way to hide `rm`.
        let mut worst =
            Verdict::new(Risk::High, format!("runs a command whose name is only known when it runs (`{}`)", name.text));
        for d in ["rm", "dd", "chmod", "mkfs", "shred"] {
            let v = self.named(d, rest, ctx);
            if v.risk > worst.risk {
                worst = Verdict::new(
                    v.risk,
                    format!("runs a command computed when it runs (`{}`) on arguments that {}", name.text, v.reason),
                );
            }
        }
        worst
    }

    /// Dispatch on the command's name: wrappers, shells, interpreters, then
    /// the rules for each tool.
    pub(crate) fn named(&mut self, name: &str, rest: &[Arg], ctx: &Ctx) -> Verdict {
        if self.funcs.iter().any(|f| f == name) {
            // Its body was judged where it was defined.
            return Verdict::safe();
        }
        if let Some(v) = crate::wrappers::wrapper(self, name, rest, ctx) {
            return v;
        }
        if let Some(v) = crate::interp::shell_or_interpreter(self, name, rest, ctx) {
            return v;
        }
        crate::rules::command(self, name, rest, ctx)
    }

    /// Judges `inner` as the command a wrapper runs.
    pub(crate) fn wrapped(&mut self, inner: &[Arg], ctx: &Ctx, prefix: &[Arg]) -> Verdict {
        if inner.is_empty() {
            return Verdict::safe();
        }
        let mut c = ctx.clone();
        c.wrappers += 1;
        c.prefix.extend(prefix.iter().map(|a| a.text.clone()));
        self.simple(inner, &c)
    }

    pub(crate) fn note_download(&mut self, file: &str) {
        self.downloaded.push(file.to_string());
    }

    pub(crate) fn set_cwd(&mut self, target: Option<&Arg>) {
        self.cwd = match target {
            None => Some((Base::Home, vec![])),
            Some(t) if t.dynamic => None,
            Some(t) => {
                let (base, segs, above) = words::resolve(&t.shape, self.cwd.as_ref());
                (base != Base::Relative && above == 0).then_some((base, segs))
            }
        };
    }
}

fn dedent(body: &str, tabs: bool) -> String {
    if !tabs {
        return body.to_string();
    }
    body.lines().map(|l| l.trim_start_matches('\t')).collect::<Vec<_>>().join("\n")
}

fn heredoc_text(c: &Cmd) -> Option<String> {
    c.redirects.iter().find_map(|r| match r.op.as_str() {
        "<<" | "<<-" => r.body.as_ref().map(|(b, _)| dedent(b, r.op == "<<-")),
        _ => None,
    })
}

fn collect_cmds<'a>(n: &'a Node, out: &mut Vec<&'a Cmd>) {
    match n {
        Node::Cmd(c) => out.push(c),
        Node::Pipe(v) | Node::Seq(v) => v.iter().for_each(|n| collect_cmds(n, out)),
        Node::Group { body, .. } | Node::Func { body, .. } => body.iter().for_each(|n| collect_cmds(n, out)),
        Node::Bg(b) => collect_cmds(b, out),
    }
}

/// The command under `sudo`, `env`, `nice` and such, for what a pipe carries.
fn skip_runners(args: &[Arg]) -> Option<(&Arg, &[Arg])> {
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if matches!(
            t,
            "sudo" | "doas" | "env" | "nice" | "nohup" | "time" | "command" | "builtin" | "exec" | "stdbuf" | "timeout"
        ) || t.starts_with('-')
            || (t.contains('=') && i > 0)
        {
            i += 1;
            if t == "timeout" && i < args.len() {
                i += 1;
            }
            continue;
        }
        break;
    }
    args.get(i).map(|a| (a, &args[i + 1..]))
}

pub(crate) fn is_downloader(base: &str, rest: &[Arg]) -> bool {
    match base {
        "curl" | "wget" | "fetch" | "aria2c" | "http" | "https" | "xh" | "lwp-request" | "GET" | "lynx" | "w3m" => true,
        "nc" | "ncat" | "netcat" | "socat" | "telnet" => true,
        "gsutil" | "aws" | "gcloud" => {
            rest.iter().any(|a| a.text == "cat" || a.text == "cp") && rest.iter().any(|a| a.text == "-")
        }
        _ => false,
    }
}

fn is_decoder(base: &str, rest: &[Arg]) -> bool {
    let has = |f: &str| rest.iter().any(|a| a.text == f);
    match base {
        "base64" | "base32" | "basenc" => {
            has("-d")
                || has("-D")
                || has("--decode")
                || rest.iter().any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('d'))
        }
        "xxd" => rest.iter().any(|a| a.text.starts_with("-r")),
        "openssl" => has("-d") || has("base64"),
        "uudecode" | "gunzip" | "zcat" | "gzip" | "bzcat" | "xzcat" | "rev" => base != "gzip" || has("-d"),
        _ => false,
    }
}

/// A function whose body starts itself twice, or in the background or a
/// pipe: each copy starts more until the machine runs out of processes.
fn fork_bomb(nodes: &[Node]) -> Option<String> {
    for n in nodes {
        let found = match n {
            Node::Func { name, body } if !name.is_empty() => {
                let mut calls = 0;
                let mut spawned = false;
                for b in body {
                    count_calls(b, name, false, &mut calls, &mut spawned);
                }
                (calls >= 2 || spawned).then(|| name.clone())
            }
            Node::Seq(v) | Node::Pipe(v) => fork_bomb(v),
            Node::Group { body, .. } => fork_bomb(body),
            Node::Bg(b) => fork_bomb(std::slice::from_ref(b)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn count_calls(n: &Node, name: &str, parallel: bool, calls: &mut usize, spawned: &mut bool) {
    match n {
        Node::Cmd(c) => {
            let first = c.words.first().map(|w| w.pieces.iter().map(syntax::piece_text).collect::<String>());
            if first.as_deref() == Some(name) {
                *calls += 1;
                *spawned |= parallel;
            }
            for w in &c.words {
                for s in w.scripts() {
                    for n in &s.nodes {
                        count_calls(n, name, true, calls, spawned);
                    }
                }
            }
        }
        Node::Pipe(v) => v.iter().for_each(|n| count_calls(n, name, true, calls, spawned)),
        Node::Seq(v) => v.iter().for_each(|n| count_calls(n, name, parallel, calls, spawned)),
        Node::Group { body, .. } => body.iter().for_each(|n| count_calls(n, name, parallel, calls, spawned)),
        Node::Func { .. } => {}
        Node::Bg(b) => count_calls(b, name, true, calls, spawned),
    }
}
