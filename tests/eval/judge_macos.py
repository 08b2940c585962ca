#!/usr/bin/env python3
"""Judge candidate commands for tests/eval/macos.jsonl (macOS requests; not executable on Linux).

    python3 tests/eval/judge_macos.py CANDIDATES.jsonl [--tasks tests/eval/macos.jsonl]
                                      [--macos 14] [--details OUT.jsonl]
    python3 tests/eval/judge_macos.py --self-test

CANDIDATES.jsonl has run_eval.py's format: {"id", "candidate"} or {"id", "candidates": [...]}.
A candidate passes when
  1. it uses nothing that is GNU/Linux-only on the target macOS (a `sed -i` without a suffix
     argument, `du --max-depth`, `stat -c`, `date -d`, `find -printf`, `ls --long-option`, a Linux-only
     tool such as nproc, sha256sum, xdg-open ...; `readlink -f` before macOS 12.3, `realpath` before 13),
     and
  2. after normalisation it equals the task's `reference` or one of its `reference_alt`.
Normalisation: shell tokens (so quoting style does not matter: 'x' "x" x), $HOME / ${HOME} -> ~,
a trailing `;` dropped, consecutive short-flag clusters merged and their letters sorted
(`ls -l -h -S` == `ls -lSh`), `head -11` == `head -n 11`.

WEAKNESS, honestly: this is string matching against a short list of accepted commands. A correct
command written differently (other flags, another tool, another order of options, a pipeline
instead of a flag) FAILS; a wrong command that happens to match passes. The GNU-only check is a
hand-written list, not a model of BSD userland, and it knows nothing of what the arguments mean.
Treat the score as a rough signal for macOS-specific knowledge (pbcopy, open, mdfind, defaults,
diskutil, BSD flags), not as a measure of correctness like run_eval.py's execution.
Standard library only.
"""
import argparse
import json
import os
import re
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = {"|", "||", "&&", ";", "&", "(", ")"}

# tools that a stock macOS does not have (Homebrew coreutils would add some of them as g-prefixed)
LINUX_ONLY_TOOLS = {
    "nproc", "free", "ip", "ss", "lsblk", "lscpu", "apt", "apt-get", "dpkg", "yum", "dnf", "pacman",
    "systemctl", "journalctl", "systemd-resolve", "resolvectl", "systemd-inhibit", "service",
    "xdg-open", "xclip", "xsel", "wl-copy", "wl-paste", "gsettings", "nautilus", "notify-send",
    "sha256sum", "sha1sum", "sha512sum", "md5sum", "tac", "timeout", "shuf", "numfmt",
    "gnome-screenshot", "scrot", "fuser", "lsb_release", "update-alternatives", "iwconfig", "fdisk",
}


def tokens(cmd):
    lex = shlex.shlex(cmd, posix=True, punctuation_chars="|&;()")
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        return list(lex)
    except ValueError:  # unbalanced quotes: fall back to whitespace split
        return cmd.split()


def segments(toks):
    """Split a token list at shell operators into simple commands (lists of words)."""
    seg, out = [], []
    for t in toks:
        if t and (t in OPS or set(t) <= set("|&;()")):
            if seg:
                out.append(seg)
            seg = []
        else:
            seg.append(t)
    if seg:
        out.append(seg)
    return out


