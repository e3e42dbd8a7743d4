//! What differs between operating systems and CPUs, in one place, each call with a portable
//! twin: memory-map advice, the fork hook, prefetch hints and which vector instructions run.
//!
//! Everything else in the crate calls these and is the same on every platform. The vector
//! kernels themselves live in `simd` and `utf8`, compiled per architecture; whether they run is
//! decided here, once, from the CPU and the `BEDROCK_BATCH_SIMD` environment variable.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

// --- memory-map advice --------------------------------------------------------------------

/// Tells the kernel a mapping will be read front to back (Unix; a no-op elsewhere).
pub fn advise_sequential(map: &memmap2::Mmap) {
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    #[cfg(not(unix))]
    let _ = map;
}

/// Maps `len` bytes from `start` in one call before they are read (Linux 5.14+; elsewhere the
/// pages fault in as they are touched).
pub fn advise_will_read(map: &memmap2::Mmap, start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    let _ = map.advise_range(memmap2::Advice::PopulateRead, start, len);
    #[cfg(not(target_os = "linux"))]
    let _ = (map, start, len);
}

/// Drops the pages of `start..start + len` from a read-only file mapping once they are done
/// with, so resident memory stays near one batch (Unix; elsewhere the OS reclaims them).
pub fn advise_done(map: &memmap2::Mmap, start: usize, len: usize) {
    #[cfg(unix)]
    // SAFETY: a read-only file mapping: dropped pages are read again from the file if touched.
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) };
    #[cfg(not(unix))]
    let _ = (map, start, len);
}

// --- fork ---------------------------------------------------------------------------------

static FORKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    FORKED.store(true, Ordering::SeqCst);
}

/// Notes every `fork()` in the child, for [`forked`] (Unix: `pthread_atfork`; Windows has no
/// `fork()`, so nothing is needed there). Call once.
pub fn watch_forks() {
    #[cfg(unix)]
    // SAFETY: pthread_atfork only stores the function pointer; the handler stores one atomic.
    unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    }
}

/// Whether this process is a child forked after [`watch_forks`]: threads of the parent (a
/// thread pool's) do not exist here.
pub fn forked() -> bool {
    FORKED.load(Ordering::Relaxed)
}

// --- prefetch -----------------------------------------------------------------------------

/// Whether [`prefetch`] does anything here (callers skip the work of finding what to prefetch
/// where it does not).
pub const PREFETCH: bool = cfg!(target_arch = "x86_64");

/// A hint to bring the cache line at `at` in (nothing is read, any address is fine; a no-op
/// where there is no stable prefetch instruction).
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and does not fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

// --- vector instructions ------------------------------------------------------------------

/// [`cpu`]: SSE2 (every x86-64 CPU).
pub const SSE2: u8 = 1 << 1;
/// [`cpu`]: AVX2.
pub const AVX2: u8 = 1 << 2;
/// [`cpu`]: AVX-512 F, BW and popcnt (the byte scans and the UTF-8 check).
pub const AVX512: u8 = 1 << 3;
/// [`cpu`]: with [`AVX512`], VBMI, VBMI2 and BMI2 (the UTF-8 writers of `utf8`).
pub const AVX512_VBMI: u8 = 1 << 4;
/// [`cpu`]: the other crates' vector paths (simdutf8) may run.
pub const VECTOR: u8 = 1 << 5;

const ASKED: u8 = 1;

#[cfg(test)]
thread_local! {
    /// Tests turn every vector path off in their thread to check the portable ones.
    static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every vector path off in this thread (tests of the portable paths).
#[cfg(test)]
pub fn without_simd<T>(f: impl FnOnce() -> T) -> T {
    OFF.set(true);
    let out = f();
    OFF.set(false);
    out
}

/// Whether `BEDROCK_BATCH_SIMD` turns the vector paths off ("off", "0", "false", "no").
fn switched_off(value: Option<&std::ffi::OsStr>) -> bool {
    value.and_then(std::ffi::OsStr::to_str).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "0" | "false" | "no"
        )
    })
}

/// The vector instruction sets the kernels may use ([`SSE2`], [`AVX2`], [`AVX512`],
/// [`AVX512_VBMI`], [`VECTOR`]): those the CPU has, asked once, or none when the environment
/// variable `BEDROCK_BATCH_SIMD=off` was set when first asked (then every stage runs its
/// portable scalar code, as on a CPU without them).
#[inline]
pub fn cpu() -> u8 {
    static STATE: AtomicU8 = AtomicU8::new(0);
    #[cfg(test)]
    if OFF.get() {
        return ASKED;
    }
    let state = STATE.load(Ordering::Relaxed);
    if state & ASKED != 0 {
        return state;
    }
    let state = if switched_off(std::env::var_os("BEDROCK_BATCH_SIMD").as_deref()) {
        ASKED
    } else {
        ASKED | VECTOR | detect()
    };
    STATE.store(state, Ordering::Relaxed);
    state
}

#[cfg(target_arch = "x86_64")]
fn detect() -> u8 {
    let avx512 = std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("popcnt");
    let vbmi = avx512
        && std::is_x86_feature_detected!("avx512vbmi")
        && std::is_x86_feature_detected!("avx512vbmi2")
        && std::is_x86_feature_detected!("bmi2");
    SSE2 | if std::is_x86_feature_detected!("avx2") {
        AVX2
    } else {
        0
    } | if avx512 { AVX512 } else { 0 }
        | if vbmi { AVX512_VBMI } else { 0 }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> u8 {
    0
}

/// The names of the vector paths in use, for `bedrock_batch` to report.
pub fn cpu_names() -> Vec<&'static str> {
    let c = cpu();
    [
        (VECTOR, "vector"),
        (SSE2, "sse2"),
        (AVX2, "avx2"),
        (AVX512, "avx512"),
        (AVX512_VBMI, "avx512vbmi"),
    ]
    .into_iter()
    .filter(|&(bit, _)| c & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_reads_its_values() {
        use std::ffi::OsStr;
        for off in ["off", "OFF", " 0", "false", "no"] {
            assert!(switched_off(Some(OsStr::new(off))), "{off}");
        }
        for on in ["on", "1", "", "auto"] {
            assert!(!switched_off(Some(OsStr::new(on))), "{on}");
        }
        assert!(!switched_off(None));
    }

    #[test]
    fn without_simd_turns_everything_off_in_its_thread() {
        assert_eq!(without_simd(cpu), ASKED);
        assert!(without_simd(cpu_names).is_empty());
        // Back on afterwards (when the process was not started with the switch).
        if !switched_off(std::env::var_os("BEDROCK_BATCH_SIMD").as_deref()) {
            assert_ne!(cpu() & VECTOR, 0);
        }
    }
}
