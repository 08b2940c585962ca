//! For text the parser cannot read, or will not (too long, too deep): the
//! words are split at the shell's operators as well as can be done without
//! a grammar, and each run of words is judged as a command. Linear in the
//! length of the text, with no recursion of its own.
use crate::verdict::{Ctx, Judge, Verdict};
use crate::syntax::{Piece, Word};
use crate::words;
use crate::Risk;

/// Runs of words longer than this are judged by their first words only.
const MAX_WORDS: usize = 256;

pub(crate) fn scan(j: &mut Judge, text: &str) -> Verdict {
    let mut v = Verdict::safe();
    for seg in segments(text) {
        let args: Vec<words::Arg> = seg.iter().take(MAX_WORDS).flat_map(|w| words::expand(w, &j.env)).collect();
        if args.is_empty() {
            continue;
        }
        let raw = seg.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ");
        // Keywords and assignments in front of the command are not its name.
        let start = args
            .iter()
            .position(|a| !is_assignment(&a.text) && !KEYWORDS.contains(&a.text.as_str()))
            .unwrap_or(args.len());
        if args.first().is_some_and(|a| matches!(a.text.as_str(), "for" | "select" | "case" | "function")) {
            continue;
        }
        if start == args.len() {
            continue;
        }
        let ctx = Ctx { raw, ..Default::default() };
        let mut w = j.simple(&args[start..], &ctx);
        // A guess at a command Cmdbar does not know says so only if nothing
        // worse is found.
        if w.risk == Risk::Moderate && w.reason.contains("is not a command Cmdbar knows") {
            w = Verdict::new(Risk::Moderate, w.reason);
        }
        v = v.or(w);
    }
    if let Some(name) = fork_bomb(text) {
        v = v.or(Verdict::new(
            Risk::Critical,
            format!("is a fork bomb: `{name}` starts copies of itself until the machine stalls"),
        ));
    }
    v
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac", "in", "!", "time", "{", "}", "coproc",
    "begin", "end", "and", "or", "not",
];

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((k, _)) => {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Splits at `;`, `&`, `|`, newlines, brackets, backquotes and `$(`;
/// quotes group, and one left open runs to the end.
fn segments(text: &str) -> Vec<Vec<Word>> {
    let mut out: Vec<Vec<Word>> = vec![];
    let mut cur: Vec<Word> = vec![];
    let mut word: Option<Word> = None;
    let mut chars = text.chars().peekable();
    let flush_word = |word: &mut Option<Word>, cur: &mut Vec<Word>| {
        if let Some(mut w) = word.take() {
            // `~` and `~user` at the start, and `$NAME` anywhere, as the
            // parser would have read them.
            let mut pieces = vec![];
            for p in std::mem::take(&mut w.pieces) {
                match p {
                    Piece::Lit(t, q) if t.contains('$') && (!q || w.raw.contains('"')) => {
                        pieces.extend(with_vars(&t, q))
                    }
                    p => pieces.push(p),
                }
            }
            if let Some(Piece::Lit(t, false)) = pieces.first() {
                if let Some(rest) = t.strip_prefix('~') {
                    let end = rest.find('/').unwrap_or(rest.len());
                    let (user, tail) = (rest[..end].to_string(), rest[end..].to_string());
                    pieces[0] = Piece::Lit(tail, false);
                    pieces.insert(0, Piece::Home(user));
                }
            }
            w.pieces = pieces;
            cur.push(w);
        }
    };
    let push_lit = |word: &mut Option<Word>, s: &str, quoted: bool, raw: &str| {
        let w = word.get_or_insert_with(Word::default);
        w.raw.push_str(raw);
        match w.pieces.last_mut() {
            Some(Piece::Lit(t, q)) if *q == quoted => t.push_str(s),
            _ => w.pieces.push(Piece::Lit(s.to_string(), quoted)),
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut s = String::new();
                let mut raw = String::from(c);
                while let Some(d) = chars.next() {
                    raw.push(d);
                    if d == c {
                        break;
                    }
                    if d == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            raw.push(e);
                            s.push(e);
                        }
                        continue;
                    }
                    s.push(d);
                }
                push_lit(&mut word, &s, true, &raw);
            }
            '\\' => {
                if let Some(e) = chars.next() {
                    if e != '\n' {
                        push_lit(&mut word, &e.to_string(), true, &format!("\\{e}"));
                    }
                }
            }
            '#' if word.is_none() => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                flush_word(&mut word, &mut cur);
                out.push(std::mem::take(&mut cur));
            }
            ' ' | '\t' => flush_word(&mut word, &mut cur),
            // `{a,b}` and `x}` are words; `{ ` and a lone `}` are not.
            ';' | '&' | '|' | '\n' | '(' | ')' | '`' | '{' | '}'
                if !(c == '{' && chars.peek().is_some_and(|n| !n.is_whitespace()) || c == '}' && word.is_some()) =>
            {
                flush_word(&mut word, &mut cur);
                out.push(std::mem::take(&mut cur));
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                flush_word(&mut word, &mut cur);
                out.push(std::mem::take(&mut cur));
            }
            '<' | '>' => {
                // A redirection: the next word is its target, not an
                // argument. Judged as a write by the parser's path when it
                // can; here only disk devices are worth catching.
                // `2>`, `3<>`: the digits name a descriptor.
                if word.as_ref().is_some_and(|w| !w.raw.is_empty() && w.raw.chars().all(|c| c.is_ascii_digit())) {
                    word = None;
                }
                flush_word(&mut word, &mut cur);
                let mut writes = c == '>';
                while let Some(&n) = chars.peek().filter(|n| matches!(n, '<' | '>' | '&' | '|' | ' ')) {
                    writes |= n == '>';
                    chars.next();
                }
                let mut target = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '&' | '|' | ')') {
                        break;
                    }
                    target.push(n);
                    chars.next();
                }
                if writes && target.starts_with("/dev/") {
                    out.push(std::mem::take(&mut cur));
                    // Judged as `tee TARGET`, which writes there.
                    out.push(vec![Word::lit("tee"), Word::lit(&target)]);
                }
            }
            _ => push_lit(&mut word, &c.to_string(), false, &c.to_string()),
        }
    }
    flush_word(&mut word, &mut cur);
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// `a$HOME/b` as a literal, a variable and a literal.
fn with_vars(t: &str, quoted: bool) -> Vec<Piece> {
    let mut out = vec![];
    let mut lit = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|n| n.is_alphabetic() || *n == '_' || *n == '{') {
            let braced = chars.peek() == Some(&'{');
            if braced {
                chars.next();
            }
            let mut name = String::new();
            while let Some(&n) = chars.peek() {
                if n.is_alphanumeric() || n == '_' {
                    name.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            if braced && chars.peek() == Some(&'}') {
                chars.next();
            }
            if !lit.is_empty() {
                out.push(Piece::Lit(std::mem::take(&mut lit), quoted));
            }
            out.push(Piece::Var(name, quoted));
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit, quoted));
    }
    out
}

