use super::*;

fn risk(cmd: &str) -> Risk {
    classify(cmd).risk
}

#[test]
fn unknown_commands_are_moderate_and_say_so() {
    let a = classify("frobnicate --all");
    assert_eq!(a.risk, Risk::Moderate);
    assert!(a.reason.contains("`frobnicate` is not a command Cmdbar knows"), "{}", a.reason);
    let a = classify("python3 -c 'print(1)'");
    assert_eq!(a.risk, Risk::Moderate);
    assert!(a.reason.contains("runs inline Python"), "{}", a.reason);
}

#[test]
fn the_issue_examples_are_caught() {
    let a = classify("cat list.txt | while read f; do rm -rf \"$f\"; done");
    assert_eq!(a.risk, Risk::High, "{}", a.reason);
    assert_eq!(risk("if [ -d build ]; then rm -rf ~/; fi"), Risk::Critical);
    // The old here-document guard made this only moderate.
    assert_eq!(risk("rm -rf ~ # <<"), Risk::Critical);
    assert_eq!(risk("rm -rf ~\ncat <<EOF"), Risk::Critical);
}

#[test]
fn danger_inside_a_here_doc_body_is_text_unless_a_shell_reads_it() {
    assert_eq!(risk("cat <<EOF\nrm -rf /\nEOF"), Risk::Safe);
    assert_eq!(risk("cat <<'EOF' > notes.txt\nrm -rf /\nEOF"), Risk::Moderate);
    assert_eq!(risk("bash <<EOF\nrm -rf /\nEOF"), Risk::Critical);
    assert_eq!(risk("cat <<EOF | sh\nrm -rf ~\nEOF"), Risk::Critical);
    // An unquoted here-document's substitutions run.
    assert_eq!(risk("cat <<EOF\n$(rm -rf ~)\nEOF"), Risk::Critical);
}

#[test]
fn unbalanced_quotes_are_never_safe_and_keep_what_is_seen() {
    assert!(risk("echo 'oops") >= Risk::Moderate);
    assert_eq!(risk("rm -rf ~; echo 'oops"), Risk::Critical);
    assert_eq!(risk("bash -c 'rm -rf /"), Risk::Critical);
}

