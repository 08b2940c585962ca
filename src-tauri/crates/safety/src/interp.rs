//! Shells and interpreters: code given inline (`sh -c`, `python -c`,
//! `perl -e`, `awk` programs), as a script file, or on standard input.
//! Shell code is parsed and judged like the command itself; other languages
//! are not parsed, but the calls that delete, run commands or fetch code are
//! easy to spot, and the shell commands in their strings are judged.
use crate::verdict::{Ctx, Judge, Verdict, Write};
use crate::words::Arg;
use crate::{Dialect, Risk};

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash", "posh", "rbash", "ksh93", "oksh",
    "pdksh", "hush", "elvish", "xonsh",
];

/// Shell commands that print setup code for `eval "$(…)"`.
const SETUP_PRINTERS: &[&str] = &[
    "ssh-agent",
    "brew shellenv",
    "pyenv init",
    "pyenv virtualenv-init",
    "rbenv init",
    "nodenv init",
    "direnv hook",
    "starship init",
    "zoxide init",
    "fnm env",
    "mise activate",
    "rtx activate",
    "dircolors",
    "keychain",
    "gpg-agent",
    "conda shell.bash",
    "conda shell.zsh",
    "thefuck --alias",
    "atuin init",
    "fzf --bash",
    "fzf --zsh",
    "opam env",
    "luarocks path",
    "jenv init",
    "goenv init",
    "phpenv init",
    "plenv init",
    "scmpuff init",
    "navi widget",
    "mcfly init",
    "register-python-argcomplete",
    "kubectl completion",
    "gh completion",
    "rustup completions",
    "npm completion",
];

pub(crate) fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// zsh and fish by their names; any other shell is read as bash.
fn dialect_of(shell: &str) -> Dialect {
    crate::names::from_name(shell).unwrap_or_default()
}

pub(crate) fn shell_or_interpreter(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Option<Verdict> {
    if is_shell(name) {
        return Some(shell(j, name, args, ctx));
    }
    let lang = language(name)?;
    Some(match lang {
        "eval" => eval(j, args, ctx),
        "source" => source(j, args, ctx),
        "awk" => awk(j, name, args),
        _ => interpreter(j, lang, args, ctx),
    })
}

fn language(name: &str) -> Option<&'static str> {
    if name == "." || name == "source" {
        return Some("source");
    }
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match base {
        "eval" => "eval",
        "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => "awk",
        "python" | "pypy" | "python-" => "Python",
        "perl" => "Perl",
        "ruby" | "irb" => "Ruby",
        "node" | "nodejs" | "deno" | "bun" => "JavaScript",
        "php" => "PHP",
        "lua" | "luajit" => "Lua",
        "osascript" => "AppleScript",
        "Rscript" | "R" => "R",
        "julia" => "Julia",
        "pwsh" | "powershell" => "PowerShell",
        "tclsh" | "wish" | "expect" => "Tcl",
        "groovy" => "Groovy",
        _ => return None,
    })
}

fn shell(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let dialect = dialect_of(name);
    let mut i = 0;
    let mut inline = false;
    let mut stdin_flag = false;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if let Some(code) = t.strip_prefix("--command=") {
            // fish --command=CODE
            return run_code(j, &Arg { text: code.into(), ..args[i].clone() }, dialect, ctx, name);
        }
        if t == "--command" || t == "-c" || (t.starts_with('-') && !t.starts_with("--") && t[1..].contains('c')) {
            inline = true;
            i += 1;
            continue;
        }
        if t.starts_with('-') || t.starts_with('+') {
            if t[1..].contains('s') && !t.starts_with("--") {
                stdin_flag = true;
            }
            // `-o opt`, `+O opt`, `--rcfile f`: a value follows.
            if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file" | "-C" | "--init-command") {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    let rest = &args[i.min(args.len())..];
    if inline {
        return match rest.first() {
            Some(code) => run_code(j, code, dialect, ctx, name),
            None => Verdict::new(Risk::Moderate, format!("runs {name} -c without code")),
        };
    }
    if matches!(args.first().map(|a| a.text.as_str()), Some("--version" | "-version" | "--help")) {
        return Verdict::safe();
    }
    match rest.first() {
        Some(script) if !stdin_flag => run_script(j, script, name),
        _ => stdin_code(j, &ctx.stdin, dialect, name),
    }
}

/// Code given as a word: parsed and judged when it is known.
fn run_code(j: &mut Judge, code: &Arg, dialect: Dialect, ctx: &Ctx, name: &str) -> Verdict {
    if code.feeds.download {
        return download_run(ctx);
    }
    if code.feeds.decoded {
        return Verdict::new(Risk::Critical, "runs decoded, hidden text as code");
    }
    if code.dynamic {
        if is_setup(&code.feeds.names) && code.text.starts_with("$(") {
            return Verdict::new(Risk::Moderate, format!("runs the setup code that `{}` prints", code.feeds.names[0]));
        }
        return Verdict::new(Risk::High, format!("runs code that is only known when it runs ({name} {})", code.text));
    }
    j.code(&code.text, dialect, &ctx.stdin)
}

fn is_setup(names: &[String]) -> bool {
    names.len() == 1
        && SETUP_PRINTERS
            .iter()
            .any(|p| names[0].starts_with(p) || names[0].trim_start_matches("command ").starts_with(p))
}

fn download_run(ctx: &Ctx) -> Verdict {
    let safer = download_safer(&ctx.raw);
    Verdict::new(Risk::Critical, "runs a download as code: whatever the server sends runs on your machine")
        .safer(ctx, safer)
}

/// `curl -fsSL URL | sh` → download to a file and read it first.
fn download_safer(raw: &str) -> Option<String> {
    let url = raw
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '(' || c == ')')
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))?;
    Some(format!("curl -fsSL {url} -o install.sh && less install.sh"))
}

