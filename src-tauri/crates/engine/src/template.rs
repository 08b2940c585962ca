//! The model's own chat template (`tokenizer.chat_template`), rendered with
//! minijinja plus Python-compatible string methods, as Hugging Face does.
use minijinja::{context, Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

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

/// Used when a model (typically a base model) ships no template.
const PLAIN_TEMPLATE: &str = "{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n\
{% elif m.role == 'user' %}Request: {{ m.content }}\n{% else %}Answer: {{ m.content }}\n\n{% endif %}\
{% endfor %}{% if add_generation_prompt %}Answer:{% endif %}";

// Bounds template work, so a hostile template cannot spin forever.
const TEMPLATE_FUEL: u64 = 5_000_000;

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
        Ok(Self { env, bos, eos, is_model_template })
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
}
