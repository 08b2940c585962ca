//! The file's layout: tiles of weight rows that stay in cache while every
//! token passes over them, with AVX2 and AVX-512 VNNI kernels for the
//! common block types and candle's `vec_dot` for the rest.
use candle_core::quantized::k_quants::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8K, BlockQ8_0, GgmlType,
};
use candle_core::Result;
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::{token_steps, x86};
use super::{Isa, Out, TILE_BYTES};

/// A block type the tiled kernel takes. Its batched kernel, where it has
/// one, comes with the type, so the type chosen once (by `Linear`'s match
/// on the dtype) is never recovered later.
pub(super) trait Block: GgmlType {
    /// The weights and activations as the `x86` kernels' mirrors.
    #[cfg(target_arch = "x86_64")]
    fn kind<'a>(_w: &'a [Self], _xq: &'a [Self::VecDotType]) -> Option<x86::Kind<'a>> {
        None
    }
}

impl Block for BlockQ4_0 {}
impl Block for BlockQ4_1 {}
impl Block for BlockQ5_1 {}
impl Block for BlockQ5K {}
impl Block for BlockQ8K {}

// SAFETY (each `view`): the mirror copies the repr(C) layout of the block
// type it stands for (sizes asserted in `x86`); the dot type is BlockQ8K
// for Q4_K and Q6_K and BlockQ8_0 for Q5_0 and Q8_0.
impl Block for BlockQ4K {
    #[cfg(target_arch = "x86_64")]
    fn kind<'a>(w: &'a [Self], xq: &'a [Self::VecDotType]) -> Option<x86::Kind<'a>> {
        Some(unsafe { x86::Kind::Q4K(x86::view(w), x86::view(xq)) })
    }
}
impl Block for BlockQ6K {
    #[cfg(target_arch = "x86_64")]
    fn kind<'a>(w: &'a [Self], xq: &'a [Self::VecDotType]) -> Option<x86::Kind<'a>> {
        Some(unsafe { x86::Kind::Q6K(x86::view(w), x86::view(xq)) })
    }
}
impl Block for BlockQ8_0 {
    #[cfg(target_arch = "x86_64")]
    fn kind<'a>(w: &'a [Self], xq: &'a [Self::VecDotType]) -> Option<x86::Kind<'a>> {
        Some(unsafe { x86::Kind::Q8_0(x86::view(w), x86::view(xq)) })
    }
}
impl Block for BlockQ5_0 {
    #[cfg(target_arch = "x86_64")]
    fn kind<'a>(w: &'a [Self], xq: &'a [Self::VecDotType]) -> Option<x86::Kind<'a>> {
        Some(unsafe { x86::Kind::Q5_0(x86::view(w), x86::view(xq)) })
    }
}

pub(super) fn run<T: Block>(
    bytes: &[u8],
    xs: &[f32],
    t: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
    isa: Isa,
) -> Result<()> {
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

    let x4 = Batched::with_isa::<T>(w, &xq, t, isa);
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
    /// AVX-512 VNNI kernels, which take every token count.
    #[cfg(target_arch = "x86_64")]
    vnni: bool,
    /// For Q4_K's VNNI kernel: each token's activation sums, made once.
    #[cfg(target_arch = "x86_64")]
    sums: x86::Q8KSums,
    /// For Q5_0's and Q8_0's: the activations made unsigned, made once.
    #[cfg(target_arch = "x86_64")]
    xu: Vec<x86::Q8u>,
    #[cfg(not(target_arch = "x86_64"))]
    _p: std::marker::PhantomData<&'a ()>,
}

impl<'a> Batched<'a> {
    #[allow(unused_variables)]
    fn with_isa<T: Block>(w: &'a [T], xq: &'a [T::VecDotType], t: usize, isa: Isa) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            if isa == Isa::Scalar {
                return None;
            }
            let kind = T::kind(w, xq)?;
            let vnni = isa == Isa::Avx512Vnni;
            let sums = match &kind {
                x86::Kind::Q4K(_, xs) if vnni => x86::Q8KSums::new(xs, t),
                _ => x86::Q8KSums::default(),
            };
            let xu = match &kind {
                x86::Kind::Q8_0(_, xs) | x86::Kind::Q5_0(_, xs) if vnni => xs.iter().map(x86::Q8u::from).collect(),
                _ => Vec::new(),
            };
            Some(Self { kind, vnni, sums, xu })
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
            if self.vnni {
                self.tile_vnni(r0, r1, blocks, t, n, dst);
                return t;
            }
            let groups = t / 4;
            for g in 0..groups {
                for r in r0..r1 {
                    let w = r * blocks..(r + 1) * blocks;
                    let x = |i: usize| (g * 4 + i) * blocks..(g * 4 + i + 1) * blocks;
                    let mut v = [0f32; 4];
                    // SAFETY: `with_isa` was given Avx2 or wider only where the CPU has avx2 and fma.
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

    /// Every token for rows `r0..r1`, eight at a time while eight are left.
    #[cfg(target_arch = "x86_64")]
    fn tile_vnni(&self, r0: usize, r1: usize, blocks: usize, t: usize, n: usize, dst: &Out) {
        #[inline(always)]
        fn put<const N: usize>(dst: &Out, tok: usize, n: usize, r: usize, v: [f32; N]) {
            for (i, v) in v.into_iter().enumerate() {
                // SAFETY: in bounds; this tile alone writes column r.
                unsafe { *dst.0.add((tok + i) * n + r) = v };
            }
        }
        for (tok, step) in token_steps(t) {
            for r in r0..r1 {
                // SAFETY: `with_isa` was given Avx512Vnni only where the CPU
                // has it; token rows tok..tok+step exist.
                unsafe {
                    match step {
                        8 => put(dst, tok, n, r, self.vnni_row::<8>(r, blocks, tok)),
                        4 => put(dst, tok, n, r, self.vnni_row::<4>(r, blocks, tok)),
                        3 => put(dst, tok, n, r, self.vnni_row::<3>(r, blocks, tok)),
                        2 => put(dst, tok, n, r, self.vnni_row::<2>(r, blocks, tok)),
                        _ => put(dst, tok, n, r, self.vnni_row::<1>(r, blocks, tok)),
                    }
                }
            }
        }
    }

    /// Row `r` against tokens `tok..tok + N`.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn vnni_row<const N: usize>(&self, r: usize, blocks: usize, tok: usize) -> [f32; N] {
        let mut v = [0f32; N];
        let (w, x) = (r * blocks..(r + 1) * blocks, tok * blocks);
        match &self.kind {
            x86::Kind::Q4K(ws, xs) => x86::dot_q4k_vnni(&ws[w], &xs[x..], blocks, &self.sums, tok, &mut v),
            x86::Kind::Q6K(ws, xs) => x86::dot_q6k_vnni(&ws[w], &xs[x..], blocks, &mut v),
            x86::Kind::Q8_0(ws, _) => x86::dot_q8_0_vnni(&ws[w], &self.xu[x..], blocks, &mut v),
            x86::Kind::Q5_0(ws, _) => x86::dot_q5_0_vnni(&ws[w], &self.xu[x..], blocks, &mut v),
        }
        v
    }
}
