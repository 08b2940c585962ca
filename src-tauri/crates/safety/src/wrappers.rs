//! Commands that run another command: privilege (`sudo`), environment
//! (`env`), runners (`nice`, `timeout`, `watch`…), fan-out (`xargs`,
//! `parallel`), multi-call binaries (`busybox`) and remote shells (`ssh`).
//! Each is seen through to the command it runs, recursively.
use crate::verdict::{Ctx, Judge, Verdict, Write};
use crate::words::Arg;
use crate::{Dialect, Risk};

/// Skips options: `value` lists those that take the next word (or the rest
/// of their own word, `-n10`); a word that is not an option ends them.
fn skip_opts(args: &[Arg], value: &[&str]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            return i + 1;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if t.starts_with("--") {
            if !t.contains('=') && value.contains(&t) {
                i += 1;
            }
        } else {
            // `-u root`, `-nu root`: the last letter may take a value.
            let letters = &t[1..];
            for (k, c) in letters.char_indices() {
                let f = format!("-{c}");
                if value.contains(&f.as_str()) {
                    if k + c.len_utf8() == letters.len() {
                        i += 1;
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    i.min(args.len())
}

fn has(args: &[Arg], f: &str) -> bool {
    args.iter().any(|a| a.text == f)
}

fn short(args: &[Arg], c: char) -> bool {
    args.iter().any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text[1..].contains(c))
}

/// Administrator rights make any change broader: a command that changes
/// something is at least high under them.
fn as_admin(inner: Verdict, how: &str) -> Verdict {
    match inner.risk {
        Risk::Safe => Verdict::new(Risk::Moderate, format!("runs as administrator ({how})")),
        Risk::Moderate => Verdict {
            risk: Risk::High,
            reason: format!("runs as administrator ({how}) and {}", inner.reason),
            safer: None,
        },
        _ => inner,
    }
}

pub(crate) fn wrapper(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Option<Verdict> {
    let v = match name {
        "sudo" | "doas" | "pkexec" | "run0" | "please" => {
            let value: &[&str] = match name {
                "doas" => &["-u", "-C"],
                "pkexec" => &["--user"],
                _ => &[
                    "-u",
                    "-g",
                    "-h",
                    "-p",
                    "-C",
                    "-D",
                    "-r",
                    "-t",
                    "-U",
                    "-T",
                    "--user",
                    "--group",
                    "--host",
                    "--prompt",
                    "--chdir",
                    "--role",
                    "--type",
                    "--other-user",
                    "--close-from",
                    "--command-timeout",
                ],
            };
            let i = skip_opts(args, value);
            let opts = &args[..i];
            let inner = &args[i..];
            if short(opts, 'e') || name == "sudoedit" {
                let mut v = Verdict::new(Risk::High, format!("edits files as administrator ({name} -e)"));
                for f in inner {
                    v = v.or(j.write_to(f, Write::Overwrite));
                }
                return Some(v);
            }
            if inner.is_empty() {
                if short(opts, 'i') || short(opts, 's') || name == "pkexec" || name == "run0" {
                    return Some(Verdict::new(
                        Risk::High,
                        format!("opens a shell as administrator ({name}): whatever is typed next runs as root"),
                    ));
                }
                if opts.iter().any(|o| {
                    matches!(
                        o.text.as_str(),
                        "-k" | "-K"
                            | "-v"
                            | "-l"
                            | "-V"
                            | "--version"
                            | "--list"
                            | "--validate"
                            | "--reset-timestamp"
                            | "--remove-timestamp"
                    )
                }) {
                    return Some(Verdict::safe());
                }
                return Some(Verdict::new(Risk::Moderate, format!("runs {name} with options Cmdbar does not know")));
            }
            as_admin(j.wrapped(inner, ctx, &args[..i + 1]), name)
        }
        "sudoedit" => {
            let mut v = Verdict::new(Risk::High, "edits files as administrator (sudoedit)");
            for f in args.iter().filter(|a| !a.text.starts_with('-')) {
                v = v.or(j.write_to(f, Write::Overwrite));
            }
            v
        }
        "su" | "runuser" | "sg" => {
            let code =
                args.iter().position(|a| a.text == "-c" || a.text == "--command" || a.text == "--session-command");
            let code = code
                .and_then(|i| args.get(i + 1))
                .or_else(|| args.iter().find_map(|a| a.text.strip_prefix("--command=").map(|_| a)));
            match code {
                Some(c) => {
                    let text = c.text.strip_prefix("--command=").unwrap_or(&c.text).to_string();
                    let v = if c.dynamic {
                        Verdict::new(
                            Risk::High,
                            format!("runs code that is only known when it runs, as another user ({name})"),
                        )
                    } else {
                        j.code(&text, Dialect::Bash, &ctx.stdin)
                    };
                    as_admin(v, name)
                }
                None if name == "runuser" => {
                    let i = skip_opts(args, &["-u", "-g", "-G", "--user", "--group"]);
                    as_admin(j.wrapped(&args[i..], ctx, &args[..i]), name)
                }
                None if name == "sg" && args.len() > 1 => as_admin(j.wrapped(&args[1..], ctx, &args[..1]), name),
                None => Verdict::new(Risk::High, format!("opens a shell as another user ({name})")),
            }
        }
        "env" => {
            let mut i = 0;
            let mut extra: Vec<Arg> = vec![];
            let mut v = Verdict::safe();
            while i < args.len() {
                let t = args[i].text.as_str();
                if t == "--" {
                    i += 1;
                    break;
                }
                if matches!(t, "-u" | "--unset" | "-C" | "--chdir" | "-P") {
                    i += 2;
                    continue;
                }
                if t == "-S" || t == "--split-string" || t.starts_with("-S") || t.starts_with("--split-string=") {
                    // `env -S 'rm -rf /'`: one word split into a command.
                    let s = if t == "-S" || t == "--split-string" {
                        i += 1;
                        args.get(i).map(|a| a.text.clone()).unwrap_or_default()
                    } else {
                        t.trim_start_matches("--split-string=").trim_start_matches("-S").to_string()
                    };
                    extra.extend(s.split_whitespace().map(Arg::plain));
                    i += 1;
                    continue;
                }
                if t.starts_with('-') && t != "-" {
                    i += 1;
                    continue;
                }
                if let Some((k, val)) = t.split_once('=') {
                    if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        v = v.or(crate::verdict::special(k, val));
                        i += 1;
                        continue;
                    }
                }
                break;
            }
            let mut inner = extra;
            inner.extend_from_slice(&args[i.min(args.len())..]);
            if inner.is_empty() {
                return Some(v);
            }
            v.or(j.wrapped(&inner, ctx, &args[..i.min(args.len())]))
        }
        "nice" => {
            let i = skip_opts(args, &["-n", "--adjustment"]);
            // `nice -10 cmd`: an old form of -n.
            let i = if args.first().is_some_and(|a| {
                a.text.strip_prefix('-').is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            }) {
                i.max(1)
            } else {
                i
            };
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        "ionice" => {
            if short(args, 'p') || short(args, 'P') || short(args, 'u') {
                return Some(Verdict::new(Risk::Moderate, "changes the disk priority of running processes"));
            }
            let i = skip_opts(args, &["-c", "-n", "--class", "--classdata"]);
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        "timeout" | "gtimeout" => {
            let i = skip_opts(args, &["-s", "-k", "--signal", "--kill-after"]);
            let i = (i + 1).min(args.len());
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        "nohup" => j
            .wrapped(args, ctx, &[])
            .at_least(Risk::Moderate, "keeps running after you log out, writing its output to nohup.out"),
        "time" | "gtime" => {
            let i = skip_opts(args, &["-o", "-f", "--output", "--format"]);
            let mut v = Verdict::safe();
            if let Some(k) = args[..i].iter().position(|a| a.text == "-o" || a.text == "--output") {
                if let Some(f) = args.get(k + 1) {
                    v = j.write_to(f, Write::Overwrite);
                }
            }
            v.or(j.wrapped(&args[i..], ctx, &args[..i]))
        }
        "caffeinate" => {
            let i = skip_opts(args, &["-t", "-w"]);
            if args[i..].is_empty() {
                return Some(Verdict::new(Risk::Moderate, "keeps the machine awake until it is stopped"));
            }
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        "watch" => {
            let i = skip_opts(args, &["-n", "--interval", "-d", "--differences", "-q", "--equexit"]);
            let inner = &args[i..];
            if short(&args[..i], 'x') || has(&args[..i], "--exec") {
                j.wrapped(inner, ctx, &args[..i])
            } else if inner.iter().any(|a| a.dynamic) {
                Verdict::new(Risk::High, "repeats a command that is only known when it runs (watch)")
            } else {
                // watch runs its words through `sh -c`.
                let text = inner.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
                j.code(&text, Dialect::Bash, &Default::default())
            }
        }
        "chroot" => {
            let i = skip_opts(args, &["--userspec", "--groups"]);
            let inner = args.get(i + 1..).unwrap_or(&[]);
            let v = if inner.is_empty() {
                Verdict::new(Risk::Moderate, "opens a shell inside another root folder (chroot)")
            } else {
                j.wrapped(inner, ctx, &args[..i + 1])
            };
            v.at_least(Risk::Moderate, "runs a command inside another root folder (chroot)")
        }
        "unshare" | "nsenter" | "firejail" | "bwrap" | "systemd-run" | "proxychains" | "proxychains4" | "torsocks" => {
            let value: &[&str] = &[
                "-t",
                "--target",
                "-S",
                "--setuid",
                "-G",
                "--setgid",
                "--wd",
                "--root",
                "-u",
                "--unit",
                "-p",
                "--property",
                "--bind",
                "--ro-bind",
                "--chdir",
                "-f",
            ];
            let i = skip_opts(args, value);
            let what = format!("runs a command under {name}");
            if args[i..].is_empty() {
                return Some(Verdict::new(Risk::Moderate, format!("opens a shell under {name}")));
            }
            j.wrapped(&args[i..], ctx, &args[..i]).at_least(Risk::Moderate, what)
        }
        "flock" => {
            let i = skip_opts(args, &["-w", "--timeout", "-E", "--conflict-exit-code"]);
            let rest = args.get(i + 1..).unwrap_or(&[]);
            let v = match rest.first().map(|a| a.text.as_str()) {
                Some("-c" | "--command") => match rest.get(1) {
                    Some(c) if !c.dynamic => j.code(&c.text, Dialect::Bash, &ctx.stdin),
                    Some(_) => Verdict::new(Risk::High, "runs code that is only known when it runs (flock -c)"),
                    None => Verdict::safe(),
                },
                Some(_) => j.wrapped(rest, ctx, &args[..i + 1]),
                None => Verdict::safe(),
            };
            v.at_least(Risk::Moderate, "takes a lock file, creating it if it is missing")
        }
        "stdbuf" | "gstdbuf" => {
            let i = skip_opts(args, &["-i", "-o", "-e", "--input", "--output", "--error"]);
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        "setsid" => {
            let i = skip_opts(args, &[]);
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        "command" => {
            if short(args, 'v') || short(args, 'V') {
                return Some(Verdict::safe());
            }
            // `command` skips functions: never treat the name as one.
            let i = skip_opts(args, &[]);
            let funcs = std::mem::take(&mut j.funcs);
            let v = j.wrapped(&args[i..], ctx, &args[..i]);
            j.funcs = funcs;
            v
        }
        "builtin" | "noglob" | "nocorrect" | "-" | "coproc" | "exec" => {
            let i = if name == "exec" { skip_opts(args, &["-a"]) } else { 0 };
            if args[i..].is_empty() {
                return Some(Verdict::safe());
            }
            if name == "builtin" || name == "exec" {
                // `builtin`/`command` skip functions: never treat as one.
                let funcs = std::mem::take(&mut j.funcs);
                let v = j.wrapped(&args[i..], ctx, &args[..i]);
                j.funcs = funcs;
                return Some(v);
            }
            j.wrapped(&args[i..], ctx, &args[..i])
        }
        // zsh: `repeat 3 cmd`.
        "repeat" if args.len() > 1 => j.wrapped(&args[1..], ctx, &args[..1]),
        "busybox" | "toybox" | "toolbox" if !args.is_empty() && !args[0].text.starts_with('-') => {
            j.wrapped(args, ctx, &[])
        }
        "busybox" | "toybox" => Verdict::safe(),
        "xargs" | "gxargs" => return Some(xargs(j, args, ctx)),
        "parallel" => return Some(parallel(j, args, ctx)),
        "ssh" | "mosh" => {
            let value = [
                "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q", "-R",
                "-S", "-W", "-w", "-B", "--ssh", "--port",
            ];
            let mut v = Verdict::safe();
            for w in args.windows(2) {
                if w[0].text == "-o" && w[1].text.to_ascii_lowercase().starts_with("proxycommand") {
                    v = Verdict::new(Risk::Moderate, "runs a local command to connect (ProxyCommand)");
                }
            }
            let i = skip_opts(args, &value);
            let rest = args.get(i + 1..).unwrap_or(&[]);
            if args.get(i).is_none() {
                return Some(Verdict::safe().or(v));
            }
            if rest.is_empty() {
                return Some(v.or(Verdict::new(Risk::Moderate, "opens a shell on another machine")));
            }
            let host = &args[i].text;
            let text = rest.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
            let inner = j.code(&text, Dialect::Bash, &ctx.stdin);
            let inner = if inner.risk > Risk::Safe {
                Verdict { reason: format!("{} (on {host})", inner.reason), ..inner }
            } else {
                inner
            };
            v.or(inner.at_least(Risk::Moderate, format!("runs a command on {host}")))
        }
        "npx" | "bunx" | "pnpx" | "uvx" | "pipx"
            if args.first().is_some_and(|a| a.text != "list" && a.text != "--version") =>
        {
            let i = skip_opts(args, &["-p", "--package", "--from"]);
            let pkg = args.get(i).map_or("a package", |a| a.text.as_str());
            Verdict::new(Risk::Moderate, format!("downloads and runs {pkg} from a package registry"))
        }
        _ => return None,
    };
    Some(v)
}

fn xargs(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    let value = [
        "-a",
        "-d",
        "-E",
        "-I",
        "-L",
        "-n",
        "-P",
        "-s",
        "--arg-file",
        "--delimiter",
        "--max-args",
        "--max-procs",
        "--max-lines",
        "--max-chars",
        "--process-slot-var",
    ];
    let i = skip_opts(args, &value);
    let opts = &args[..i];
    let mut repl: Option<String> = None;
    for (k, a) in opts.iter().enumerate() {
        let t = a.text.as_str();
        if t == "-I" {
            repl = opts.get(k + 1).map(|a| a.text.clone());
        } else if let Some(r) = t.strip_prefix("-I") {
            repl = Some(r.to_string());
        } else if t == "-i" || t == "--replace" {
            repl = Some("{}".into());
        } else if let Some(r) = t.strip_prefix("-i").or_else(|| t.strip_prefix("--replace=")) {
            repl = Some(r.to_string());
        }
    }
    let mut inner: Vec<Arg> = args[i..].to_vec();
    if inner.is_empty() {
        return Verdict::safe();
    }
    // The items read from input are unknown.
    match &repl {
        Some(r) if !r.is_empty() => {
            for a in inner.iter_mut().skip(1) {
                if a.text.contains(r.as_str()) {
                    *a = Arg::unknown("each item it reads");
                }
            }
        }
        _ => inner.push(Arg::unknown("each item it reads")),
    }
    j.wrapped(&inner, &Ctx { stdin: Default::default(), ..ctx.clone() }, &args[..i])
}

fn parallel(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    let value = [
        "-j",
        "-a",
        "-S",
        "-N",
        "-n",
        "-L",
        "-l",
        "--jobs",
        "--arg-file",
        "--sshlogin",
        "--delay",
        "--timeout",
        "--joblog",
        "--results",
        "--tmpdir",
        "-I",
        "--colsep",
        "-C",
    ];
    let i = skip_opts(args, &value);
    if has(&args[..i], "--dry-run") {
        return Verdict::safe();
    }
    let end = args.iter().position(|a| a.text.starts_with(":::")).unwrap_or(args.len());
    let mut inner: Vec<Arg> = args[i..end.max(i)].to_vec();
    if inner.is_empty() {
        return match &ctx.stdin.text {
            Some(t) => j
                .code(t, Dialect::Bash, &Default::default())
                .at_least(Risk::Moderate, "runs each line it reads as a command"),
            None => Verdict::new(Risk::High, "runs each line piped into it as a command"),
        };
    }
    for a in inner.iter_mut().skip(1) {
        if a.text.contains('{') {
            let shown = a.text.clone();
            *a = Arg::unknown(&shown);
        }
    }
    if !inner.iter().skip(1).any(|a| a.dynamic) {
        inner.push(Arg::unknown("each item it reads"));
    }
    // A single word with spaces is a command line for the shell.
    if inner.len() == 2 && inner[0].text.contains(' ') {
        let text = inner[0].text.clone();
        return j.code(&text, Dialect::Bash, &Default::default());
    }
    j.wrapped(&inner, ctx, &args[..i])
}
