//! Quantized matmul on the CPU, tiled. Candle's kernel makes one parallel
//! pass over every weight row per token, so a prefill of t tokens streams
//! the weights from memory t times and forks threads t times. Here each
//! thread takes tiles of weight rows that stay in its cache while every
//! token passes over them: the weights are read once per matmul.
use std::sync::Arc;

use candle_core::quantized::k_quants::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8K, BlockQ8_0, GgmlType,
};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, Device, Module, Result, Storage, Tensor};
use rayon::prelude::*;

/// A linear layer without bias over quantized weights `(n, k)`.
pub enum Linear {
    /// Our tiled kernel: CPU weights of a block type it knows.
    Tiled { w: Arc<QTensor>, n: usize, k: usize },
    /// Candle's path: GPU weights, float weights.
    Candle(QMatMul),
}

/// Weight bytes per tile: a tile stays in L1/L2 while all tokens pass.
const TILE_BYTES: usize = 48 << 10;

fn tiled_dtype(d: GgmlDType) -> bool {
    use GgmlDType::*;
    matches!(d, Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q4K | Q5K | Q6K | Q8K)
}

impl Linear {
    pub fn from_arc(w: Arc<QTensor>) -> Result<Self> {
        let dims = w.shape().dims().to_vec();
        let on_cpu = matches!(w.device(), Device::Cpu);
        match dims.as_slice() {
            &[n, k] if on_cpu && tiled_dtype(w.dtype()) && k % w.dtype().block_size() == 0 => {
                Ok(Linear::Tiled { w, n, k })
            }
            _ => Ok(Linear::Candle(QMatMul::from_arc(w)?)),
        }
    }

    pub fn from_qtensor(w: QTensor) -> Result<Self> {
        Self::from_arc(Arc::new(w))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (w, n, k) = match self {
            Linear::Candle(m) => return m.forward(x),
            Linear::Tiled { w, n, k } => (w, *n, *k),
        };
        let x = x.contiguous()?;
        let dims = x.dims();
        if dims.last() != Some(&k) {
            candle_core::bail!("matmul: input {:?} does not end in {k}", dims);
        }
        let t = x.elem_count() / k;
        let mut out = vec![0f32; t * n];
        {
            let (storage, layout) = x.storage_and_layout();
            let Storage::Cpu(CpuStorage::F32(data)) = &*storage else {
                candle_core::bail!("matmul: the tiled kernel takes f32 input on the CPU");
            };
            let xs = &data[layout.start_offset()..layout.start_offset() + t * k];
            let bytes = w.data()?;
            use GgmlDType::*;
            match w.dtype() {
                Q4_0 => run::<BlockQ4_0>(&bytes, xs, t, k, n, &mut out)?,
                Q4_1 => run::<BlockQ4_1>(&bytes, xs, t, k, n, &mut out)?,
                Q5_0 => run::<BlockQ5_0>(&bytes, xs, t, k, n, &mut out)?,
                Q5_1 => run::<BlockQ5_1>(&bytes, xs, t, k, n, &mut out)?,
                Q8_0 => run::<BlockQ8_0>(&bytes, xs, t, k, n, &mut out)?,
                Q4K => run::<BlockQ4K>(&bytes, xs, t, k, n, &mut out)?,
                Q5K => run::<BlockQ5K>(&bytes, xs, t, k, n, &mut out)?,
                Q6K => run::<BlockQ6K>(&bytes, xs, t, k, n, &mut out)?,
                Q8K => run::<BlockQ8K>(&bytes, xs, t, k, n, &mut out)?,
                d => candle_core::bail!("matmul: no tiled kernel for {d:?}"),
            }
        }
        let mut shape = dims.to_vec();
        *shape.last_mut().unwrap_or(&mut 0) = n;
        Tensor::from_vec(out, shape, &Device::Cpu)
    }
}

/// Each task writes its own columns of `out`, which are disjoint.
struct Out(*mut f32);
unsafe impl Sync for Out {}