fn run_script(j: &mut Judge, script: &Arg, name: &str) -> Verdict {
    if script.feeds.download {
        return Verdict::new(Risk::Critical, "runs a download as code: whatever the server sends runs on your machine");
    }
    if script.feeds.decoded {
        return Verdict::new(Risk::Critical, "runs decoded, hidden text as code");
    }
    let base = script.text.rsplit('/').next().unwrap_or("");
    if j.downloaded.iter().any(|d| d.rsplit('/').next() == Some(base)) {
        return Verdict::new(
            Risk::High,
            format!("runs {}, a script it just downloaded, without reading it", script.text),
        );
    }
    if script.text == "/dev/stdin" || script.text == "-" {
        return Verdict::new(Risk::High, "runs text piped into it as code");
    }
    Verdict::new(Risk::Moderate, format!("runs the script {} with {name}, which Cmdbar cannot see into", script.text))
}

/// A shell or interpreter reading its program from standard input.
fn stdin_code(j: &mut Judge, input: &crate::verdict::Input, dialect: Dialect, name: &str) -> Verdict {
    if input.download {
        let mut v = Verdict::new(
            Risk::Critical,
            format!("pipes a download into {name}: whatever the server sends runs on your machine"),
        );
        // The whole pipeline is replaced: download to a file, read it first.
        v.safer =
            input.url.as_ref().map(|u| (String::new(), format!("curl -fsSL {u} -o install.sh && less install.sh")));
        return v;
    }
    if input.decoded {
        return Verdict::new(Risk::Critical, "runs decoded, hidden text as code");
    }
    match &input.text {
        Some(text) => j
            .code(text, dialect, &Default::default())
            .at_least(Risk::Moderate, format!("runs the text given to {name} as code")),
        None if input.some => Verdict::new(Risk::High, format!("runs text piped into {name} as code")),
        None => Verdict::new(Risk::Moderate, format!("starts a new {name} shell")),
    }
}

fn eval(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    if args.is_empty() {
        return Verdict::safe();
    }
    if args.iter().any(|a| a.feeds.download) {
        return download_run(ctx);
    }
    if args.iter().any(|a| a.feeds.decoded) {
        return Verdict::new(Risk::Critical, "runs decoded, hidden text as code (eval)");
    }
    if args.iter().any(|a| a.dynamic) {
        let names: Vec<String> = args.iter().flat_map(|a| a.feeds.names.clone()).collect();
        if args.len() == 1 && is_setup(&names) {
            return Verdict::new(Risk::Moderate, format!("runs the setup code that `{}` prints", names[0]));
        }
        let shown = args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
        return Verdict::new(Risk::High, format!("runs code that is only known when it runs (eval {shown})"));
    }
    let text = args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
    let d = j.dialect;
    j.code(&text, d, &ctx.stdin)
}

