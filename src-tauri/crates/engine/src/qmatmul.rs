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

fn run<T: GgmlType>(bytes: &[u8], xs: &[f32], t: usize, k: usize, n: usize, out: &mut [f32]) -> Result<()> {
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

    let row_bytes = blocks * size;
    let threads = rayon::current_num_threads().max(1);
    // Tiles that fit the cache, and enough of them to keep every thread busy.
    let rows = (TILE_BYTES / row_bytes).clamp(1, n.div_ceil(threads * 4).max(1));
    let dst = Out(out.as_mut_ptr());
    let dst = &dst;
    (0..n.div_ceil(rows)).into_par_iter().for_each(|tile| {
        let (r0, r1) = (tile * rows, ((tile + 1) * rows).min(n));
        for (tok, xrow) in xq.chunks_exact(qblocks).enumerate() {
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
