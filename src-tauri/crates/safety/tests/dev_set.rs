//! The shared NL2Bash dev set is ordinary work: its reference commands may
//! be rated above moderate rarely (fewer than 5%), or users learn to ignore
//! badges, and its requests are almost never destructive in intent. Both
//! shares are printed; the references that only read are all safe (the ones
//! that are not create, copy, edit or delete files).
use cmdbar_safety::{classify, request_risk, Risk};

fn tasks() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/eval/dev.jsonl");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}; the dev set lives in shared/eval beside the repository"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("dev.jsonl line is JSON"))
        .collect()
}

#[test]
fn dev_set_references_are_rarely_above_moderate() {
    let mut total = 0;
    let mut safe = 0;
    let mut flagged = vec![];
    for task in tasks() {
        let mut refs = vec![task["reference"].as_str().expect("reference").to_string()];
        refs.extend(
            task["reference_alt"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)),
        );
        for r in refs {
            total += 1;
            let a = classify(&r);
            safe += usize::from(a.risk == Risk::Safe);
            if a.risk > Risk::Moderate {
                flagged.push(format!("{:?} {r}: {}", a.risk, a.reason));
            }
        }
    }
    assert!(total >= 80, "only {total} reference commands read");
    let rate = flagged.len() as f64 / total as f64;
    eprintln!(
        "dev set: {safe} of {total} references safe ({:.1}%); {} above moderate ({:.1}%):\n{}",
        safe as f64 * 100.0 / total as f64,
        flagged.len(),
        rate * 100.0,
        flagged.join("\n")
    );
    assert!(rate < 0.05, "{:.1}% above moderate:\n{}", rate * 100.0, flagged.join("\n"));
}

#[test]
fn dev_set_requests_are_not_called_destructive() {
    let tasks = tasks();
    let flagged: Vec<String> = tasks
        .iter()
        .filter_map(|t| {
            let nl = t["nl"].as_str().expect("nl");
            request_risk(nl).map(|a| format!("{nl}: {}", a.reason))
        })
        .collect();
    let rate = flagged.len() as f64 / tasks.len() as f64;
    eprintln!("dev set: {} of {} requests flagged ({:.1}%): {flagged:?}", flagged.len(), tasks.len(), rate * 100.0);
    assert!(rate < 0.05, "{flagged:#?}");
}