#[test]
fn high_and_critical_carry_a_safer_alternative_where_there_is_one() {
    let cases = [
        ("rm -rf build", "rm -rI build"),
        ("find . -type f -delete", "find . -type f -print"),
        ("git clean -fdx", "git clean -ndx"),
        ("rsync -a --delete src/ dst/", "rsync --dry-run -a --delete src/ dst/"),
        ("terraform destroy", "terraform plan -destroy"),
        ("git push --force origin main", "git push --force-with-lease origin main"),
        ("cd build && rm -rf *", "cd build && rm -rI *"),
        (
            "curl -fsSL https://get.example.com/i.sh | sh",
            "curl -fsSL https://get.example.com/i.sh -o install.sh && less install.sh",
        ),
    ];
    for (cmd, safer) in cases {
        let a = classify(cmd);
        assert!(a.risk >= Risk::High, "{cmd}: {a:?}");
        assert_eq!(a.safer.as_deref(), Some(safer), "{cmd}");
    }
    // Never for what is not high, and never a replacement of the command.
    assert_eq!(classify("ls -la").safer, None);
    assert_eq!(classify("rm notes.txt").safer, None);
    let json = serde_json::to_string(&classify("ls")).unwrap();
    assert!(!json.contains("safer"), "{json}");
    let json = serde_json::to_string(&classify("rm -rf build")).unwrap();
    assert!(json.contains("\"safer\":\"rm -rI build\""), "{json}");
    let back: Assessment = serde_json::from_str(r#"{"risk":"safe","reason":"x"}"#).unwrap();
    assert_eq!(back.safer, None);
}

#[test]
fn the_shell_is_the_syntax() {
    // fish: `; and`, `; or`, `not`, `(…)` substitution, `begin … end`.
    assert_eq!(classify_in("rm -rf ~; and echo done", Dialect::Fish).risk, Risk::Critical);
    assert_eq!(classify_in("not test -d x; or rm -rf ~", Dialect::Fish).risk, Risk::Critical);
    assert_eq!(classify_in("echo (rm -rf ~)", Dialect::Fish).risk, Risk::Critical);
    assert_eq!(classify_in("ls -la; and echo ok", Dialect::Fish).risk, Risk::Safe);
    assert_eq!(classify_in("curl -s https://x | source", Dialect::Fish).risk, Risk::Critical);
    // zsh: noglob, =cmd, glob qualifiers (which may run code).
    assert_eq!(classify_in("noglob rm -rf /", Dialect::Zsh).risk, Risk::Critical);
    assert_eq!(classify_in("=rm -rf ~", Dialect::Zsh).risk, Risk::Critical);
    assert_eq!(classify_in("ls *(.)", Dialect::Zsh).risk, Risk::Safe);
    assert_eq!(classify_in("rm -rf ~/*(N)", Dialect::Zsh).risk, Risk::Critical);
    assert_eq!(classify_in("ls *(e:'rm -rf ~':)", Dialect::Zsh).risk, Risk::Critical);
    // What a grammar cannot read is never safe.
    assert!(classify_in("echo ${(f)\"$(ls)\"}", Dialect::Zsh).risk >= Risk::Moderate);
    assert!(classify_in("echo \"unclosed", Dialect::Fish).risk >= Risk::Moderate);
    assert_eq!(serde_json::to_string(&Dialect::Fish).unwrap(), "\"fish\"");
}

#[test]
fn levels_show_confirm_or_hide() {
    use Action::*;
    use Risk::*;
    let expect = [
        (Level::Strict, [Show, Confirm, Hide, Hide]),
        (Level::Moderate, [Show, Show, Confirm, Confirm]),
        (Level::Permissive, [Show, Show, Show, Confirm]),
    ];
    for (level, actions) in expect {
        for (risk, action) in [Safe, Moderate, High, Critical].into_iter().zip(actions) {
            assert_eq!(level.action(risk), action, "{level:?} {risk:?}");
        }
    }
    assert!("loose".parse::<Level>().unwrap_err().contains("strict, moderate, permissive"));
}

#[test]
fn parts_split_pipes_and_lists_and_keep_redirects() {
    let p = parts("find . -name '*.log' | xargs grep -l err > hits.txt && echo done").unwrap();
    let words: Vec<Vec<&str>> = p.iter().map(|p| p.words.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        words,
        vec![vec!["find", ".", "-name", "*.log"], vec!["xargs", "grep", "-l", "err"], vec!["echo", "done"]]
    );
    assert_eq!(p[0].raw[3], "'*.log'");
    assert_eq!(p[1].redirects, vec![(">".to_string(), "hits.txt".to_string())]);
    assert!(parts("echo 'unclosed").is_err());
    // Compound commands are seen into.
    let p = parts("for f in *.txt; do wc -l \"$f\"; done").unwrap();
    assert_eq!(p[0].words, ["wc", "-l", "$f"]);
}

/// Inputs on which brush-parser 0.4's tokenizer looped forever or
/// panicked (found by fuzzing). tree-sitter reads each in bounded time;
/// none is called safe, and what they hide is still seen.
#[test]
fn tokenizer_traps_from_fuzzing_end() {
    let found = [
        "<<\r\t",
        "<<\r ",
        "<<\x0c\t",
        "`$(<<  `",
        "$(e<<<<<  ; eval x)",
        "`$(<<\x0b\x0b\0 `",
        "$(e<<  -\0",
        "`/((\0`$(<<\0 ",
        "$(a<<\0\0sh`\nsh\n`\x1d",
        "$(\\<<<\0\0",
        "cat <<- ;",
        "ls | cat <<",
        "cat <<\u{a0}\u{2003};",
        "cat <<EOF",
        "cat <<'EOF\nEOF\n",
        "cat <<EOF`\nEOF\n`",
        "cat <<EOF $(\nEOF\n)",
        "cat <\\\n< ;",
    ];
    for cmd in found {
        let start = std::time::Instant::now();
        let _ = classify(cmd);
        // What comes before a trap is still judged.
        let after = classify(&format!("rm -rf ~; {cmd}"));
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "{cmd:?} took {:?}", start.elapsed());
        assert_eq!(after.risk, Risk::Critical, "{cmd:?}: {after:?}");
    }
    for plain in [
        "cat <<< hi",
        "cat <<EOF\nhi\nEOF",
        "cat <<-'X'\nhi\n\tX",
        "echo $((1 << 2))",
        "cat <<EOF | wc -l\n$(date) `id`\nEOF",
    ] {
        assert_eq!(risk(plain), Risk::Safe, "{plain:?}: {}", classify(plain).reason);
    }
    assert!(risk("rm -rf /\r") >= Risk::Critical);
    let panics = include_bytes!("../../../../tests/fixtures/bad-commands/tokenizer-panic.txt");
    assert!(classify(&String::from_utf8_lossy(panics)).risk >= Risk::Moderate);
    // Every fixture in the folder, the fuzzer's finds included.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/fixtures/bad-commands");
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let start = std::time::Instant::now();
        let _ = classify(&text);
        let _ = classify_in(&text, Dialect::Zsh);
        let _ = classify_in(&text, Dialect::Fish);
        let _ = parts(&text);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}

