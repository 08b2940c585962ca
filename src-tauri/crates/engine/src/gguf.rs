//! A GGUF file's weights, read for Candle: the header itself is read and
//! checked by `cmdbar-gguf`, re-exported here.
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

pub use cmdbar_gguf::{
    read_header, shapes, tensor_bytes, Architecture, Content, GgmlDType, GgufError, GgufFile, KvShape, Shape, Sizes,
    TensorInfo, Value, WrongType, MAX_METADATA_MEMORY,
};

use crate::error::{EngineError, Result};

/// Candle's name for a tensor type.
pub fn candle_dtype(d: GgmlDType) -> candle_core::quantized::GgmlDType {
    use candle_core::quantized::GgmlDType as C;
    match d {
        GgmlDType::F32 => C::F32,
        GgmlDType::F16 => C::F16,
        GgmlDType::BF16 => C::BF16,
        GgmlDType::Q4_0 => C::Q4_0,
        GgmlDType::Q4_1 => C::Q4_1,
        GgmlDType::Q5_0 => C::Q5_0,
        GgmlDType::Q5_1 => C::Q5_1,
        GgmlDType::Q8_0 => C::Q8_0,
        GgmlDType::Q8_1 => C::Q8_1,
        GgmlDType::Q2K => C::Q2K,
        GgmlDType::Q3K => C::Q3K,
        GgmlDType::Q4K => C::Q4K,
        GgmlDType::Q5K => C::Q5K,
        GgmlDType::Q6K => C::Q6K,
        GgmlDType::Q8K => C::Q8K,
    }
}

/// A tensor's bytes inside the mapped file.
pub struct Mapped {
    pub map: Arc<memmap2::Mmap>,
    pub range: std::ops::Range<usize>,
    pub dtype: candle_core::quantized::GgmlDType,
    pub dims: Vec<usize>,
}

/// The most memory a model may need: this machine's physical memory. A
/// header whose sizes need more (a crafted file asking for a terabyte of
/// KV cache) is refused before anything is allocated, since an allocation
/// that fails aborts the process.
pub fn memory_budget() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system constants.
        let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
        if pages > 0 && size > 0 {
            return (pages as u64).saturating_mul(size as u64);
        }
    }
    u64::MAX
}

/// Tensor `name` in the mapped file; extents were checked at open.
pub fn mapped(content: &Content, map: &Arc<memmap2::Mmap>, name: &str) -> Option<Mapped> {
    let info = content.tensor_infos.get(name)?;
    let start = usize::try_from(content.tensor_data_offset + info.offset).ok()?;
    let len = tensor_bytes(info);
    let range = start..start.checked_add(len).filter(|&end| end <= map.len())?;
    Some(Mapped { map: map.clone(), range, dtype: candle_dtype(info.ggml_dtype), dims: info.shape.dims().to_vec() })
}

/// Appends tensor `name`'s bytes, as stored, to `buf`.
pub fn read_raw(
    content: &Content,
    reader: &mut BufReader<File>,
    name: &str,
    buf: &mut Vec<u8>,
) -> candle_core::Result<()> {
    let Some(info) = content.tensor_infos.get(name) else { candle_core::bail!("cannot find tensor info for {name}") };
    let len = tensor_bytes(info);
    reader.seek(SeekFrom::Start(content.tensor_data_offset + info.offset))?;
    buf.reserve_exact(len);
    // Into spare capacity: no zeroing first.
    if reader.take(len as u64).read_to_end(buf)? != len {
        candle_core::bail!("tensor {name} ends past the end of the file");
    }
    Ok(())
}

/// Reads a tensor straight into the typed storage the CPU kernels use: one
/// copy from the file (candle's reader makes two, with a byte buffer in
/// between), which halves the memory touched while loading.
pub fn read_tensor(
    content: &Content,
    reader: &mut BufReader<File>,
    name: &str,
    device: &candle_core::Device,
) -> candle_core::Result<candle_core::quantized::QTensor> {
    use candle_core::quantized::k_quants::*;
    use GgmlDType as D;
    let Some(info) = content.tensor_infos.get(name) else { candle_core::bail!("cannot find tensor info for {name}") };
    if !device.is_cpu() {
        // As Candle's `Content::tensor` reads it: the bytes, then a tensor
        // made on the device from them.
        let mut raw = Vec::new();
        read_raw(content, reader, name, &mut raw)?;
        let dims = info.shape.dims().to_vec();
        return candle_core::quantized::ggml_file::qtensor_from_ggml(candle_dtype(info.ggml_dtype), &raw, dims, device);
    }
    let offset = content.tensor_data_offset + info.offset;
    let shape = candle_core::Shape::from(info.shape.dims().to_vec());
    match info.ggml_dtype {
        D::F32 => read_typed::<f32>(reader, offset, shape),
        D::F16 => read_typed::<half::f16>(reader, offset, shape),
        D::BF16 => read_typed::<half::bf16>(reader, offset, shape),
        D::Q4_0 => read_typed::<BlockQ4_0>(reader, offset, shape),
        D::Q4_1 => read_typed::<BlockQ4_1>(reader, offset, shape),
        D::Q5_0 => read_typed::<BlockQ5_0>(reader, offset, shape),
        D::Q5_1 => read_typed::<BlockQ5_1>(reader, offset, shape),
        D::Q8_0 => read_typed::<BlockQ8_0>(reader, offset, shape),
        D::Q8_1 => read_typed::<BlockQ8_1>(reader, offset, shape),
        D::Q2K => read_typed::<BlockQ2K>(reader, offset, shape),
        D::Q3K => read_typed::<BlockQ3K>(reader, offset, shape),
        D::Q4K => read_typed::<BlockQ4K>(reader, offset, shape),
        D::Q5K => read_typed::<BlockQ5K>(reader, offset, shape),
        D::Q6K => read_typed::<BlockQ6K>(reader, offset, shape),
        D::Q8K => read_typed::<BlockQ8K>(reader, offset, shape),
    }
}

