//! Times the quantized matmul kernels alone, on the shapes of the models'
//! largest layers, at the token counts of decode and of prompt slices:
//! `cargo run --release --example qmatmul [-- RUNS [TOKENS,…]]`. For kernel work,
//! where `cmdbar bench` is too coarse and too slow. At one token the
//! weights are cycled through copies larger than the caches, as in decode,
//! and GB/s says how near memory bandwidth the kernel gets.
use std::time::Instant;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use cmdbar_engine::qmatmul::{Bytes, Linear, Role};

fn main() -> candle_core::Result<()> {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let tokens: Vec<usize> = std::env::args()
        .nth(2)
        .map(|s| s.split(',').filter_map(|t| t.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 128, 512]);
    let dev = Device::Cpu;
    // (dtype, rows, columns): Qwen2.5-Coder 1.5B's FFN in Q4_K and Q6_K,
    // and 0.5B's in Q5_0 and Q8_0.
    let cases = [
        (GgmlDType::Q4K, 8960, 1536),
        (GgmlDType::Q6K, 1536, 8960),
        (GgmlDType::Q5_0, 4864, 896),
        (GgmlDType::Q8_0, 896, 4864),
    ];
    println!(
        "{:<6} {:<6} {:>11} {:>6} {:>10} {:>9} {:>7}",
        "type", "layout", "n x k", "tokens", "ms", "GMAC/s", "GB/s"
    );
    // Each type repacked (where the CPU has the repacked kernels), then in
    // the file's layout.
    for ((dtype, n, k), repack) in cases.into_iter().flat_map(|c| [(c, true), (c, false)]) {
        let w = Tensor::randn(0f32, 1.0, (n, k), &dev)?;
        let q = QTensor::quantize(&w, dtype)?;
        let bytes = q.storage_size_in_bytes();
        // 256 MiB of copies at one token: more than any cache.
        let copies = if tokens.contains(&1) { (256usize << 20).div_ceil(bytes) } else { 1 };
        let lins = (0..copies)
            .map(|_| {
                let q = std::sync::Arc::new(QTensor::quantize(&w, dtype)?);
                // A one-token role keeps the file's layout.
                let role = if repack { Role::Layer { q6k_heavy: true } } else { Role::Output };
                Linear::tiled(Bytes::Tensor(q), dtype, &[n, k], role)
                    .ok_or_else(|| candle_core::Error::Msg(format!("no tiled kernel for {dtype:?}")))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        for &t in &tokens {
            let x = Tensor::randn(0f32, 1.0, (t, k), &dev)?;
            let set = if t == 1 { &lins[..] } else { &lins[..1] };
            for l in set {
                l.forward(&x)?;
            }
            let mut times: Vec<f64> = (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    for l in set {
                        l.forward(&x)?;
                    }
                    Ok(start.elapsed().as_secs_f64() / set.len() as f64)
                })
                .collect::<candle_core::Result<_>>()?;
            times.sort_by(f64::total_cmp);
            let s = times[runs / 2];
            let gmacs = (n * k * t) as f64 / s / 1e9;
            // Streaming speed means something only where the weights stream.
            let gbs = if t == 1 { format!("{:.1}", bytes as f64 / s / 1e9) } else { "-".into() };
            println!(
                "{:<6} {:<6} {:>11} {:>6} {:>10.3} {:>9.1} {:>7}",
                format!("{dtype:?}"),
                if repack { "x8" } else { "file" },
                format!("{n}x{k}"),
                t,
                s * 1e3,
                gmacs,
                gbs
            );
        }
    }
    Ok(())
}