/// `NAME(){ … NAME|NAME … }` or `NAME(){ NAME& … }`, in any spacing.
pub(crate) fn fork_bomb(text: &str) -> Option<String> {
    let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut from = 0;
    while let Some(at) = s[from..].find("(){") {
        let at = from + at;
        let name: String = s[..at]
            .chars()
            .rev()
            .take_while(|c| !";&|(){}".contains(*c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let name = name.trim_start_matches("function").to_string();
        let body = &s[at + 3..];
        if !name.is_empty() && (body.contains(&format!("{name}|{name}")) || body.contains(&format!("{name}&"))) {
            return Some(name);
        }
        from = at + 3;
    }
    None
}

/// zsh forms the bash grammar cannot read: glob qualifiers (`*(.)`,
/// `**/*(D)`) are taken off their words, their `e:…:` code kept to judge,
/// and `=(…)` is read as the process substitution it is.
pub(crate) fn zsh_prepare(text: &str) -> (String, Vec<String>) {
    let text = text.lines().map(short_for).collect::<Vec<_>>().join("\n");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut codes = vec![];
    let mut i = 0;
    let mut quote: Option<char> = None;
    let mut word_start = 0;
    let mut word_glob = false;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && q == '"' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '\\' if i + 1 < chars.len() => {
                out.push(c);
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            c if c.is_whitespace() || ";&|".contains(c) => {
                word_start = out.len() + c.len_utf8();
                word_glob = false;
                out.push(c);
            }
            '*' | '?' | ']' => {
                word_glob = true;
                out.push(c);
            }
            '=' if chars.get(i + 1) == Some(&'(') && out.len() == word_start => out.push('<'),
            '(' if word_glob && out.len() > word_start => {
                // A qualifier ends the word: `(…)` then a space or the end.
                let close = chars[i..].iter().position(|&d| d == ')').map(|p| i + p);
                let ends =
                    close.is_some_and(|e| chars.get(e + 1).is_none_or(|n| n.is_whitespace() || ";&|)".contains(*n)));
                match close {
                    Some(e) if ends => {
                        let q: String = chars[i + 1..e].iter().collect();
                        if let Some(code) = qualifier_code(&q) {
                            codes.push(code);
                        }
                        i = e + 1;
                        continue;
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    (out, codes)
}

/// zsh's `for f (*.txt) cmd` as the `for … in …; do …; done` bash reads.
fn short_for(line: &str) -> String {
    let t = line.trim_start();
    let Some(rest) = t.strip_prefix("for ") else { return line.to_string() };
    let name_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_len);
    let Some(after) = after.trim_start().strip_prefix('(') else { return line.to_string() };
    let Some(close) = after.find(')') else { return line.to_string() };
    let body = after[close + 1..].trim();
    if name.is_empty() || body.is_empty() || body.starts_with("do") {
        return line.to_string();
    }
    format!("for {name} in {}; do {body}; done", &after[..close])
}

/// The code in an `e` or `+` qualifier: `e:'rm -rf ~':`, `+func`.
fn qualifier_code(q: &str) -> Option<String> {
    let at = q.find(['e', '+'])?;
    let rest = &q[at + 1..];
    if q.as_bytes()[at] == b'+' {
        return Some(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
    }
    let d = rest.chars().next()?;
    let body = &rest[d.len_utf8()..];
    let end = body.find(d)?;
    Some(body[..end].trim_matches(['\'', '"']).to_string())
}
