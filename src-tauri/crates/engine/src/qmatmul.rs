//! Quantized matmul on the CPU, tiled. Candle's kernel makes one parallel
//! pass over every weight row per token, so a prefill of t tokens streams
//! the weights from memory t times and forks threads t times. Here each
//! thread takes tiles of weight rows that stay in its cache while every
//! token passes over them: the weights are read once per matmul. Where the
//! CPU has AVX-512 VNNI the common block types are repacked at load, eight
//! rows to a block (`q4k_x8`, `q6k_x8`, `q32_x8`).
use std::sync::Arc;

use candle_core::quantized::k_quants::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8K, BlockQ8_0, GgmlType,
};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, Device, Module, Result, Storage, Tensor};
use rayon::prelude::*;

/// Quantized weight bytes on the CPU: read into memory, or the model file
/// mapped.
#[derive(Clone)]
pub enum Bytes {
    Tensor(Arc<QTensor>),
    Map(Arc<memmap2::Mmap>, std::ops::Range<usize>),
}

impl Bytes {
    pub fn get(&self) -> Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            Bytes::Tensor(t) => t.data(),
            Bytes::Map(m, r) => Ok(std::borrow::Cow::Borrowed(&m[r.clone()])),
        }
    }

    /// Maps the pages in now, from the page cache, rather than fault them
    /// in one by one during the first prompt.
    pub fn prefault(&self) {
        // memmap2 has PopulateRead on Linux only.
        #[cfg(target_os = "linux")]
        if let Bytes::Map(m, r) = self {
            // Older kernels lack it: the pages then fault in on first use.
            let _ = m.advise_range(memmap2::Advice::PopulateRead, r.start, r.len());
        }
    }

    /// Drops mapped pages from this process's memory; they stay in the page
    /// cache, and a later read faults them back in from the file.
    pub fn release(&self) {
        if let Bytes::Map(m, r) = self {
            // SAFETY: the mapping is read-only and file-backed, so dropping
            // its pages loses nothing.
            let _ = unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, r.start, r.len()) };
        }
    }
}