fn run<T: GgmlType + 'static>(bytes: &[u8], xs: &[f32], t: usize, k: usize, n: usize, out: &mut [f32]) -> Result<()> {
    let blocks = k / T::BLCK_SIZE;
    let size = std::mem::size_of::<T>();
    if bytes.len() != n * blocks * size || bytes.as_ptr().align_offset(std::mem::align_of::<T>()) != 0 {
        candle_core::bail!("matmul: weight storage of {} bytes does not hold {n}x{k}", bytes.len());
    }
    // SAFETY: the size and alignment are checked above; the blocks are
    // plain data that candle itself stores as `Vec<T>`.
    let w: &[T] = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast(), n * blocks) };

    let qblocks = k / T::VecDotType::BLCK_SIZE;
    let mut xq = vec![T::VecDotType::zeros(); t * qblocks];
    if t > 1 {
        xq.par_chunks_mut(qblocks).zip(xs.par_chunks(k)).for_each(|(q, x)| T::VecDotType::from_float(x, q));
    } else {
        T::VecDotType::from_float(xs, &mut xq);
    }

    let x4 = Batched::for_type::<T>(w, &xq);
    let row_bytes = blocks * size;
    let threads = rayon::current_num_threads().max(1);
    // Tiles that fit the cache, and enough of them to keep every thread busy.
    let rows = (TILE_BYTES / row_bytes).clamp(1, n.div_ceil(threads * 4).max(1));
    let dst = Out(out.as_mut_ptr());
    let dst = &dst;
    (0..n.div_ceil(rows)).into_par_iter().for_each(|tile| {
        let (r0, r1) = (tile * rows, ((tile + 1) * rows).min(n));
        // Four tokens at a time share each unpacked weight block.
        let done = match &x4 {
            Some(x4) => x4.tile(r0, r1, blocks, t, n, dst),
            None => 0,
        };
        for (tok, xrow) in xq.chunks_exact(qblocks).enumerate().skip(done) {
            for r in r0..r1 {
                let v = T::vec_dot(k, &w[r * blocks..(r + 1) * blocks], xrow);
                // SAFETY: `tok * n + r` is in bounds, and no other tile
                // writes column r.
                unsafe { *dst.0.add(tok * n + r) = v };
            }
        }
    });
    Ok(())
}

/// Weights against four tokens at once (AVX2), for the block types that
/// have such a kernel (Q4_K, Q5_0, Q8_0), where the CPU has AVX2.
struct Batched<'a> {
    #[cfg(target_arch = "x86_64")]
    kind: x86::Kind<'a>,
    #[cfg(not(target_arch = "x86_64"))]
    _p: std::marker::PhantomData<&'a ()>,
}

