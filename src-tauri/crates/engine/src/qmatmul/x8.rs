//! The repacked layout (AVX-512 VNNI): eight weight rows interleaved in
//! each block, so one block's unpacking serves eight rows and up to eight
//! tokens.
use candle_core::quantized::k_quants::{BlockQ8K, BlockQ8_0, GgmlType};
use candle_core::quantized::GgmlDType;
use rayon::prelude::*;

use super::packed::Packed;
use super::{q32_x8, q4k_x8, q6k_x8, token_steps, x86, Bytes, Out, TILE_BYTES};

/// Repacked weights, by block type.
pub enum X8 {
    Q4K(Packed<q4k_x8::Q4Kx8>),
    Q6K(Packed<q6k_x8::Q6Kx8>),
    Q8_0(Packed<q32_x8::Q8_0x8>),
    Q5_0(Packed<q32_x8::Q5_0x8>),
}

/// Activations quantized for the repacked kernels, with what each needs
/// made once per matmul. Kept per thread and reused: decode makes some 200
/// matmuls a token.
#[derive(Default)]
struct Acts {
    /// For Q4_K and Q6_K; for Q4_K also the sub-block sums.
    k: Vec<BlockQ8K>,
    sums: Vec<[i16; 16]>,
    /// For Q8_0 and Q5_0, with each block's starting sum and scale.
    b32: Vec<BlockQ8_0>,
    pre: Vec<(i32, f32)>,
}

thread_local! {
    static ACTS: std::cell::RefCell<Acts> = std::cell::RefCell::default();
}

impl X8 {
    /// The weights repacked, as `plan` chose (AVX-512 VNNI, a block type
    /// listed in `X8::takes`, rows in whole groups of eight); None when
    /// the memory for them cannot be had.
    pub(super) fn repack(w: &Bytes, dtype: GgmlDType, n: usize, k: usize) -> Option<X8> {
        debug_assert!(n.is_multiple_of(8) && Self::takes(dtype));
        let bytes = w.get().ok()?;
        let blocks = k / dtype.block_size();
        // SAFETY: the length is checked, the alignment by `Linear::tiled`,
        // and the blocks are plain data.
        unsafe fn view<T>(b: &[u8], count: usize) -> Option<&[T]> {
            (b.len() == count * std::mem::size_of::<T>()).then(|| std::slice::from_raw_parts(b.as_ptr().cast(), count))
        }
        match dtype {
            GgmlDType::Q4K => Some(X8::Q4K(q4k_x8::repack(unsafe { view(&bytes, n * blocks)? }, n, blocks).ok()?)),
            GgmlDType::Q6K => Some(X8::Q6K(q6k_x8::repack(unsafe { view(&bytes, n * blocks)? }, n, blocks).ok()?)),
            GgmlDType::Q8_0 => {
                Some(X8::Q8_0(q32_x8::repack_q8_0(unsafe { view(&bytes, n * blocks)? }, n, blocks).ok()?))
            }
            GgmlDType::Q5_0 => {
                Some(X8::Q5_0(q32_x8::repack_q5_0(unsafe { view(&bytes, n * blocks)? }, n, blocks).ok()?))
            }
            _ => None,
        }
    }

    /// The block types with a repacked kernel.
    pub(super) fn takes(dtype: GgmlDType) -> bool {
        matches!(dtype, GgmlDType::Q4K | GgmlDType::Q6K | GgmlDType::Q8_0 | GgmlDType::Q5_0)
    }

    fn block_bytes(&self) -> usize {
        match self {
            X8::Q4K(_) => std::mem::size_of::<q4k_x8::Q4Kx8>(),
            X8::Q6K(_) => std::mem::size_of::<q6k_x8::Q6Kx8>(),
            X8::Q8_0(_) => std::mem::size_of::<q32_x8::Q8_0x8>(),
            X8::Q5_0(_) => std::mem::size_of::<q32_x8::Q5_0x8>(),
        }
    }

    fn block_size(&self) -> usize {
        match self {
            X8::Q4K(_) | X8::Q6K(_) => 256,
            X8::Q8_0(_) | X8::Q5_0(_) => 32,
        }
    }

