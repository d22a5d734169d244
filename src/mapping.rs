//! Memory maps that survive their file shrinking under them.
//!
//! A log can be truncated while halake has it mapped: logrotate's `copytruncate`, or an
//! operator's `> haproxy.log`. Reading a mapped page that now lies past the end of the
//! file raises SIGBUS, which would kill the process. A SIGBUS handler looks the faulting
//! address up among the live maps; when it is one of ours, it maps a page of zeros over it,
//! records that the map's file changed, and lets the read go on. Readers call
//! [`GuardedMap::intact`] after they are done with a range: when it says no, what they read
//! may be zeros instead of the file, and they must discard it.
//!
//! The handler only reads atomics and calls `mmap`, a plain system call. Faults anywhere
//! else go to the handler that was installed before (Rust's stack-overflow guard) or to
//! the default action.

use std::fs::File;
use std::ops::Deref;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use memmap2::Mmap;

/// Maps guarded at once. Beyond this, files are read instead of mapped.
const SLOTS: usize = 1024;

struct Slot {
    busy: AtomicBool,
    start: AtomicUsize,
    end: AtomicUsize,
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    busy: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static REGISTRY: [Slot; SLOTS] = [FREE; SLOTS];
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();
/// The SIGBUS action before ours, as a pointer to a leaked `sigaction`.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);

/// A read-only map of a whole file whose truncation is detected instead of fatal.
pub struct GuardedMap {
    map: Mmap,
    file: File,
    slot: usize,
}

impl GuardedMap {
    /// Maps `file`. None when it cannot be mapped or guarded: read it instead.
    pub fn new(file: File) -> Option<GuardedMap> {
        install_handler();
        // SAFETY: a read-only map of a regular file. Its pages change if another process
        // writes the file (log files are only appended to, past the mapped length), and
        // reads past a truncation fault into the handler below instead of killing us.
        let map = unsafe { Mmap::map(&file) }.ok()?;
        if map.is_empty() {
            return None;
        }
        let slot = REGISTRY
            .iter()
            .position(|slot| slot.busy.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok())?;
        let entry = &REGISTRY[slot];
        let start = map.as_ptr() as usize;
        entry.faulted.store(false, Ordering::Release);
        entry.end.store(start + map.len(), Ordering::Release);
        entry.start.store(start, Ordering::Release);
        Some(GuardedMap { map, file, slot })
    }

    /// Whether every byte read so far was the file's: no page faulted past its end, and
    /// the file is still at least as long as the map.
    pub fn intact(&self) -> bool {
        !REGISTRY[self.slot].faulted.load(Ordering::Acquire)
            && self.file.metadata().is_ok_and(|metadata| metadata.len() >= self.map.len() as u64)
    }

    /// The file's length now (it may have grown or shrunk since it was mapped).
    pub fn current_len(&self) -> Option<u64> {
        self.file.metadata().ok().map(|metadata| metadata.len())
    }

    pub fn map(&self) -> &Mmap {
        &self.map
    }
}

impl Deref for GuardedMap {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        // Forget the range before it is unmapped, so that a fault there is no longer ours.
        let entry = &REGISTRY[self.slot];
        entry.start.store(0, Ordering::Release);
        entry.end.store(0, Ordering::Release);
        entry.busy.store(false, Ordering::Release);
    }
}

fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: sysconf and sigaction with a zeroed, then filled, sigaction struct.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE_SIZE.store(page as usize, Ordering::Relaxed);
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let previous: &'static mut libc::sigaction = Box::leak(Box::new(std::mem::zeroed()));
            if libc::sigaction(libc::SIGBUS, &action, previous) == 0 {
                PREVIOUS.store(previous as *mut libc::sigaction as usize, Ordering::Release);
            }
        }
    });
}

extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    for entry in &REGISTRY {
        let start = entry.start.load(Ordering::Acquire);
        if start == 0 || address < start || address >= entry.end.load(Ordering::Acquire) {
            continue;
        }
        let page_size = PAGE_SIZE.load(Ordering::Relaxed);
        let page = address & !(page_size - 1);
        // SAFETY: the page lies inside a live read-only map of ours (its owner holds it
        // while reading); replacing it with zeros changes nothing but what it reads.
        let zeros = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                page_size,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if zeros != libc::MAP_FAILED {
            entry.faulted.store(true, Ordering::Release);
            return;
        }
    }
    // Not ours: do what would have happened without this handler.
    // SAFETY: PREVIOUS points to a leaked sigaction written once before this handler ran.
    unsafe {
        let previous = PREVIOUS.load(Ordering::Acquire) as *const libc::sigaction;
        let handler = if previous.is_null() { libc::SIG_DFL } else { (*previous).sa_sigaction };
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            // Returning re-runs the faulting read, which now takes the default action.
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &default, std::ptr::null_mut());
        } else if (*previous).sa_flags & libc::SA_SIGINFO != 0 {
            let chained: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(handler);
            chained(signal, info, context);
        } else {
            let chained: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
            chained(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_truncated_under_its_map_reads_as_zeros_and_is_reported() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let text = "a log line\n".repeat(100_000);
        file.write_all(text.as_bytes()).unwrap();
        let map = GuardedMap::new(File::open(file.path()).unwrap()).unwrap();
        assert!(map.intact());
        assert_eq!(&map[..11], b"a log line\n");

        file.as_file().set_len(4096).unwrap();
        assert!(!map.intact(), "shorter than its map");
        // Past the new end: without the handler this read kills the test process.
        let tail_start = map.len() - 8192;
        let tail: u64 = map[tail_start..].iter().map(|&b| u64::from(b)).sum();
        assert_eq!(tail, 0);
        assert!(REGISTRY[map.slot].faulted.load(Ordering::Acquire));

        // Grown back to its old length with other bytes: still not intact, the fault is remembered.
        file.as_file().set_len(text.len() as u64).unwrap();
        assert!(!map.intact());
    }

    #[test]
    fn slots_are_given_back() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"x\n").unwrap();
        for _ in 0..SLOTS * 2 {
            let map = GuardedMap::new(File::open(file.path()).unwrap()).expect("a slot is free");
            assert!(map.intact());
        }
    }
}
