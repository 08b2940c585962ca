//! Q8_0 and Q5_0 weights repacked eight rows to a block, for AVX-512 VNNI
//! (see `q4k_x8` for why). Their blocks are 32 weights with one scale, so
//! each lane of a vector holds four weights of one row, a token's eight
//! activation bytes are broadcast against it, and four `vpdpbusd` make a
//! block's eight dot products before one multiply-add applies the scales.
//! Weights are stored unsigned (+128 or +16); the sum starts at minus that
//! offset times the activations' sum, which leaves the signed product.
// A token's or row's counter indexes several buffers at once, lane by lane.
#![allow(clippy::needless_range_loop)]
use std::arch::x86_64::*;

use super::x86::{lanes32, prefetch_ahead, Q5_0, Q8_0};

/// Eight rows' block of 32 Q8_0 weights. Vector m (64 bytes) holds
/// weights 8m..8m+8 of row r at 8r, each + 128.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Q8_0x8 {
    qs: [u8; 256],
    d: [u16; 8],
}

/// Eight rows' block of 32 Q5_0 weights, each + 16 (0..31), laid out as in
/// `Q8_0x8`: the low four bits of vectors m and m+2 share 64 bytes, and
/// `qh` is one bit mask per vector for the fifth bit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Q5_0x8 {
    qs: [u8; 128],
    qh: [u64; 4],
    d: [u16; 8],
}

const _: () = assert!(std::mem::size_of::<Q8_0x8>() == 8 * std::mem::size_of::<Q8_0>());
const _: () = assert!(std::mem::size_of::<Q5_0x8>() == 8 * std::mem::size_of::<Q5_0>());

pub trait Block32: Copy + Send + Sync {
    /// What each weight was raised by to make it unsigned.
    const OFFSET: i32;
    /// The four weight vectors.
    unsafe fn weights(&self) -> [__m512i; 4];
    fn d(&self) -> &[u16; 8];
}

impl Block32 for Q8_0x8 {
    const OFFSET: i32 = 128;
    #[inline(always)]
    unsafe fn weights(&self) -> [__m512i; 4] {
        std::array::from_fn(|m| _mm512_loadu_si512(self.qs.as_ptr().add(64 * m) as *const _))
    }
    fn d(&self) -> &[u16; 8] {
        &self.d
    }
}

impl Block32 for Q5_0x8 {
    const OFFSET: i32 = 16;
    #[inline(always)]
    unsafe fn weights(&self) -> [__m512i; 4] {
        let m4 = _mm512_set1_epi8(0xF);
        let bit = _mm512_set1_epi8(0x10);
        let lo = _mm512_loadu_si512(self.qs.as_ptr() as *const _);
        let hi = _mm512_loadu_si512(self.qs.as_ptr().add(64) as *const _);
        let v = [
            _mm512_and_si512(lo, m4),
            _mm512_and_si512(hi, m4),
            _mm512_and_si512(_mm512_srli_epi16(lo, 4), m4),
            _mm512_and_si512(_mm512_srli_epi16(hi, 4), m4),
        ];
        std::array::from_fn(|m| or_where(v[m], self.qh[m], bit))
    }
    fn d(&self) -> &[u16; 8] {
        &self.d
    }
}

/// `v` with `bit` or-ed into the bytes that `mask` selects.
#[inline(always)]
unsafe fn or_where(v: __m512i, mask: u64, bit: __m512i) -> __m512i {
    _mm512_or_si512(v, _mm512_maskz_mov_epi8(mask, bit))
}

/// Eight rows' weights as vectors: `at(r, i)` is row r's weight i, unsigned.
fn vectors(at: impl Fn(usize, usize) -> u8) -> [[u8; 64]; 4] {
    std::array::from_fn(|m| std::array::from_fn(|i| at(i / 8, 8 * m + i % 8)))
}

