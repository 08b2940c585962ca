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

/// What a forward of 1 to `STEP_ROWS` rows has cost on this machine, a
/// running mean each. A row beside others is nearly free where memory is
/// slow and costs half a step or more where it is fast (1.41 against 1.97
/// steps for four rows, on two days of one machine), so the length that
/// pays is measured, not fixed. A count not yet seen is guessed cheap, so
/// it is tried and then known.
#[derive(Debug, Default, Clone, Copy)]
pub struct Costs {
    ms: [f32; crate::qmatmul::STEP_ROWS + 1],
    /// A length set by the caller (`EngineConfig::draft_len`) in place of
    /// the one the costs pick.
    pinned: Option<usize>,
}

impl Costs {
    /// Costs that always pick `len` tokens (as room allows): tests that
    /// must see drafts checked, whatever this machine's passes cost.
    pub fn pinned(len: usize) -> Self {
        Self { pinned: Some(len), ..Self::default() }
    }

    /// A forward of `rows` rows took `ms`.
    pub fn note(&mut self, rows: usize, ms: f32) {
        if let Some(c) = self.ms.get_mut(rows).filter(|_| rows > 0 && ms.is_finite() && ms > 0.0) {
            *c = if *c == 0.0 { ms } else { 0.8 * *c + 0.2 * ms };
        }
    }

    /// A forward of `rows`, in steps of one row: measured where both are,
    /// else the optimistic guess.
    fn steps(&self, rows: usize) -> f32 {
        let guess = 1.0 + 0.1 * (rows as f32 - 1.0);
        match (self.ms[1], self.ms.get(rows).copied().unwrap_or(0.0)) {
            (one, r) if one > 0.0 && r > 0.0 => r / one,
            _ => guess,
        }
    }
}

impl Drafting {
    pub fn new(on: bool) -> Self {
        Self { on, ..Self::default() }
    }

    /// How many tokens to draft now, at most `room`, beside `rows` rows the
    /// step runs anyway (its token's, and in a batch the others'): the
    /// length that makes the most tokens a millisecond, by the checks'
    /// costs and the share of drafted tokens taken so far (from a prior of
    /// two in three). None when a check would cost more than it saves.
    pub fn len(&self, room: usize, rows: usize, costs: &Costs) -> usize {
        if !self.on || rows == 0 || rows >= crate::qmatmul::STEP_ROWS {
            return 0;
        }
        let most = DRAFT_LEN.min(room).min(crate::qmatmul::STEP_ROWS.saturating_sub(rows));
        if let Some(k) = costs.pinned {
            return k.min(most);
        }
        let p = (self.accepted as f32 + 2.0) / (self.drafted as f32 + 3.0);
        // Each drafted token is taken only if those before it were.
        let rate = |k: usize| (rows as f32 + (1..=k).map(|j| p.powi(j as i32)).sum::<f32>()) / costs.steps(rows + k);
        (0..=most).fold(0, |best, k| if rate(k) > rate(best) { k } else { best })
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
        let free = Costs::default();
        let mut d = Drafting::new(true);
        assert_eq!(d.len(10, 1, &free), DRAFT_LEN, "untried lengths are guessed cheap");
        assert_eq!(d.len(1, 1, &free), 1);
        assert_eq!(d.len(10, 3, &free), 1, "one pass holds four rows");
        assert_eq!(d.len(10, 4, &free), 0);
        assert_eq!(d.len(10, 6, &free), 0, "a batch wider than a pass");
        d.drafted = 20;
        d.accepted = 16;
        assert_eq!(d.len(10, 1, &free), DRAFT_LEN);
        let mut fast = Costs::default();
        fast.note(1, 28.9);
        fast.note(2, 33.5);
        d.accepted = 0;
        assert_eq!(d.len(10, 1, &fast), 0, "none taken does not pay for a check of 1.16 steps");
        assert_eq!(Drafting::new(false).len(10, 1, &free), 0);
        // A pinned length holds where the costs say no, within the room.
        let mut pinned = Costs::pinned(2);
        pinned.note(1, 28.9);
        pinned.note(3, 90.0);
        assert_eq!(d.len(10, 1, &pinned), 2);
        assert_eq!(d.len(1, 1, &pinned), 1);
        assert_eq!(d.len(10, 3, &pinned), 1);
        assert_eq!(Drafting::new(false).len(10, 1, &pinned), 0);
    }

    #[test]
    fn the_length_follows_what_checks_cost() {
        let d = Drafting { on: true, drafted: 20, accepted: 8 };
        let mut slow = Costs::default();
        let mut fast = Costs::default();
        // Two days of one machine: rows nearly free, and not.
        for (r, (s, f)) in [(74.5, 28.9), (91.6, 33.5), (102.5, 48.6), (105.0, 56.8)].into_iter().enumerate() {
            slow.note(r + 1, s);
            fast.note(r + 1, f);
        }
        assert_eq!(d.len(10, 1, &slow), 3);
        assert_eq!(d.len(10, 1, &fast), 1);
        // A running mean: one odd measurement moves it a fifth of the way.
        let mut c = fast;
        c.note(2, 1000.0);
        assert!((c.ms[2] - (0.8 * 33.5 + 0.2 * 1000.0)).abs() < 1e-3);
        c.note(9, 5.0);
        c.note(2, f32::NAN);
        assert!((c.ms[2] - (0.8 * 33.5 + 0.2 * 1000.0)).abs() < 1e-3);
    }
}
