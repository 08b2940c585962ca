//! What a model writes back, and what a user types: parsed into a candidate,
//! rated for risk and checked for portability. Model output is untrusted and
//! a shell parser is deep code, so no text may panic or overflow the stack.
#![no_main]
use cmdbar_safety::Level;
use cmdbar_suggest::{candidate, check_query, Os};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic, even one the code catches (the
    // classifier catches the shell tokenizer's); a panic that escapes is
    // still caught by libfuzzer-sys and reported.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
    let text = String::from_utf8_lossy(data);
    let _ = check_query(&text);
    let _ = cmdbar_safety::classify(&text);
    let _ = cmdbar_safety::request_risk(&text);
    for os in [Os::MacOs, Os::Linux] {
        for level in [Level::Strict, Level::Moderate, Level::Permissive] {
            let _ = candidate(&text, -0.5, os, level);
        }
    }
});
