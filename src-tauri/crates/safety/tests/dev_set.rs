//! The reference commands of the shared NL2Bash dev set are ordinary work:
//! fewer than 5% may be rated above moderate, or users learn to ignore badges.
use cmdbar_safety::{classify, Risk};

#[test]
fn dev_set_references_are_rarely_above_moderate() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/eval/dev.jsonl");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}; the dev set lives in shared/eval beside the repository"));
    let mut total = 0;
    let mut flagged = vec![];
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let task: serde_json::Value = serde_json::from_str(line).expect("dev.jsonl line is JSON");
        let mut refs = vec![task["reference"].as_str().expect("reference").to_string()];
        refs.extend(
            task["reference_alt"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)),
        );
        for r in refs {
            total += 1;
            let a = classify(&r);
            if a.risk > Risk::Moderate {
                flagged.push(format!("{:?} {r}: {}", a.risk, a.reason));
            }
        }
    }
    assert!(total >= 80, "only {total} reference commands read");
    let rate = flagged.len() as f64 / total as f64;
    eprintln!("{} of {total} references above moderate ({:.1}%):\n{}", flagged.len(), rate * 100.0, flagged.join("\n"));
    assert!(rate < 0.05, "{:.1}% above moderate:\n{}", rate * 100.0, flagged.join("\n"));
}
