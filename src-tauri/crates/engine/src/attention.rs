//! Causal attention over an f16 key/value cache: the CPU path.
//!
//! f16 halves what decode reads per token at long contexts, as llama.cpp's
//! default cache does. Keys are stored in tiles of `TILE` positions,
//! transposed (`[dim][TILE]`), so a tile's scores against a query are
//! lane-wise products with no horizontal sums. Values are stored by
//! position. The query heads that share a kv head are scored together, so
//! each tile is converted from f16 once for all of them; only keys up to a
//! query's own position are read (the causal half, not a mask).
use std::cell::RefCell;

use half::f16;
use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
use rayon::prelude::*;

use crate::vecmath::exp_le0;

/// Positions per key tile: 32 f32 lanes, four AVX2 vectors.
const TILE: usize = 32;

/// One stretch of cached positions: `[layer][kv head][ctx / TILE][dim][TILE]`
/// keys and `[layer][kv head][ctx][dim]` values, f16 bits.
struct Store {
    k: Vec<u16>,
    v: Vec<u16>,
    /// A multiple of `TILE`.
    ctx: usize,
}

/// The cache: the main sequence, and branches that continue it. A branch
/// reads the main sequence's first `shared` positions and holds its own
/// after them, so the candidates of one request decode together over one
/// prompt without copying it.
pub struct KvCache {
    main: Store,
    branches: Vec<Branch>,
    layers: usize,
    kv_heads: usize,
    dim: usize,
}

struct Branch {
    store: Store,
    shared: usize,
}

/// Where a forward's rows go: consecutive positions of the main sequence
/// from `pos`, or one `(branch, position)` per row.
#[derive(Clone, Copy)]
pub enum Rows<'a> {
    Main(usize),
    Branches(&'a [(usize, usize)]),
}

impl Rows<'_> {
    /// Row `i`'s branch (None: the main sequence) and position.
    #[inline]
    pub fn at(&self, i: usize) -> (Option<usize>, usize) {
        match *self {
            Rows::Main(pos) => (None, pos + i),
            Rows::Branches(rows) => (Some(rows[i].0), rows[i].1),
        }
    }
}

/// A segment of positions attended to: `n` keys and values of one kv head.
#[derive(Clone, Copy)]
struct Seg<'a> {
    k: &'a [u16],
    v: &'a [u16],
    n: usize,
}

/// Per-thread buffers: one tile in f32, the scaled queries, the scores.
#[derive(Default)]
struct Scratch {
    tile: Vec<f32>,
    q: Vec<f32>,
    scores: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Store {
    fn new(layers: usize, kv_heads: usize, ctx: usize, dim: usize) -> Self {
        let ctx = ctx.div_ceil(TILE) * TILE;
        let n = layers * kv_heads * ctx * dim;
        // Zeroed allocations: pages are only touched as positions fill.
        Self { k: vec![0; n], v: vec![0; n], ctx }
    }

    fn head(&self, layer: usize, kv_heads: usize, kv: usize, dim: usize) -> std::ops::Range<usize> {
        let at = (layer * kv_heads + kv) * self.ctx * dim;
        at..at + self.ctx * dim
    }
}

impl KvCache {
    pub fn new(layers: usize, kv_heads: usize, ctx: usize, dim: usize) -> Self {
        Self { main: Store::new(layers, kv_heads, ctx, dim), branches: Vec::new(), layers, kv_heads, dim }
    }

    /// Makes branch `b` continue the main sequence's first `shared`
    /// positions, with room for `room` of its own; its old ones are void.
    pub fn fork(&mut self, b: usize, shared: usize, room: usize) {
        let (layers, kvh, dim) = (self.layers, self.kv_heads, self.dim);
        while self.branches.len() <= b {
            self.branches.push(Branch { store: Store::new(layers, kvh, 0, dim), shared: 0 });
        }
        let br = &mut self.branches[b];
        if br.store.ctx < room {
            br.store = Store::new(layers, kvh, room, dim);
        }
        br.shared = shared;
    }

