//! Any text, as a command in each shell's syntax and as a request: the
//! classifier must not panic, overflow the stack or take unbounded time.
//! Each call is timed; one over the budget is a finding.
#![no_main]
use std::time::{Duration, Instant};

use cmdbar_safety::{classify_in, parts, request_risk, Dialect};
use libfuzzer_sys::fuzz_target;

/// Well above a real command's few milliseconds, well below a loop.
const BUDGET: Duration = Duration::from_millis(750);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let start = Instant::now();
    for shell in [Dialect::Bash, Dialect::Zsh, Dialect::Fish] {
        let a = classify_in(&text, shell);
        assert!(!a.reason.is_empty());
    }
    let _ = parts(&text);
    let _ = request_risk(&text);
    let took = start.elapsed();
    assert!(took < BUDGET, "took {took:?} on {} bytes", data.len());
});
