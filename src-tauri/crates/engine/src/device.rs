//! Device choice: the GPU a feature enables when it starts, else the CPU,
//! with the reason logged.
use candle_core::Device;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DevicePreference {
    /// The first GPU compiled in and working, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

impl std::str::FromStr for DevicePreference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "metal" => Ok(Self::Metal),
            _ => Err(format!("unknown device '{s}' (auto, cpu, cuda, metal)")),
        }
    }
}

/// The device to run on, and why it is the CPU when a GPU was wanted and
/// is compiled in but did not start (shown to the user, not only logged).
pub fn select(pref: DevicePreference) -> (Device, Option<String>) {
    if pref == DevicePreference::Cpu {
        return (Device::Cpu, None);
    }
    let mut fallback = None;
    if matches!(pref, DevicePreference::Auto | DevicePreference::Cuda) {
        match cuda() {
            Ok(d) => return (d, None),
            Err(why) => {
                tracing::info!("not using CUDA: {why}; falling back");
                if cfg!(feature = "cuda") || pref == DevicePreference::Cuda {
                    fallback = Some(format!("CUDA did not start: {why}"));
                }
            }
        }
    }
    if matches!(pref, DevicePreference::Auto | DevicePreference::Metal) {
        match metal() {
            Ok(d) => return (d, None),
            Err(why) => {
                tracing::info!("not using Metal: {why}; falling back");
                if cfg!(feature = "metal") || pref == DevicePreference::Metal {
                    fallback = Some(format!("Metal did not start: {why}"));
                }
            }
        }
    }
    tracing::info!("running on the CPU");
    (Device::Cpu, fallback)
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device, String> {
    // A token at a time, the kernel that dequantizes as it multiplies is one
    // launch where Candle's default is two (quantize the input, multiply),
    // and decode here is bound by launches: 1.5B shapes on an H100 went from
    // ~130 to ~190 tok/s. Prompts then take dequantized weights through
    // cuBLAS, which measured as fast within noise up to 512 tokens.
    candle_core::quantized::cuda::set_force_dmmv(true);
    Device::new_cuda(0).map_err(|e| e.to_string())
}
#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device, String> {
    Err("this build has no CUDA support (cargo feature `cuda`)".into())
}

#[cfg(feature = "metal")]
fn metal() -> Result<Device, String> {
    Device::new_metal(0).map_err(|e| e.to_string())
}
#[cfg(not(feature = "metal"))]
fn metal() -> Result<Device, String> {
    Err("this build has no Metal support (cargo feature `metal`)".into())
}

pub fn describe(d: &Device) -> &'static str {
    match d {
        Device::Cpu => "cpu",
        Device::Cuda(_) => "cuda",
        Device::Metal(_) => "metal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_asked_for_but_not_there_falls_back_to_the_cpu_with_the_reason() {
        assert!(matches!(select(DevicePreference::Cpu), (Device::Cpu, None)));
        #[cfg(not(feature = "metal"))]
        {
            let (d, why) = select(DevicePreference::Metal);
            assert!(d.is_cpu());
            assert!(why.is_some_and(|w| w.starts_with("Metal did not start") && w.contains("feature `metal`")));
        }
        #[cfg(not(any(feature = "metal", feature = "cuda")))]
        assert!(matches!(select(DevicePreference::Auto), (Device::Cpu, None)), "no GPU built in: the CPU is expected");
    }
}
