//! bedrock-batch: Amazon Bedrock batch inference from a table of articles and back.
//!
//! One module per pipeline stage; none of them knows Python. `py` is the binding layer: it only
//! converts types, releases the GIL and maps [`error::Error`] to Python exceptions.

pub mod aws;
pub mod clean;
pub mod collect;
pub mod cost;
pub mod error;
pub mod json;
pub mod lines;
pub mod pack;
mod py;
pub mod simd;
pub mod source;
pub mod sys;
pub mod tape;
pub mod tokens;
pub mod unicode;
pub mod utf8;
pub mod validate;

/// What the modules' tests share.
#[cfg(test)]
pub(crate) mod testing {
    /// A fixed xorshift (seeded, never zero), so a failing random case repeats.
    pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }
}

/// mimalloc serves the many short-lived buffers the parallel stages make (as pydantic-core
/// does); its thread-local heaps keep the two workers from contending on glibc's arenas.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