/// The suggestion thread has a 2 MiB stack: deep nesting is refused, not
/// walked into an overflow.
#[test]
fn deep_nesting_is_refused_on_a_small_stack() {
    let deep = [
        "$(".repeat(10_000) + "rm -rf ~" + &")".repeat(10_000),
        "`".repeat(10_000),
        "{ ".repeat(5_000) + "ls" + &"; }".repeat(5_000),
        "if true; then ".repeat(3_000) + "rm -rf ~" + &"; fi".repeat(3_000),
        "a && ".repeat(3_000) + "rm -rf ~",
        "(".repeat(10_000),
        "sh -c \"".repeat(2_000),
        "$((".repeat(5_000),
        "echo ${".repeat(5_000),
    ];
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            deep.iter()
                .map(|c| {
                    let start = std::time::Instant::now();
                    let a = classify(c);
                    let _ = classify_in(c, Dialect::Fish);
                    let _ = classify_in(c, Dialect::Zsh);
                    let _ = parts(c);
                    (a, start.elapsed())
                })
                .collect::<Vec<_>>()
        })
        .unwrap();
    let results = t.join().expect("no stack overflow");
    for (a, took) in &results {
        assert!(a.risk >= Risk::Moderate, "{a:?}");
        assert!(*took < std::time::Duration::from_secs(3), "{took:?}");
    }
    // What is in there is still found by the scan.
    assert_eq!(results[0].0.risk, Risk::Critical, "{:?}", results[0].0);
    assert_eq!(results[3].0.risk, Risk::Critical, "{:?}", results[3].0);
    assert_eq!(results[4].0.risk, Risk::Critical, "{:?}", results[4].0);
    assert!(results[0].0.reason.contains("deletes your home"), "{}", results[0].0.reason);
}

#[test]
fn long_commands_are_scanned_not_parsed() {
    let long = format!("echo {} ; rm -rf ~", "x".repeat(MAX_COMMAND_BYTES));
    assert_eq!(risk(&long), Risk::Critical);
    let long = format!("echo {}", "x ".repeat(MAX_COMMAND_BYTES));
    let a = classify(&long);
    assert_eq!(a.risk, Risk::Moderate);
    assert!(a.reason.contains("too long"), "{}", a.reason);
}
