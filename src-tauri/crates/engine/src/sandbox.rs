//! Runs a closure in a forked child with a memory and time limit, for work
//! on untrusted input whose memory use Rust cannot bound or survive (an
//! allocation failure aborts the process).
use std::time::{Duration, Instant};

/// The child's exit code, or None if it crashed, ran out of memory or time.
/// `memory` is added to what the process has mapped now (Linux enforces it;
/// elsewhere only the time limit applies). Call it while the process is
/// small: fork copies the page tables.
pub(crate) fn run(
    #[cfg_attr(not(target_os = "linux"), allow(unused_variables))] memory: u64,
    time: Duration,
    f: impl FnOnce() -> i32,
) -> Option<i32> {
    #[cfg(target_os = "linux")]
    let limit = mapped_bytes().map(|b| b.saturating_add(memory));
    // SAFETY: the child only runs `f` (plain computation and allocation) and
    // leaves with _exit, skipping destructors and atexit handlers it shares
    // with the parent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return None;
    }
    if pid == 0 {
        #[cfg(target_os = "linux")]
        if let Some(limit) = limit {
            let rl = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) };
        }
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    let start = Instant::now();
    let mut status = 0;
    loop {
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            break;
        }
        if done < 0 {
            return None;
        }
        if start.elapsed() > time {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

/// The bytes this process has mapped now: `/proc/self/statm` counts pages
/// of the machine's own size, which is 16 KiB or 64 KiB on some ARM Linux
/// (4 KiB assumed there made the limit a quarter or less of what the
/// process already had, so every template probe failed).
#[cfg(target_os = "linux")]
fn mapped_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    statm_bytes(&statm, page_size())
}

#[cfg(target_os = "linux")]
fn statm_bytes(statm: &str, page: u64) -> Option<u64> {
    statm.split_whitespace().next()?.parse::<u64>().ok()?.checked_mul(page)
}

/// The machine's page size, from sysconf.
#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The limit's base is what the kernel says the process maps (VmSize),
    /// whatever the page size.
    #[test]
    fn the_mapped_size_uses_the_machines_page_size() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let kb = |key: &str| -> u64 {
            let line = status.lines().find(|l| l.starts_with(key)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        let vm = kb("VmSize:") * 1024;
        let mapped = super::mapped_bytes().unwrap();
        // Read a moment apart: other test threads may map a little more.
        assert!(mapped.abs_diff(vm) < 64 << 20, "statm says {mapped} bytes, VmSize {vm}");
        assert!(super::page_size().is_power_of_two() && super::page_size() >= 4096);
        // The same statm line on 16 KiB and 64 KiB pages.
        assert_eq!(super::statm_bytes("100 20 5 1 0 30 0", 16384), Some(100 * 16384));
        assert_eq!(super::statm_bytes("100 20 5 1 0 30 0", 65536), Some(100 * 65536));
    }
}
