//! The model's own chat template (`tokenizer.chat_template`), rendered with
//! minijinja plus Python-compatible string methods, as Hugging Face does.
use minijinja::{context, Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
#[cfg(unix)]
use crate::sandbox;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.to_string(), content: content.into() }
    }
}

/// What a request asks the model: messages for its chat template, text,
/// or token ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Prompt {
    /// Rendered with the model's chat template, generation prompt added.
    Chat(Vec<Message>),
    /// Used as is.
    Raw(String),
    /// Token ids, as another engine would be given them (benchmarks).
    Tokens(Vec<u32>),
}

impl Prompt {
    /// The prompt's token ids with this tokenizer and template.
    pub fn ids(
        &self,
        tokenizer: &crate::tokenizer::Tokenizer,
        template: &crate::template::ChatTemplate,
    ) -> Result<Vec<u32>> {
        let text = match self {
            Prompt::Chat(messages) => template.render(messages, true)?,
            Prompt::Raw(s) => s.clone(),
            Prompt::Tokens(ids) if ids.is_empty() => return Err(EngineError::EmptyPrompt),
            Prompt::Tokens(ids) => return Ok(ids.clone()),
        };
        if text.trim().is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        tokenizer.encode(&text)
    }
}

/// Used when a model (typically a base model) ships no template.
const PLAIN_TEMPLATE: &str = "{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n\
{% elif m.role == 'user' %}Request: {{ m.content }}\n{% else %}Answer: {{ m.content }}\n\n{% endif %}\
{% endfor %}{% if add_generation_prompt %}Answer:{% endif %}";

// Bounds template work, so a hostile template cannot spin forever.
const TEMPLATE_FUEL: u64 = 5_000_000;
// What the test render may use: real templates need kilobytes.
const PROBE_MEMORY: u64 = 512 << 20;
const PROBE_TIME: std::time::Duration = std::time::Duration::from_secs(5);
const PROBE_OUTPUT: usize = 1 << 20;

pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
    /// False when the model had no template and the plain one is used.
    pub is_model_template: bool,
}

