//! Which candidates are the same, which are near-copies, and the order
//! they are shown in.
use crate::Candidate;

/// What a command does, as the shell reads it: the words of each simple
/// command with quotes removed, its redirections, and the operators between
/// them. `grep "p" f` and `grep p  f` are one command. A command that does
/// not parse is its own text with whitespace collapsed.
pub fn key(command: &str) -> String {
    shape(command, false)
}

/// Two commands are near-copies when they are the same but for their
/// options (`ls`, `ls -1`, `ls -la`; `sort -rh` and `sort -hr`): the second
/// and third rows go to commands that differ in substance first.
pub fn near_copies(a: &str, b: &str) -> bool {
    shape(a, true) == shape(b, true)
}

fn shape(command: &str, without_options: bool) -> String {
    let Ok(parts) = cmdbar_safety::parts(command) else {
        return command.split_whitespace().collect::<Vec<_>>().join(" ");
    };
    let ops = operators(command);
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(ops.get(i - 1).copied().unwrap_or(" ; "));
        }
        for (j, w) in p.words.iter().enumerate() {
            // The command's name stays; an option is a word after it that
            // starts with a dash (`-` alone is standard input, an operand).
            if without_options && j > 0 && w.len() > 1 && w.starts_with('-') {
                continue;
            }
            out.push('\u{1f}');
            out.push_str(w);
        }
        for (op, target) in &p.redirects {
            out.push('\u{1f}');
            out.push_str(op);
            out.push_str(target);
        }
    }
    out
}

/// The control operators between simple commands, in order, outside
/// quotes: `|`, `||`, `&&`, `;` and `&` (a newline counts as `;`).
fn operators(command: &str) -> Vec<&'static str> {
    let b = command.as_bytes();
    let mut ops = vec![];
    let (mut i, mut quote) = (0, None::<u8>);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                } else if c == b'\\' && q == b'"' {
                    i += 1;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'\\' => i += 1,
                b'|' | b'&' if b.get(i + 1) == Some(&c) => {
                    ops.push(if c == b'|' { "||" } else { "&&" });
                    i += 1;
                }
                // `>&` and `&>` are redirections, `|&` a pipe.
                b'&' if i > 0 && matches!(b[i - 1], b'>' | b'<' | b'|') || b.get(i + 1) == Some(&b'>') => {}
                b'|' => ops.push("|"),
                b'&' => ops.push("&"),
                b';' | b'\n' => ops.push(";"),
                _ => {}
            },
        }
        i += 1;
    }
    ops
}

/// The order shown. A command that won't run here goes last. The greedy
/// answer stays first unless agreement says otherwise: a command more
/// completions gave goes first (self-consistency; on dev, re-ranking one
/// run's answers by it took top-1 from 34 to 38 of 80, while the
/// log-probability alone took it to 31: `scripts/rerank-eval`). Among the
/// rest, explained before unexplained, then the model's confidence. Then
/// the first `want` rows go to commands that are not near-copies of a row
/// above them, where there are such; near-copies follow.
pub fn rank(c: &mut Vec<Candidate>, want: usize) {
    let key = |c: &Candidate| (c.portability.is_some(), c.explanation.is_empty());
    if c.len() > 1 && c[0].portability.is_some() && c[1..].iter().any(|x| x.portability.is_none()) {
        c.sort_by(|a, b| key(a).cmp(&key(b)).then(b.score.total_cmp(&a.score)));
    } else if c.len() > 2 {
        c[1..].sort_by(|a, b| key(a).cmp(&key(b)).then(b.score.total_cmp(&a.score)));
    }
    // Stable: equal votes keep the order above.
    c.sort_by_key(|c| (c.portability.is_some(), std::cmp::Reverse(c.votes)));
    let mut shown: Vec<Candidate> = Vec::with_capacity(c.len());
    let mut rest = vec![];
    for x in c.drain(..) {
        if shown.len() < want && !shown.iter().any(|s| near_copies(&s.command, &x.command)) {
            shown.push(x);
        } else {
            rest.push(x);
        }
    }
    shown.append(&mut rest);
    *c = shown;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_spacing_do_not_make_another_command() {
        assert_eq!(key("grep \"p\"  notes.txt"), key("grep p notes.txt"));
        assert_eq!(key("find . -name '*.py'"), key("find . -name \"*.py\""));
        assert_ne!(key("grep p notes.txt"), key("grep q notes.txt"));
        // The same words joined otherwise do something else.
        assert_ne!(key("ls | wc -l"), key("ls; wc -l"));
        assert_ne!(key("a && b"), key("a || b"));
        assert_ne!(key("echo hi > f"), key("echo hi >> f"));
        // Operators inside quotes are words.
        assert_ne!(key("echo 'a|b'"), key("echo a | b"));
        // Unparseable: its text, whitespace collapsed.
        assert_eq!(key("echo 'unclosed  x"), "echo 'unclosed x");
    }

    #[test]
    fn options_alone_make_a_near_copy() {
        assert!(near_copies("ls", "ls -la"));
        assert!(near_copies("du -h . | sort -rh | head -n 5", "du -sh . | sort -hr | head -n 5"));
        assert!(!near_copies("df -h", "df -h | grep free"));
        assert!(!near_copies("head -n 5 f", "head -n 2 f"));
        assert!(!near_copies("find . -exec wc -l {} +", "find . -exec wc -l {} \\;"));
        assert!(!near_copies("cat - f", "cat f"));
    }

    fn cand(command: &str, votes: u32, score: f32) -> Candidate {
        Candidate {
            command: command.into(),
            explanation: "x".into(),
            risk: cmdbar_safety::Risk::Safe,
            risk_reason: String::new(),
            action: cmdbar_safety::Action::Show,
            safer: None,
            portability: None,
            score,
            votes,
            pending: false,
        }
    }

    fn order(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.command.as_str()).collect()
    }

    #[test]
    fn near_copies_give_their_row_to_a_command_that_differs() {
        let mut c = vec![cand("ls", 2, -0.1), cand("ls -1", 1, -0.2), cand("ls -la", 1, -0.3), cand("find . -maxdepth 1", 1, -0.5)];
        rank(&mut c, 3);
        assert_eq!(order(&c), ["ls", "find . -maxdepth 1", "ls -1", "ls -la"]);
        // Nothing else to show: the near-copies keep their rows.
        let mut c = vec![cand("ls", 1, -0.1), cand("ls -1", 1, -0.2)];
        rank(&mut c, 3);
        assert_eq!(order(&c), ["ls", "ls -1"]);
    }

    #[test]
    fn votes_decide_but_never_above_what_runs_here() {
        let mut c = vec![cand("a", 1, -0.1), cand("b", 3, -0.5), cand("c", 1, -0.2)];
        c[1].portability = Some("GNU only".into());
        rank(&mut c, 3);
        assert_eq!(order(&c), ["a", "c", "b"]);
        let mut c = vec![cand("a", 1, -0.1), cand("b", 3, -0.5), cand("c", 2, -0.2)];
        rank(&mut c, 3);
        assert_eq!(order(&c), ["b", "c", "a"]);
    }
}
