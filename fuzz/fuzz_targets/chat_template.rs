//! A chat template from a model file, rendered over a conversation. Hostile
//! templates (recursive macros, huge loops, huge strings) must end in an
//! error within the template's fuel, never a hang, a panic or an abort.
#![no_main]
use cmdbar_engine::template::ChatTemplate;
use cmdbar_engine::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The template, then NUL-separated message contents.
    let mut parts = text.split('\0');
    let source = parts.next().unwrap_or_default();
    let roles = ["system", "user", "assistant", "tool"];
    let messages: Vec<Message> = parts.enumerate().map(|(i, c)| Message::new(roles[i % roles.len()], c)).collect();
    let Ok(t) = ChatTemplate::new(Some(source), "<s>".into(), "</s>".into()) else { return };
    let _ = t.render(&messages, true);
    let _ = t.render(&messages, false);
});
