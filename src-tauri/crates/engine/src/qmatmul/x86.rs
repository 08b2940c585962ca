//! AVX2 and AVX-512 VNNI dot products over mirrors of candle's block
//! layouts.
// A token's or row's counter indexes several buffers at once, lane by lane.
#![allow(clippy::needless_range_loop)]
use std::arch::x86_64::*;

/// ggml's block_q4_K and block_q8_K, as candle lays them out.
#[repr(C)]
pub struct Q4K {
    pub d: u16,
    pub dmin: u16,
    pub scales: [u8; 12],
    pub qs: [u8; 128],
}
#[repr(C)]
pub struct Q8K {
    pub d: f32,
    pub qs: [i8; 256],
    pub bsums: [i16; 16],
}
/// ggml's block_q8_0 and block_q5_0.
#[repr(C)]
pub struct Q8_0 {
    pub d: u16,
    pub qs: [i8; 32],
}
#[repr(C)]
pub struct Q5_0 {
    pub d: u16,
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}
/// ggml's block_q6_K.
#[repr(C)]
pub struct Q6K {
    pub ql: [u8; 128],
    pub qh: [u8; 64],
    pub scales: [i8; 16],
    pub d: u16,
}
const _: () = assert!(std::mem::size_of::<Q6K>() == std::mem::size_of::<super::BlockQ6K>());
const _: () = assert!(std::mem::size_of::<Q8_0>() == std::mem::size_of::<super::BlockQ8_0>());
const _: () = assert!(std::mem::size_of::<Q5_0>() == std::mem::size_of::<super::BlockQ5_0>());

/// Candle's blocks as their mirrors here.
///
/// SAFETY: `B` must be the mirror of `A` (sizes asserted above).
pub unsafe fn view<A, B>(s: &[A]) -> &[B] {
    std::slice::from_raw_parts(s.as_ptr().cast(), s.len())
}

/// A vector of 16 i32 lanes, lane l holding `f(l)`: the kernels' index
/// and permutation constants.
#[inline(always)]
pub unsafe fn lanes32(f: impl Fn(usize) -> i32) -> __m512i {
    let v: [i32; 16] = std::array::from_fn(f);
    _mm512_loadu_si512(v.as_ptr() as *const _)
}

/// Asks for the bytes of a block two blocks (at least 2 KiB) after `x`
/// to be cached: at one token a core's own prefetchers fell behind the
/// kernels, which stalled on their loads. Past the end it is a hint
/// about memory never read.
#[inline(always)]
pub fn prefetch_ahead<T>(x: &T) {
    let size = std::mem::size_of::<T>();
    let at = (x as *const T).cast::<i8>().wrapping_add((2 * size).max(2048));
    for line in (0..size).step_by(64) {
        // SAFETY: a prefetch has no effect but on caches, whatever the
        // address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(line)) };
    }
}

/// The same as `lanes32` with 32 i16 slots.
#[inline(always)]
pub unsafe fn lanes16(f: impl Fn(usize) -> i16) -> __m512i {
    let v: [i16; 32] = std::array::from_fn(f);
    _mm512_loadu_si512(v.as_ptr() as *const _)
}

pub enum Kind<'a> {
    Q4K(&'a [Q4K], &'a [Q8K]),
    Q6K(&'a [Q6K], &'a [Q8K]),
    Q8_0(&'a [Q8_0], &'a [Q8_0]),
    Q5_0(&'a [Q5_0], &'a [Q8_0]),
}

#[inline(always)]
fn f16(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// Signed bytes `qx` (one weight block) against four tokens' `Q8_0`
/// blocks: ggml's sign trick, with |qx| computed once.
#[inline(always)]
unsafe fn q8_block_xn<const N: usize>(qx: __m256i, dx: f32, ys: &[&[Q8_0]; N], b: usize, acc: &mut [__m256; N]) {
    let ax = _mm256_sign_epi8(qx, qx);
    let ones = _mm256_set1_epi16(1);
    for t in 0..N {
        let y = ys[t].get_unchecked(b);
        let qy = _mm256_loadu_si256(y.qs.as_ptr() as *const __m256i);
        let dot = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(qy, qx)), ones);
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * f16(y.d)), _mm256_cvtepi32_ps(dot), acc[t]);
    }
}

