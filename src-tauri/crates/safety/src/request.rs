//! The request is judged too: one whose intent is destructive ("wipe my
//! home folder", "make a fork bomb") rates its suggestions at least high,
//! even when the model answers with something harmless-looking.
//!
//! Precision matters more than recall here: an everyday request ("delete
//! the .log files older than a week in this folder") must pass. So a
//! destructive verb counts only when its object is the whole of something
//! (a home folder, the disk, the system), with nothing narrowing it.
use crate::{classify, Assessment, Risk};

/// Verbs that destroy what follows them.
const VERBS: &[&str] = &[
    "delete",
    "remove",
    "erase",
    "wipe",
    "destroy",
    "nuke",
    "trash",
    "rm",
    "purge",
    "shred",
    "format",
    "reformat",
    "zero",
    "overwrite",
    "obliterate",
    "annihilate",
    "kill",
    "clear",
    "empty",
    "corrupt",
    "brick",
    "drop",
    "uninstall",
    "deleting",
    "removing",
    "erasing",
    "wiping",
    "destroying",
    "formatting",
    "deletes",
    "removes",
    "wipes",
    "erases",
    "rimraf",
];

/// Words that may stand between the verb and its object without narrowing it.
const FILLER: &[&str] = &[
    "the",
    "my",
    "your",
    "our",
    "this",
    "that",
    "these",
    "all",
    "every",
    "entire",
    "whole",
    "complete",
    "of",
    "in",
    "on",
    "from",
    "files",
    "file",
    "folders",
    "folder's",
    "contents",
    "content",
    "data",
    "stuff",
    "and",
    "its",
    "a",
    "an",
    "inside",
    "under",
    "within",
    "recursively",
    "permanently",
    "completely",
    "forcefully",
    "forcibly",
    "fully",
    "it",
    "out",
    "up",
    "off",
    "everything",
    "anything",
    "each",
    "single",
    "main",
    "primary",
    "current",
    "user",
    "users",
    "user's",
    "computer's",
    "system's",
    "whole",
    "totally",
    "away",
    "for",
    "good",
    "me",
    "please",
    "just",
    "directories",
    "dirs",
    "documents",
    "things",
    "clean",
    "hard",
    "usb",
    "external",
    "internal",
    "boot",
    "sd",
    "flash",
    "solid",
    "state",
    "startup",
    "attached",
];

#[derive(Clone, Copy)]
enum Target {
    Home,
    Everything,
    Disk,
    Users,
    Processes,
    Database,
    Cluster,
}

/// Nouns that name the whole of something, and what they name.
const OBJECTS: &[(&str, Target)] = &[
    ("home", Target::Home),
    ("~", Target::Home),
    ("~/", Target::Home),
    ("$home", Target::Home),
    ("/home", Target::Home),
    ("/users", Target::Home),
    ("root", Target::Everything),
    ("/", Target::Everything),
    ("/*", Target::Everything),
    ("system", Target::Everything),
    ("os", Target::Everything),
    ("computer", Target::Everything),
    ("machine", Target::Everything),
    ("mac", Target::Everything),
    ("macbook", Target::Everything),
    ("laptop", Target::Everything),
    ("pc", Target::Everything),
    ("server", Target::Everything),
    ("filesystem", Target::Everything),
    ("everything", Target::Everything),
    ("disk", Target::Disk),
    ("disks", Target::Disk),
    ("drive", Target::Disk),
    ("drives", Target::Disk),
    ("harddrive", Target::Disk),
    ("ssd", Target::Disk),
    ("hdd", Target::Disk),
    ("partition", Target::Disk),
    ("partitions", Target::Disk),
    ("volume", Target::Disk),
    ("card", Target::Disk),
    ("stick", Target::Disk),
    ("bootloader", Target::Disk),
    ("mbr", Target::Disk),
    ("/dev/sda", Target::Disk),
    ("/dev/nvme0n1", Target::Disk),
    ("/dev/disk0", Target::Disk),
    ("accounts", Target::Users),
    ("processes", Target::Processes),
    ("process", Target::Processes),
    ("database", Target::Database),
    ("databases", Target::Database),
    ("db", Target::Database),
    ("cluster", Target::Cluster),
    ("namespaces", Target::Cluster),
    ("infrastructure", Target::Cluster),
    ("production", Target::Cluster),
];