/// A linear layer without bias over quantized weights `(n, k)`.
pub enum Linear {
    /// Our tiled kernel: CPU weights of a block type it knows.
    Tiled { w: Bytes, dtype: GgmlDType, n: usize, k: usize },
    /// Q4_K, Q6_K, Q8_0 or Q5_0 repacked eight rows to a block, where the
    /// CPU has AVX-512 VNNI.
    #[cfg(target_arch = "x86_64")]
    X8 { w: X8, n: usize, k: usize },
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
        let (dtype, dims) = (w.dtype(), w.shape().dims().to_vec());
        // Not for GPU weights: `tiled` may repack, which reads them back.
        let tiled =
            matches!(w.device(), Device::Cpu).then(|| Self::tiled(Bytes::Tensor(w.clone()), dtype, &dims, true));
        match tiled.flatten() {
            Some(l) => Ok(l),
            None => Ok(Linear::Candle(QMatMul::from_arc(w)?)),
        }
    }

    /// Our kernel over CPU bytes, where it knows the block type, the shape
    /// is a matrix of whole blocks and the bytes are aligned for the blocks.
    /// `repack` allows the repacked layout, which pays at load for speed
    /// over many tokens: a layer that only ever sees one token at a time
    /// (the output layer) streams as fast from the file's layout.
    pub fn tiled(
        w: Bytes,
        dtype: GgmlDType,
        dims: &[usize],
        // Only x86-64 has a repacked layout.
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))] repack: bool,
    ) -> Option<Self> {
        let &[n, k] = dims else { return None };
        let aligned = match &w {
            Bytes::Tensor(_) => true,
            Bytes::Map(m, r) => (m.as_ptr() as usize + r.start) % 8 == 0,
        };
        if !(aligned && tiled_dtype(dtype) && k % dtype.block_size() == 0) {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(x8) = repack.then(|| X8::repack(&w, dtype, n, k)).flatten() {
            // The file's copy is no longer read.
            w.release();
            return Some(Linear::X8 { w: x8, n, k });
        }
        w.prefault();
        Some(Linear::Tiled { w, dtype, n, k })
    }

    pub fn from_qtensor(w: QTensor) -> Result<Self> {
        Self::from_arc(Arc::new(w))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_isa(x, Isa::detect())
    }

    fn forward_isa(&self, x: &Tensor, isa: Isa) -> Result<Tensor> {
        let k = match self {
            Linear::Candle(m) => return m.forward(x),
            Linear::Tiled { k, .. } => *k,
            #[cfg(target_arch = "x86_64")]
            Linear::X8 { k, .. } => *k,
        };
        let x = x.contiguous()?;
        let dims = x.dims();
        if dims.last() != Some(&k) {
            candle_core::bail!("matmul: input {:?} does not end in {k}", dims);
        }
        let t = x.elem_count() / k;
        let mut out = Vec::new();
        {
            let (storage, layout) = x.storage_and_layout();
            let Storage::Cpu(CpuStorage::F32(data)) = &*storage else {
                candle_core::bail!("matmul: the tiled kernel takes f32 input on the CPU");
            };
            self.forward_into_isa(&data[layout.start_offset()..layout.start_offset() + t * k], t, &mut out, isa)?;
        }
        let mut shape = dims.to_vec();
        *shape.last_mut().unwrap_or(&mut 0) = out.len() / t.max(1);
        Tensor::from_vec(out, shape, &Device::Cpu)
    }

    /// `out` = `xs` (t rows of k, on the CPU) times the weights: t rows of
    /// n. `out`'s buffer is reused.
    pub fn forward_into(&self, xs: &[f32], t: usize, out: &mut Vec<f32>) -> Result<()> {
        self.forward_into_isa(xs, t, out, Isa::detect())
    }

    fn forward_into_isa(&self, xs: &[f32], t: usize, out: &mut Vec<f32>, isa: Isa) -> Result<()> {
        let (n, k) = match self {
            Linear::Candle(m) => {
                let y = m.forward(&Tensor::from_slice(xs, (t, xs.len() / t.max(1)), &Device::Cpu)?)?;
                out.clear();
                out.extend(y.flatten_all()?.to_vec1::<f32>()?);
                return Ok(());
            }
            Linear::Tiled { n, k, .. } => (*n, *k),
            #[cfg(target_arch = "x86_64")]
            Linear::X8 { n, k, .. } => (*n, *k),
        };
        if xs.len() != t * k {
            candle_core::bail!("matmul: {} inputs are not {t} rows of {k}", xs.len());
        }
        out.resize(t * n, 0.0);
        let (w, dtype) = match self {
            Linear::Tiled { w, dtype, .. } => (w, *dtype),
            #[cfg(target_arch = "x86_64")]
            Linear::X8 { w, .. } => {
                run_x8(w, xs, t, n, k, out);
                return Ok(());
            }
            Linear::Candle(_) => unreachable!("returned above"),
        };
        let bytes = w.get()?;
        use GgmlDType::*;
        match dtype {
            Q4_0 => run::<BlockQ4_0>(&bytes, xs, t, k, n, out, isa),
            Q4_1 => run::<BlockQ4_1>(&bytes, xs, t, k, n, out, isa),
            Q5_0 => run::<BlockQ5_0>(&bytes, xs, t, k, n, out, isa),
            Q5_1 => run::<BlockQ5_1>(&bytes, xs, t, k, n, out, isa),
            Q8_0 => run::<BlockQ8_0>(&bytes, xs, t, k, n, out, isa),
            Q4K => run::<BlockQ4K>(&bytes, xs, t, k, n, out, isa),
            Q5K => run::<BlockQ5K>(&bytes, xs, t, k, n, out, isa),
            Q6K => run::<BlockQ6K>(&bytes, xs, t, k, n, out, isa),
            Q8K => run::<BlockQ8K>(&bytes, xs, t, k, n, out, isa),
            d => candle_core::bail!("matmul: no tiled kernel for {d:?}"),
        }
    }
}

/// Blocks repacked into anonymous memory. Its pages are populated up front,
/// by all threads: page by page the faults cost more than the repacking,
/// and the kernel's zeroing is most of the load. (Huge pages halved that
/// when memory was free, but their compaction doubled the load when
/// another engine had run.)
#[cfg(target_arch = "x86_64")]
pub struct Packed<T>(memmap2::MmapMut, std::marker::PhantomData<T>);