#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_q8_0_xn<const N: usize>(w: &[Q8_0], ys: [&[Q8_0]; N], out: &mut [f32; N]) {
    let mut acc = [_mm256_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        let qx = _mm256_loadu_si256(x.qs.as_ptr() as *const __m256i);
        q8_block_xn(qx, f16(x.d), &ys, b, &mut acc);
    }
    for t in 0..N {
        out[t] = hsum8(acc[t]);
    }
}

/// A Q5_0 block's 32 weights as signed bytes.
#[inline(always)]
unsafe fn unpack_q5_0(x: &Q5_0) -> __m256i {
    let m4 = _mm256_set1_epi8(0xF);
    let shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    let hi_off = _mm256_set1_epi8(0xF0u8 as i8);
    // 4-bit values: low nibbles are elements 0..16, high ones 16..32.
    let tmp = _mm_loadu_si128(x.qs.as_ptr() as *const __m128i);
    let nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp), m4);
    // The fifth bits: where one is clear the value is the nibble - 16.
    let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(i32::from_le_bytes(x.qh)), shuf);
    let set = _mm256_cmpeq_epi8(_mm256_or_si256(bits, bit_mask), _mm256_set1_epi64x(-1));
    _mm256_or_si256(nib, _mm256_andnot_si256(set, hi_off))
}

/// A Q8_0 activation block made ready for `vpdpbusd`, which wants one
/// unsigned operand: values + 128, and the scale as f32.
#[derive(Clone, Copy)]
pub struct Q8u {
    qs: [u8; 32],
    d: f32,
}

impl From<&Q8_0> for Q8u {
    fn from(y: &Q8_0) -> Self {
        Q8u { qs: y.qs.map(|q| (q as u8) ^ 0x80), d: f16(y.d) }
    }
}

/// Signed weights `qx` against N tokens' unsigned blocks: starting the
/// sum at -128 x (the weights' sum) leaves the signed dot product.
#[inline(always)]
unsafe fn q8_block_vnni<const N: usize>(
    qx: __m256i,
    dx: f32,
    ys: &[Q8u],
    stride: usize,
    b: usize,
    acc: &mut [__m256; N],
) {
    let zero = _mm256_setzero_si256();
    let neg = _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, _mm256_set1_epi8(0x80u8 as i8), qx));
    let dxv = _mm256_set1_ps(dx);
    for t in 0..N {
        let y = ys.get_unchecked(t * stride + b);
        let s = _mm256_dpbusd_epi32(neg, _mm256_loadu_si256(y.qs.as_ptr() as *const __m256i), qx);
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dxv, _mm256_broadcast_ss(&y.d)), _mm256_cvtepi32_ps(s), acc[t]);
    }
}

#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
pub unsafe fn dot_q8_0_vnni<const N: usize>(w: &[Q8_0], ys: &[Q8u], stride: usize, out: &mut [f32; N]) {
    let mut acc = [_mm256_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        let qx = _mm256_loadu_si256(x.qs.as_ptr() as *const __m256i);
        q8_block_vnni(qx, f16(x.d), ys, stride, b, &mut acc);
    }
    for t in 0..N {
        out[t] = hsum8(acc[t]);
    }
}

#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
pub unsafe fn dot_q5_0_vnni<const N: usize>(w: &[Q5_0], ys: &[Q8u], stride: usize, out: &mut [f32; N]) {
    let mut acc = [_mm256_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        q8_block_vnni(unpack_q5_0(x), f16(x.d), ys, stride, b, &mut acc);
    }
    for t in 0..N {
        out[t] = hsum8(acc[t]);
    }
}

/// Candle 0.9 has no SIMD Q5_0 dot product (it falls back to scalar
/// code), so this one serves single tokens too.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_q5_0_xn<const N: usize>(w: &[Q5_0], ys: [&[Q8_0]; N], out: &mut [f32; N]) {
    let mut acc = [_mm256_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        q8_block_xn(unpack_q5_0(x), f16(x.d), &ys, b, &mut acc);
    }
    for t in 0..N {
        out[t] = hsum8(acc[t]);
    }
}

