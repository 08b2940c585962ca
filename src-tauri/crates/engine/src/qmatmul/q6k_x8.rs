//! Q6_K weights repacked eight rows to a block, for AVX-512 VNNI (see
//! `q4k_x8` for why). A Q6_K sub-block is 16 weights, so one vector holds
//! one sub-block of four rows, each lane four of its weights, and the
//! token's 16 activation bytes are broadcast to every 128-bit lane. A lane
//! sums four products of at most 63 x 128, which packs to i16 unsaturated,
//! and one multiply-add then applies sixteen scales.
// A token's or row's counter indexes several buffers at once, lane by lane.
#![allow(clippy::needless_range_loop)]
use std::arch::x86_64::*;

use super::x86::{lanes16, lanes32, prefetch_ahead, Q6K, Q8K};

/// Eight rows' block of 256 weights, as unsigned 6-bit values (the file's
/// value + 32).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Q6Kx8 {
    /// Sub-block j: 64 bytes. Byte i holds the low four bits of weight
    /// 16j + i%16 of row i/16 (low nibble) and of row 4 + i/16 (high).
    ql: [u8; 1024],
    /// Sub-blocks 2p and 2p+1: 64 bytes, the high two bits of the same
    /// weights: rows 0-3 and 4-7 of 2p in bits 0-1 and 2-3, of 2p+1 in
    /// 4-5 and 6-7.
    qh: [u8; 512],
    /// Scale of sub-block j, row r, at 8j + r.
    scales: [i8; 128],
    d: [f32; 8],
}

const _: () = assert!(std::mem::size_of::<Q6Kx8>() == 1696);

/// The row an i32 lane of the accumulators sums: after the pack, lanes
/// 4q and 4q+1 hold row q, lanes 4q+2 and 4q+3 row 4+q.
const fn row(l: usize) -> usize {
    if l % 4 < 2 {
        l / 4
    } else {
        4 + l / 4
    }
}

/// A row's 256 weights, unsigned, in order (ggml's `dequantize_row_q6_K`).
fn unpack(x: &Q6K) -> [u8; 256] {
    let mut q = [0u8; 256];
    for h in 0..2 {
        let (ql, qh) = (&x.ql[64 * h..], &x.qh[32 * h..]);
        for l in 0..32 {
            let y = &mut q[128 * h..];
            y[l] = (ql[l] & 0xF) | ((qh[l] & 3) << 4);
            y[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
            y[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            y[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    q
}

/// Repacks `n` rows of `blocks` Q6_K blocks each (`n` a multiple of 8).
pub fn repack(w: &[Q6K], n: usize, blocks: usize) -> std::io::Result<super::packed::Packed<Q6Kx8>> {
    super::packed::Packed::repack(w, n, blocks, |src, o: &mut Q6Kx8| {
        let q: [[u8; 256]; 8] = std::array::from_fn(|r| unpack(src[r]));
        for j in 0..16 {
            for i in 0..64 {
                let (a, bb) = (q[i / 16][16 * j + i % 16], q[4 + i / 16][16 * j + i % 16]);
                o.ql[64 * j + i] = (a & 0xF) | (bb & 0xF) << 4;
                o.qh[64 * (j / 2) + i] |= ((a >> 4) | (bb >> 4) << 2) << (4 * (j % 2));
            }
            for r in 0..8 {
                o.scales[8 * j + r] = src[r].scales[j];
            }
        }
        for (r, x) in src.iter().enumerate() {
            o.d[r] = half::f16::from_bits(x.d).to_f32();
        }
    })
}

/// Eight rows (`w`, one group's blocks) against tokens `ys[t * stride..]`,
/// t < N. Writes eight outputs per token.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn dot<const N: usize>(w: &[Q6Kx8], ys: &[Q8K], stride: usize, out: &mut [[f32; 8]; N]) {
    let (m4, m30) = (_mm512_set1_epi8(0xF), _mm512_set1_epi8(0x30));
    // Scales come as i16 at 8(j % 4) + r of vector j / 4. Sub-block j's
    // vector gives both halves of lane l the scale of row(l)...
    let sc_idx: [__m512i; 4] = std::array::from_fn(|jj| lanes16(|s| (8 * jj + row(s / 2)) as i16));
    // ... and for the -32 term, lane l pairs sub-blocks 4v + 2(l % 2) and
    // the next, against activation sums broadcast four at a time.
    let corr_idx = lanes16(|s| {
        let l = s / 2;
        (8 * (2 * (l % 2) + s % 2) + row(l)) as i16
    });
    let to_lanes = lanes32(|l| row(l) as i32);
    let mut acc = [_mm512_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        prefetch_ahead(x);
        let sc16: [__m512i; 4] = std::array::from_fn(|v| {
            _mm512_cvtepi8_epi16(_mm256_loadu_si256(x.scales.as_ptr().add(32 * v) as *const _))
        });
        // At one token, two chains: the multiply-adds' latency, not their
        // throughput, bounded a single one.
        let mut dot = [[_mm512_setzero_si512(); N]; 2];
        for p in 0..8 {
            let h = _mm512_loadu_si512(x.qh.as_ptr().add(64 * p) as *const _);
            let hs = [[_mm512_slli_epi16(h, 4), _mm512_slli_epi16(h, 2)], [h, _mm512_srli_epi16(h, 2)]];
            for (jj, hs) in hs.iter().enumerate() {
                let j = 2 * p + jj;
                let l = _mm512_loadu_si512(x.ql.as_ptr().add(64 * j) as *const _);
                let qa = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(hs[0], m30));
                let qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_and_si512(hs[1], m30));
                let sc = _mm512_permutexvar_epi16(sc_idx[j % 4], sc16[j / 4]);
                for t in 0..N {
                    let y = ys.get_unchecked(t * stride + b);
                    let a = _mm512_broadcast_i32x4(_mm_loadu_si128(y.qs.as_ptr().add(16 * j) as *const _));
                    let pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qa, a);
                    let pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qb, a);
                    let k = if N < 8 { jj } else { 0 };
                    dot[k][t] = _mm512_dpwssd_epi32(dot[k][t], _mm512_packs_epi32(pa, pb), sc);
                }
            }
        }
        let corr: [__m512i; 4] = std::array::from_fn(|v| _mm512_permutexvar_epi16(corr_idx, sc16[v]));
        let d = _mm512_permutexvar_ps(to_lanes, _mm512_castps256_ps512(_mm256_loadu_ps(x.d.as_ptr())));
        for t in 0..N {
            let y = ys.get_unchecked(t * stride + b);
            let mut c = _mm512_setzero_si512();
            for (v, corr) in corr.iter().enumerate() {
                let s = _mm512_set1_epi64((y.bsums.as_ptr().add(4 * v) as *const i64).read_unaligned());
                c = _mm512_dpwssd_epi32(c, *corr, s);
            }
            let sumi = _mm512_sub_epi32(_mm512_add_epi32(dot[0][t], dot[1][t]), _mm512_slli_epi32(c, 5));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_mul_ps(d, _mm512_set1_ps(y.d)), acc[t]);
        }
    }
    // Lanes 4q and 4q+1 hold row q, 4q+2 and 4q+3 row 4+q.
    let gather = lanes32(|l| [0, 4, 8, 12, 2, 6, 10, 14][l % 8]);
    for (t, o) in out.iter_mut().enumerate() {
        let v = _mm512_add_ps(acc[t], _mm512_permute_ps::<0xB1>(acc[t]));
        _mm256_storeu_ps(o.as_mut_ptr(), _mm512_castps512_ps256(_mm512_permutexvar_ps(gather, v)));
    }
}
