//! What a model writes back, and what a user types: parsed into a candidate,
//! rated for risk (in each shell, with the text also judged as the request)
//! and checked for portability. Model output is untrusted and a shell parser
//! is deep code, so no text may panic or overflow the stack.
#![no_main]
use cmdbar_safety::Level;
use cmdbar_suggest::{candidate, check_query, Judge, Os, Shell};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = check_query(&text);
    let _ = cmdbar_safety::classify(&text);
    for (os, shell) in [(Os::MacOs, Shell::Zsh), (Os::Linux, Shell::Bash), (Os::Linux, Shell::Fish)] {
        let judge = Judge::new(os, shell, Some(&text));
        for level in [Level::Strict, Level::Moderate, Level::Permissive] {
            let _ = candidate(&text, -0.5, &judge, level);
        }
    }
});