fn source(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    let Some(file) = args.first() else {
        // fish: `curl … | source` runs what comes in.
        let d = j.dialect;
        return stdin_code(j, &ctx.stdin, d, "this shell");
    };
    if file.feeds.download {
        return download_run(ctx);
    }
    if file.feeds.decoded {
        return Verdict::new(Risk::Critical, "runs decoded, hidden text as code");
    }
    if file.text == "/dev/stdin" || file.text == "-" {
        let d = j.dialect;
        return stdin_code(j, &ctx.stdin, d, "this shell");
    }
    let base = file.text.rsplit('/').next().unwrap_or("");
    if j.downloaded.iter().any(|d| d.rsplit('/').next() == Some(base)) {
        return Verdict::new(Risk::High, format!("runs {}, a script it just downloaded, in this shell", file.text));
    }
    Verdict::new(Risk::Moderate, format!("runs the script {} in this shell, which Cmdbar cannot see into", file.text))
}

/// Inline flags per language: the flag, and whether its code is the next
/// word (`-e CODE`) or the rest of the same word may be (`-eCODE`).
fn inline_flags(lang: &str) -> &'static [&'static str] {
    match lang {
        "Python" => &["-c"],
        "Perl" => &["-e", "-E"],
        "Ruby" => &["-e"],
        "JavaScript" => &["-e", "--eval", "-p", "--print", "eval"],
        "PHP" => &["-r"],
        "Lua" => &["-e"],
        "AppleScript" => &["-e"],
        "R" | "Julia" | "Groovy" => &["-e"],
        "PowerShell" => &["-c", "-command", "-Command", "-C", "-EncodedCommand", "-enc", "-e", "-ec"],
        _ => &[],
    }
}

fn interpreter(j: &mut Judge, lang: &'static str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let flags = inline_flags(lang);
    let mut code: Vec<&Arg> = vec![];
    let mut in_place = false;
    let mut module: Option<&str> = None;
    let mut script: Option<&Arg> = None;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if flags.contains(&t) {
            if let Some(c) = args.get(i + 1) {
                code.push(c);
            }
            i += 2;
            continue;
        }
        if matches!(t, "-V" | "--version" | "-v" | "-version" | "--help" | "-h") && args.len() == 1 {
            return Verdict::safe();
        }
        if lang == "PowerShell" && matches!(t.to_ascii_lowercase().as_str(), "-encodedcommand" | "-enc" | "-ec") {
            return Verdict::new(Risk::High, "runs encoded PowerShell, hidden from view");
        }
        if t.starts_with('-') && !t.starts_with("--") && t.len() > 1 {
            // Clusters such as perl's `-pi -e`, `-pie`, `-i.bak`, `-ne`.
            let letters = &t[1..];
            if matches!(lang, "Perl" | "Ruby") && letters.contains('i') && !letters.starts_with('I') {
                in_place = true;
            }
            if lang == "Python" && letters.ends_with('c') {
                if let Some(c) = args.get(i + 1) {
                    code.push(c);
                }
                i += 2;
                continue;
            }
            if lang == "Python" && letters == "m" {
                module = args.get(i + 1).map(|a| a.text.as_str());
                break;
            }
            if matches!(lang, "Perl" | "Ruby") && (letters.ends_with('e') || letters.ends_with('E')) {
                if let Some(c) = args.get(i + 1) {
                    code.push(c);
                }
                i += 2;
                continue;
            }
            // An option with a value: `-W ignore`, `-X opt`, `-r lib`.
            if matches!(t, "-W" | "-X" | "-r" | "-M" | "-I" | "-F" | "-l" | "--require" | "-x") && lang != "AppleScript"
            {
                i += 1;
            }
            i += 1;
            continue;
        }
        if t.starts_with("--") {
            i += 1;
            continue;
        }
        if code.is_empty() && script.is_none() && !(lang == "JavaScript" && t == "run") && t != "-" {
            script = Some(&args[i]);
        }
        break;
    }
    if let Some(m) = module {
        return match m {
            "json.tool" | "site" | "platform" | "sysconfig" | "this" | "calendar" => Verdict::safe(),
            "pip" => crate::rules::command(j, "pip", &args[i + 2..], ctx),
            "http.server" | "SimpleHTTPServer" => {
                Verdict::new(Risk::Moderate, "serves the files in this folder to the network")
            }
            _ => Verdict::new(Risk::Moderate, format!("runs the {lang} module {m}")),
        };
    }
    if code.is_empty() {
        return match script {
            Some(s) if s.text.starts_with("http://") || s.text.starts_with("https://") => {
                Verdict::new(Risk::High, format!("downloads {lang} code from {} and runs it", s.text))
            }
            Some(s) => run_script(j, s, lang),
            None => match &ctx.stdin.text {
                Some(t) if !ctx.stdin.download && !ctx.stdin.decoded => {
                    let code = Arg::plain(t);
                    inline(j, lang, &code).at_least(Risk::Moderate, format!("runs the {lang} code given to it"))
                }
                _ => stdin_code_other(&ctx.stdin, lang),
            },
        };
    }
    let mut v = Verdict::safe();
    for c in code {
        if c.feeds.download {
            return download_run(ctx);
        }
        v = v.or(inline(j, lang, c));
    }
    if in_place {
        let files: Vec<&str> =
            args.iter().skip(i).filter(|a| !a.text.starts_with('-')).map(|a| a.text.as_str()).collect();
        v = Verdict::new(
            Risk::Moderate,
            format!("edits {} in place with inline {lang} code", files.first().unwrap_or(&"files")),
        )
        .or(v);
        // Files it edits: judged as writes.
        for f in args.iter().skip(i).filter(|a| !a.text.starts_with('-')) {
            let w = j.write_to(f, Write::Overwrite);
            if w.risk > Risk::Moderate {
                v = v.or(w);
            }
        }
    }
    v
}