    /// Branch `to` becomes a copy of branch `from`'s first `len` own
    /// positions (another candidate for the same prompt tail).
    pub fn copy_branch(&mut self, from: usize, to: usize, len: usize) {
        if from == to {
            return;
        }
        let room = self.branches[from].store.ctx;
        let shared = self.branches[from].shared;
        self.fork(to, shared, room);
        let (kvh, d) = (self.kv_heads, self.dim);
        let tiles = len.div_ceil(TILE) * TILE;
        let (a, b) = (from.min(to), from.max(to));
        let (lo, hi) = self.branches.split_at_mut(b);
        let (src, dst) = if from < to { (&lo[a].store, &mut hi[0].store) } else { (&hi[0].store, &mut lo[a].store) };
        for layer in 0..self.layers {
            for kv in 0..kvh {
                let (rs, rd) = (src.head(layer, kvh, kv, d), dst.head(layer, kvh, kv, d));
                dst.k[rd.start..rd.start + tiles * d].copy_from_slice(&src.k[rs.start..rs.start + tiles * d]);
                dst.v[rd.start..rd.start + len * d].copy_from_slice(&src.v[rs.start..rs.start + len * d]);
            }
        }
    }

    /// Whether branch `b` exists and has room for its position `p` (after
    /// the positions it shares).
    pub fn holds(&self, b: usize, p: usize) -> bool {
        self.branches.get(b).is_some_and(|br| p >= br.shared && p - br.shared < br.store.ctx)
    }

    /// The main-sequence positions branch `b` reads (0 for none).
    pub fn shared(&self, b: usize) -> usize {
        self.branches.get(b).map_or(0, |br| br.shared)
    }

    /// The store row `i` is written to, and its place there.
    fn place(&mut self, rows: Rows, i: usize) -> (&mut Store, usize) {
        match rows.at(i) {
            (None, p) => (&mut self.main, p),
            (Some(b), p) => {
                let br = &mut self.branches[b];
                (&mut br.store, p - br.shared)
            }
        }
    }

    /// Stores `k` and `v` (t rows of kv_heads x dim) at positions `pos..`.
    #[cfg(test)]
    pub fn write(&mut self, layer: usize, pos: usize, k: &[f32], v: &[f32]) {
        self.write_rows(layer, Rows::Main(pos), k, v)
    }

    /// Stores `k` and `v` (a row of kv_heads x dim per row of `rows`).
    pub fn write_rows(&mut self, layer: usize, rows: Rows, k: &[f32], v: &[f32]) {
        let (d, kvh) = (self.dim, self.kv_heads);
        for (i, (kr, vr)) in k.chunks_exact(kvh * d).zip(v.chunks_exact(kvh * d)).enumerate() {
            let (store, p) = self.place(rows, i);
            for kv in 0..kvh {
                let r = store.head(layer, kvh, kv, d);
                let tile = &mut store.k[r.clone()][p / TILE * TILE * d..];
                for (c, &x) in kr[kv * d..(kv + 1) * d].iter().enumerate() {
                    tile[c * TILE + p % TILE] = f16::from_f32(x).to_bits();
                }
                let row: &mut [f16] = store.v[r][p * d..(p + 1) * d].reinterpret_cast_mut();
                row.convert_from_f32_slice(&vr[kv * d..(kv + 1) * d]);
            }
        }
    }

    /// Causal attention of `q` (t rows of `heads` x dim, at positions
    /// `pos..`) over the cached positions up to each row's own, into `out`
    /// (the same shape). Heads `kv * g..(kv + 1) * g` share kv head `kv`.
    #[cfg(test)]
    pub fn attend(&self, layer: usize, q: &[f32], pos: usize, heads: usize, scale: f32, out: &mut [f32]) {
        self.attend_rows(layer, q, Rows::Main(pos), heads, scale, out)
    }

