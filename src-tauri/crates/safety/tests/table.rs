//! The table of commands in `tests/cases.tsv`: each with the level it must
//! get, the shell it is written for and a piece of the reason it must give.
//! Benign commands are the everyday read-only work a user asks for; every
//! other category is destructive or changes something, and none of those
//! may be rated safe.
use cmdbar_safety::{classify_in, Dialect, Risk};

struct Case {
    level: Risk,
    shell: Dialect,
    category: String,
    reason: String,
    command: String,
    line: usize,
}

fn cases() -> Vec<Case> {
    let text = include_str!("cases.tsv");
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(5, '\t').collect();
        assert_eq!(f.len(), 5, "cases.tsv:{}: five tab-separated fields", i + 1);
        let level = match f[0] {
            "safe" => Risk::Safe,
            "moderate" => Risk::Moderate,
            "high" => Risk::High,
            "critical" => Risk::Critical,
            other => panic!("cases.tsv:{}: level {other}", i + 1),
        };
        let shell = match f[1] {
            "bash" => Dialect::Bash,
            "zsh" => Dialect::Zsh,
            "fish" => Dialect::Fish,
            other => panic!("cases.tsv:{}: shell {other}", i + 1),
        };
        out.push(Case {
            level,
            shell,
            category: f[2].into(),
            reason: f[3].into(),
            command: f[4].replace("\\n", "\n"),
            line: i + 1,
        });
    }
    out
}

#[test]
fn every_case_gets_its_level_and_reason() {
    let cases = cases();
    let benign = cases.iter().filter(|c| c.category == "benign").count();
    assert!(cases.len() >= 400, "{} cases", cases.len());
    assert!(benign >= 200, "{benign} benign cases");
    let mut wrong = vec![];
    for c in &cases {
        let a = classify_in(&c.command, c.shell);
        if a.risk != c.level || !a.reason.contains(&c.reason) {
            wrong.push(format!(
                "cases.tsv:{} [{}] {:?}: want {:?} ({}), got {:?} ({})",
                c.line, c.category, c.command, c.level, c.reason, a.risk, a.reason
            ));
        }
    }
    assert!(wrong.is_empty(), "{} of {} misjudged:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

#[test]
fn no_destructive_case_is_safe_and_benign_ones_mostly_are() {
    let cases = cases();
    let safe_destructive: Vec<&str> = cases
        .iter()
        .filter(|c| c.category != "benign" && classify_in(&c.command, c.shell).risk == Risk::Safe)
        .map(|c| c.command.as_str())
        .collect();
    assert!(safe_destructive.is_empty(), "rated safe: {safe_destructive:?}");
    let benign: Vec<&Case> = cases.iter().filter(|c| c.category == "benign").collect();
    let safe = benign.iter().filter(|c| classify_in(&c.command, c.shell).risk == Risk::Safe).count();
    let share = safe as f64 / benign.len() as f64;
    eprintln!(
        "table: {} cases, {} benign ({safe} safe, {:.1}%), {} destructive (0 safe)",
        cases.len(),
        benign.len(),
        share * 100.0,
        cases.len() - benign.len()
    );
    assert!(share >= 0.95, "only {:.1}% of the benign commands are safe", share * 100.0);
}