pub fn repack_q8_0(w: &[Q8_0], n: usize, blocks: usize) -> std::io::Result<super::packed::Packed<Q8_0x8>> {
    super::packed::Packed::repack(w, n, blocks, |src, o: &mut Q8_0x8| {
        let v = vectors(|r, i| (src[r].qs[i] as u8) ^ 0x80);
        for (m, v) in v.iter().enumerate() {
            o.qs[64 * m..64 * m + 64].copy_from_slice(v);
        }
        o.d = std::array::from_fn(|r| src[r].d);
    })
}

pub fn repack_q5_0(w: &[Q5_0], n: usize, blocks: usize) -> std::io::Result<super::packed::Packed<Q5_0x8>> {
    super::packed::Packed::repack(w, n, blocks, |src, o: &mut Q5_0x8| {
        // ggml's `dequantize_row_q5_0`, before the -16.
        let q = |r: usize, i: usize| {
            let x = src[r];
            let qh = u32::from_le_bytes(x.qh);
            let (nib, bit) = if i < 16 { (x.qs[i] & 0xF, (qh >> i) & 1) } else { (x.qs[i - 16] >> 4, (qh >> i) & 1) };
            nib | (bit as u8) << 4
        };
        let v = vectors(q);
        for i in 0..64 {
            o.qs[i] = (v[0][i] & 0xF) | (v[2][i] & 0xF) << 4;
            o.qs[64 + i] = (v[1][i] & 0xF) | (v[3][i] & 0xF) << 4;
        }
        o.qh = std::array::from_fn(|m| (0..64).fold(0u64, |acc, i| acc | (((v[m][i] >> 4) & 1) as u64) << i));
        o.d = std::array::from_fn(|r| src[r].d);
    })
}

/// Per token block: minus the weights' offset times the activations' sum
/// (the starting value of its sums, in one lane of each row's pair), and
/// the activations' scale.
pub fn prepare<B: Block32>(xs: &[Q8_0], out: &mut Vec<(i32, f32)>) {
    out.clear();
    out.extend(
        xs.iter()
            .map(|y| (-B::OFFSET * y.qs.iter().map(|&q| q as i32).sum::<i32>(), half::f16::from_bits(y.d).to_f32())),
    );
}

/// Eight rows (`w`, one group's blocks) against tokens `ys[t * stride..]`,
/// t < N, with `pre` from `prepare`. Writes eight outputs per token.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
pub unsafe fn dot<B: Block32, const N: usize>(
    w: &[B],
    ys: &[Q8_0],
    pre: &[(i32, f32)],
    stride: usize,
    out: &mut [[f32; 8]; N],
) {
    // Lanes 2r and 2r+1 hold row r.
    let to_lanes = lanes32(|l| (l / 2) as i32);
    let mut acc = [_mm512_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        prefetch_ahead(x);
        let q = x.weights();
        let d8 = _mm256_cvtph_ps(_mm_loadu_si128(x.d().as_ptr() as *const _));
        let d = _mm512_permutexvar_ps(to_lanes, _mm512_castps256_ps512(d8));
        for t in 0..N {
            let i = t * stride + b;
            let y = ys.get_unchecked(i).qs.as_ptr();
            let (start, dy) = *pre.get_unchecked(i);
            let mut s = _mm512_maskz_set1_epi32(0x5555, start);
            for (m, q) in q.iter().enumerate() {
                s = _mm512_dpbusd_epi32(s, *q, _mm512_set1_epi64((y.add(8 * m) as *const i64).read_unaligned()));
            }
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(dy)), acc[t]);
        }
    }
    let gather = lanes32(|l| (2 * (l % 8)) as i32);
    for (t, o) in out.iter_mut().enumerate() {
        let v = _mm512_add_ps(acc[t], _mm512_permute_ps::<0xB1>(acc[t]));
        _mm256_storeu_ps(o.as_mut_ptr(), _mm512_castps512_ps256(_mm512_permutexvar_ps(gather, v)));
    }
}