fn stdin_code_other(input: &crate::verdict::Input, lang: &str) -> Verdict {
    if input.download {
        return Verdict::new(
            Risk::Critical,
            format!("pipes a download into {lang}: whatever the server sends runs on your machine"),
        );
    }
    if input.decoded {
        return Verdict::new(Risk::Critical, "runs decoded, hidden text as code");
    }
    if input.some {
        return Verdict::new(Risk::High, format!("runs text piped into it as {lang} code"));
    }
    Verdict::new(Risk::Moderate, format!("starts an interactive {lang} session"))
}

/// Inline code in a language other than the shell's.
pub(crate) fn inline(j: &mut Judge, lang: &str, code: &Arg) -> Verdict {
    let base = Verdict::new(Risk::Moderate, format!("runs inline {lang} code"));
    if code.dynamic {
        return Verdict::new(Risk::High, format!("runs inline {lang} code that is only known when it runs"));
    }
    base.or(code_risk(j, lang, &code.text))
}

/// Recognisably destructive calls in code of any common language.
pub(crate) fn code_risk(j: &mut Judge, lang: &str, code: &str) -> Verdict {
    let lower = code.to_lowercase();
    fn find_in(lower: &str, ws: &[&'static str]) -> Option<&'static str> {
        ws.iter().find(|w| lower.contains(*w)).copied()
    }
    let has = |ws: &[&'static str]| find_in(&lower, ws);
    let strings = literals(code);
    let mut v = Verdict::safe();
    if lower.contains("fork") && has(&["while", "loop", "for ", "for(", "until", "repeat"]).is_some() {
        return Verdict::new(
            Risk::Critical,
            format!("is a fork bomb in inline {lang} code: it starts processes until the machine stalls"),
        );
    }
    const RUNS: &[&str] = &[
        "system(",
        "system ",
        "os.system",
        "subprocess",
        "popen",
        "exec(",
        "execsync",
        "execfilesync",
        "child_process",
        "spawn",
        "`",
        "%x",
        "qx",
        "do shell script",
        "shell_exec",
        "passthru",
        "proc_open",
        "pcntl_exec",
        "invoke-expression",
        "iex ",
        "start-process",
        "runtime.getruntime",
        "os/exec",
        "process.run",
        "system2(",
        "io.popen",
        "os.execute",
        "run(",
        "exec ",
        "call(",
        "check_output",
    ];
    const DELETES: &[&str] = &[
        "rmtree",
        "os.remove",
        "os.unlink",
        "os.rmdir",
        "removedirs",
        ".unlink(",
        ".rmdir(",
        "unlink(",
        "unlink ",
        "rmdir(",
        "fileutils.rm",
        "rm_rf",
        "rm_r",
        "fs.rm",
        "rmsync",
        "unlinksync",
        "rmdirsync",
        "remove-item",
        "file.delete",
        "files.delete",
        "deletefile",
        "removeall",
        "truncate(",
        "delete file",
        "delete folder",
        "move to trash",
        "empty trash",
        "unlink_r",
        "rimraf",
        "deltree",
        "dir.delete",
        "fs.promises.rm",
        "path.unlink",
    ];
    const FETCHES: &[&str] = &[
        "urlopen",
        "requests.get",
        "urllib",
        "http.get",
        "net/http",
        "fetch(",
        "downloadstring",
        "invoke-webrequest",
        "iwr ",
        "lwp::simple",
        "open-uri",
        "httpclient",
        "curl",
        "wget",
        "urlretrieve",
        "file_get_contents('http",
        "file_get_contents(\"http",
        "net::http",
    ];
    const EVALS: &[&str] = &["exec(", "eval(", "iex", "invoke-expression", "eval ", "compile(", "function("];
    if has(FETCHES).is_some() && has(EVALS).is_some() {
        return Verdict::new(Risk::Critical, format!("runs inline {lang} code that downloads code and runs it"));
    }
    if lower.contains("socket")
        && has(&["dup2", "pty.spawn", "/bin/sh", "/bin/bash", "cmd.exe", "popen", "exec"]).is_some()
    {
        return Verdict::new(
            Risk::High,
            format!("runs inline {lang} code that connects a shell to the network (a reverse shell)"),
        );
    }
    if let Some(run) = has(RUNS) {
        // The shell commands in its strings, one by one and joined
        // (`['rm', '-rf', '/']`).
        let mut inner = Verdict::safe();
        let joined = strings.join(" ");
        for s in strings.iter().chain(std::iter::once(&joined)) {
            if s.trim().is_empty() || s.len() > 4096 {
                continue;
            }
            let c = j.code(s, Dialect::Bash, &Default::default());
            if c.risk >= Risk::High {
                inner = inner.or(c);
            }
        }
        v = if inner.risk >= Risk::High {
            Verdict::new(inner.risk, format!("runs inline {lang} code that runs a command which {}", inner.reason))
        } else {
            Verdict::new(Risk::Moderate, format!("runs inline {lang} code that runs other commands ({})", run.trim()))
        };
    }
    if let Some(del) = has(DELETES) {
        let everything = strings.iter().any(|s| {
            let s = s.trim_end_matches('/');
            s.is_empty()
                || s == "~"
                || s == "/*"
                || s == "~/*"
                || s == "$HOME"
                || s.starts_with("/home")
                || s.starts_with("/Users")
                || s == "/usr"
                || s == "/etc"
        }) || has(&[
            "expanduser",
            "environ['home']",
            "environ[\"home\"]",
            "path.home()",
            "homedir()",
            "env['home']",
            "env[\"home\"]",
            "$env{home}",
            "getenv(\"home\")",
            "getenv('home')",
            "$home",
            "process.env.home",
            "dir.home",
            "$env:userprofile",
            "~/",
        ])
        .is_some();
        let d = if everything {
            Verdict::new(
                Risk::Critical,
                format!("runs inline {lang} code that deletes your home folder or the whole system ({})", del.trim()),
            )
        } else {
            Verdict::new(Risk::High, format!("runs inline {lang} code that deletes files ({})", del.trim()))
        };
        v = v.or(d);
    }
    if has(&["shut down", "shutdown", "restart", "reboot", "stop-computer", "restart-computer", "log out"]).is_some()
        && has(&["system events", "tell app", "tell application", "computer", "os.system", "subprocess", "exec"])
            .is_some()
    {
        v = v.or(Verdict::new(Risk::High, format!("runs inline {lang} code that shuts down, restarts or logs out")));
    }
    if has(&["format-volume", "clear-disk", "/dev/sd", "/dev/disk", "/dev/nvme", "diskutil erase"]).is_some() {
        v = v.or(Verdict::new(Risk::Critical, format!("runs inline {lang} code that writes to or erases a disk")));
    }
    if has(&["kill(-1", "kill -9 -1", "os.kill(-1", "kill(0", "killall"]).is_some() {
        v = v.or(Verdict::new(Risk::High, format!("runs inline {lang} code that kills processes")));
    }
    let writes = has(&["open(", "write", "set-content", "out-file", "fopen", "file_put_contents", "io.open", "spit"]);
    if writes.is_some() {
        if let Some(f) = strings.iter().find(|s| {
            let a = Arg::plain(s);
            matches!(
                crate::words::place(&a, None),
                crate::words::Place::System(_)
                    | crate::words::Place::SystemTop(_)
                    | crate::words::Place::Startup(_)
                    | crate::words::Place::Disk(_)
            )
        }) {
            v = v.or(Verdict::new(Risk::High, format!("runs inline {lang} code that writes to {f}")));
        }
    }
    v
}

/// The string literals in code: '…', "…" and `…`, with backslash escapes.
fn literals(code: &str) -> Vec<String> {
    let mut out = vec![];
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' || c == '`' {
            let mut s = String::new();
            let mut closed = false;
            while let Some(d) = chars.next() {
                if d == '\\' {
                    if let Some(e) = chars.next() {
                        s.push(e);
                    }
                } else if d == c {
                    closed = true;
                    break;
                } else {
                    s.push(d);
                }
            }
            if closed {
                out.push(s);
            }
        }
    }
    out
}

/// awk: the program is safe unless it runs commands (`system()`, pipes,
/// `getline` from a command) or writes files (`print > "f"`).
fn awk(j: &mut Judge, name: &str, args: &[Arg]) -> Verdict {
    let mut i = 0;
    let mut program: Option<&Arg> = None;
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "-f" | "--file" => {
                let f = args.get(i + 1).map_or("", |a| a.text.as_str());
                return Verdict::new(
                    Risk::Moderate,
                    format!("runs the awk program in {f}, which Cmdbar cannot see into"),
                );
            }
            "-i" | "--include" if args.get(i + 1).is_some_and(|a| a.text.contains("inplace")) => {
                return Verdict::new(Risk::Moderate, "edits files in place (awk -i inplace)");
            }
            "-F" | "-v" | "--assign" | "--field-separator" | "-i" | "--include" | "-l" | "--load" => i += 2,
            "-e" | "--source" => {
                program = args.get(i + 1);
                break;
            }
            "--" => {
                program = args.get(i + 1);
                break;
            }
            _ if t.starts_with("-F") || t.starts_with("-v") || t.starts_with("--") => i += 1,
            _ if t.starts_with('-') && t.len() > 1 => i += 1,
            _ => {
                program = Some(&args[i]);
                break;
            }
        }
    }
    let Some(p) = program else { return Verdict::new(Risk::Moderate, format!("runs {name} without a program")) };
    if p.dynamic {
        return Verdict::new(Risk::High, "runs an awk program that is only known when it runs");
    }
    awk_program(j, &p.text)
}

pub(crate) fn awk_program(j: &mut Judge, prog: &str) -> Verdict {
    // The program with its strings blanked, so `"a|b"` is not a pipe.
    let mut bare = String::new();
    let mut strings: Vec<String> = vec![];
    let mut chars = prog.chars();
    let mut regex_ok = true;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => s.extend(chars.next()),
                        '"' => break,
                        _ => s.push(d),
                    }
                }
                strings.push(s);
                bare.push_str("\"\"");
            }
            // A regex literal after an operator or at the start.
            '/' if regex_ok => {
                for d in chars.by_ref() {
                    if d == '/' {
                        break;
                    }
                }
                bare.push_str("//");
            }
            _ => bare.push(c),
        }
        regex_ok = matches!(
            bare.trim_end().chars().last(),
            None | Some('(' | ',' | '{' | '}' | ';' | '!' | '~' | '&' | '|' | '\n')
        );
    }
    let runs = bare.contains("system") || bare.contains("|&") || bare.replace("||", "").contains('|');
    let mut writes: Vec<String> = vec![];
    for stmt in bare.split([';', '{', '}', '\n']) {
        let s = stmt.trim_start();
        if (s.starts_with("print") || s.starts_with("printf")) && top_level_gt(s) {
            writes.push(s.to_string());
        }
    }
    let mut v = Verdict::safe();
    if runs {
        let mut inner = Verdict::new(Risk::Moderate, "runs shell commands from an awk program");
        for s in &strings {
            let c = j.code(s, Dialect::Bash, &Default::default());
            if c.risk >= Risk::High {
                inner = inner.or(Verdict::new(c.risk, format!("runs a command from awk that {}", c.reason)));
            }
        }
        v = v.or(inner);
    }
    if !writes.is_empty() {
        v = v.or(Verdict::new(Risk::Moderate, "writes files from an awk program"));
        for s in &strings {
            let w = j.write_to(&Arg::plain(s), Write::Overwrite);
            if w.risk > Risk::Moderate {
                v = v.or(w);
            }
        }
    }
    v
}

/// `print x > "f"`: a `>` outside parentheses is a redirection.
fn top_level_gt(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '>' if depth <= 0 => return true,
            _ => {}
        }
    }
    false
}