impl ChatTemplate {
    pub fn new(source: Option<&str>, bos: String, eos: String) -> Result<Self> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.set_fuel(Some(TEMPLATE_FUEL));
        // As Hugging Face renders chat templates.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| EngineError::Template(e.to_string()))?;
        env.set_syntax(syntax);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        // Llama 3 templates put today's date in the system prompt.
        env.add_function("strftime_now", |fmt: String| -> std::result::Result<String, Error> {
            use std::fmt::Write;
            let mut out = String::new();
            write!(out, "{}", chrono::Local::now().format(&fmt))
                .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("bad date format '{fmt}'")))?;
            Ok(out)
        });
        let is_model_template = source.is_some();
        env.add_template_owned("chat", source.unwrap_or(PLAIN_TEMPLATE).to_string())
            .map_err(|e| EngineError::Template(format!("cannot parse the template: {e:#}")))?;
        let template = Self { env, bos, eos, is_model_template };
        if is_model_template {
            template.probe()?;
        }
        Ok(template)
    }

    /// Renders a test conversation once in a child process before the
    /// template is trusted in this one. Fuel bounds a template's steps, not
    /// its memory: forty `s ~ s` doublings would abort the app, and Rust
    /// cannot catch that. The model's weights are not loaded yet, so the
    /// fork is cheap. Templates that single out some message text can still
    /// get past this.
    #[cfg(unix)]
    fn probe(&self) -> Result<()> {
        let long = "x".repeat(8192);
        let messages = [
            Message::new("system", "You write one shell command."),
            Message::new("user", "list files"),
            Message::new("assistant", "ls"),
            Message::new("user", long),
        ];
        match sandbox::run(PROBE_MEMORY, PROBE_TIME, || match self.render(&messages, true) {
            Ok(text) if text.len() > PROBE_OUTPUT => 2,
            _ => 0,
        }) {
            Some(0) => Ok(()),
            Some(2) => Err(EngineError::Template("the template writes megabytes for a short conversation".into())),
            _ => Err(EngineError::Template(format!(
                "the template did not finish rendering a short conversation within {} MiB and {} s; \
                 the model file is broken or hostile",
                PROBE_MEMORY >> 20,
                PROBE_TIME.as_secs()
            ))),
        }
    }

    #[cfg(not(unix))]
    fn probe(&self) -> Result<()> {
        Ok(())
    }

    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let tmpl = self.env.get_template("chat").map_err(|e| EngineError::Template(e.to_string()))?;
        let messages: Vec<minijinja::Value> =
            messages.iter().map(|m| context! { role => m.role.as_str(), content => m.content.as_str() }).collect();
        tmpl.render(context! {
            messages => messages,
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos,
            eos_token => &self.eos,
        })
        .map_err(|e| EngineError::Template(format!("{e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_template_renders_turns() {
        let t = ChatTemplate::new(None, String::new(), String::new()).unwrap();
        let out = t.render(&[Message::new("system", "Be brief."), Message::new("user", "list files")], true).unwrap();
        assert_eq!(out, "Be brief.\n\nRequest: list files\nAnswer:");
    }

    #[test]
    fn python_string_methods_work() {
        let src = "{% for m in messages %}{{ m.content.strip().upper() }}{% endfor %}";
        let t = ChatTemplate::new(Some(src), String::new(), String::new()).unwrap();
        assert_eq!(t.render(&[Message::new("user", "  hi ")], false).unwrap(), "HI");
    }

    #[test]
    fn raise_exception_is_an_error_not_a_panic() {
        let src = "{{ raise_exception('roles must alternate') }}";
        let t = ChatTemplate::new(Some(src), String::new(), String::new()).unwrap();
        let err = t.render(&[], true).unwrap_err().to_string();
        assert!(err.contains("roles must alternate"), "{err}");
    }

    #[test]
    fn strftime_now_formats_today_and_rejects_bad_formats() {
        let t = ChatTemplate::new(Some("{{ strftime_now('%Y-%m-%d') }}"), String::new(), String::new()).unwrap();
        assert_eq!(t.render(&[], false).unwrap(), chrono::Local::now().format("%Y-%m-%d").to_string());
        let t = ChatTemplate::new(Some("{{ strftime_now('%Q%') }}"), String::new(), String::new()).unwrap();
        assert!(t.render(&[], false).unwrap_err().to_string().contains("bad date format"));
    }

    #[test]
    fn broken_template_is_reported() {
        let err = ChatTemplate::new(Some("{% for %}"), String::new(), String::new()).err().unwrap().to_string();
        assert!(err.contains("cannot parse"), "{err}");
    }

    #[test]
    fn runaway_template_runs_out_of_fuel() {
        let src = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
        let t = ChatTemplate::new(Some(src), String::new(), String::new()).unwrap();
        assert!(t.render(&[], true).is_err());
    }

    /// Templates come inside downloaded files: each of these ends in an
    /// error that says why, without exhausting memory or the stack.
    #[test]
    fn hostile_templates_are_refused() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        let nested = "{% if true %}".repeat(2000) + &"{% endif %}".repeat(2000);
        let doubling = "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}\
                        {% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}";
        let list_doubling = "{% set ns = namespace(l=[1, 2]) %}{% for i in range(40) %}\
                             {% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}";
        let macro_doubling = "{% macro f(s, n) %}{% if n < 40 %}{{ f(s ~ s, n + 1) }}{% else %}{{ s|length }}\
                              {% endif %}{% endmacro %}{{ f('x', 0) }}";
        let cases = [
            ("{{ 'x' * 1000000000 }}", "repeated string is too large"),
            ("{{ range(1000000000)|list|length }}", "range has too many elements"),
            ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion limit exceeded"),
            (deep.as_str(), "exceeds maximum recursion limits"),
            (nested.as_str(), "exceeds maximum recursion limits"),
            (doubling, "did not finish rendering a short conversation"),
            (list_doubling, "did not finish rendering a short conversation"),
            (macro_doubling, "did not finish rendering a short conversation"),
            ("{{ 'x' * 5000000 }}", "writes megabytes"),
        ];
        for (src, want) in cases {
            let err = ChatTemplate::new(Some(src), String::new(), String::new())
                .and_then(|t| t.render(&[Message::new("user", "hi")], true))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{}: {err}", &src[..src.len().min(60)]);
        }
    }
}