const _: () = assert!(std::mem::size_of::<Q4K>() == std::mem::size_of::<super::BlockQ4K>());
const _: () = assert!(std::mem::size_of::<Q8K>() == std::mem::size_of::<super::BlockQ8K>());
const _: () = assert!(std::mem::align_of::<Q8K>() == std::mem::align_of::<super::BlockQ8K>());

#[inline(always)]
unsafe fn scale_shuffle(i: usize) -> __m256i {
    _mm256_set1_epi16((((2 * i + 1) << 8) | (2 * i)) as i16)
}

#[inline(always)]
unsafe fn hsum8(x: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    hsum4(s)
}

#[inline(always)]
unsafe fn hsum4(s: __m128) -> f32 {
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// Scales for one `_mm512_packs_epi32` of two dot-product vectors: the
/// packed i16 lanes in 128-bit lane L are four sums from the first vector,
/// then four from the second; `first(L)`/`second(L)` name their scales.
#[inline(always)]
unsafe fn pack_index(first: impl Fn(usize) -> usize, second: impl Fn(usize) -> usize) -> __m512i {
    let mut idx = [0i16; 32];
    for (p, v) in idx.iter_mut().enumerate() {
        let lane = p / 8;
        *v = if p % 8 < 4 { first(lane) } else { second(lane) } as i16;
    }
    _mm512_loadu_si512(idx.as_ptr() as *const _)
}

/// A Q4_K block's eight 6-bit scales, then its eight mins, as i16.
#[inline(always)]
unsafe fn q4k_scales_and_mins(x: &Q4K) -> __m256i {
    let v = q4k_scales_and_mins_u8(x);
    _mm256_cvtepu8_epi16(_mm_loadu_si128(v.as_ptr() as *const __m128i))
}

/// A Q4_K block's eight 6-bit scales, then its eight mins.
#[inline(always)]
pub fn q4k_scales_and_mins_u8(x: &Q4K) -> [u8; 16] {
    const KMASK1: u32 = 0x3f3f3f3f;
    const KMASK2: u32 = 0x0f0f0f0f;
    const KMASK3: u32 = 0x03030303;
    let word = |i: usize| u32::from_le_bytes([x.scales[i], x.scales[i + 1], x.scales[i + 2], x.scales[i + 3]]);
    let mut utmp = [word(0), word(4), word(8), 0];
    utmp[3] = ((utmp[2] >> 4) & KMASK2) | (((utmp[1] >> 6) & KMASK3) << 4);
    let uaux = utmp[1] & KMASK1;
    utmp[1] = (utmp[2] & KMASK2) | (((utmp[0] >> 6) & KMASK3) << 4);
    utmp[2] = uaux;
    utmp[0] &= KMASK1;
    let mut v = [0u8; 16];
    for (c, u) in v.chunks_exact_mut(4).zip(utmp) {
        c.copy_from_slice(&u.to_le_bytes());
    }
    v
}

/// What Q4_K's min term needs of each token's Q8_K block: the sums of
/// its eight runs of 32 and its scale, block-major so that consecutive
/// tokens sit together and one vector op serves four of them.
#[derive(Default)]
pub struct Q8KSums {
    bs: Vec<[i16; 8]>,
    d: Vec<[f32; 4]>,
    t: usize,
}

impl Q8KSums {
    pub fn new(xs: &[Q8K], t: usize) -> Self {
        let blocks = xs.len() / t.max(1);
        let mut bs = vec![[0i16; 8]; t * blocks];
        let mut d = vec![[0f32; 4]; t * blocks];
        for (tok, row) in xs.chunks_exact(blocks.max(1)).enumerate() {
            for (b, y) in row.iter().enumerate() {
                // Each of 16 i8 sums to at most 2,048 in size: no overflow.
                bs[b * t + tok] = std::array::from_fn(|j| y.bsums[2 * j] + y.bsums[2 * j + 1]);
                d[b * t + tok] = [y.d; 4];
            }
        }
        Q8KSums { bs, d, t }
    }
}

/// Q4_K against N (1 to 4, or 8) tokens' Q8_K rows (`ys[t * stride..]`,
/// token `tok` of `sums`) with AVX-512 VNNI: one `vpdpbusd` multiplies
/// 64 unsigned 4-bit weights by 64 signed activations, where AVX2 takes
/// three instructions for 32.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn dot_q4k_vnni<const N: usize>(
    w: &[Q4K],
    ys: &[Q8K],
    stride: usize,
    sums: &Q8KSums,
    tok: usize,
    out: &mut [f32; N],
) {
    let m4 = _mm512_set1_epi8(0xF);
    // Sub-block j of 32 weights has scale j; a 64-weight vector holds
    // sub-blocks 2i (128-bit lanes 0-1) and 2i+1 (lanes 2-3).
    let idx = [pack_index(|l| l / 2, |l| 2 + l / 2), pack_index(|l| 4 + l / 2, |l| 6 + l / 2)];
    let mut acc = [_mm512_setzero_ps(); N];
    // The min term, four tokens to a vector (one 128-bit lane each).
    let mut acc_m = [_mm512_setzero_ps(); 2];
    for (b, x) in w.iter().enumerate() {
        let mins_and_scales = q4k_scales_and_mins(x);
        let all = _mm512_castsi256_si512(mins_and_scales);
        let sc = [_mm512_permutexvar_epi16(idx[0], all), _mm512_permutexvar_epi16(idx[1], all)];
        // Weights 64i..64i+64: the low nibbles of 32 bytes, then the high.
        let q: [__m512i; 4] = std::array::from_fn(|i| {
            let bits = _mm256_loadu_si256(x.qs.as_ptr().add(32 * i) as *const __m256i);
            let both = _mm512_inserti64x4(_mm512_castsi256_si512(bits), _mm256_srli_epi16(bits, 4), 1);
            _mm512_and_si512(both, m4)
        });
        let dx = f16(x.d);
        for t in 0..N {
            let y = ys.get_unchecked(t * stride + b);
            let p: [__m512i; 4] = std::array::from_fn(|i| {
                let q8 = _mm512_loadu_si512(y.qs.as_ptr().add(64 * i) as *const _);
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[i], q8)
            });
            let sumi = _mm512_dpwssd_epi32(
                _mm512_madd_epi16(_mm512_packs_epi32(p[0], p[1]), sc[0]),
                _mm512_packs_epi32(p[2], p[3]),
                sc[1],
            );
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(y.d * dx), _mm512_cvtepi32_ps(sumi), acc[t]);
        }
        let mins = _mm256_extracti128_si256(mins_and_scales, 1);
        let dmin = _mm512_set1_ps(f16(x.dmin));
        let at = b * sums.t + tok;
        for (g, acc_m) in acc_m.iter_mut().enumerate().take(N.div_ceil(4)) {
            // For N < 4, N lanes are used and the rest are zero.
            let (bs, d) = if N >= 4 {
                let i = at + 4 * g;
                (
                    _mm512_loadu_si512(sums.bs.as_ptr().add(i) as *const _),
                    _mm512_loadu_ps(sums.d.as_ptr().add(i) as *const f32),
                )
            } else {
                // N tokens of 8 sums and 4 scales each; the lanes past
                // them are zero and nothing past them is read.
                let (mb, md) = ((1u64 << (8 * N)) - 1, (1u32 << (4 * N)) - 1);
                (
                    _mm512_maskz_loadu_epi16(mb as __mmask32, sums.bs.as_ptr().add(at) as *const i16),
                    _mm512_maskz_loadu_ps(md as __mmask16, sums.d.as_ptr().add(at) as *const f32),
                )
            };
            let prod = _mm512_cvtepi32_ps(_mm512_madd_epi16(_mm512_broadcast_i32x4(mins), bs));
            *acc_m = _mm512_fmadd_ps(_mm512_mul_ps(d, dmin), prod, *acc_m);
        }
    }
    let lane = |v: __m512, i: usize| match i {
        0 => _mm512_extractf32x4_ps::<0>(v),
        1 => _mm512_extractf32x4_ps::<1>(v),
        2 => _mm512_extractf32x4_ps::<2>(v),
        _ => _mm512_extractf32x4_ps::<3>(v),
    };
    for t in 0..N {
        out[t] = _mm512_reduce_add_ps(acc[t]) - hsum4(lane(acc_m[t / 4], t % 4));
    }
}

