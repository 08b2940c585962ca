//! Q4_K weights repacked eight rows to a block, for AVX-512 VNNI, after
//! llama.cpp's `block_q4_Kx8`. In the file's layout each row applies its
//! sub-block scales per token through packs and permutes, so the kernel
//! spends more instructions on scales than on `vpdpbusd`. Here one vector
//! holds eight bytes of each of eight rows, a token's eight activation bytes
//! are broadcast against it, and each lane sums a whole sub-block of one
//! row: one multiply-add applies sixteen scales.
// A token's or row's counter indexes several buffers at once, lane by lane.
#![allow(clippy::needless_range_loop)]
use std::arch::x86_64::*;

use super::x86::{lanes32, prefetch_ahead, q4k_scales_and_mins_u8, Q4K, Q8K};

/// Eight rows' block of 256 weights.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct Q4Kx8 {
    /// Sub-block pair p (j = 2p, 2p+1), step m: 64 bytes, row r's bytes
    /// 32p+8m..+8 of its `qs` at 8r. Low nibbles are weights 32(2p)+8m+e of
    /// sub-block 2p, high nibbles the same of 2p+1: the file's own bytes.
    qs: [u8; 1024],
    /// Pair p: 16 bytes, lane l's scale (see `row` and `odd`).
    scales: [u8; 64],
    /// Half g: 32 i16 slots as u8, lane l's pair of mins for sub-blocks
    /// 4g+2odd(l) and 4g+2odd(l)+1.
    mins: [u8; 64],
    d: [f32; 8],
    dmin: [f32; 8],
}

const _: () = assert!(std::mem::size_of::<Q4Kx8>() == 1216);

/// The row an i32 lane of the accumulators sums, and whether it holds the
/// pair's odd sub-block: `_mm512_packs_epi32` interleaves the two.
const fn row(l: usize) -> usize {
    2 * (l / 4) + l % 2
}
const fn odd(l: usize) -> usize {
    (l / 2) % 2
}

/// Repacks `n` rows of `blocks` Q4_K blocks each (`n` a multiple of 8).
pub fn repack(w: &[Q4K], n: usize, blocks: usize) -> std::io::Result<super::packed::Packed<Q4Kx8>> {
    super::packed::Packed::repack(w, n, blocks, |src, o: &mut Q4Kx8| {
        let sm: [[u8; 16]; 8] = std::array::from_fn(|r| q4k_scales_and_mins_u8(src[r]));
        for p in 0..4 {
            for m in 0..4 {
                for (r, x) in src.iter().enumerate() {
                    let at = 256 * p + 64 * m + 8 * r;
                    o.qs[at..at + 8].copy_from_slice(&x.qs[32 * p + 8 * m..32 * p + 8 * m + 8]);
                }
            }
            for l in 0..16 {
                o.scales[16 * p + l] = sm[row(l)][2 * p + odd(l)];
            }
        }
        for g in 0..2 {
            for l in 0..16 {
                for e in 0..2 {
                    o.mins[32 * g + 2 * l + e] = sm[row(l)][8 + 4 * g + 2 * odd(l) + e];
                }
            }
        }
        for (r, x) in src.iter().enumerate() {
            o.d[r] = half::f16::from_bits(x.d).to_f32();
            o.dmin[r] = half::f16::from_bits(x.dmin).to_f32();
        }
    })
}

/// What the min term needs of each token's Q8_K block, laid out for the
/// lanes of `mins`: sub-block sums as pairs, one 128-bit lane per half.
pub fn sums(xs: &[Q8K], out: &mut Vec<[i16; 16]>) {
    out.clear();
    out.extend(xs.iter().map(|y| {
        let s: [i16; 8] = std::array::from_fn(|j| y.bsums[2 * j] + y.bsums[2 * j + 1]);
        let mut v = [0i16; 16];
        for g in 0..2 {
            for (i, &j) in [0, 1, 0, 1, 2, 3, 2, 3].iter().enumerate() {
                v[8 * g + i] = s[4 * g + j];
            }
        }
        v
    }));
}