    /// As `attend`, each row over its own sequence: a branch's row over
    /// the shared positions, then its own up to its position.
    pub fn attend_rows(&self, layer: usize, q: &[f32], rows: Rows, heads: usize, scale: f32, out: &mut [f32]) {
        let (d, kvh) = (self.dim, self.kv_heads);
        let g = heads / kvh;
        debug_assert!(q.len() == out.len() && q.len().is_multiple_of(heads * d));
        // One task per (row, kv head): its `g` heads are contiguous in `out`.
        out.par_chunks_mut(g * d).enumerate().for_each(|(task, out)| {
            let (i, kv) = (task / kvh, task % kvh);
            let q = &q[(i * heads + kv * g) * d..][..g * d];
            fn seg(s: &Store, layer: usize, kvh: usize, kv: usize, d: usize, n: usize) -> Seg<'_> {
                let r = s.head(layer, kvh, kv, d);
                Seg { k: &s.k[r.clone()], v: &s.v[r], n }
            }
            let seg = |s, n| seg(s, layer, kvh, kv, d, n);
            let (segs, count) = match rows.at(i) {
                (None, p) => ([seg(&self.main, p + 1), seg(&self.main, 0)], 1),
                (Some(b), p) => {
                    let br = &self.branches[b];
                    ([seg(&self.main, br.shared), seg(&br.store, p - br.shared + 1)], 2)
                }
            };
            SCRATCH.with(|s| head(&segs[..count], q, g, d, scale, &mut s.borrow_mut(), out));
        });
    }
}

/// `g` query heads against the segments of one kv head, in order.
fn head(segs: &[Seg], q: &[f32], g: usize, d: usize, scale: f32, s: &mut Scratch, out: &mut [f32]) {
    // Each segment's scores start at a whole tile.
    let stride: usize = segs.iter().map(|x| x.n.div_ceil(TILE) * TILE).sum();
    s.q.clear();
    s.q.extend(q.iter().map(|x| x * scale));
    s.scores.resize(g * stride, 0.0);
    s.tile.resize(TILE * d, 0.0);

    let mut off = 0;
    for (si, seg) in segs.iter().enumerate() {
        let (k, n) = (seg.k, seg.n);
        let tiles = n.div_ceil(TILE);
        for b in 0..tiles {
            let kt: &[f16] = k[b * TILE * d..(b + 1) * TILE * d].reinterpret_cast();
            if b + 1 < tiles {
                prefetch(&k[(b + 1) * TILE * d..(b + 2) * TILE * d]);
            } else if let Some(next) = segs.get(si + 1).filter(|x| x.n > 0) {
                prefetch(&next.k[..TILE * d]);
            } else {
                prefetch(&segs[0].v[..(segs[0].n.min(TILE) * d)]);
            }
            kt.convert_to_f32_slice(&mut s.tile);
            // Two heads at a time: eight independent FMA chains.
            let mut h = 0;
            while h + 2 <= g {
                let acc = scores::<2>(&s.q[h * d..(h + 2) * d], &s.tile, d);
                for (k, a) in acc.iter().enumerate() {
                    s.scores[(h + k) * stride + off + b * TILE..][..TILE].copy_from_slice(a);
                }
                h += 2;
            }
            if h < g {
                let [a] = scores::<1>(&s.q[h * d..(h + 1) * d], &s.tile, d);
                s.scores[h * stride + off + b * TILE..][..TILE].copy_from_slice(&a);
            }
        }
        off += tiles * TILE;
    }

    let mut sums = [0f32; 16];
    let sums = if g <= 16 { &mut sums[..g] } else { return head_many(segs, g, d, stride, s, out) };
    for (h, sum) in sums.iter_mut().enumerate() {
        *sum = softmax_unnormalized(&mut s.scores[h * stride..(h + 1) * stride], segs);
    }

    out.fill(0.0);
    let mut off = 0;
    for seg in segs {
        let (v, n) = (seg.v, seg.n);
        let tiles = n.div_ceil(TILE);
        for b in 0..tiles {
            let rows = (n - b * TILE).min(TILE);
            let vt: &[f16] = v[b * TILE * d..(b * TILE + rows) * d].reinterpret_cast();
            if b + 1 < tiles {
                prefetch(&v[(b + 1) * TILE * d..((b + 1) * TILE + (n - (b + 1) * TILE).min(TILE)) * d]);
            }
            vt.convert_to_f32_slice(&mut s.tile[..rows * d]);
            let at = off + b * TILE;
            let mut h = 0;
            while h + 2 <= g {
                let p = [&s.scores[h * stride + at..][..rows], &s.scores[(h + 1) * stride + at..][..rows]];
                accumulate(&s.tile[..rows * d], p, d, &mut out[h * d..(h + 2) * d]);
                h += 2;
            }
            if h < g {
                let p = [&s.scores[h * stride + at..][..rows]];
                accumulate(&s.tile[..rows * d], p, d, &mut out[h * d..(h + 1) * d]);
            }
        }
        off += tiles * TILE;
    }
    for (h, sum) in sums.iter().enumerate() {
        let inv = 1.0 / sum;
        out[h * d..(h + 1) * d].iter_mut().for_each(|x| *x *= inv);
    }
}