impl<'a> Batched<'a> {
    #[allow(unused_variables)]
    fn for_type<T: GgmlType + 'static>(w: &'a [T], xq: &'a [T::VecDotType]) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::any::TypeId;
            if !std::arch::is_x86_feature_detected!("avx2") || !std::arch::is_x86_feature_detected!("fma") {
                return None;
            }
            let id = TypeId::of::<T>();
            // SAFETY: each mirror copies the repr(C) layout of the block type
            // it stands for (sizes asserted in `x86`), and T's dot type is
            // BlockQ8K for Q4_K and Q6_K, and BlockQ8_0 for Q5_0 and Q8_0.
            unsafe fn view<'b, A, B>(s: &'b [A]) -> &'b [B] {
                std::slice::from_raw_parts(s.as_ptr().cast(), s.len())
            }
            let kind = unsafe {
                if id == TypeId::of::<BlockQ4K>() {
                    x86::Kind::Q4K(view(w), view(xq))
                } else if id == TypeId::of::<BlockQ6K>() {
                    x86::Kind::Q6K(view(w), view(xq))
                } else if id == TypeId::of::<BlockQ8_0>() {
                    x86::Kind::Q8_0(view(w), view(xq))
                } else if id == TypeId::of::<BlockQ5_0>() {
                    x86::Kind::Q5_0(view(w), view(xq))
                } else {
                    return None;
                }
            };
            Some(Self { kind })
        }
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// Rows `r0..r1` for the tokens in whole groups of four; returns how
    /// many tokens it did.
    #[allow(unused_variables)]
    fn tile(&self, r0: usize, r1: usize, blocks: usize, t: usize, n: usize, dst: &Out) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            let groups = t / 4;
            for g in 0..groups {
                for r in r0..r1 {
                    let w = r * blocks..(r + 1) * blocks;
                    let x = |i: usize| (g * 4 + i) * blocks..(g * 4 + i + 1) * blocks;
                    let mut v = [0f32; 4];
                    // SAFETY: avx2 and fma were detected in `for_type`.
                    unsafe {
                        match &self.kind {
                            x86::Kind::Q4K(ws, xs) => {
                                x86::dot_q4k_x4(&ws[w], [&xs[x(0)], &xs[x(1)], &xs[x(2)], &xs[x(3)]], &mut v)
                            }
                            x86::Kind::Q6K(ws, xs) => {
                                x86::dot_q6k_x4(&ws[w], [&xs[x(0)], &xs[x(1)], &xs[x(2)], &xs[x(3)]], &mut v)
                            }
                            x86::Kind::Q8_0(ws, xs) => {
                                x86::dot_q8_0_xn(&ws[w], [&xs[x(0)], &xs[x(1)], &xs[x(2)], &xs[x(3)]], &mut v)
                            }
                            x86::Kind::Q5_0(ws, xs) => {
                                x86::dot_q5_0_xn(&ws[w], [&xs[x(0)], &xs[x(1)], &xs[x(2)], &xs[x(3)]], &mut v)
                            }
                        }
                    }
                    for (i, v) in v.into_iter().enumerate() {
                        // SAFETY: in bounds; this tile alone writes column r.
                        unsafe { *dst.0.add((g * 4 + i) * n + r) = v };
                    }
                }
            }
            // Q5_0 has no SIMD single-token dot in Candle: do the rest here.
            if let x86::Kind::Q5_0(ws, xs) = &self.kind {
                for tok in groups * 4..t {
                    for r in r0..r1 {
                        let mut v = [0f32; 1];
                        // SAFETY: as above.
                        unsafe {
                            x86::dot_q5_0_xn(
                                &ws[r * blocks..(r + 1) * blocks],
                                [&xs[tok * blocks..(tok + 1) * blocks]],
                                &mut v,
                            );
                            *dst.0.add(tok * n + r) = v[0];
                        }
                    }
                }
                return t;
            }
            groups * 4
        }
        #[cfg(not(target_arch = "x86_64"))]
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
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

    /// Candle 0.9 has no SIMD Q5_0 dot product (it falls back to scalar
    /// code), so this one serves single tokens too.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q5_0_xn<const N: usize>(w: &[Q5_0], ys: [&[Q8_0]; N], out: &mut [f32; N]) {
        let mut acc = [_mm256_setzero_ps(); N];
        let m4 = _mm256_set1_epi8(0xF);
        let shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
        let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
        let hi_off = _mm256_set1_epi8(0xF0u8 as i8);
        for (b, x) in w.iter().enumerate() {
            // 4-bit values: low nibbles are elements 0..16, high ones 16..32.
            let tmp = _mm_loadu_si128(x.qs.as_ptr() as *const __m128i);
            let nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp), m4);
            // The fifth bits: where one is clear the value is the nibble - 16.
            let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(i32::from_le_bytes(x.qh)), shuf);
            let set = _mm256_cmpeq_epi8(_mm256_or_si256(bits, bit_mask), _mm256_set1_epi64x(-1));
            let qx = _mm256_or_si256(nib, _mm256_andnot_si256(set, hi_off));
            q8_block_xn(qx, f16(x.d), &ys, b, &mut acc);
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

    /// ggml's AVX2 Q4_K x Q8_K dot product, with the weight block unpacked
    /// once for four tokens.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q4k_x4(w: &[Q4K], ys: [&[Q8K]; 4], out: &mut [f32; 4]) {
        const KMASK1: u32 = 0x3f3f3f3f;
        const KMASK2: u32 = 0x0f0f0f0f;
        const KMASK3: u32 = 0x03030303;
        let m4 = _mm256_set1_epi8(0xF);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut acc_m = [_mm_setzero_ps(); 4];
        for (b, x) in w.iter().enumerate() {
            let word = |i: usize| u32::from_le_bytes([x.scales[i], x.scales[i + 1], x.scales[i + 2], x.scales[i + 3]]);
            let mut utmp = [word(0), word(4), word(8), 0];
            utmp[3] = ((utmp[2] >> 4) & KMASK2) | (((utmp[1] >> 6) & KMASK3) << 4);
            let uaux = utmp[1] & KMASK1;
            utmp[1] = (utmp[2] & KMASK2) | (((utmp[0] >> 6) & KMASK3) << 4);
            utmp[2] = uaux;
            utmp[0] &= KMASK1;
            let mins_and_scales =
                _mm256_cvtepu8_epi16(_mm_set_epi32(utmp[3] as i32, utmp[2] as i32, utmp[1] as i32, utmp[0] as i32));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tiled kernel gives candle's numbers, for every block type the
    /// test models use and for one token and many.
    #[test]
    fn matches_candle_for_each_block_type_and_token_count() {
        let dev = Device::Cpu;
        for dtype in [GgmlDType::Q4_0, GgmlDType::Q5_0, GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::Q6K] {
            let (n, k) = (300, 512);
            let w = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
            let q = Arc::new(QTensor::quantize(&w, dtype).unwrap());
            let ours = Linear::from_arc(q.clone()).unwrap();
            assert!(matches!(ours, Linear::Tiled { .. }));
            let theirs = QMatMul::from_arc(q).unwrap();
            for t in [1, 7, 64] {
                let x = Tensor::randn(0f32, 1.0, (1, t, k), &dev).unwrap();
                let a = ours.forward(&x).unwrap();
                let b = theirs.forward(&x).unwrap();
                assert_eq!(a.dims(), b.dims());
                let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(diff < 1e-3, "{dtype:?} t={t}: max diff {diff}");
            }
        }
    }
}
