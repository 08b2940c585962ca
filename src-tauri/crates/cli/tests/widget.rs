//! The shell widget (`cmdbar init`) for real: zsh, bash and fish in tmux,
//! driven with send-keys and read with capture-pane, on the real 0.5B model.
//! Typing a request and pressing Ctrl+G must leave an editable command on
//! the prompt line (nothing run); Return then runs it and it lands in the
//! shell's own history.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().unwrap()
}

fn model() -> PathBuf {
    let out = Command::new(root().join("scripts/fetch-test-models")).args(["--print-path", "0.5b"]).output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().expect("tmux is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        self.run(&[&["send-keys", "-t", "w"][..], keys].concat());
    }
    fn pane(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "w"])
    }
    /// Waits until the pane shows what `done` looks for; returns the pane.
    fn wait(&self, what: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let p = self.pane();
            if done(&p) {
                return p;
            }
            assert!(t.elapsed() < Duration::from_secs(secs), "waited {secs}s for {what}; the pane:\n{p}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// The prompt line: the last line of the pane that starts with the prompt.
fn prompt_line(pane: &str) -> Option<String> {
    // capture-pane drops trailing spaces: an empty line is "PROMPT>".
    pane.lines().rev().find_map(|l| l.strip_prefix("PROMPT>").map(|s| s.trim().to_string()))
}

/// Starts `shell` in tmux with the widget loaded, in a folder with two
/// sub-folders; returns the session and the file its history goes to.
fn start(shell: &str, dir: &Path) -> (Tmux, PathBuf) {
    // No app to answer: a socket nobody listens on.
    start_with(shell, dir, &dir.join("no-app.sock"), &model())
}

/// As `start`, the widget asking the server on `socket` first, for `model`.
fn start_with(shell: &str, dir: &Path, socket: &Path, model: &Path) -> (Tmux, PathBuf) {
    let exe = env!("CARGO_BIN_EXE_cmdbar");
    let work = dir.join("work");
    for d in ["work/src", "work/docs", "home"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(work.join("src/main.rs"), "fn main() {}\n").unwrap();
    let home = dir.join("home");
    let (cmd, history): (String, PathBuf) = match shell {
        "zsh" => {
            let hist = home.join(".zsh_history");
            std::fs::write(
                home.join(".zshrc"),
                format!(
                    "PS1='PROMPT> '\nHISTFILE={}\nSAVEHIST=100\nHISTSIZE=100\nsetopt INC_APPEND_HISTORY\neval \"$({exe} init zsh)\"\n",
                    hist.display()
                ),
            )
            .unwrap();
            (format!("ZDOTDIR={} zsh -i", home.display()), hist)
        }
        "bash" => {
            let hist = home.join(".bash_history");
            let rc = home.join(".bashrc");
            std::fs::write(
                &rc,
                format!(
                    "PS1='PROMPT> '\nHISTFILE={}\nPROMPT_COMMAND='history -a'\neval \"$({exe} init bash)\"\n",
                    hist.display()
                ),
            )
            .unwrap();
            (format!("bash --noprofile --rcfile {} -i", rc.display()), hist)
        }
        _ => {
            let conf = home.join(".config/fish");
            std::fs::create_dir_all(&conf).unwrap();
            std::fs::write(
                conf.join("config.fish"),
                format!(
                    // No autosuggestions: their grey tail ("work" + "/") is
                    // on the screen capture-pane reads but not on the line.
                    "function fish_prompt; echo -n 'PROMPT> '; end\nset -g fish_greeting\n\
                     set -g fish_autosuggestion_enabled 0\n{exe} init fish | source\n"
                ),
            )
            .unwrap();
            (
                format!("XDG_CONFIG_HOME={0}/.config XDG_DATA_HOME={0}/.local/share fish -i", home.display()),
                home.join(".local/share/fish/fish_history"),
            )
        }
    };
    let tmux = Tmux { socket: dir.join("tmux.sock") };
    let env = format!(
        "cd {} && env -i PATH=/usr/bin:/bin HOME={} TERM=xterm-256color CMDBAR_SOCKET={} CMDBAR_MODEL={} CMDBAR_CONFIG_DIR={} CMDBAR_TLDR_DIR={} {cmd}",
        work.display(),
        home.display(),
        socket.display(),
        model.display(),
        home.join("config").display(),
        home.join("tldr").display(),
    );
    tmux.run(&["new-session", "-d", "-s", "w", "-x", "160", "-y", "40", &env]);
    tmux.wait("the prompt", 20, |p| prompt_line(p).is_some());
    (tmux, history)
}

fn widget_in(shell: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (tmux, history) = start(shell, dir.path());
    let request = "show disk usage of each folder here";
    tmux.keys(&["-l", request]);
    tmux.wait("the request on the line", 10, |p| prompt_line(p).as_deref() == Some(request));
    tmux.keys(&["C-g"]);
    let pane =
        tmux.wait("a command on the line", 180, |p| prompt_line(p).is_some_and(|l| !l.is_empty() && l != request));
    let line = prompt_line(&pane).unwrap();
    assert!(line.starts_with("du "), "{shell}: the line holds {line:?}\n{pane}");
    // Nothing ran: no output of du above the prompt.
    assert!(!pane.contains("\tsrc") && !pane.contains("./src\n"), "{shell}: something ran\n{pane}");
    std::fs::write(root().join(format!("docs/screenshots/widget-{shell}.txt")), &pane).ok();
    // A command the user can edit: the line takes more keys.
    tmux.keys(&["-l", " "]);
    tmux.wait("the edit", 10, |p| prompt_line(p).is_some_and(|l| l == line));
    // Only a read-only command is run by the test.
    let risk = cmdbar_safety::classify(&line).risk;
    assert_eq!(risk, cmdbar_safety::Risk::Safe, "{shell}: {line} is {risk:?}; not running it");
    tmux.keys(&["Enter"]);
    tmux.wait("the command's output", 30, |p| {
        p.contains("src") && p.lines().filter(|l| l.starts_with("PROMPT>")).count() >= 2
    });
    let t = Instant::now();
    loop {
        let h = std::fs::read_to_string(&history).unwrap_or_default();
        if h.contains(line.trim()) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{shell}: {line:?} is not in its history:\n{h}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_widget_puts_an_editable_command_on_the_line_in_zsh() {
    widget_in("zsh");
}

#[test]
fn the_widget_puts_an_editable_command_on_the_line_in_bash() {
    widget_in("bash");
}

#[test]
fn the_widget_puts_an_editable_command_on_the_line_in_fish() {
    widget_in("fish");
}

/// A destructive request: the first press shows the risk and its reason
/// above the prompt and leaves the line alone; the second puts the command
/// there (still not run). A further press cycles to the next candidate.
fn gate_and_cycle_in(shell: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (tmux, _) = start(shell, dir.path());
    let request = "delete every file in this folder";
    tmux.keys(&["-l", request]);
    tmux.wait("the request on the line", 10, |p| prompt_line(p).as_deref() == Some(request));
    tmux.keys(&["C-g"]);
    let pane = tmux.wait("the risk shown", 180, |p| p.contains("press Ctrl+G again"));
    assert!(pane.contains("[high]") || pane.contains("[critical]"), "{shell}:\n{pane}");
    assert_eq!(
        prompt_line(&pane).as_deref(),
        Some(request),
        "{shell}: the line changed before the second press\n{pane}"
    );
    tmux.keys(&["C-g"]);
    let pane = tmux.wait("the command on the line", 10, |p| prompt_line(p).is_some_and(|l| l != request));
    let first = prompt_line(&pane).unwrap();
    assert!(first.contains("rm") || first.contains("find") || first.contains("delete"), "{shell}: {first}");
    assert!(dir.path().join("work/src/main.rs").exists(), "{shell}: something ran\n{pane}");
    // The next candidate: armed first, as it is destructive too, then shown.
    tmux.keys(&["C-g"]);
    let pane = tmux.wait("the next candidate", 10, |p| {
        p.contains(" 2 of ") || p.contains("press Ctrl+G again") || p.contains(" 1 of 1")
    });
    if !pane.contains(" 2 of ") && !pane.contains(" 1 of 1") {
        assert_eq!(prompt_line(&pane).as_deref(), Some(first.as_str()), "{shell}: armed, the line stays");
        tmux.keys(&["C-g"]);
        tmux.wait("the second candidate", 10, |p| p.contains(" 2 of "));
    }
    std::fs::write(root().join(format!("docs/screenshots/widget-{shell}-confirm.txt")), tmux.pane()).ok();
    assert!(dir.path().join("work/src/main.rs").exists(), "{shell}: something ran");
}

#[test]
fn a_destructive_command_needs_a_second_press_and_presses_cycle_in_zsh() {
    gate_and_cycle_in("zsh");
}

#[test]
fn a_destructive_command_needs_a_second_press_and_presses_cycle_in_fish() {
    gate_and_cycle_in("fish");
}

/// A command fails; the key on the empty line puts a fix there, asked of a
/// warm `cmdbar serve` (the 1.5B: the 0.5B does not know this one), from
/// the command and exit status the shell's hook recorded.
#[test]
fn the_key_on_an_empty_line_fixes_the_last_command_in_zsh_bash_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("serve.sock");
    let out = Command::new(root().join("scripts/fetch-test-models")).args(["--print-path", "1.5b"]).output().unwrap();
    let model = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let _serve = common::Serve::start(&socket, &model, &dir.path().join("serve-home"));
    for shell in ["zsh", "bash", "fish"] {
        let sub = dir.path().join(shell);
        std::fs::create_dir_all(&sub).unwrap();
        let (tmux, _) = start_with(shell, &sub, &socket, &model);
        tmux.keys(&["-l", "gti status"]);
        tmux.wait("the typo on the line", 10, |p| prompt_line(p).as_deref() == Some("gti status"));
        tmux.keys(&["Enter"]);
        tmux.wait("the failure", 10, |p| {
            (p.contains("not found") || p.contains("Unknown command"))
                && p.lines().filter(|l| l.starts_with("PROMPT>")).count() >= 2
        });
        tmux.keys(&["C-g"]);
        // The failed command is never its own fix, so the line changes.
        let pane =
            tmux.wait("a fix on the line", 120, |p| prompt_line(p).is_some_and(|l| !l.is_empty() && l != "gti status"));
        let line = prompt_line(&pane).unwrap();
        assert!(line.starts_with("git status"), "{shell}: the line holds {line:?}\n{pane}");
        std::fs::write(root().join(format!("docs/screenshots/widget-fix-{shell}.txt")), &pane).ok();
    }
}
