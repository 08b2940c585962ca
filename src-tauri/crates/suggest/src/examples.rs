//! Worked examples retrieved for a request from the tldr pages, for the
//! prompt's last turn (after the cached prefix). Only the target's
//! platforms and, on this machine's own OS, tools on its PATH; only hits
//! that score near the best one, so a loose match does not steer the model
//! away from what it knows.
use cmdbar_tldr::{Example, Index, Platform};

use crate::context::{Context, Os};

pub struct Examples {
    index: Index,
}

/// A hit must score at least this share of the best hit's score.
const NEAR_BEST: f32 = 0.6;
/// And the best at least this: a query that shares one common word with a
/// page is no match.
const MIN_SCORE: f32 = 4.0;
/// The share of the request's words an example must have.
const MIN_COVERAGE: f32 = 0.5;

impl Examples {
    /// From the cached pages; None when there are none (or they are
    /// damaged, which is logged): requests then go without examples.
    pub fn load(ctx: &Context) -> Option<Self> {
        match cmdbar_tldr::Store::from_env().load() {
            Ok(Some(d)) => Some(Self::new(d.examples, ctx.os)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("tldr examples: {e}");
                None
            }
        }
    }

    pub fn new(examples: Vec<Example>, os: Os) -> Self {
        let platform = match os {
            Os::Linux => Platform::Linux,
            Os::MacOs => Platform::Osx,
        };
        // Another OS's PATH says nothing about the target's tools.
        let here = os == Os::current();
        let index = Index::new(examples, &[Platform::Common, platform], |t| !here || cmdbar_tldr::on_path(t));
        Self { index }
    }

    /// Up to `k` examples for `query`, best first.
    pub fn for_query(&self, query: &str, k: usize) -> Vec<Example> {
        if k == 0 {
            return vec![];
        }
        let hits = self.index.search(query, k, 0.0, MIN_COVERAGE);
        let Some(best) = hits.first().map(|h| h.score).filter(|&s| s >= MIN_SCORE) else { return vec![] };
        hits.into_iter().filter(|h| h.score >= best * NEAR_BEST).map(|h| h.example.clone()).collect()
    }
}
