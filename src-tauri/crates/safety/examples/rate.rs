//! Rates commands, one a line on standard input: `risk<TAB>reason<TAB>safer`.
//! `--shell zsh|fish` picks the syntax; `--request` rates requests instead.
use std::io::BufRead;

use cmdbar_safety::{classify_in, request_risk, Dialect};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shell = match args.iter().position(|a| a == "--shell").and_then(|i| args.get(i + 1)).map(String::as_str) {
        Some("zsh") => Dialect::Zsh,
        Some("fish") => Dialect::Fish,
        _ => Dialect::Bash,
    };
    let requests = args.iter().any(|a| a == "--request");
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let cmd = line.replace("\\n", "\n");
        if requests {
            match request_risk(&cmd) {
                Some(a) => println!("{}\t{}\t{line}", a.risk.as_str(), a.reason),
                None => println!("-\t\t{line}"),
            }
            continue;
        }
        let a = classify_in(&cmd, shell);
        println!("{}\t{}\t{}\t{line}", a.risk.as_str(), a.reason, a.safer.unwrap_or_default());
    }
}