/// Q6_K against N tokens' Q8_K rows with AVX-512 VNNI. Weights are
/// stored +32, so each scale group's sum loses 32 x the activations' sum,
/// which Q8_K keeps per 16 (`bsums`, exactly a scale group).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn dot_q6k_vnni<const N: usize>(w: &[Q6K], ys: &[Q8K], stride: usize, out: &mut [f32; N]) {
    let m4 = _mm512_set1_epi8(0xF);
    let m30 = _mm512_set1_epi8(0x30);
    // Half j holds weights 128j..128j+128 in two vectors of 64: scale
    // groups 8j+L (first) and 8j+4+L (second) in 128-bit lane L.
    let idx = [pack_index(|l| l, |l| 4 + l), pack_index(|l| 8 + l, |l| 12 + l)];
    let mut acc = [_mm512_setzero_ps(); N];
    for (b, x) in w.iter().enumerate() {
        let sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(x.scales.as_ptr() as *const __m128i));
        let all = _mm512_castsi256_si512(sc16);
        let sc = [_mm512_permutexvar_epi16(idx[0], all), _mm512_permutexvar_epi16(idx[1], all)];
        let mut q = [_mm512_setzero_si512(); 4];
        for j in 0..2 {
            let ql = _mm512_loadu_si512(x.ql.as_ptr().add(64 * j) as *const _);
            let h = _mm256_loadu_si256(x.qh.as_ptr().add(32 * j) as *const __m256i);
            // Bits 4-5 of each weight: qh bits 0-1 and 2-3 for the first
            // vector, 4-5 and 6-7 for the second.
            let h_lo = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_slli_epi16(h, 4)), _mm256_slli_epi16(h, 2), 1);
            let h_hi = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 2), 1);
            q[2 * j] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(h_lo, m30));
            q[2 * j + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(h_hi, m30));
        }
        let dx = f16(x.d);
        for t in 0..N {
            let y = ys.get_unchecked(t * stride + b);
            let p: [__m512i; 4] = std::array::from_fn(|i| {
                let q8 = _mm512_loadu_si512(y.qs.as_ptr().add(64 * i) as *const _);
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[i], q8)
            });
            let sumi = _mm512_dpwssd_epi32(
                _mm512_madd_epi16(_mm512_packs_epi32(p[0], p[1]), sc[0]),
                _mm512_packs_epi32(p[2], p[3]),
                sc[1],
            );
            let bsums = _mm256_loadu_si256(y.bsums.as_ptr() as *const __m256i);
            let corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, bsums), 5);
            let sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(corr));
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(y.d * dx), _mm512_cvtepi32_ps(sumi), acc[t]);
        }
    }
    for t in 0..N {
        out[t] = _mm512_reduce_add_ps(acc[t]);
    }
}