def command_words(seg):
    """Skip sudo / env assignments; return (command name, its arguments)."""
    i = 0
    while i < len(seg) and (seg[i] == "sudo" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", seg[i])):
        i += 1
    if i >= len(seg):
        return "", []
    return os.path.basename(seg[i]), seg[i + 1:]


def normalise(cmd):
    toks = tokens(cmd.strip())
    while toks and toks[-1] == ";":
        toks.pop()
    out = []
    for t in toks:
        t = re.sub(r"^\$\{?HOME\}?(?=/|$)", "~", t)
        out.append(t)
    # merge consecutive short-flag clusters, letters sorted
    merged = []
    for t in out:
        if re.match(r"^-[A-Za-z]+$", t) and merged and re.match(r"^-[A-Za-z]+$", merged[-1]):
            merged[-1] = "-" + "".join(sorted(set(merged[-1][1:] + t[1:])))
        elif re.match(r"^-[A-Za-z]+$", t):
            merged.append("-" + "".join(sorted(set(t[1:]))))
        else:
            merged.append(t)
    # head -11 / tail -11 -> -n 11
    res = []
    for i, t in enumerate(merged):
        if re.match(r"^-\d+$", t) and i > 0 and merged[i - 1] in ("head", "tail"):
            res += ["-n", t[1:]]
        else:
            res.append(t)
    return " ".join(res)


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", str(v))[:3]) or (14,)


def gnu_problems(cmd, macos="14"):
    """Reasons why cmd would not work as meant on the target macOS (empty list: none found)."""
    ver = version_tuple(macos)
    probs = []
    for seg in segments(tokens(cmd)):
        name, args = command_words(seg)
        if not name:
            continue
        longs = [a for a in args if a.startswith("--")]
        if name in LINUX_ONLY_TOOLS:
            probs.append("%s is not on macOS" % name)
        elif name == "sed":
            for i, a in enumerate(args):
                if a == "--in-place" or a.startswith("--in-place="):
                    probs.append("sed --in-place is GNU-only")
                elif a == "-i":
                    nxt = args[i + 1] if i + 1 < len(args) else None
                    if nxt is None or not (nxt == "" or re.match(r"^\.[\w.~-]*$", nxt)):
                        probs.append("BSD sed -i needs a suffix argument (sed -i '' ...)")
        elif name == "du":
            if any(a.startswith("--max-depth") or a.startswith("--apparent-size") for a in args) or "-b" in args:
                probs.append("du --max-depth/--apparent-size/-b are GNU-only (BSD: du -d N)")
        elif name == "stat":
            if any(a == "-c" or a.startswith("--format") or a.startswith("--printf") or
                   (a.startswith("-c") and len(a) > 2) for a in args):
                probs.append("stat -c/--format is GNU-only (BSD: stat -f)")
        elif name == "date":
            if any(a == "-d" or a.startswith("--date") or a.startswith("--iso") or
                   (a.startswith("-d") and len(a) > 2 and not a.startswith("--")) for a in args):
                probs.append("date -d/--date is GNU-only (BSD: date -v or date -j -f)")
        elif name == "readlink":
            if "-f" in args and ver < (12, 3):
                probs.append("readlink -f needs macOS 12.3 or later")
            if any(a in ("-e", "-m", "--canonicalize") for a in args):
                probs.append("readlink -e/-m/--canonicalize are GNU-only")
        elif name == "realpath":
            if ver < (13,):
                probs.append("realpath needs macOS 13 or later")
        elif name == "find":
            if args and args[0].startswith("-") and args[0] not in ("-H", "-L", "-P", "-E", "-X", "-d", "-s", "-x", "-f"):
                probs.append("BSD find needs a starting path (find . ...)")
            if any(a in ("-printf", "-fprintf", "-regextype") for a in args):
                probs.append("find -printf/-regextype are GNU-only")
        elif name in ("ls", "ps", "cp", "mv", "df", "base64", "xargs", "hostname"):
            if longs:
                probs.append("%s %s is GNU-only" % (name, longs[0]))
            if name == "hostname" and "-I" in args:
                probs.append("hostname -I is GNU-only")
            if name == "base64" and "-w" in args:
                probs.append("base64 -w is GNU-only (BSD: -b)")
        elif name == "grep":
            if any(a == "-P" or a.startswith("--perl") or (re.match(r"^-[A-Za-z]+$", a) and "P" in a) for a in args):
                probs.append("grep -P is not in macOS grep")
        elif name == "head":
            for i, a in enumerate(args):
                if a == "-n" and i + 1 < len(args) and args[i + 1].startswith("-"):
                    probs.append("head -n -N is GNU-only")
        elif name == "netstat":
            if any(re.match(r"^-[A-Za-z]*p[A-Za-z]*$", a) and "l" in a for a in args):
                probs.append("netstat -lp (process column) is Linux-only")
    return probs


def judge_one(task, cand, macos):
    if not isinstance(cand, str) or not cand.strip():
        return False, "no candidate"
    probs = gnu_problems(cand, macos)
    if probs:
        return False, "gnu-only: " + "; ".join(probs)
    accepted = [task["reference"]] + list(task.get("reference_alt") or [])
    n = normalise(cand)
    if any(n == normalise(r) for r in accepted):
        return True, "ok"
    return False, "no match"


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def self_test(tasks, macos="14"):
    """Checks at the default target (macOS 14), plus the version gate of readlink -f."""
    bad = 0
    for t in tasks:
        for r in [t["reference"]] + t.get("reference_alt", []):
            ok, why = judge_one(t, r, macos)
            if not ok:
                bad += 1
                print("FAIL reference not accepted: %s: %r (%s)" % (t["id"], r, why))
        for w in t.get("wrong_examples", []):
            ok, why = judge_one(t, w, macos)
            if ok:
                bad += 1
                print("FAIL wrong example accepted: %s: %r" % (t["id"], w))
    # the normaliser and the GNU checks on their own
    eq = [("du -hd 1", "du -h -d 1"), ("ls -l -h -S ~/x", "ls -lSh ~/x"), ("open -a 'Preview' a.pdf", "open -a Preview a.pdf"),
          ("ps aux -m | head -11", "ps aux -m | head -n 11"), ("ls $HOME/Downloads", "ls ~/Downloads"), ("df -h;", "df -h")]
    for a, b in eq:
        if normalise(a) != normalise(b):
            bad += 1
            print("FAIL normalise: %r != %r" % (a, b))
    gnu = ["sed -i 's/a/b/' f", "du --max-depth=1", "stat -c %a f", "date -d yesterday", "find -name x",
           "ls --color=auto", "grep -P '\\d' f", "sha256sum f", "cat f | xargs --no-run-if-empty rm", "head -n -3 f"]
    bsd = ["sed -i '' 's/a/b/' f", "sed -i.bak 's/a/b/' f", "du -d 1", "stat -f %A f", "date -v-1d", "find . -name x",
           "ls -G", "grep -E 'a+' f", "shasum -a 256 f", "readlink -f x"]
    for c in gnu:
        if not gnu_problems(c, macos):
            bad += 1
            print("FAIL not flagged as GNU-only: %r" % c)
    for c in bsd:
        if gnu_problems(c, macos):
            bad += 1
            print("FAIL flagged but fine on macOS %s: %r %s" % (macos, c, gnu_problems(c, macos)))
    if gnu_problems("readlink -f x", "11") == []:
        bad += 1
        print("FAIL readlink -f not flagged for macOS 11")
    n_ref = sum(1 + len(t.get("reference_alt", [])) for t in tasks)
    n_wrong = sum(len(t.get("wrong_examples", [])) for t in tasks)
    print("self-test: %d tasks, %d accepted commands, %d wrong examples, %d problems" % (len(tasks), n_ref, n_wrong, bad))
    return bad == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("candidates", nargs="?")
    ap.add_argument("--tasks", default=os.path.join(HERE, "macos.jsonl"))
    ap.add_argument("--macos", default="14", help="target macOS version for version-gated checks (default 14)")
    ap.add_argument("--details", help="write one JSON line per task here")
    ap.add_argument("--self-test", action="store_true", help="check that every reference passes and every wrong example fails")
    a = ap.parse_args(argv)
    tasks = load_jsonl(a.tasks)
    if a.self_test:
        sys.exit(0 if self_test(tasks) else 1)
    if not a.candidates:
        ap.error("give a candidates file, or --self-test")
    cands = {}
    for c in load_jsonl(a.candidates):
        lst = c.get("candidates")
        cands[c.get("id")] = lst if isinstance(lst, list) and lst else [c.get("candidate")]
    top1 = topk = 0
    kmax = 1
    rows = []
    for t in tasks:
        cl = cands.get(t["id"]) or [None]
        kmax = max(kmax, len(cl))
        res = [judge_one(t, c, a.macos) for c in cl]
        p1 = res[0][0]
        pk = any(r[0] for r in res)
        top1 += p1
        topk += pk
        rows.append({"id": t["id"], "candidates": cl, "passed": p1, "passed_any": pk, "reasons": [r[1] for r in res]})
    n = len(tasks)
    print("macOS tasks: %d  (string match against accepted commands; see the docstring for its limits)" % n)
    print("ACCURACY: %d/%d = %.1f%%" % (top1, n, 100.0 * top1 / n if n else 0))
    if kmax > 1:
        print("TOP-%d ACCURACY: %d/%d = %.1f%%" % (kmax, topk, n, 100.0 * topk / n if n else 0))
    gnu = sum(1 for r in rows if r["reasons"][0].startswith("gnu-only"))
    print("first candidates rejected as GNU/Linux-only: %d" % gnu)
    if a.details:
        with open(a.details, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    return top1, topk


if __name__ == "__main__":
    main()
