//! One tldr page (`# name`, `> summary`, then `- what it does:` and a
//! `` `command` `` per example) turned into plain examples.
use serde::{Deserialize, Serialize};

/// The pages' platforms that matter to Cmdbar: `common` holds what every
/// system has, `linux` and `osx` what only one has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Common,
    Linux,
    Osx,
}

impl Platform {
    pub fn from_folder(s: &str) -> Option<Self> {
        match s {
            "common" => Some(Self::Common),
            "linux" => Some(Self::Linux),
            "osx" => Some(Self::Osx),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The page's name: the tool (`tar`, `git commit`).
    pub page: String,
    pub platform: Platform,
    /// What the example does, in words.
    pub description: String,
    /// The command, placeholders written as plain words (`path/to/file`).
    pub command: String,
}

/// The examples of one page. A page that is not in tldr's format gives none.
pub fn parse(platform: Platform, text: &str) -> Vec<Example> {
    let mut page = None;
    let mut out = vec![];
    let mut description: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("# ") {
            page = Some(name.trim().to_string());
        } else if let Some(d) = line.strip_prefix("- ") {
            description = Some(plain_words(d.trim_end_matches(':')));
        } else if let Some(cmd) = line.strip_prefix('`').and_then(|l| l.strip_suffix('`')) {
            let command = render(cmd);
            if let (Some(p), Some(d)) = (&page, description.take()) {
                if !command.is_empty() && command.len() <= 400 {
                    out.push(Example { page: p.clone(), platform, description: d, command });
                }
            }
        }
    }
    out
}

/// `[c]reate a g[z]ipped archive` → `create a gzipped archive`; `` `x` `` → `x`.
fn plain_words(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '[' | ']' | '`')).collect::<String>().trim().to_string()
}

/// `{{path/to/file}}` → `path/to/file`; `{{[-C|--directory]}}` → `-C` (the
/// short form, which BSD tools take too).
fn render(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    let mut rest = cmd;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        match inner.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
            Some(alts) if alts.contains('|') => out.push_str(alts.split('|').next().unwrap_or("")),
            _ => out.push_str(inner),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_becomes_plain_examples() {
        let page = "# tar\n\n> Archiving utility.\n\n- [c]reate a g[z]ipped archive from a directory:\n\n\
                    `tar czf {{path/to/target.tar.gz}} {{[-C|--directory]}} {{path/to/directory}} .`\n\n\
                    - List the contents of a tar file [v]erbosely:\n\n`tar tvf {{path/to/source.tar}}`\n";
        let ex = parse(Platform::Common, page);
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].page, "tar");
        assert_eq!(ex[0].description, "create a gzipped archive from a directory");
        assert_eq!(ex[0].command, "tar czf path/to/target.tar.gz -C path/to/directory .");
        assert_eq!(ex[1].command, "tar tvf path/to/source.tar");
    }

    #[test]
    fn text_that_is_not_a_page_gives_nothing() {
        assert!(parse(Platform::Linux, "<html>404</html>\n`rm -rf /`").is_empty());
        assert!(parse(Platform::Linux, "").is_empty());
        // An unclosed placeholder is kept as written, not lost.
        assert_eq!(render("ls {{path"), "ls {{path");
    }
}
