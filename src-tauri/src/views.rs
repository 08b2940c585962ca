//! The core crates' types as the UI receives them, with TypeScript types
//! generated from them (ts-rs; `bindings.rs` checks the generated files).
//! Each is built by destructuring the core type without `..`: a field added
//! there does not compile until it is added here, and so reaches the UI's
//! types. Serialised exactly as the core types are.
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "Risk")]
pub enum RiskView {
    Safe,
    Moderate,
    High,
    Critical,
}

impl From<cmdbar_safety::Risk> for RiskView {
    fn from(r: cmdbar_safety::Risk) -> Self {
        use cmdbar_safety::Risk as R;
        match r {
            R::Safe => Self::Safe,
            R::Moderate => Self::Moderate,
            R::High => Self::High,
            R::Critical => Self::Critical,
        }
    }
}

/// `confirm`: the user must confirm before it is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "Action")]
pub enum ActionView {
    Show,
    Confirm,
    Hide,
}

impl From<cmdbar_safety::Action> for ActionView {
    fn from(a: cmdbar_safety::Action) -> Self {
        use cmdbar_safety::Action as A;
        match a {
            A::Show => Self::Show,
            A::Confirm => Self::Confirm,
            A::Hide => Self::Hide,
        }
    }
}

/// A suggested command with its explanation and risk.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(rename = "Candidate")]
pub struct CandidateView {
    pub command: String,
    pub explanation: String,
    pub risk: RiskView,
    pub risk_reason: String,
    pub action: ActionView,
    /// A safer first step (a dry run, a preview) for a high or critical one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub safer: Option<String>,
    /// Why it may not run on this system.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub portability: Option<String>,
    /// Mean log-probability of the answer's tokens; higher is surer.
    pub score: f32,
    /// How many of the request's completions gave this command.
    pub votes: u32,
}

impl From<cmdbar_suggest::Candidate> for CandidateView {
    fn from(c: cmdbar_suggest::Candidate) -> Self {
        let cmdbar_suggest::Candidate {
            command,
            explanation,
            risk,
            risk_reason,
            action,
            safer,
            portability,
            score,
            votes,
        } = c;
        Self {
            command,
            explanation,
            risk: risk.into(),
            risk_reason,
            action: action.into(),
            safer,
            portability,
            score,
            votes,
        }
    }
}

/// How long a request took, and on how many tokens.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(rename = "Timings")]
pub struct TimingsView {
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values were reused from the cache.
    pub cached_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_ms: f64,
    /// From the request's start to the first generated token.
    pub first_token_ms: f64,
    pub total_ms: f64,
    /// Time spent choosing tokens from the logits, all tokens.
    pub sample_ms: f64,
}

impl From<cmdbar_engine::Timings> for TimingsView {
    fn from(t: cmdbar_engine::Timings) -> Self {
        let cmdbar_engine::Timings {
            prompt_tokens,
            cached_tokens,
            generated_tokens,
            prefill_ms,
            first_token_ms,
            total_ms,
            sample_ms,
        } = t;
        Self { prompt_tokens, cached_tokens, generated_tokens, prefill_ms, first_token_ms, total_ms, sample_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The views serialise as the core types do: the UI sees no change.
    #[test]
    fn views_serialise_as_the_core_types() {
        let t = cmdbar_engine::Timings { prompt_tokens: 3, sample_ms: 1.5, ..Default::default() };
        assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::to_value(TimingsView::from(t.clone())).unwrap());
        let c = cmdbar_suggest::Candidate {
            command: "rm -rf build".into(),
            explanation: "removes build".into(),
            risk: cmdbar_safety::Risk::High,
            risk_reason: "deletes files".into(),
            action: cmdbar_safety::Action::Confirm,
            safer: Some("rm -rI build".into()),
            portability: None,
            score: -0.5,
            votes: 2,
        };
        assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::to_value(CandidateView::from(c.clone())).unwrap());
    }
}
