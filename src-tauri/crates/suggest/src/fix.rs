//! "Fix that": a request made of the command that failed, its exit status
//! and the end of its error output, asked like any other request and judged
//! by the same rules.

/// The error output kept: its last lines, at most this many characters.
const ERROR_CHARS: usize = 600;
const ERROR_LINES: usize = 8;

/// The request for a corrected `command`.
pub fn request(command: &str, status: Option<i32>, error: Option<&str>) -> String {
    let command = command.trim();
    let mut q = match status {
        Some(s) if s != 0 => format!("This command failed with exit status {s}{}: {command}", meaning(s)),
        _ => format!("This command did not do what I wanted: {command}"),
    };
    if let Some(e) = error.map(tail).filter(|e| !e.is_empty()) {
        q.push_str("\nIts error output:\n");
        q.push_str(&e);
    }
    q.push_str("\nGive the corrected command.");
    q
}

/// What the shell's own exit statuses mean: the hook sees the status but
/// not the error output, and "not found" is most of what a fix is for.
fn meaning(status: i32) -> String {
    match status {
        127 => " (command not found)".into(),
        126 => " (found but not executable)".into(),
        130 => " (interrupted)".into(),
        129..=192 => format!(" (killed by signal {})", status - 128),
        _ => String::new(),
    }
}

/// The last lines of `text`, cut to ERROR_CHARS at a character boundary.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let kept = lines[lines.len().saturating_sub(ERROR_LINES)..].join("\n");
    let n = kept.chars().count();
    kept.chars().skip(n.saturating_sub(ERROR_CHARS)).collect()
}

/// True when `candidate` is the failed command again (spacing aside).
pub fn is_same(candidate: &str, failed: &str) -> bool {
    candidate.split_whitespace().eq(failed.split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_command_status_and_the_end_of_the_error() {
        let err = (1..=20).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n");
        let q = request("  gti status ", Some(127), Some(&err));
        assert!(q.contains("exit status 127 (command not found): gti status\n"), "{q}");
        assert!(q.contains("line 20") && q.contains("line 13") && !q.contains("line 12\n"), "{q}");
        assert!(request("ls", Some(0), None).contains("did not do what I wanted: ls"));
        let long = "é".repeat(5000);
        assert_eq!(tail(&long).chars().count(), ERROR_CHARS);
        assert!(crate::check_query(&q).is_ok());
    }

    #[test]
    fn the_same_command_is_no_fix() {
        assert!(is_same("gti  status", " gti status"));
        assert!(!is_same("git status", "gti status"));
    }
}
