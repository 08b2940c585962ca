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
    let limit = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|pages| pages * 4096 + memory);
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
