//! Which kernels this CPU runs.

/// The widest kernels this CPU runs; tests pick narrower ones to check each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Isa {
    Scalar,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512Vnni,
}

impl Isa {
    pub fn detect() -> Isa {
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
