//! Quantized matmul on the CPU, tiled. Candle's kernel makes one parallel
//! pass over every weight row per token, so a prefill of t tokens streams
//! the weights from memory t times and forks threads t times. Here each
//! thread takes tiles of weight rows that stay in its cache while every
//! token passes over them: the weights are read once per matmul.
//!
//! `plan` alone decides each matrix's kernel and layout. The rooms:
//! `tiled` (the file's layout, any CPU), `x8` (repacked eight rows to a
//! block where the CPU has AVX-512 VNNI, with `q4k_x8`, `q6k_x8` and
//! `q32_x8`), `x86` (the SIMD dot products and block mirrors), `isa`.
use std::sync::Arc;

use candle_core::quantized::k_quants::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8K, BlockQ8_0,
};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, Device, Module, Result, Storage, Tensor};

mod isa;
#[cfg(target_arch = "x86_64")]
mod packed;
#[cfg(target_arch = "x86_64")]
mod q32_x8;
#[cfg(target_arch = "x86_64")]
mod q4k_x8;
#[cfg(target_arch = "x86_64")]
mod q6k_x8;
mod tiled;
#[cfg(target_arch = "x86_64")]
mod x8;
#[cfg(target_arch = "x86_64")]
mod x86;

use isa::Isa;
#[cfg(target_arch = "x86_64")]
pub use x8::X8;

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

/// What a matrix is for, as far as its layout is concerned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// A layer's projection, which whole prompts pass through.
    /// `q6k_heavy`: most of the model's layer bytes are Q6_K.
    Layer { q6k_heavy: bool },
    /// Only ever one token at a time (the output layer).
    Output,
}

/// How a matrix is multiplied.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    /// Repacked at load, eight rows to a block (`x8`).
    Repacked,
    /// Our tiled kernel over the bytes as they are (`tiled`).
    File,
    /// Candle's kernel: GPU weights, or what ours does not take.
    Candle,
}

/// Weight bytes per tile: a tile stays in L1/L2 while all tokens pass.
const TILE_BYTES: usize = 48 << 10;

/// Token rows a decode step takes for about the weights' one pass: the
/// kernels go four tokens at a time (then eight), so a fifth row starts a
/// second pass (`token_steps`). On this CPU 4 rows cost 1.4 steps of one, 5
/// rows 1.7 (`examples/batch_step`).
pub const STEP_ROWS: usize = 4;

/// Each matrix's kernel and layout: the one place that decides. `cpu`:
/// the bytes are on the CPU and aligned for their blocks.
pub fn plan(dtype: GgmlDType, dims: &[usize], cpu: bool, role: Role) -> Layout {
    plan_for(dtype, dims, cpu, role, Isa::detect())
}