/// Rows `tokens` of a quantized table (`row_bytes` each, `width` values),
/// dequantized as one (1, tokens, width) tensor on `device`: token
/// embeddings stay quantized in memory and are read a row per token.
pub fn dequantize_rows(
    data: &[u8],
    dtype: candle_core::quantized::GgmlDType,
    row_bytes: usize,
    width: usize,
    tokens: &[u32],
    device: &candle_core::Device,
) -> candle_core::Result<candle_core::Tensor> {
    let cpu = &candle_core::Device::Cpu;
    let rows = data.len() / row_bytes.max(1);
    let mut raw = Vec::with_capacity(tokens.len() * row_bytes);
    for &t in tokens {
        let t = t as usize;
        if t >= rows {
            candle_core::bail!("token id {t} is outside the vocabulary of {rows}");
        }
        raw.extend_from_slice(&data[t * row_bytes..(t + 1) * row_bytes]);
    }
    candle_core::quantized::ggml_file::qtensor_from_ggml(dtype, &raw, vec![tokens.len(), width], cpu)?
        .dequantize(cpu)?
        .unsqueeze(0)?
        .to_device(device)
}

fn read_typed<T: candle_core::quantized::k_quants::GgmlType + Send + Sync + 'static>(
    reader: &mut BufReader<File>,
    offset: u64,
    shape: candle_core::Shape,
) -> candle_core::Result<candle_core::quantized::QTensor> {
    use candle_core::quantized::{QStorage, QTensor};
    let elems = shape.elem_count();
    if !elems.is_multiple_of(T::BLCK_SIZE) {
        candle_core::bail!("{elems} elements are not a whole number of {}-element blocks", T::BLCK_SIZE);
    }
    let n = elems / T::BLCK_SIZE;
    let layout = std::alloc::Layout::array::<T>(n).map_err(candle_core::Error::wrap)?;
    let data: Vec<T> = if layout.size() == 0 {
        Vec::new()
    } else {
        // SAFETY: ggml blocks are plain integers and floats, for which all
        // zero bytes is a valid value; the zeroed allocation (lazily zeroed
        // pages) is then overwritten by the file's bytes.
        unsafe {
            let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            let mut v = Vec::from_raw_parts(ptr, n, n);
            let bytes = std::slice::from_raw_parts_mut(ptr as *mut u8, layout.size());
            reader.seek(SeekFrom::Start(offset))?;
            if let Err(e) = reader.read_exact(bytes) {
                v.clear();
                return Err(e.into());
            }
            v
        }
    };
    QTensor::new(QStorage::Cpu(Box::new(data)), shape)
}

/// Writes a model with `from`'s header (architecture, tokenizer, shapes and
/// quantization types) and random weights to `to`. `from` may be a header
/// alone: this is for timing on machines a real model cannot be copied to.
pub fn synthesize(from: &Path, to: &Path) -> Result<()> {
    use candle_core::quantized::QTensor;
    use std::collections::HashMap;
    use std::io::Write;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { path: path.clone(), source }
    };
    let (content, mut r, _) = read_header(from)?;
    let mut header = vec![0u8; content.tensor_data_offset as usize];
    r.seek(SeekFrom::Start(0)).map_err(io(from))?;
    r.read_exact(&mut header).map_err(io(from))?;
    let mut out = std::io::BufWriter::new(File::create(to).map_err(io(to))?);
    out.write_all(&header).map_err(io(to))?;

    // One block pattern per type, repeated: valid scales, so no NaNs.
    let mut patterns: HashMap<GgmlDType, Vec<u8>> = HashMap::new();
    let mut tensors: Vec<_> = content.tensor_infos.values().collect();
    tensors.sort_by_key(|t| t.offset);
    let mut at = 0u64;
    for t in tensors {
        let dtype = t.ggml_dtype;
        let bytes = tensor_bytes(t) as u64;
        if let std::collections::hash_map::Entry::Vacant(e) = patterns.entry(dtype) {
            let (mean, std) = if dtype == GgmlDType::F32 { (1f32, 0.1) } else { (0f32, 0.05) };
            let x = candle_core::Tensor::randn(mean, std, 256 * 64, &candle_core::Device::Cpu)?;
            e.insert(QTensor::quantize(&x, candle_dtype(dtype))?.data()?.to_vec());
        }
        let pattern = &patterns[&dtype];
        let pad = t
            .offset
            .checked_sub(at)
            .ok_or_else(|| EngineError::Corrupt { path: from.to_path_buf(), detail: "tensors overlap".into() })?;
        out.write_all(&vec![0u8; pad as usize]).map_err(io(to))?;
        let mut left = bytes as usize;
        while left > 0 {
            let n = left.min(pattern.len());
            out.write_all(&pattern[..n]).map_err(io(to))?;
            left -= n;
        }
        at = t.offset + bytes;
    }
    out.flush().map_err(io(to))
}
