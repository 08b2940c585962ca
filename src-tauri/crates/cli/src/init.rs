//! `cmdbar init zsh|bash|fish`: the shell widget, printed for the rc file
//! to eval. A key takes the words on the prompt line, asks Cmdbar, and puts
//! the top command on the line, ready to edit; never Return.

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum InitShell {
    Zsh,
    Bash,
    Fish,
}

/// A key the three shells can all bind: Ctrl or Alt with a letter.
#[derive(Debug, PartialEq)]
struct Key {
    alt: bool,
    letter: char,
}

fn parse_key(s: &str) -> anyhow::Result<Key> {
    let lower = s.trim().to_ascii_lowercase().replace('+', "-");
    let (alt, rest) = match lower.split_once('-') {
        Some(("ctrl" | "control" | "c", r)) => (false, r),
        Some(("alt" | "meta" | "option" | "m", r)) => (true, r),
        _ => anyhow::bail!("'{s}' is not a key the widget can bind: write ctrl-<letter> or alt-<letter>, e.g. ctrl-g"),
    };
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_lowercase() => Ok(Key { alt, letter: c }),
        _ => anyhow::bail!("'{s}' is not a key the widget can bind: write ctrl-<letter> or alt-<letter>, e.g. ctrl-g"),
    }
}

/// The snippet for `shell`, bound to `key`, calling the binary at `exe`.
pub fn snippet(shell: InitShell, key: &str, exe: &str) -> anyhow::Result<String> {
    let k = parse_key(key)?;
    let l = k.letter;
    let (name, zsh, bash, fish) = if k.alt {
        (format!("Alt+{}", l.to_ascii_uppercase()), format!("^[{l}"), format!("\\e{l}"), format!("\\e{l}"))
    } else {
        (
            format!("Ctrl+{}", l.to_ascii_uppercase()),
            format!("^{}", l.to_ascii_uppercase()),
            format!("\\C-{l}"),
            format!("\\c{l}"),
        )
    };
    let template = match shell {
        InitShell::Zsh => include_str!("shell/cmdbar.zsh"),
        InitShell::Bash => include_str!("shell/cmdbar.bash"),
        InitShell::Fish => include_str!("shell/cmdbar.fish"),
    };
    // Quoted for the shell: the path may hold spaces.
    let exe = format!("'{}'", exe.replace('\'', r"'\''"));
    Ok(template
        .replace("{{KEY_NAME}}", &name)
        .replace("{{KEY_ZSH}}", &zsh)
        .replace("{{KEY_BASH}}", &bash)
        .replace("{{KEY_FISH}}", &fish)
        .replace("{{CMDBAR}}", &exe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ctrl_or_alt_with_a_letter() {
        assert_eq!(parse_key("ctrl-g").unwrap(), Key { alt: false, letter: 'g' });
        assert_eq!(parse_key("Alt+E").unwrap(), Key { alt: true, letter: 'e' });
        for bad in ["g", "ctrl-", "ctrl-gg", "ctrl-1", "shift-g", ""] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_shell_gets_its_binding_and_the_binary() {
        let z = snippet(InitShell::Zsh, "ctrl-g", "/opt/my apps/cmdbar").unwrap();
        assert!(
            z.contains("bindkey '^G' __cmdbar_widget")
                && z.contains("out=$('/opt/my apps/cmdbar' \"${ask[@]}\"")
                && z.contains("ask=(fix --lines)")
                && z.contains("__cmdbar_precmd")
        );
        let b = snippet(InitShell::Bash, "alt-e", "/usr/bin/cmdbar").unwrap();
        assert!(b.contains(r#"bind -x '"\ee": __cmdbar_widget'"#), "{b}");
        let f = snippet(InitShell::Fish, "ctrl-g", "/usr/bin/cmdbar").unwrap();
        assert!(f.contains(r"bind \cg __cmdbar_widget"));
        assert!(!z.contains("{{") && !b.contains("{{") && !f.contains("{{"));
    }
}
