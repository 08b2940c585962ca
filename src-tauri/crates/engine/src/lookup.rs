//! Prompt-lookup drafting: a command often repeats what the prompt holds
//! (a path or word of the request, an example's flags), and an explanation
//! repeats the command. The tokens that followed the latest earlier
//! occurrence of the text's last few tokens are a draft that one forward
//! pass checks, all drafted positions at once; no second model is needed.

/// The longest and shortest run of tokens matched, tried longest first.
const MAX_N: usize = 3;
const MIN_N: usize = 2;

/// Appends to `out` up to `max` tokens that followed the latest earlier
/// occurrence of the last `MIN_N..=MAX_N` tokens of `history` then `last`;
/// none where there is no such occurrence.
pub fn draft(history: &[u32], last: u32, max: usize, out: &mut Vec<u32>) {
    if max == 0 {
        return;
    }
    let len = history.len() + 1;
    let at = |i: usize| if i < history.len() { history[i] } else { last };
    for n in (MIN_N..=MAX_N).rev() {
        if len <= n {
            continue;
        }
        let key = len - n;
        // Latest first: the nearer text is the likelier to be continued.
        if let Some(start) = (0..key).rev().find(|&s| (0..n).all(|i| at(s + i) == at(key + i))) {
            let from = start + n;
            out.extend((from..(from + max).min(len)).map(at));
            return;
        }
    }
}

/// One completion's drafting: how much was drafted and accepted, and
/// whether it still pays.
#[derive(Debug, Default, Clone, Copy)]
pub struct Drafting {
    pub on: bool,
    pub drafted: usize,
    pub accepted: usize,
}

/// Tokens drafted per check: with the checked token, one pass's rows.
pub const DRAFT_LEN: usize = crate::qmatmul::STEP_ROWS - 1;

impl Drafting {
    pub fn new(on: bool) -> Self {
        Self { on, ..Self::default() }
    }

    /// How many tokens to draft now, at most `room`: none once the drafts
    /// are mostly refused, since a refused check costs more than a step.
    pub fn len(&self, room: usize) -> usize {
        let pays = self.drafted < 16 || self.accepted * 5 >= self.drafted;
        if self.on && pays {
            DRAFT_LEN.min(room)
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_what_followed_the_latest_match() {
        let mut out = Vec::new();
        // The text ends "0 1 2", which came before, followed by "6 0 1".
        let h = [7, 8, 9, 1, 2, 3, 4, 5, 0, 1, 2, 6, 0, 1];
        draft(&h, 2, 3, &mut out);
        assert_eq!(out, vec![6, 0, 1]);
        // The three-token match beats a later two-token one.
        let h = [5, 1, 2, 9, 9, 1, 2, 8, 5, 1];
        out.clear();
        draft(&h, 2, 2, &mut out);
        assert_eq!(out, vec![9, 9]);
        // Drafts end at the text's end.
        let h = [1, 2, 3, 1];
        out.clear();
        draft(&h, 2, 8, &mut out);
        assert_eq!(out, vec![3, 1, 2]);
    }

    #[test]
    fn no_match_no_draft() {
        // What `out` holds already (the checked token) stays.
        let mut out = vec![42];
        draft(&[1, 2, 3, 4], 5, 4, &mut out);
        draft(&[], 5, 4, &mut out);
        draft(&[1, 2, 1], 2, 0, &mut out);
        assert_eq!(out, vec![42]);
    }

    #[test]
    fn drafting_stops_when_refused() {
        let mut d = Drafting::new(true);
        assert_eq!(d.len(10), DRAFT_LEN);
        assert_eq!(d.len(1), 1);
        d.drafted = 20;
        d.accepted = 3;
        assert_eq!(d.len(10), 0, "15% accepted does not pay");
        d.accepted = 8;
        assert_eq!(d.len(10), DRAFT_LEN);
        assert_eq!(Drafting::new(false).len(10), 0);
    }
}
