//! The command as a tree of the parts that run, read from tree-sitter's
//! bash or fish grammar. tree-sitter is error-tolerant: it always returns a
//! tree, marking what it could not read, and it cannot loop. What it marks
//! is reported in `Script::errors` so the caller never calls such text safe.
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use tree_sitter::{Node as TsNode, Parser};

use crate::Dialect;

/// Deeper nesting than this is refused, not walked: the walk is recursive
/// and must fit a 2 MiB thread stack with room to spare.
pub(crate) const MAX_NESTING: usize = 64;
/// Parsing is cut off after this; a real command takes well under 1 ms.
const PARSE_BUDGET: Duration = Duration::from_millis(250);

/// A piece of a word, before expansion.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// Literal text; `true` when it was quoted or escaped (no globbing,
    /// brace expansion or word splitting).
    Lit(String, bool),
    /// `$NAME`, `${NAME}`: resolved later from assignments seen; `true`
    /// when quoted (no word splitting).
    Var(String, bool),
    /// An expansion whose value cannot be known (`${x:-y}`, `$((…))`, `$@`).
    Dyn(String),
    /// `$(…)`, `` `…` ``, fish `(…)`: runs, and its output is the text.
    Sub(Script, bool),
    /// `<(…)`, `>(…)`: runs, and the word is a path to its pipe.
    Proc(Script),
    /// An unquoted `~` or `~user` at the start.
    Home(String),
    /// fish `{a,b}`: one word per alternative.
    Brace(Vec<Word>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Word {
    pub raw: String,
    pub pieces: Vec<Piece>,
}

impl Word {
    pub(crate) fn lit(s: &str) -> Self {
        Word { raw: s.to_string(), pieces: vec![Piece::Lit(s.to_string(), false)] }
    }

    /// Every script that runs while this word is expanded.
    pub(crate) fn scripts(&self) -> Vec<&Script> {
        let mut out = vec![];
        for p in &self.pieces {
            match p {
                Piece::Sub(s, _) | Piece::Proc(s) => out.push(s),
                Piece::Brace(ws) => ws.iter().for_each(|w| out.extend(w.scripts())),
                _ => {}
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Redirect {
    /// `>`, `>>`, `&>`, `<`, `<<`, `<<<`, `>&`…, without the descriptor.
    pub op: String,
    pub target: Word,
    /// A here-document's body, and the substitutions in it that run.
    pub body: Option<(String, Vec<Script>)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Cmd {
    pub assigns: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// The command as written, for the safer alternative.
    pub raw: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Cmd(Cmd),
    Pipe(Vec<Node>),
    Seq(Vec<Node>),
    /// A compound command: its body, the words it expands (a `for` list, a
    /// `case` subject, a test) and its redirections.
    Group {
        body: Vec<Node>,
        words: Vec<Word>,
        redirects: Vec<Redirect>,
    },
    Func {
        name: String,
        body: Vec<Node>,
    },
    Bg(Box<Node>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub nodes: Vec<Node>,
    /// The parser marked something it could not read.
    pub errors: bool,
    /// Nesting went past `MAX_NESTING`; what is below was not walked.
    pub too_deep: bool,
}

/// Why a command was not parsed at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    TooDeep,
    TimedOut,
}

pub(crate) fn parse(src: &str, dialect: Dialect) -> Result<Script, Refused> {
    // tree-sitter's own stack is on the heap, but the trees it builds for
    // thousands of nested `$(` are walked (and freed) by code that is not:
    // such text is refused before it gets there.
    if nesting(src) > MAX_NESTING {
        return Err(Refused::TooDeep);
    }
    let mut parser = Parser::new();
    let lang: tree_sitter::Language = match dialect {
        Dialect::Fish => tree_sitter_fish::language(),
        Dialect::Bash | Dialect::Zsh => tree_sitter_bash::LANGUAGE.into(),
    };
    parser.set_language(&lang).expect("the grammar matches the tree-sitter version");
    let start = Instant::now();
    let mut over = |_: &tree_sitter::ParseState| {
        if start.elapsed() > PARSE_BUDGET {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    // tree-sitter-fish wants a statement terminator at the very end.
    let owned;
    let src = if dialect == Dialect::Fish && !src.ends_with('\n') {
        owned = format!("{src}\n");
        owned.as_str()
    } else {
        src
    };
    let bytes = src.as_bytes();
    let tree = parser
        .parse_with_options(
            &mut |i, _| if i < bytes.len() { &bytes[i..] } else { &[] },
            None,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut over)),
        )
        .ok_or(Refused::TimedOut)?;
    let root = tree.root_node();
    let mut r = Reader { src, fish: dialect == Dialect::Fish, errors: root.has_error(), too_deep: false };
    let nodes = r.statements(root, 0);
    Ok(Script { nodes, errors: r.errors, too_deep: r.too_deep })
}

/// The deepest nesting of brackets and backquotes, counted without a
/// grammar: an upper bound on the depth of the tree.
pub(crate) fn nesting(src: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in src.bytes() {
        match b {
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        max = max.max(depth);
    }
    max
}

struct Reader<'a> {
    src: &'a str,
    fish: bool,
    errors: bool,
    too_deep: bool,
}

fn kids<'t>(n: TsNode<'t>) -> Vec<TsNode<'t>> {
    let mut c = n.walk();
    n.children(&mut c).collect()
}

const REDIRECTS: &[&str] = &["file_redirect", "heredoc_redirect", "herestring_redirect", "stream_redirect"];

impl<'a> Reader<'a> {
    fn text(&self, n: TsNode) -> &'a str {
        &self.src[n.byte_range()]
    }

    fn deep(&mut self, depth: usize) -> bool {
        if depth > MAX_NESTING {
            self.too_deep = true;
        }
        self.too_deep
    }

    /// The statements among `n`'s children, with `&` making the one before
    /// it a background job.
    fn statements(&mut self, n: TsNode, depth: usize) -> Vec<Node> {
        if self.deep(depth) {
            return vec![];
        }
        let mut out: Vec<Node> = vec![];
        for c in kids(n) {
            if c.is_error() || c.is_missing() {
                self.errors = true;
            }
            if !c.is_named() {
                if c.kind() == "&" {
                    if let Some(last) = out.pop() {
                        out.push(Node::Bg(Box::new(last)));
                    }
                }
                continue;
            }
            if let Some(node) = self.statement(c, depth + 1) {
                out.push(node);
            }
        }
        out
    }

    fn statement(&mut self, n: TsNode, depth: usize) -> Option<Node> {
        if self.deep(depth) {
            return None;
        }
        let kind = n.kind();
        Some(match kind {
            "comment" | "heredoc_body" | "heredoc_start" | "heredoc_end" => return None,
            "command" => Node::Cmd(self.command(n, depth)),
            "pipeline" | "pipe" => Node::Pipe(self.statements(n, depth)),
            "list" => Node::Seq(self.list(n, depth)),
            "redirected_statement" | "redirect_statement" => self.redirected(n, depth),
            "function_definition" => {
                let name = match n.child_by_field_name("name") {
                    Some(w) => self.word(w, depth).pieces.iter().map(piece_text).collect(),
                    None => String::new(),
                };
                let body = match n.child_by_field_name("body") {
                    Some(b) => self.statements_of(b, depth),
                    // fish: the body is the function's own statement children.
                    None => self.statements(n, depth),
                };
                Node::Func { name, body }
            }
            "variable_assignment" => Node::Cmd(Cmd {
                assigns: vec![self.assignment(n, depth)],
                raw: self.text(n).to_string(),
                ..Default::default()
            }),
            "variable_assignments" | "declaration_command" | "unset_command" => Node::Cmd(self.command(n, depth)),
            "test_command"
            | "arithmetic_expansion"
            | "binary_expression"
            | "unary_expression"
            | "parenthesized_expression"
            | "postfix_expression"
            | "ternary_expression" => {
                Node::Group { body: vec![], words: self.words_within(n, depth), redirects: vec![] }
            }
            _ if is_wordish(kind) => Node::Group { body: vec![], words: vec![self.word(n, depth)], redirects: vec![] },
            _ => {
                // Compound commands and keywords (if, while, for, case,
                // select, subshell, { }, !, fish's begin/and/or/not, switch)
                // and ERROR nodes: their statements run; their other words
                // (a `for` list, a condition, a `case` subject) are expanded.
                let mut body = vec![];
                let mut words = vec![];
                let mut redirects = vec![];
                for c in kids(n) {
                    if c.is_error() || c.is_missing() {
                        self.errors = true;
                    }
                    if !c.is_named() {
                        if c.kind() == "&" {
                            if let Some(last) = body.pop() {
                                body.push(Node::Bg(Box::new(last)));
                            }
                        }
                        continue;
                    }
                    let k = c.kind();
                    if REDIRECTS.contains(&k) {
                        redirects.extend(self.redirect(c, depth));
                    } else if is_wordish(k) && k != "command_substitution" {
                        words.push(self.word(c, depth));
                    } else if matches!(k, "variable_name" | "extglob_pattern" | "regex" | "test_operator") {
                    } else if let Some(s) = self.statement(c, depth + 1) {
                        body.push(s);
                    }
                }
                Node::Group { body, words, redirects }
            }
        })
    }

    /// `a && b || c` nests to the left, one level per operator: walked as
    /// a loop so a long chain is not mistaken for deep nesting.
    fn list(&mut self, n: TsNode, depth: usize) -> Vec<Node> {
        let mut tails = vec![];
        let mut cur = n;
        loop {
            let mut named: Vec<TsNode> = kids(cur).into_iter().filter(|c| c.is_named()).collect();
            if kids(cur).iter().any(|c| c.is_error() || c.is_missing()) {
                self.errors = true;
            }
            match named.first() {
                Some(f) if f.kind() == "list" => {
                    let first = named.remove(0);
                    tails.push(named);
                    cur = first;
                }
                _ => {
                    tails.push(named);
                    break;
                }
            }
        }
        let mut out = vec![];
        for group in tails.into_iter().rev() {
            for c in group {
                out.extend(self.statement(c, depth + 1));
            }
        }
        out
    }

    /// A compound statement as a list of statements.
    fn statements_of(&mut self, n: TsNode, depth: usize) -> Vec<Node> {
        match self.statement(n, depth + 1) {
            Some(s) => vec![s],
            None => vec![],
        }
    }

    fn redirected(&mut self, n: TsNode, depth: usize) -> Node {
        let mut redirects = vec![];
        let mut body: Option<Node> = None;
        let mut after: Vec<Node> = vec![];
        let mut piped: Vec<Node> = vec![];
        for c in kids(n) {
            if c.is_error() || c.is_missing() {
                self.errors = true;
            }
            if !c.is_named() {
                continue;
            }
            if REDIRECTS.contains(&c.kind()) {
                redirects.extend(self.redirect(c, depth));
                // A here-document's line may go on: `cat <<EOF | sh && x`.
                for g in kids(c).into_iter().filter(|g| g.is_named()) {
                    if matches!(g.kind(), "pipeline" | "list" | "command" | "redirected_statement") {
                        let starts_with_pipe = kids(g).first().is_some_and(|f| matches!(f.kind(), "|" | "|&"));
                        let nodes = self.statements(g, depth + 1);
                        if starts_with_pipe {
                            let mut it = nodes.into_iter();
                            match it.next() {
                                Some(Node::Seq(mut v)) if !v.is_empty() => {
                                    piped.push(v.remove(0));
                                    after.extend(v);
                                }
                                Some(first) => piped.push(first),
                                None => {}
                            }
                            after.extend(it);
                        } else {
                            after.extend(nodes);
                        }
                    }
                }
            } else if body.is_none() {
                body = self.statement(c, depth + 1);
            } else if let Some(s) = self.statement(c, depth + 1) {
                after.push(s);
            }
        }
        let main = match body {
            Some(Node::Cmd(mut cmd)) => {
                cmd.redirects.extend(redirects);
                cmd.raw = self.text(n).to_string();
                Node::Cmd(cmd)
            }
            // `a | b > f`: the redirection is the last command's.
            Some(Node::Pipe(mut v)) if matches!(v.last(), Some(Node::Cmd(_))) => {
                if let Some(Node::Cmd(last)) = v.last_mut() {
                    last.redirects.extend(redirects);
                }
                Node::Pipe(v)
            }
            Some(other) => Node::Group { body: vec![other], words: vec![], redirects },
            None => Node::Cmd(Cmd { redirects, raw: self.text(n).to_string(), ..Default::default() }),
        };
        let main = if piped.is_empty() {
            main
        } else {
            let mut p = vec![main];
            p.extend(piped);
            Node::Pipe(p)
        };
        if after.is_empty() {
            main
        } else {
            let mut v = vec![main];
            v.extend(after);
            Node::Seq(v)
        }
    }

    fn command(&mut self, n: TsNode, depth: usize) -> Cmd {
        let mut cmd = Cmd { raw: self.text(n).to_string(), ..Default::default() };
        for c in kids(n) {
            if c.is_error() || c.is_missing() {
                self.errors = true;
            }
            let k = c.kind();
            if !c.is_named() {
                // `declare`, `export`, `local`, `unset` are keywords here.
                if matches!(k, "declare" | "typeset" | "export" | "readonly" | "local" | "unset" | "unsetenv") {
                    cmd.words.push(Word::lit(k));
                }
                continue;
            }
            match k {
                "variable_assignment" => cmd.assigns.push(self.assignment(c, depth)),
                "command_name" => {
                    if let Some(w) = c.named_child(0) {
                        cmd.words.push(self.word(w, depth));
                    }
                }
                _ if REDIRECTS.contains(&k) => cmd.redirects.extend(self.redirect(c, depth)),
                "comment" => {}
                _ => cmd.words.push(self.word(c, depth)),
            }
        }
        cmd
    }

    fn assignment(&mut self, n: TsNode, depth: usize) -> (String, Word) {
        let name = n.child_by_field_name("name").map(|v| self.text(v).to_string()).unwrap_or_default();
        let value = match n.child_by_field_name("value") {
            Some(v) => self.word(v, depth),
            None => Word::default(),
        };
        (name, value)
    }

    /// A redirection, and any written inside it (`<<EOF > f`).
    fn redirect(&mut self, n: TsNode, depth: usize) -> Vec<Redirect> {
        let mut nested = vec![];
        let mut op = String::new();
        let mut target: Option<Word> = None;
        let mut body: Option<(String, Vec<Script>)> = None;
        for c in kids(n) {
            if c.is_error() || c.is_missing() {
                self.errors = true;
            }
            let k = c.kind();
            if !c.is_named() {
                if op.is_empty() || k.starts_with(['<', '>', '&']) {
                    op.push_str(k);
                }
                continue;
            }
            match k {
                "file_descriptor" => {}
                "direction" => op = self.text(c).to_string(),
                "heredoc_start" => target = Some(Word::lit(self.text(c))),
                "heredoc_body" => {
                    let subs = self.subs_within(c, depth);
                    body = Some((self.text(c).to_string(), subs));
                }
                k if REDIRECTS.contains(&k) => nested.extend(self.redirect(c, depth + 1)),
                "pipeline" | "list" | "command" | "redirected_statement" | "heredoc_end" => {}
                _ if target.is_none() => target = Some(self.word(c, depth)),
                _ => {}
            }
        }
        // fish writes `2>` and `>?` as one operator with the descriptor.
        let op = op.trim_start_matches(|c: char| c.is_ascii_digit()).to_string();
        let target = target.unwrap_or_default();
        if !op.is_empty() {
            nested.insert(0, Redirect { op, target, body });
        }
        nested
    }

    /// Word-like descendants of an expression, for its substitutions.
    fn words_within(&mut self, n: TsNode, depth: usize) -> Vec<Word> {
        if self.deep(depth) {
            return vec![];
        }
        let mut out = vec![];
        for c in kids(n).into_iter().filter(|c| c.is_named()) {
            if is_wordish(c.kind()) {
                out.push(self.word(c, depth + 1));
            } else {
                out.extend(self.words_within(c, depth + 1));
            }
        }
        out
    }

    fn subs_within(&mut self, n: TsNode, depth: usize) -> Vec<Script> {
        self.words_within(n, depth)
            .into_iter()
            .flat_map(|w| w.pieces)
            .filter_map(|p| match p {
                Piece::Sub(s, _) | Piece::Proc(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    fn script(&mut self, n: TsNode, depth: usize) -> Script {
        let nodes = self.statements(n, depth + 1);
        Script { nodes, errors: false, too_deep: false }
    }

    fn word(&mut self, n: TsNode, depth: usize) -> Word {
        let mut w = Word { raw: self.text(n).to_string(), pieces: vec![] };
        if self.deep(depth) {
            w.pieces.push(Piece::Dyn(w.raw.clone()));
            return w;
        }
        self.pieces(n, depth, false, &mut w.pieces);
        // `~` and `~user` at the start of an unquoted word.
        if let Some(Piece::Lit(t, false)) = w.pieces.first() {
            if let Some(rest) = t.strip_prefix('~') {
                let end = rest.find('/').unwrap_or(rest.len());
                let user = rest[..end].to_string();
                let tail = rest[end..].to_string();
                w.pieces[0] = Piece::Lit(tail, false);
                w.pieces.insert(0, Piece::Home(user));
            }
        }
        w
    }

    fn pieces(&mut self, n: TsNode, depth: usize, quoted: bool, out: &mut Vec<Piece>) {
        if self.deep(depth) {
            out.push(Piece::Dyn(self.text(n).to_string()));
            return;
        }
        if n.is_error() || n.is_missing() {
            self.errors = true;
        }
        let text = self.text(n);
        match n.kind() {
            "word"
            | "number"
            | "integer"
            | "float"
            | "string_content"
            | "heredoc_content"
            | "extglob_pattern"
            | "glob"
            | "variable_name"
            | "special_variable_name" => {
                if quoted {
                    out.push(Piece::Lit(unescape_in_quotes(text, self.fish), true))
                } else if n.kind() == "glob" {
                    out.push(Piece::Lit(text.to_string(), false))
                } else {
                    unescape_bare(text, out)
                }
            }
            "home_dir_expansion" => out.push(Piece::Home(text.trim_start_matches('~').to_string())),
            "escape_sequence" => out.push(Piece::Lit(decode_escape(text, self.fish), true)),
            "raw_string" => out.push(Piece::Lit(strip(text, "'", "'").to_string(), true)),
            "single_quote_string" => {
                // fish: `\'` and `\\` are the only escapes in single quotes.
                let inner = strip(text, "'", "'");
                out.push(Piece::Lit(inner.replace("\\\\", "\u{0}").replace("\\'", "'").replace('\u{0}', "\\"), true))
            }
            "ansi_c_string" => out.push(Piece::Lit(ansi_c(strip(text, "$'", "'")), true)),
            "string" | "translated_string" | "double_quote_string" => {
                let named: Vec<_> = kids(n).into_iter().filter(|c| c.is_named()).collect();
                if named.is_empty() {
                    let inner = text.trim_start_matches('$');
                    out.push(Piece::Lit(unescape_in_quotes(strip(inner, "\"", "\""), self.fish), true));
                } else {
                    // The text between named children is literal too.
                    let open = n.start_byte() + if text.starts_with('$') { 2 } else { 1 };
                    let close = n.end_byte().saturating_sub(1).max(open);
                    let mut at = open;
                    for c in named {
                        if c.start_byte() > at {
                            let gap = &self.src[at..c.start_byte()];
                            out.push(Piece::Lit(unescape_in_quotes(gap, self.fish), true));
                        }
                        self.pieces(c, depth + 1, true, out);
                        at = c.end_byte();
                    }
                    if close > at {
                        out.push(Piece::Lit(unescape_in_quotes(&self.src[at..close], self.fish), true));
                    }
                }
            }
            "concatenation" => {
                for c in kids(n) {
                    if c.is_named() {
                        self.pieces(c, depth + 1, quoted, out);
                    } else {
                        // `{`, `}`, `,` and the like between named parts.
                        out.push(Piece::Lit(self.text(c).to_string(), quoted));
                    }
                }
            }
            "simple_expansion" | "variable_expansion" => {
                let name = text.trim_start_matches('$');
                let special = kids(n).iter().any(|c| c.kind() == "special_variable_name")
                    || kids(n).iter().any(|c| c.kind() == "list_element_access");
                if special || name.is_empty() {
                    out.push(Piece::Dyn(text.to_string()));
                } else {
                    out.push(Piece::Var(name.to_string(), quoted));
                }
            }
            "expansion" => {
                // `${NAME}` alone is the variable; any operator makes it
                // unknowable, but what it substitutes may still run.
                let named: Vec<_> = kids(n).into_iter().filter(|c| c.is_named()).collect();
                let plain = named.len() == 1 && named[0].kind() == "variable_name" && kids(n).len() == 3;
                if plain {
                    out.push(Piece::Var(self.text(named[0]).to_string(), quoted));
                } else {
                    out.push(Piece::Dyn(text.to_string()));
                    for s in self.subs_within(n, depth + 1) {
                        out.push(Piece::Sub(s, true));
                    }
                }
            }
            "command_substitution" => {
                let s = self.script(n, depth);
                out.push(Piece::Sub(s, quoted));
            }
            "process_substitution" => {
                let s = self.script(n, depth);
                out.push(Piece::Proc(s));
            }
            "arithmetic_expansion" => {
                out.push(Piece::Dyn(text.to_string()));
                for s in self.subs_within(n, depth + 1) {
                    out.push(Piece::Sub(s, true));
                }
            }
            "brace_expansion" => {
                let alts = kids(n).into_iter().filter(|c| c.is_named()).map(|c| self.word(c, depth + 1)).collect();
                out.push(Piece::Brace(alts));
            }
            "brace_expression" => out.push(Piece::Lit(text.to_string(), false)),
            _ => {
                out.push(Piece::Dyn(text.to_string()));
                for s in self.subs_within(n, depth + 1) {
                    out.push(Piece::Sub(s, true));
                }
            }
        }
    }
}

fn is_wordish(kind: &str) -> bool {
    matches!(
        kind,
        "word"
            | "string"
            | "raw_string"
            | "ansi_c_string"
            | "translated_string"
            | "concatenation"
            | "simple_expansion"
            | "expansion"
            | "command_substitution"
            | "process_substitution"
            | "number"
            | "arithmetic_expansion"
            | "brace_expression"
            | "double_quote_string"
            | "single_quote_string"
            | "escape_sequence"
            | "variable_expansion"
            | "home_dir_expansion"
            | "glob"
            | "brace_expansion"
            | "integer"
            | "float"
    )
}

pub(crate) fn piece_text(p: &Piece) -> String {
    match p {
        Piece::Lit(t, _) => t.clone(),
        Piece::Var(v, _) => format!("${v}"),
        Piece::Dyn(t) => t.clone(),
        Piece::Sub(..) => "$(…)".into(),
        Piece::Proc(_) => "<(…)".into(),
        Piece::Home(u) => format!("~{u}"),
        Piece::Brace(ws) => {
            let alts: Vec<String> = ws.iter().map(|w| w.pieces.iter().map(piece_text).collect()).collect();
            format!("{{{}}}", alts.join(","))
        }
    }
}

fn strip<'s>(s: &'s str, open: &str, close: &str) -> &'s str {
    let s = s.strip_prefix(open).unwrap_or(s);
    s.strip_suffix(close).unwrap_or(s)
}

/// An unquoted word: a backslash quotes the next character, which then
/// cannot glob or start an expansion.
fn unescape_bare(text: &str, out: &mut Vec<Piece>) {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(e) => {
                    if !plain.is_empty() {
                        out.push(Piece::Lit(std::mem::take(&mut plain), false));
                    }
                    out.push(Piece::Lit(e.to_string(), true));
                }
            }
        } else {
            plain.push(c);
        }
    }
    if !plain.is_empty() || out.is_empty() {
        out.push(Piece::Lit(plain, false));
    }
}

/// Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and
/// a newline (fish: `"`, `$`, `\` and a newline).
fn unescape_in_quotes(text: &str, fish: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\n') => {
                    chars.next();
                }
                Some(&e) if matches!(e, '$' | '"' | '\\') || (e == '`' && !fish) => {
                    out.push(e);
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// fish's escapes outside quotes: `\n`, `\x72`, `\ ` and the like.
fn decode_escape(text: &str, fish: bool) -> String {
    if !fish {
        return text.trim_start_matches('\\').to_string();
    }
    ansi_c(text)
}

/// `$'…'`: C escapes.
pub(crate) fn ansi_c(s: &str) -> String {
    let mut out = String::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let hex = |cs: &[char]| -> (u32, usize) {
        let n = cs.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let v = cs[..n].iter().collect::<String>();
        (u32::from_str_radix(&v, 16).unwrap_or(0), n)
    };
    while i < b.len() {
        if b[i] != '\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let e = b[i + 1];
        i += 2;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'e' | 'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            'x' => {
                let end = (i + 2).min(b.len());
                let (v, n) = hex(&b[i..end]);
                i += n;
                out.extend(char::from_u32(v));
            }
            'u' | 'U' => {
                let end = (i + if e == 'u' { 4 } else { 8 }).min(b.len());
                let (v, n) = hex(&b[i..end]);
                i += n;
                out.extend(char::from_u32(v));
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                let mut n = 0;
                while n < 2 && i < b.len() && b[i].is_digit(8) {
                    v = v * 8 + b[i].to_digit(8).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                out.extend(char::from_u32(v));
            }
            other => out.push(other),
        }
    }
    out
}
