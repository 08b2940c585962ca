//! BM25 over the examples of one target: `common` plus its own platform,
//! only for tools the target has. English stemming and stop words come
//! from the `bm25` crate's tokenizer.
use bm25::{DefaultTokenizer, Language, SearchEngine, SearchEngineBuilder, Tokenizer};

use crate::page::{Example, Platform};

pub struct Index {
    examples: Vec<Example>,
    engine: SearchEngine<u32>,
    tokenizer: DefaultTokenizer,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    pub example: &'a Example,
    pub score: f32,
}

/// At most this many examples from one page, so that one tool does not
/// fill the prompt.
const PER_PAGE: usize = 2;

impl Index {
    /// The examples of `platforms` whose tool `has_tool` says the target
    /// has (its PATH, or the tldr pages of its platform).
    pub fn new(examples: Vec<Example>, platforms: &[Platform], has_tool: impl Fn(&str) -> bool) -> Self {
        let examples: Vec<Example> = examples
            .into_iter()
            .filter(|e| platforms.contains(&e.platform))
            .filter(|e| e.page.split_whitespace().next().is_some_and(&has_tool))
            // "View documentation for the original command: tldr x".
            .filter(|e| !e.command.starts_with("tldr "))
            .collect();
        // What is searched: the words of the example and the tool's name.
        let docs: Vec<bm25::Document<u32>> = examples
            .iter()
            .enumerate()
            .map(|(i, e)| bm25::Document::new(i as u32, format!("{} {}", e.description, e.page)))
            .collect();
        let engine = SearchEngineBuilder::<u32>::with_documents(Language::English, docs).build();
        Self { examples, engine, tokenizer: DefaultTokenizer::new(Language::English) }
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The `k` best examples for `query`, best first, none scoring under
    /// `min_score` and none matching under `min_coverage` of the query's
    /// words (stemmed, stop words left out): BM25 alone ranks a page that
    /// shares two common words ("files", "folder") with any request.
    pub fn search(&self, query: &str, k: usize, min_score: f32, min_coverage: f32) -> Vec<Hit<'_>> {
        let mut words = self.tokenizer.tokenize(query);
        words.sort();
        words.dedup();
        let mut out: Vec<Hit<'_>> = vec![];
        for r in self.engine.search(query, k * 8) {
            if r.score < min_score || out.len() >= k {
                break;
            }
            let Some(e) = self.examples.get(r.document.id as usize) else { continue };
            let doc = self.tokenizer.tokenize(&r.document.contents);
            let matched = words.iter().filter(|w| doc.contains(w)).count();
            if (matched as f32) < min_coverage * words.len() as f32 || matched < 2.min(words.len()) {
                continue;
            }
            if out.iter().filter(|h| h.example.page == e.page).count() >= PER_PAGE {
                continue;
            }
            if out.iter().any(|h| h.example.command == e.command) {
                continue;
            }
            out.push(Hit { example: e, score: r.score });
        }
        out
    }
}

/// Whether `tool` is a program on this machine's PATH, or a shell builtin
/// the pages describe.
pub fn on_path(tool: &str) -> bool {
    const BUILTINS: &[&str] = &["cd", "echo", "export", "alias", "history", "ulimit", "umask", "type", "read", "set"];
    if BUILTINS.contains(&tool) {
        return true;
    }
    if tool.contains('/') {
        return false;
    }
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(page: &str, platform: Platform, description: &str, command: &str) -> Example {
        Example { page: page.into(), platform, description: description.into(), command: command.into() }
    }

    #[test]
    fn the_best_examples_of_the_targets_platforms_come_first() {
        let all = vec![
            ex("gzip", Platform::Common, "compress a file, keeping the original", "gzip -k path/to/file"),
            ex("tar", Platform::Common, "extract an archive into the current directory", "tar xf path/to/source.tar"),
            ex("apt", Platform::Linux, "install a package", "apt install package"),
            ex("brew", Platform::Osx, "install a package", "brew install formula"),
            ex("gzip", Platform::Common, "decompress a file", "gzip -d path/to/file.gz"),
        ];
        let idx = Index::new(all.clone(), &[Platform::Common, Platform::Linux], |_| true);
        assert_eq!(idx.len(), 4);
        let hits = idx.search("compress this file but keep the original", 2, 0.0, 0.0);
        assert_eq!(hits[0].example.command, "gzip -k path/to/file");
        let hits = idx.search("install a package", 3, 0.0, 0.0);
        assert!(hits.iter().all(|h| h.example.page != "brew"), "{hits:?}");
        // A tool the target lacks is never offered.
        let idx = Index::new(all, &[Platform::Common, Platform::Linux], |t| t != "gzip");
        assert!(idx.search("compress a file", 3, 0.0, 0.0).iter().all(|h| h.example.page != "gzip"));
    }

    #[test]
    fn one_page_does_not_fill_the_answer() {
        let all: Vec<Example> =
            (0..5).map(|i| ex("find", Platform::Common, "find files by name", &format!("find . -name x{i}"))).collect();
        let idx = Index::new(all, &[Platform::Common], |_| true);
        assert_eq!(idx.search("find files by name", 5, 0.0, 0.0).len(), PER_PAGE);
    }

    #[test]
    fn an_example_must_cover_enough_of_the_request() {
        let all = vec![
            ex("git", Platform::Common, "add all files recursively starting from the current folder", "git add ."),
            ex("du", Platform::Common, "list the largest files in a folder", "du -a path | sort -h | tail"),
        ];
        let idx = Index::new(all, &[Platform::Common], |_| true);
        let hits = idx.search("show the five largest files in this folder", 3, 0.0, 0.5);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].example.page, "du");
    }
}
