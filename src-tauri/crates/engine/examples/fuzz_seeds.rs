//! Writes the fuzzers' seed corpora into DIR/<target>/: for `gguf_load`,
//! tiny but complete models, one per architecture and tokenizer kind the
//! engine reads, so that the fuzzer starts from files that load and mutates
//! its way into every check; for `chat_template`, their templates; for
//! `model_output`, replies in the shape the model gives.
#[path = "../tests/tiny/mod.rs"]
mod tiny;

use tiny::{CHATML, GEMMA};

const REPLIES: &[&str] = &[
    "```bash\nfind . -type f -size +100M -mtime -7\n```\nFinds files over 100 MB changed in the last week.",
    "```sh\ndu -d 1 -h . | sort -h\n```\nShows folder sizes, largest last.",
    "`tar -czf out.tgz dir && rm -rf \"$(pwd)/dir\"`: packs, then removes the folder.",
    "```bash\nfor f in *.txt; do sed -i '' 's/a/b/g' \"$f\"; done | tee >(wc -l) <<< \"$(echo x)\"\n```",
    "```bash\n:(){ :|:& };: ; eval \"$(echo cm0gLXJmIC8K | base64 -d)\"; dd if=/dev/zero of=/dev/disk2\n```",
];

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: fuzz_seeds DIR"));
    let put = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join(target))?;
        std::fs::write(dir.join(target).join(name), bytes)
    };
    for (name, model) in
        [("qwen2.gguf", tiny::qwen2(false)), ("llama.gguf", tiny::qwen2(true)), ("gemma3.gguf", tiny::gemma3())]
    {
        put("gguf_load", name, &model.bytes())?;
    }
    // The crafted files and past findings (tests/fixtures/bad-gguf), so the
    // fuzzer starts from each attack the loader has to refuse or bound.
    let bad = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/bad-gguf");
    for f in std::fs::read_dir(&bad)?.flatten() {
        put("gguf_load", &format!("bad-{}", f.file_name().to_string_lossy()), &std::fs::read(f.path())?)?;
    }
    // A template, then NUL-separated messages.
    for (name, template) in [("chatml", CHATML), ("gemma", GEMMA)] {
        put("chat_template", name, format!("{template}\0be brief\0list files\0ls").as_bytes())?;
    }
    for (i, reply) in REPLIES.iter().enumerate() {
        put("model_output", &format!("reply{i}"), reply.as_bytes())?;
    }
    Ok(())
}