#[cfg(target_arch = "x86_64")]
impl<T: Copy> Packed<T> {
    /// `count` blocks of zero bytes, which must be a valid `T`.
    fn zeroed(count: usize) -> std::io::Result<Self> {
        let len = (count * std::mem::size_of::<T>()).max(1);
        let map = memmap2::MmapMut::map_anon(len)?;
        // memmap2 has PopulateWrite on Linux only: elsewhere the pages fault
        // in as written.
        #[cfg(target_os = "linux")]
        {
            const CHUNK: usize = 4 << 20;
            (0..len.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
                let from = c * CHUNK;
                // Older kernels lack it: the pages then fault in as written.
                let _ = map.advise_range(memmap2::Advice::PopulateWrite, from, CHUNK.min(len - from));
            });
        }
        Ok(Packed(map, std::marker::PhantomData))
    }
    /// `n` rows of `blocks` source blocks each (`n` a multiple of 8),
    /// `pack` making each block of eight rows, groups spread over threads.
    fn repack<S: Sync>(w: &[S], n: usize, blocks: usize, pack: impl Fn([&S; 8], &mut T) + Sync) -> std::io::Result<Self>
    where
        T: Send,
    {
        let mut packed = Self::zeroed(n / 8 * blocks)?;
        packed.blocks_mut().par_chunks_mut(blocks).enumerate().for_each(|(g, dst)| {
            for (b, o) in dst.iter_mut().enumerate() {
                pack(std::array::from_fn(|r| &w[(8 * g + r) * blocks + b]), o);
            }
        });
        Ok(packed)
    }
    fn blocks(&self) -> &[T] {
        // SAFETY: page-aligned, and `T` (plain data) is valid zeroed.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast(), self.0.len() / std::mem::size_of::<T>()) }
    }
    fn blocks_mut(&mut self) -> &mut [T] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast(), self.0.len() / std::mem::size_of::<T>()) }
    }
}

/// Repacked weights, by block type.
#[cfg(target_arch = "x86_64")]
pub enum X8 {
    Q4K(Packed<q4k_x8::Q4Kx8>),
    Q6K(Packed<q6k_x8::Q6Kx8>),
    Q8_0(Packed<q32_x8::Q8_0x8>),
    Q5_0(Packed<q32_x8::Q5_0x8>),
}

/// Activations quantized for the repacked kernels, with what each needs
/// made once per matmul. Kept per thread and reused: decode makes some 200
/// matmuls a token.
#[cfg(target_arch = "x86_64")]
#[derive(Default)]
struct Acts {
    /// For Q4_K and Q6_K; for Q4_K also the sub-block sums.
    k: Vec<BlockQ8K>,
    sums: Vec<[i16; 16]>,
    /// For Q8_0 and Q5_0, with each block's starting sum and scale.
    b32: Vec<BlockQ8_0>,
    pre: Vec<(i32, f32)>,
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    static ACTS: std::cell::RefCell<Acts> = std::cell::RefCell::default();
}