/// More query heads per kv head than `head` keeps sums for on the stack.
#[cold]
fn head_many(segs: &[Seg], g: usize, d: usize, stride: usize, s: &mut Scratch, out: &mut [f32]) {
    out.fill(0.0);
    let mut row = vec![0f32; d];
    for h in 0..g {
        let scores = &mut s.scores[h * stride..(h + 1) * stride];
        let inv = 1.0 / softmax_unnormalized(scores, segs);
        let mut off = 0;
        for seg in segs {
            for j in 0..seg.n {
                let vr: &[f16] = seg.v[j * d..(j + 1) * d].reinterpret_cast();
                vr.convert_to_f32_slice(&mut row);
                let p = scores[off + j] * inv;
                for (o, x) in out[h * d..(h + 1) * d].iter_mut().zip(&row) {
                    *o = p.mul_add(*x, *o);
                }
            }
            off += seg.n.div_ceil(TILE) * TILE;
        }
    }
}

/// One head's scores (the segments' in turn, each from a whole tile)
/// become `exp(x - max)`; returns their sum. Tile padding is left alone.
fn softmax_unnormalized(scores: &mut [f32], segs: &[Seg]) -> f32 {
    let mut max = f32::NEG_INFINITY;
    let mut off = 0;
    for seg in segs {
        max = max.max(crate::vecmath::max(&scores[off..off + seg.n]));
        off += seg.n.div_ceil(TILE) * TILE;
    }
    let mut sum = 0.0;
    let mut off = 0;
    for seg in segs {
        sum += exp_sum(&mut scores[off..off + seg.n], max);
        off += seg.n.div_ceil(TILE) * TILE;
    }
    sum
}