    /// `xs` (t rows of k) quantized into `a` as this block type's kernel
    /// takes them.
    fn acts(&self, xs: &[f32], k: usize, a: &mut Acts) {
        fn quantize<T: GgmlType>(xs: &[f32], k: usize, q: &mut Vec<T>) {
            let blocks = k / T::BLCK_SIZE;
            q.resize(xs.len() / k * blocks, T::zeros());
            q.par_chunks_mut(blocks).zip(xs.par_chunks(k)).for_each(|(q, x)| T::from_float(x, q));
        }
        // SAFETY (views): the `x86` mirrors have these blocks' layouts.
        match self {
            X8::Q4K(_) => {
                quantize(xs, k, &mut a.k);
                q4k_x8::sums(unsafe { x86::view(&a.k) }, &mut a.sums);
            }
            X8::Q6K(_) => quantize(xs, k, &mut a.k),
            X8::Q8_0(_) => {
                quantize(xs, k, &mut a.b32);
                q32_x8::prepare::<q32_x8::Q8_0x8>(unsafe { x86::view(&a.b32) }, &mut a.pre);
            }
            X8::Q5_0(_) => {
                quantize(xs, k, &mut a.b32);
                q32_x8::prepare::<q32_x8::Q5_0x8>(unsafe { x86::view(&a.b32) }, &mut a.pre);
            }
        }
    }

    /// Row group `g` against tokens `tok..tok + N`.
    ///
    /// SAFETY: the CPU has AVX-512 VNNI; `self.acts` filled `a`, with
    /// those tokens.
    #[inline(always)]
    unsafe fn group<const N: usize>(&self, g: usize, blocks: usize, a: &Acts, tok: usize, out: &mut [[f32; 8]; N]) {
        let (at, from) = (g * blocks..(g + 1) * blocks, tok * blocks..);
        match self {
            X8::Q4K(p) => q4k_x8::dot::<N>(&p.blocks()[at], x86::view(&a.k[from.clone()]), &a.sums[from], blocks, out),
            X8::Q6K(p) => q6k_x8::dot::<N>(&p.blocks()[at], x86::view(&a.k[from]), blocks, out),
            X8::Q8_0(p) => {
                q32_x8::dot::<_, N>(&p.blocks()[at], x86::view(&a.b32[from.clone()]), &a.pre[from], blocks, out)
            }
            X8::Q5_0(p) => {
                q32_x8::dot::<_, N>(&p.blocks()[at], x86::view(&a.b32[from.clone()]), &a.pre[from], blocks, out)
            }
        }
    }
}

/// The repacked path: tiles of eight-row groups, eight tokens at a time.
pub(super) fn run_x8(w: &X8, xs: &[f32], t: usize, n: usize, k: usize, out: &mut [f32]) {
    let blocks = k / w.block_size();
    let mut go = |acts: &mut Acts| {
        w.acts(xs, k, acts);
        tiles_x8(w, acts, t, n, blocks, out);
    };
    // A matmul that a waiting thread steals from another one's gets its own.
    ACTS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut acts) => go(&mut acts),
        Err(_) => go(&mut Acts::default()),
    })
}

fn tiles_x8(w: &X8, acts: &Acts, t: usize, n: usize, blocks: usize, out: &mut [f32]) {
    let groups = n / 8;
    let threads = rayon::current_num_threads().max(1);
    let per = (TILE_BYTES / (blocks * w.block_bytes())).clamp(1, groups.div_ceil(threads * 4).max(1));
    let dst = Out(out.as_mut_ptr());
    let dst = &dst;
    (0..groups.div_ceil(per)).into_par_iter().for_each(|tile| {
        #[inline(always)]
        fn put<const N: usize>(dst: &Out, tok: usize, n: usize, g: usize, v: &[[f32; 8]; N]) {
            for (i, v) in v.iter().enumerate() {
                // SAFETY: in bounds; this tile alone writes columns 8g..8g+8.
                unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), dst.0.add((tok + i) * n + 8 * g), 8) };
            }
        }
        let (g0, g1) = (tile * per, ((tile + 1) * per).min(groups));
        for (tok, step) in token_steps(t) {
            for g in g0..g1 {
                // SAFETY: this variant exists only where the CPU has
                // AVX-512 VNNI; token rows tok..tok+step exist.
                unsafe {
                    match step {
                        8 => {
                            let mut v = [[0f32; 8]; 8];
                            w.group::<8>(g, blocks, acts, tok, &mut v);
                            put(dst, tok, n, g, &v);
                        }
                        4 => {
                            let mut v = [[0f32; 8]; 4];
                            w.group::<4>(g, blocks, acts, tok, &mut v);
                            put(dst, tok, n, g, &v);
                        }
                        3 => {
                            let mut v = [[0f32; 8]; 3];
                            w.group::<3>(g, blocks, acts, tok, &mut v);
                            put(dst, tok, n, g, &v);
                        }
                        2 => {
                            let mut v = [[0f32; 8]; 2];
                            w.group::<2>(g, blocks, acts, tok, &mut v);
                            put(dst, tok, n, g, &v);
                        }
                        _ => {
                            let mut v = [[0f32; 8]; 1];
                            w.group::<1>(g, blocks, acts, tok, &mut v);
                            put(dst, tok, n, g, &v);
                        }
                    }
                }
            }
        }
    });
}