/// ggml's AVX2 Q4_K x Q8_K dot product, with the weight block unpacked
/// once for four tokens.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_q4k_x4(w: &[Q4K], ys: [&[Q8K]; 4], out: &mut [f32; 4]) {
    let m4 = _mm256_set1_epi8(0xF);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut acc_m = [_mm_setzero_ps(); 4];
    for (b, x) in w.iter().enumerate() {
        let mins_and_scales = q4k_scales_and_mins(x);
        let mins = _mm256_extracti128_si256(mins_and_scales, 1);
        let sc128 = _mm256_extracti128_si256(mins_and_scales, 0);
        let scales = _mm256_set_m128i(sc128, sc128);
        let dx = f16(x.d);
        let dminx = f16(x.dmin);

        let mut sumi = [_mm256_setzero_si256(); 4];
        let q4 = x.qs.as_ptr();
        for j in 0..4 {
            let scale_l = _mm256_shuffle_epi8(scales, scale_shuffle(2 * j));
            let scale_h = _mm256_shuffle_epi8(scales, scale_shuffle(2 * j + 1));
            let q4bits = _mm256_loadu_si256(q4.add(32 * j) as *const __m256i);
            let q4l = _mm256_and_si256(q4bits, m4);
            let q4h = _mm256_and_si256(_mm256_srli_epi16(q4bits, 4), m4);
            for t in 0..4 {
                let q8 = ys[t].get_unchecked(b).qs.as_ptr().add(64 * j);
                let q8l = _mm256_loadu_si256(q8 as *const __m256i);
                let q8h = _mm256_loadu_si256(q8.add(32) as *const __m256i);
                let pl = _mm256_madd_epi16(scale_l, _mm256_maddubs_epi16(q4l, q8l));
                let ph = _mm256_madd_epi16(scale_h, _mm256_maddubs_epi16(q4h, q8h));
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(pl, ph));
            }
        }
        for t in 0..4 {
            let y = ys[t].get_unchecked(b);
            let q8sums = _mm256_loadu_si256(y.bsums.as_ptr() as *const __m256i);
            let q8s = _mm_hadd_epi16(_mm256_extracti128_si256(q8sums, 0), _mm256_extracti128_si256(q8sums, 1));
            let prod = _mm_madd_epi16(mins, q8s);
            acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(-y.d * dminx), _mm_cvtepi32_ps(prod), acc_m[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y.d * dx), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        }
    }
    for t in 0..4 {
        out[t] = hsum8(acc[t]) + hsum4(acc_m[t]);
    }
}
/// ggml's AVX2 Q6_K x Q8_K dot product, with the weight block unpacked
/// once for four tokens.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_q6k_x4(w: &[Q6K], ys: [&[Q8K]; 4], out: &mut [f32; 4]) {
    let m4 = _mm256_set1_epi8(0xF);
    let m2 = _mm256_set1_epi8(3);
    let m32s = _mm256_set1_epi8(32);
    let mut acc = [_mm256_setzero_ps(); 4];
    // Shuffles that spread scales 2i and 2i+1 over a 32-weight run's two
    // halves (each scale covers 16 weights).
    let picks: [__m128i; 8] = std::array::from_fn(|i| {
        let b = 0x0101010101010101u64;
        _mm_set_epi64x((b * (2 * i as u64 + 1)) as i64, (b * (2 * i as u64)) as i64)
    });
    for (b, x) in w.iter().enumerate() {
        let dx = f16(x.d);
        let scales = _mm_loadu_si128(x.scales.as_ptr() as *const __m128i);
        let mut sumi = [_mm256_setzero_si256(); 4];
        for j in 0..2 {
            let sc = |i: usize| _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, picks[i]));
            let (s0, s1, s2, s3) = (sc(4 * j), sc(4 * j + 1), sc(4 * j + 2), sc(4 * j + 3));
            let ql = x.ql.as_ptr().add(64 * j);
            let q4bits1 = _mm256_loadu_si256(ql as *const __m256i);
            let q4bits2 = _mm256_loadu_si256(ql.add(32) as *const __m256i);
            let hbits = _mm256_loadu_si256(x.qh.as_ptr().add(32 * j) as *const __m256i);
            let h = |shift: i32| {
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srlv_epi32(hbits, _mm256_set1_epi32(shift)), m2), 4)
            };
            let q = [
                _mm256_or_si256(_mm256_and_si256(q4bits1, m4), h(0)),
                _mm256_or_si256(_mm256_and_si256(q4bits2, m4), h(2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits1, 4), m4), h(4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits2, 4), m4), h(6)),
            ];
            let sc = [s0, s1, s2, s3];
            for t in 0..4 {
                let q8 = ys[t].get_unchecked(b).qs.as_ptr().add(128 * j);
                for (i, qi) in q.iter().enumerate() {
                    let q8i = _mm256_loadu_si256(q8.add(32 * i) as *const __m256i);
                    // Weights are stored +32: subtract 32 * the token's values.
                    let p = _mm256_sub_epi16(_mm256_maddubs_epi16(*qi, q8i), _mm256_maddubs_epi16(m32s, q8i));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(sc[i], p));
                }
            }
        }
        for t in 0..4 {
            let d = dx * ys[t].get_unchecked(b).d;
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        }
    }
    for t in 0..4 {
        out[t] = hsum8(acc[t]);
    }
}