/// `xs` becomes `exp(xs - max)`; returns their sum. In lanes, so that
/// the loops vectorize.
fn exp_sum(xs: &mut [f32], max: f32) -> f32 {
    const L: usize = 16;
    let mut acc = [0f32; L];
    let mut chunks = xs.chunks_exact_mut(L);
    for c in &mut chunks {
        for l in 0..L {
            c[l] = exp_le0(c[l] - max);
            acc[l] += c[l];
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for x in chunks.into_remainder() {
        *x = exp_le0(*x - max);
        sum += *x;
    }
    sum
}

/// Asks for `xs` to be brought into the cache: the next tile is read while
/// this one is computed.
#[inline(always)]
fn prefetch(xs: &[u16]) {
    #[cfg(target_arch = "x86_64")]
    for line in xs.chunks(32) {
        // SAFETY: a prefetch of a valid address has no effect but on caches.
        unsafe { std::arch::x86_64::_mm_prefetch(line.as_ptr().cast(), std::arch::x86_64::_MM_HINT_T0) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = xs;
}

/// Scores of `H` heads (`q`, H x d) against a tile (`[d][TILE]`).
#[inline(always)]
fn scores<const H: usize>(q: &[f32], tile: &[f32], d: usize) -> [[f32; TILE]; H] {
    let mut acc = [[0f32; TILE]; H];
    for c in 0..d {
        let row: &[f32; TILE] = tile[c * TILE..(c + 1) * TILE].try_into().unwrap();
        for (h, acc) in acc.iter_mut().enumerate() {
            let qc = q[h * d + c];
            for l in 0..TILE {
                acc[l] = qc.mul_add(row[l], acc[l]);
            }
        }
    }
    acc
}

/// For each of `H` heads, `out[h] += sum_j p[h][j] * rows[j]`, rows of `d`,
/// in channel blocks that stay in registers.
#[inline(always)]
fn accumulate<const H: usize>(rows: &[f32], p: [&[f32]; H], d: usize, out: &mut [f32]) {
    const W: usize = 32;
    let mut c0 = 0;
    while c0 + W <= d {
        let mut acc: [[f32; W]; H] = std::array::from_fn(|h| out[h * d + c0..h * d + c0 + W].try_into().unwrap());
        for j in 0..p[0].len() {
            let r: &[f32; W] = rows[j * d + c0..j * d + c0 + W].try_into().unwrap();
            for (h, acc) in acc.iter_mut().enumerate() {
                let pj = p[h][j];
                for l in 0..W {
                    acc[l] = pj.mul_add(r[l], acc[l]);
                }
            }
        }
        for (h, acc) in acc.iter().enumerate() {
            out[h * d + c0..h * d + c0 + W].copy_from_slice(acc);
        }
        c0 += W;
    }
    for (h, p) in p.iter().enumerate() {
        for c in c0..d {
            out[h * d + c] += p.iter().enumerate().map(|(j, &pj)| pj * rows[j * d + c]).sum::<f32>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention in f64 over f16-rounded keys and values, as a reference.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        ks: &[Vec<f32>],
        vs: &[Vec<f32>],
        q: &[f32],
        pos: usize,
        heads: usize,
        kvh: usize,
        d: usize,
        scale: f32,
    ) -> Vec<f32> {
        let r = |x: f32| f16::from_f32(x).to_f32() as f64;
        let g = heads / kvh;
        let t = q.len() / (heads * d);
        let mut out = vec![0f32; q.len()];
        for i in 0..t {
            for h in 0..heads {
                let kv = h / g;
                let qh = &q[(i * heads + h) * d..][..d];
                let n = pos + i + 1;
                let sc: Vec<f64> = (0..n)
                    .map(|j| (0..d).map(|c| qh[c] as f64 * r(ks[j][kv * d + c])).sum::<f64>() * scale as f64)
                    .collect();
                let max = sc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = sc.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = e.iter().sum();
                for c in 0..d {
                    let y: f64 = (0..n).map(|j| e[j] * r(vs[j][kv * d + c])).sum::<f64>() / sum;
                    out[(i * heads + h) * d + c] = y as f32;
                }
            }
        }
        out
    }

    fn values(seed: u64, n: usize, amp: f32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * amp
            })
            .collect()
    }

    /// Prefill in two chunks and decode after them, against the reference,
    /// for head shapes of the test models and one past `head`'s stack sums
    /// and a dimension that is not a multiple of the channel block.
    #[test]
    fn matches_naive_attention_across_tiles_chunks_and_head_shapes() {
        for &(heads, kvh, d) in &[(12, 2, 128), (14, 2, 64), (4, 4, 48), (18, 1, 40)] {
            let layers = 2;
            let mut cache = KvCache::new(layers, kvh, 200, d);
            let scale = 1.0 / (d as f32).sqrt();
            let (mut ks, mut vs) = (Vec::new(), Vec::new());
            let mut pos = 0;
            // 37 positions (a tile and a part), then 40 more, then one.
            for (step, t) in [37usize, 40, 1].into_iter().enumerate() {
                let k = values(step as u64 * 3 + 1, t * kvh * d, 6.0);
                let v = values(step as u64 * 3 + 2, t * kvh * d, 2.0);
                let q = values(step as u64 * 3 + 3, t * heads * d, 6.0);
                for i in 0..t {
                    ks.push(k[i * kvh * d..(i + 1) * kvh * d].to_vec());
                    vs.push(v[i * kvh * d..(i + 1) * kvh * d].to_vec());
                }
                // Layer 1 holds other values: layers must not mix.
                cache.write(1, pos, &v, &k);
                cache.write(0, pos, &k, &v);
                let mut out = vec![f32::NAN; q.len()];
                cache.attend(0, &q, pos, heads, scale, &mut out);
                let want = naive(&ks, &vs, &q, pos, heads, kvh, d, scale);
                for (j, (a, b)) in out.iter().zip(&want).enumerate() {
                    assert!((a - b).abs() < 2e-3, "{heads}/{kvh}x{d}, step {step}, [{j}]: {a} vs {b}");
                }
                pos += t;
            }
        }
    }

    /// A shorter sequence after a longer one reads none of the stale keys.
    #[test]
    fn stale_positions_past_the_query_are_not_read() {
        let (heads, kvh, d) = (2, 1, 32);
        let mut cache = KvCache::new(1, kvh, 64, d);
        let big = values(9, 40 * d, 1e4);
        cache.write(0, 0, &big, &big);
        let k = values(1, 3 * d, 2.0);
        let v = values(2, 3 * d, 2.0);
        cache.write(0, 0, &k, &v);
        let q = values(3, 3 * heads * d, 2.0);
        let mut out = vec![0f32; q.len()];
        cache.attend(0, &q, 0, heads, 0.2, &mut out);
        let rows = |x: &[f32]| x.chunks(d).map(|r| r.to_vec()).collect::<Vec<_>>();
        let want = naive(&rows(&k), &rows(&v), &q, 0, heads, kvh, d, 0.2);
        for (a, b) in out.iter().zip(&want) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }

    /// Branches over a shared prefix attend as if each held the prefix:
    /// the same as one sequence of prefix and branch, against the reference,
    /// also for a branch copied from another and rows of several branches
    /// in one call.
    #[test]
    fn branches_read_the_shared_prefix_and_their_own_positions() {
        for &(heads, kvh, d) in &[(12, 2, 128), (18, 1, 40)] {
            let mut cache = KvCache::new(1, kvh, 128, d);
            let scale = 1.0 / (d as f32).sqrt();
            let rows = |x: &[f32], w: usize| x.chunks(w).map(|r| r.to_vec()).collect::<Vec<_>>();
            // A 45-position prompt in the main sequence; branches from 40.
            let (pk, pv) = (values(1, 45 * kvh * d, 6.0), values(2, 45 * kvh * d, 2.0));
            cache.write(0, 0, &pk, &pv);
            let shared = 40;
            cache.fork(0, shared, 50);
            // Branch 0 gets a 5-position tail of its own, branch 1 a copy.
            let (tk, tv) = (values(3, 5 * kvh * d, 6.0), values(4, 5 * kvh * d, 2.0));
            let tail: Vec<(usize, usize)> = (shared..shared + 5).map(|p| (0, p)).collect();
            cache.write_rows(0, Rows::Branches(&tail), &tk, &tv);
            cache.copy_branch(0, 1, 5);
            // Then one new position in each, with different keys.
            let (nk, nv) = (values(5, 2 * kvh * d, 6.0), values(6, 2 * kvh * d, 2.0));
            let step = [(0, shared + 5), (1, shared + 5)];
            cache.write_rows(0, Rows::Branches(&step), &nk, &nv);
            let q = values(7, 2 * heads * d, 6.0);
            let mut out = vec![f32::NAN; q.len()];
            cache.attend_rows(0, &q, Rows::Branches(&step), heads, scale, &mut out);
            let w = kvh * d;
            for b in 0..2 {
                let mut ks = rows(&pk[..shared * w], w);
                let mut vs = rows(&pv[..shared * w], w);
                ks.extend(rows(&tk, w));
                vs.extend(rows(&tv, w));
                ks.push(nk[b * w..(b + 1) * w].to_vec());
                vs.push(nv[b * w..(b + 1) * w].to_vec());
                let qb = &q[b * heads * d..(b + 1) * heads * d];
                let want = naive(&ks, &vs, qb, shared + 5, heads, kvh, d, scale);
                for (j, (a, b2)) in out[b * heads * d..(b + 1) * heads * d].iter().zip(&want).enumerate() {
                    assert!((a - b2).abs() < 2e-3, "{heads}/{kvh}x{d} branch {b} [{j}]: {a} vs {b2}");
                }
            }
            // The main sequence is untouched by the branches.
            let q = values(8, heads * d, 6.0);
            let mut out = vec![0f32; q.len()];
            cache.attend(0, &q, 44, heads, scale, &mut out);
            let want = naive(&rows(&pk, w), &rows(&pv, w), &q, 44, heads, kvh, d, scale);
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() < 2e-3, "main: {a} vs {b}");
            }
        }
    }
}