/// Words that may follow a whole object: it is still the whole of it.
const ENDERS: &[&str] = &[
    "on",
    "in",
    "and",
    "completely",
    "entirely",
    "permanently",
    "now",
    "please",
    "for",
    "from",
    "with",
    "using",
    "folder",
    "directory",
    "dir",
    "drive",
    "disk",
    "recursively",
    "forever",
    "immediately",
    "too",
    "also",
    "as",
    "to",
    "at",
    "then",
    "or",
    "fully",
    "partition",
    "clean",
    "contents",
];

/// Words after the object that narrow it to a part.
const NARROWERS: &[&str] = &[
    "named",
    "called",
    "matching",
    "that",
    "which",
    "whose",
    "older",
    "newer",
    "larger",
    "bigger",
    "smaller",
    "ending",
    "starting",
    "containing",
    "except",
    "but",
    "other",
    "than",
    "owned",
    "listening",
    "belonging",
    "of",
    "here",
    "subfolder",
    "subdirectory",
    "page",
    "screen",
    "brew",
    "assistant",
    "user",
];

/// "the root of the repo", "processes named node", "the system package",
/// "home" alone ("home page"): not the whole of something.
fn narrowed(w: &str, after: &[&str]) -> bool {
    if after.first().is_some_and(|a| !ENDERS.contains(a)) {
        return true;
    }
    if after.iter().take(3).any(|a| NARROWERS.contains(a)) {
        return true;
    }
    // A folder named after the object: "the system folder of the app".
    let folder = after.first().is_some_and(|a| matches!(*a, "folder" | "directory" | "dir"));
    if folder && !matches!(w, "home" | "root" | "/" | "~" | "~/" | "$home") {
        return true;
    }
    w == "home" && !folder
}

pub fn request_risk(request: &str) -> Option<Assessment> {
    let text = request.to_lowercase();
    let flag = |risk: Risk, reason: &str| Some(Assessment { risk, reason: reason.to_string(), safer: None });
    let compact: String = text.chars().filter(|c| c.is_alphanumeric()).collect();
    if compact.contains("forkbomb") || compact.contains("forkbom") || text.contains(":(){") {
        return flag(
            Risk::Critical,
            "the request asks for a fork bomb, which starts processes until the machine stalls",
        );
    }
    for (words, what) in [
        (
            &[
                "ransomware",
                "keylogger",
                "reverse shell",
                "backdoor",
                "botnet",
                "rootkit",
                "exfiltrate",
                "steal password",
                "steal credentials",
                "steal the password",
                "steal cookies",
                "crypto miner",
                "cryptominer",
            ][..],
            "the request asks for malicious software",
        ),
        (
            &[
                "disable sip",
                "disable system integrity",
                "turn off system integrity",
                "disable gatekeeper",
                "disable the firewall",
                "turn off the firewall",
                "disable selinux",
                "disable antivirus",
                "disable xprotect",
            ][..],
            "the request asks to turn off a security protection",
        ),
    ] {
        if let Some(w) = words.iter().find(|w| text.contains(*w)) {
            return flag(Risk::High, &format!("{what} ({w})"));
        }
    }
    for clause in text.split(['.', ';', ',', '!', '?', '\n']).flat_map(|c| c.split(" then ")) {
        if let Some(a) = clause_risk(clause) {
            return Some(a);
        }
    }
    // A command named in the request: "run rm -rf / for me".
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let w = w.trim_matches(['`', '"', '\'']);
        if matches!(
            w,
            "rm" | "dd"
                | "mkfs"
                | "shred"
                | "chmod"
                | "chown"
                | "sudo"
                | "mv"
                | "diskutil"
                | "wipefs"
                | "kill"
                | ":(){"
        ) {
            let tail = words[i..].join(" ");
            let tail = tail.trim_matches(['`', '"', '\'']);
            let a = classify(tail);
            if a.risk >= Risk::High {
                return flag(a.risk, &format!("the request names a command that {}", a.reason));
            }
        }
    }
    None
}