/// Eight rows (`w`, one group's blocks) against tokens `ys[t * stride..]`,
/// t < N; `sums` indexed alike. Writes eight outputs per token.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn dot<const N: usize>(w: &[Q4Kx8], ys: &[Q8K], sums: &[[i16; 16]], stride: usize, out: &mut [[f32; 8]; N]) {
    let m4 = _mm512_set1_epi8(0xF);
    // Each lane's scale, both halves of an i16 pair, from one 16-byte row.
    let expand: [i8; 64] = std::array::from_fn(|i| {
        let (q, b) = (i / 16, i % 16);
        if b % 2 == 1 {
            -128 // zero
        } else {
            (4 * q + b / 4) as i8
        }
    });
    let expand = _mm512_loadu_si512(expand.as_ptr() as *const _);
    let to_lanes = lanes32(|l| row(l) as i32);
    let mut acc = [_mm512_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        prefetch_ahead(x);
        let mut dot = [_mm512_setzero_si512(); N];
        for p in 0..4 {
            let sc = _mm512_shuffle_epi8(
                _mm512_broadcast_i32x4(_mm_loadu_si128(x.scales.as_ptr().add(16 * p) as *const _)),
                expand,
            );
            let mut q = [_mm512_setzero_si512(); 8];
            for m in 0..4 {
                let raw = _mm512_loadu_si512(x.qs.as_ptr().add(256 * p + 64 * m) as *const _);
                q[m] = _mm512_and_si512(raw, m4);
                q[4 + m] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
            }
            for t in 0..N {
                let y = ys.get_unchecked(t * stride + b).qs.as_ptr().add(64 * p);
                let at = |o: usize| _mm512_set1_epi64((y.add(o) as *const i64).read_unaligned());
                let mut lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], at(0));
                let mut hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[4], at(32));
                for m in 1..4 {
                    lo = _mm512_dpbusd_epi32(lo, q[m], at(8 * m));
                    hi = _mm512_dpbusd_epi32(hi, q[4 + m], at(32 + 8 * m));
                }
                // Each lane sums 16 products of at most 15 x 128: no saturation.
                dot[t] = _mm512_dpwssd_epi32(dot[t], _mm512_packs_epi32(lo, hi), sc);
            }
        }
        let mins = [
            _mm512_cvtepu8_epi16(_mm256_loadu_si256(x.mins.as_ptr() as *const _)),
            _mm512_cvtepu8_epi16(_mm256_loadu_si256(x.mins.as_ptr().add(32) as *const _)),
        ];
        let d = _mm512_permutexvar_ps(to_lanes, _mm512_castps256_ps512(_mm256_loadu_ps(x.d.as_ptr())));
        let dmin = _mm512_permutexvar_ps(to_lanes, _mm512_castps256_ps512(_mm256_loadu_ps(x.dmin.as_ptr())));
        for t in 0..N {
            let s = sums.get_unchecked(t * stride + b).as_ptr();
            let m = _mm512_dpwssd_epi32(
                _mm512_madd_epi16(mins[0], _mm512_broadcast_i32x4(_mm_loadu_si128(s as *const _))),
                mins[1],
                _mm512_broadcast_i32x4(_mm_loadu_si128(s.add(8) as *const _)),
            );
            let dy = _mm512_set1_ps(ys.get_unchecked(t * stride + b).d);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), _mm512_mul_ps(d, dy), acc[t]);
            acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(dmin, dy), acc[t]);
        }
    }
    // Lanes l and l+2 of each 128-bit lane hold the same row.
    let gather = lanes32(|l| [0, 1, 4, 5, 8, 9, 12, 13][l % 8]);
    for t in 0..N {
        let v = _mm512_add_ps(acc[t], _mm512_permute_ps::<0x4E>(acc[t]));
        _mm256_storeu_ps(out[t].as_mut_ptr(), _mm512_castps512_ps256(_mm512_permutexvar_ps(gather, v)));
    }
}