fn plan_for(dtype: GgmlDType, dims: &[usize], cpu: bool, role: Role, isa: Isa) -> Layout {
    use GgmlDType::*;
    let &[n, k] = dims else { return Layout::Candle };
    let tiled = matches!(dtype, Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q4K | Q5K | Q6K | Q8K);
    if !(cpu && tiled && k % dtype.block_size() == 0) {
        return Layout::Candle;
    }
    // Repacking pays at load for speed over many tokens. A matrix that
    // only sees one token at a time streams as fast from the file's layout.
    // So does Q6_K (31 against 26 GB/s), but its file-layout kernel takes
    // half as many prompt tokens a second: it is repacked only where most
    // of the layers' bytes are Q6_K. A Q4_K_M model (Q6_K in half its FFN
    // down projections) loads ~13% faster so, its prompts ~8% slower.
    let pays = match role {
        Role::Output => false,
        Role::Layer { q6k_heavy } => dtype != Q6K || q6k_heavy,
    };
    #[cfg(target_arch = "x86_64")]
    if pays && isa == Isa::Avx512Vnni && n % 8 == 0 && X8::takes(dtype) {
        return Layout::Repacked;
    }
    let _ = (pays, n, isa);
    Layout::File
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

impl Linear {
    /// A loaded tensor, CPU or GPU, laid out as `plan` says.
    pub fn from_arc(w: Arc<QTensor>, role: Role) -> Result<Self> {
        let (dtype, dims) = (w.dtype(), w.shape().dims().to_vec());
        let cpu = matches!(w.device(), Device::Cpu);
        match cpu.then(|| Self::tiled(Bytes::Tensor(w.clone()), dtype, &dims, role)).flatten() {
            Some(l) => Ok(l),
            None => Ok(Linear::Candle(QMatMul::from_arc(w)?)),
        }
    }

    pub fn from_qtensor(w: QTensor, role: Role) -> Result<Self> {
        Self::from_arc(Arc::new(w), role)
    }

    /// Our kernel over CPU bytes, laid out as `plan` says; None where the
    /// plan is candle's (a block type ours does not know, a shape that is
    /// not a matrix of whole blocks, bytes not aligned for the blocks).
    pub fn tiled(w: Bytes, dtype: GgmlDType, dims: &[usize], role: Role) -> Option<Self> {
        let aligned = match &w {
            Bytes::Tensor(_) => true,
            Bytes::Map(m, r) => (m.as_ptr() as usize + r.start).is_multiple_of(8),
        };
        let layout = plan(dtype, dims, aligned, role);
        let &[n, k] = dims else { return None };
        match layout {
            Layout::Candle => None,
            #[cfg(target_arch = "x86_64")]
            Layout::Repacked => match X8::repack(&w, dtype, n, k) {
                Some(x8) => {
                    // The file's copy is no longer read.
                    w.release();
                    Some(Linear::X8 { w: x8, n, k })
                }
                // No memory for the copy: the file's layout works as well.
                None => Some(Self::file(w, dtype, n, k)),
            },
            #[cfg(not(target_arch = "x86_64"))]
            Layout::Repacked => Some(Self::file(w, dtype, n, k)),
            Layout::File => Some(Self::file(w, dtype, n, k)),
        }
    }

    fn file(w: Bytes, dtype: GgmlDType, n: usize, k: usize) -> Self {
        w.prefault();
        Linear::Tiled { w, dtype, n, k }
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
                x8::run_x8(w, xs, t, n, k, out);
                return Ok(());
            }
            Linear::Candle(_) => unreachable!("returned above"),
        };
        let bytes = w.get()?;
        use GgmlDType::*;
        match dtype {
            Q4_0 => tiled::run::<BlockQ4_0>(&bytes, xs, t, k, n, out, isa),
            Q4_1 => tiled::run::<BlockQ4_1>(&bytes, xs, t, k, n, out, isa),
            Q5_0 => tiled::run::<BlockQ5_0>(&bytes, xs, t, k, n, out, isa),
            Q5_1 => tiled::run::<BlockQ5_1>(&bytes, xs, t, k, n, out, isa),
            Q8_0 => tiled::run::<BlockQ8_0>(&bytes, xs, t, k, n, out, isa),
            Q4K => tiled::run::<BlockQ4K>(&bytes, xs, t, k, n, out, isa),
            Q5K => tiled::run::<BlockQ5K>(&bytes, xs, t, k, n, out, isa),
            Q6K => tiled::run::<BlockQ6K>(&bytes, xs, t, k, n, out, isa),
            Q8K => tiled::run::<BlockQ8K>(&bytes, xs, t, k, n, out, isa),
            d => candle_core::bail!("matmul: no tiled kernel for {d:?}"),
        }
    }
}

#[cfg(target_arch = "x86_64")]
/// Token groups `(first, count)`: eight while eight are left, then four,
/// then what is left as one group, the sizes the VNNI kernels are built
/// for (two and three: a batch of candidates, each weight block unpacked
/// once for all of them).
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
                let best = Linear::from_arc(q.clone(), Role::Layer { q6k_heavy: true }).unwrap();
                #[cfg(target_arch = "x86_64")]
                let repacked = X8::takes(dtype) && n % 8 == 0 && Isa::detect() == Isa::Avx512Vnni;
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

    /// The plan: candle's kernel for what ours does not take, the file's
    /// layout for one-token matrices and a light Q6_K share, repacked only
    /// where the CPU, the block type and the row count allow.
    #[test]
    fn plan_picks_each_layout_in_one_place() {
        use GgmlDType::*;
        let layer = Role::Layer { q6k_heavy: false };
        let heavy = Role::Layer { q6k_heavy: true };
        let vnni = Isa::Avx512Vnni;
        assert_eq!(plan_for(Q4K, &[304, 512], false, layer, vnni), Layout::Candle, "GPU or unaligned");
        assert_eq!(plan_for(F16, &[304, 512], true, layer, vnni), Layout::Candle, "not a quantized type of ours");
        assert_eq!(plan_for(Q4K, &[304, 100], true, layer, vnni), Layout::Candle, "not whole blocks");
        assert_eq!(plan_for(Q4K, &[2, 304, 512], true, layer, vnni), Layout::Candle, "not a matrix");
        assert_eq!(plan_for(Q4K, &[304, 512], true, Role::Output, vnni), Layout::File);
        assert_eq!(plan_for(Q4K, &[304, 512], true, layer, Isa::Avx2), Layout::File);
        assert_eq!(plan_for(Q4K, &[300, 512], true, layer, vnni), Layout::File, "rows not in eights");
        assert_eq!(plan_for(Q6K, &[304, 512], true, layer, vnni), Layout::File, "Q6_K a minor share");
        assert_eq!(plan_for(Q4_1, &[304, 512], true, heavy, vnni), Layout::File, "no repacked kernel");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(plan_for(Q4K, &[304, 512], true, layer, vnni), Layout::Repacked);
            assert_eq!(plan_for(Q6K, &[304, 512], true, heavy, vnni), Layout::Repacked);
            assert_eq!(plan_for(Q8_0, &[304, 512], true, layer, vnni), Layout::Repacked);
        }
    }
}