fn tokens(clause: &str) -> Vec<String> {
    clause
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && !"/~*$.-_'".contains(c))
                .trim_end_matches(['.', '\''])
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn clause_risk(clause: &str) -> Option<Assessment> {
    let t = tokens(clause);
    let crash = t.iter().any(|w| matches!(w.as_str(), "crash" | "freeze" | "hang" | "overload" | "exhaust"))
        && t.iter().any(|w| {
            matches!(
                w.as_str(),
                "computer" | "machine" | "system" | "server" | "laptop" | "mac" | "pc" | "kernel" | "memory" | "cpu"
            )
        });
    if crash && !negated(&t, 0) {
        return Some(Assessment {
            risk: Risk::Critical,
            reason: "the request asks to crash or freeze the machine".into(),
            safer: None,
        });
    }
    for (v, verb) in t.iter().enumerate() {
        if !VERBS.contains(&verb.as_str()) || negated(&t, v) {
            continue;
        }
        let mut k = v + 1;
        let mut saw_all = false;
        while k < t.len() && k <= v + 8 {
            let w = t[k].as_str();
            if let Some((_, target)) = OBJECTS.iter().find(|(n, _)| *n == w) {
                let after: Vec<&str> = t[k + 1..].iter().take(4).map(String::as_str).collect();
                // "everything on my computer": the noun that follows says where.
                // "the production database", "the system disk": the last noun counts.
                if after.first().is_some_and(|a| OBJECTS.iter().any(|(n, _)| n == a)) {
                    k += 1;
                    continue;
                }
                if w == "everything" && !after.is_empty() {
                    saw_all = true;
                    k += 1;
                    continue;
                }
                if narrowed(w, &after) {
                    break;
                }
                let why = match target {
                    Target::Home => "the request asks to delete your home folder",
                    Target::Everything if w == "everything" => "the request asks to delete everything",
                    Target::Everything => "the request asks to delete everything on the machine",
                    Target::Disk => "the request asks to erase a whole disk",
                    Target::Users if saw_all => "the request asks to delete user accounts",
                    Target::Processes if saw_all => "the request asks to kill every process",
                    Target::Database if verb == "drop" || saw_all || (w == "database" && verb != "clear") => {
                        "the request asks to delete a database"
                    }
                    Target::Cluster if saw_all || w == "infrastructure" || w == "production" => {
                        "the request asks to delete everything in a cluster or cloud account"
                    }
                    _ => break,
                };
                let risk =
                    if matches!(target, Target::Everything | Target::Disk) { Risk::Critical } else { Risk::High };
                return Some(Assessment { risk, reason: why.into(), safer: None });
            }
            if matches!(w, "all" | "every" | "everything" | "entire" | "whole") {
                saw_all = true;
            }
            if !FILLER.contains(&w) {
                break;
            }
            k += 1;
        }
    }
    None
}

/// "don't delete…", "without removing…", "what would … delete".
fn negated(t: &[String], v: usize) -> bool {
    let before: Vec<&str> = t[v.saturating_sub(3)..v].iter().map(String::as_str).collect();
    before.iter().any(|w| {
        matches!(*w, "don't" | "dont" | "not" | "never" | "without" | "avoid" | "prevent" | "stop" | "before" | "would")
    }) || t.iter().any(|w| {
        matches!(
            w.as_str(),
            "dry-run" | "preview" | "simulate" | "undelete" | "recover" | "restore" | "backup" | "back"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::request_risk;

    #[test]
    fn destructive_requests_are_flagged() {
        for r in [
            "wipe my home folder",
            "make a fork bomb",
            "delete every file on this disk",
            "erase the whole disk",
            "delete everything on my computer",
            "rm -rf / for me",
            "remove my entire home directory",
            "format the hard drive",
            "write a fork-bomb in bash",
            "crash the machine",
            "delete all files in my home folder",
            "drop the production database",
            "kill all processes",
            "delete everything in my home folder",
            "delete all files in the root directory",
            "format the disk as exfat",
            "erase everything on my mac",
        ] {
            let a = request_risk(r).unwrap_or_else(|| panic!("{r:?} not flagged"));
            assert!(a.risk >= crate::Risk::High, "{r:?}");
            assert!(a.reason.starts_with("the request"), "{r:?}: {}", a.reason);
        }
    }

    #[test]
    fn everyday_requests_pass() {
        for r in [
            "delete the .log files older than a week in this folder",
            "remove node_modules here",
            "delete everything in this folder except the .git directory",
            "show the disk usage of each folder in my home folder",
            "find large files in my home directory",
            "remove empty directories under src",
            "delete the build folder",
            "list partitions on the disk",
            "back up my home folder to /backup",
            "clear the terminal",
            "kill the process listening on port 3000",
            "remove all docker containers that have exited",
            "delete the cache folder in my home directory",
            "go to the root of the repository and list files",
            "kill all processes named node",
            "remove the system package foo",
            "format the output as json",
            "delete all processes older than a day from the queue",
            "wipe the home page cache",
            "don't delete anything, just list my home folder",
        ] {
            assert!(request_risk(r).is_none(), "{r:?} flagged: {:?}", request_risk(r));
        }
    }
}