#[cfg(target_arch = "x86_64")]
impl X8 {
    /// Where the CPU has AVX-512 VNNI, the block type has a repacked
    /// kernel and the rows come in whole groups of eight.
    fn repack(w: &Bytes, dtype: GgmlDType, n: usize, k: usize) -> Option<X8> {
        if n % 8 != 0 || Isa::detect() != Isa::Avx512Vnni {
            return None;
        }
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
#[cfg(target_arch = "x86_64")]
fn run_x8(w: &X8, xs: &[f32], t: usize, n: usize, k: usize, out: &mut [f32]) {
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

#[cfg(target_arch = "x86_64")]
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

/// Token groups `(first, count)`: eight while eight are left, then four,
/// then what is left as one group, the sizes the VNNI kernels are built
/// for (two and three: a batch of candidates, each weight block unpacked
/// once for all of them).
#[cfg(target_arch = "x86_64")]
fn token_steps(t: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut tok = 0;
    std::iter::from_fn(move || {
        (tok < t).then(|| {
            let step = match t - tok {
                8.. => 8,
                4..=7 => 4,
                n => n,
            };
            tok += step;
            (tok - step, step)
        })
    })
}

/// Each task writes its own columns of `out`, which are disjoint.
struct Out(*mut f32);
unsafe impl Sync for Out {}

fn run<T: GgmlType + 'static>(
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
    #[allow(unused_variables)]
    fn with_isa<T: GgmlType + 'static>(w: &'a [T], xq: &'a [T::VecDotType], t: usize, isa: Isa) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::any::TypeId;
            if isa == Isa::Scalar {
                return None;
            }
            let id = TypeId::of::<T>();
            // SAFETY: each mirror copies the repr(C) layout of the block type
            // it stands for (sizes asserted in `x86`), and T's dot type is
            // BlockQ8K for Q4_K and Q6_K, and BlockQ8_0 for Q5_0 and Q8_0.
            use x86::view;
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

/// The widest kernels this CPU runs; tests pick narrower ones to check each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Isa {
    Scalar,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512Vnni,
}

impl Isa {
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            // std caches what it detects: each call is a few atomic loads.
            use std::arch::is_x86_feature_detected as has;
            if !has!("avx2") || !has!("fma") {
                Isa::Scalar
            } else if has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512vnni") {
                Isa::Avx512Vnni
            } else {
                Isa::Avx2
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Scalar
    }
}

#[cfg(target_arch = "x86_64")]
mod q32_x8;
#[cfg(target_arch = "x86_64")]
mod q4k_x8;
#[cfg(target_arch = "x86_64")]
mod q6k_x8;

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
                let h_lo =
                    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_slli_epi16(h, 4)), _mm256_slli_epi16(h, 2), 1);
                let h_hi = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 2), 1);
                q[2 * j] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(h_lo, m30));
                q[2 * j + 1] =
                    _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(h_hi, m30));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel level this CPU can run, so that each is checked.
    fn isas() -> Vec<Isa> {
        let best = Isa::detect();
        let all = [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni];
        let upto = all.iter().position(|&i| i == best).unwrap();
        all[..=upto].to_vec()
    }

    /// The tiled kernel gives candle's numbers, for every block type the
    /// test models use and for one token and many; so does the repacked
    /// Q4_K layout where the CPU takes it.
    #[test]
    fn matches_candle_for_each_block_type_and_token_count() {
        let dev = Device::Cpu;
        for dtype in [GgmlDType::Q4_0, GgmlDType::Q5_0, GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::Q6K] {
            // Rows in whole groups of eight and not, for the repacked layout.
            for n in [304, 300] {
                let k = 512;
                let w = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
                let q = Arc::new(QTensor::quantize(&w, dtype).unwrap());
                let best = Linear::from_arc(q.clone()).unwrap();
                #[cfg(target_arch = "x86_64")]
                let repacked = matches!(dtype, GgmlDType::Q4K | GgmlDType::Q6K | GgmlDType::Q8_0 | GgmlDType::Q5_0)
                    && n % 8 == 0
                    && Isa::detect() == Isa::Avx512Vnni;
                #[cfg(target_arch = "x86_64")]
                assert_eq!(matches!(best, Linear::X8 { .. }), repacked, "{dtype:?} n={n}");
                let plain = Linear::Tiled { w: Bytes::Tensor(q.clone()), dtype, n, k };
                let theirs = QMatMul::from_arc(q).unwrap();
                for t in [1, 2, 3, 7, 13, 64] {
                    let x = Tensor::randn(0f32, 1.0, (1, t, k), &dev).unwrap();
                    let b = theirs.forward(&x).unwrap();
                    let check = |a: Tensor, what: &str| {
                        assert_eq!(a.dims(), b.dims());
                        let diff = (a - &b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                        assert!(diff < 1e-3, "{dtype:?} {what} n={n} t={t}: max diff {diff}");
                    };
                    for isa in isas() {
                        check(plain.forward_isa(&x, isa).unwrap(), &format!("{isa:?}"));
                    }
                    check(best.forward(&x).unwrap(), "best");
                }
            }
        }
    }
}
