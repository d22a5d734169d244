//! Signals that must end a conversion cleanly rather than kill it.
//!
//! Ctrl-C and `kill` (SIGINT, SIGTERM) ask the run to stop: it finishes the chunk in
//! hand, deletes its temporary files and exits with an error, so nothing half-written
//! stays behind. A second signal kills at once, for a run stuck reading a pipe.
//! SIGUSR1 asks a listener for its counts. SIGXFSZ is ignored: a file-size limit then fails the write with a clear error
//! (like a full disk) instead of killing the process.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static STATS: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the handlers; later calls do nothing.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a zeroed, then filled, struct; the handler only touches
        // an atomic and async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            for signal in [libc::SIGINT, libc::SIGTERM] {
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let mut stats: libc::sigaction = std::mem::zeroed();
            stats.sa_sigaction = on_stats_signal as *const () as usize;
            libc::sigemptyset(&mut stats.sa_mask);
            libc::sigaction(libc::SIGUSR1, &stats, std::ptr::null_mut());
        }
    });
}

/// Whether a stop was asked for.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Whether SIGUSR1 asked for the counts since the last call (a long-running listener
/// prints them).
pub fn take_stats_request() -> bool {
    STATS.swap(false, Ordering::Relaxed)
}

extern "C" fn on_stats_signal(_: libc::c_int) {
    STATS.store(true, Ordering::Relaxed);
}

extern "C" fn on_stop_signal(signal: libc::c_int) {
    if STOP.swap(true, Ordering::Relaxed) {
        // SAFETY: signal and raise are async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}
