//! Memory for repacked weights.
use rayon::prelude::*;

/// Blocks repacked into anonymous memory. Its pages are populated up front,
/// by all threads: page by page the faults cost more than the repacking,
/// and the kernel's zeroing is most of the load. (Huge pages halved that
/// when memory was free, but their compaction doubled the load when
/// another engine had run.)
pub struct Packed<T>(memmap2::MmapMut, std::marker::PhantomData<T>);

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
    pub(super) fn repack<S: Sync>(
        w: &[S],
        n: usize,
        blocks: usize,
        pack: impl Fn([&S; 8], &mut T) + Sync,
    ) -> std::io::Result<Self>
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
    pub(super) fn blocks(&self) -> &[T] {
        // SAFETY: page-aligned, and `T` (plain data) is valid zeroed.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast(), self.0.len() / std::mem::size_of::<T>()) }
    }
    pub(super) fn blocks_mut(&mut self) -> &mut [T] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast(), self.0.len() / std::mem::size_of::<T>()) }
    }
}
