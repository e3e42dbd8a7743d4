//! Byte scans shared by the JSON stages (pack, validate, collect) and the token estimate: the
//! next byte a JSON string cannot hold raw, and byte-class counts. AVX-512 64 bytes at a time
//! (a masked load takes the tail) or AVX2 32 at a time when the CPU has them (checked once at
//! run time), else SSE2 (every x86-64 CPU) 16 at a time, with a portable scalar version for
//! other targets and for tails.
#![allow(unsafe_code)]

use crate::sys;

/// Bytes a JSON string cannot hold raw: `"`, `\` and control characters (< 0x20).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

fn json_special_scalar(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| SPECIAL[c as usize])
        .map_or(b.len(), |p| from + p)
}

/// The index of the first `"`, `\` or control byte of `b` at or after `from`, else `b.len()`.
#[inline]
pub fn json_special(b: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let cpu = sys::cpu();
        // SAFETY: AVX-512 and AVX2 are used only when the CPU reports them; SSE2 is part of
        // the x86-64 baseline; all read only within `b` (AVX-512's masked tail loads skip the
        // bytes past its end).
        unsafe {
            if cpu & sys::AVX512 != 0 {
                return avx512::json_special(b, from);
            } else if cpu & sys::AVX2 != 0 {
                return avx2::json_special(b, from);
            } else if cpu & sys::SSE2 != 0 {
                return sse2::json_special(b, from);
            }
        }
    }
    json_special_scalar(b, from)
}

/// Byte counts for the token estimate: `[ascii, whitespace, lead, cjk_lead]` where `ascii`
/// counts bytes < 0x80 (whitespace included), `whitespace` the bytes ` \t\n\x0b\x0c\r`, `lead` the
/// lead bytes of multi-byte characters (>= 0xC0), `cjk_lead` the lead bytes of CJK characters
/// (0xE3..=0xED, 0xEF, 0xF0..=0xF7).
#[inline]
pub fn byte_classes(b: &[u8]) -> [u64; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        let cpu = sys::cpu();
        // SAFETY: as in `json_special`.
        unsafe {
            if cpu & sys::AVX512 != 0 {
                return avx512::byte_classes(b);
            } else if cpu & sys::AVX2 != 0 {
                return avx2::byte_classes(b);
            } else if cpu & sys::SSE2 != 0 {
                return sse2::byte_classes(b);
            }
        }
    }
    byte_classes_scalar(b)
}

/// Whether `b` is UTF-8: simdutf8 (AVX2, SSE4.2 or NEON) when the vector paths are on, else
/// std. Only the answer; `std::str::from_utf8` says where it fails.
#[inline]
pub fn is_utf8(b: &[u8]) -> bool {
    if sys::cpu() & sys::VECTOR != 0 {
        simdutf8::basic::from_utf8(b).is_ok()
    } else {
        std::str::from_utf8(b).is_ok()
    }
}

fn byte_classes_scalar(b: &[u8]) -> [u64; 4] {
    let mut c = [0u64; 4];
    for &x in b {
        c[0] += u64::from(x < 0x80);
        c[1] += u64::from(matches!(x, b' ' | 0x09..=0x0d));
        c[2] += u64::from(x >= 0xc0);
        c[3] += u64::from(matches!(x, 0xe3..=0xf7) && x != 0xee);
    }
    c
}

// `_mm_loadu_si128` reads unaligned memory (the pointer casts are fine), and the intrinsics
// take bytes as `i8` and give masks as `i32`.
#[cfg(target_arch = "x86_64")]
#[allow(
    clippy::cast_ptr_alignment,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation
)]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi64, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8,
        _mm_cvtsi128_si64, _mm_loadu_si128, _mm_max_epu8, _mm_min_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_sad_epu8, _mm_set1_epi8, _mm_setzero_si128, _mm_srli_si128, _mm_sub_epi8,
    };

    #[inline]
    unsafe fn special_mask(v: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline, and the intrinsics touch no memory.
        unsafe {
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // v <= 0x1f (unsigned) exactly when min(v, 0x1f) == v.
            let ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            _mm_or_si128(_mm_or_si128(quote, slash), ctl)
        }
    }

    pub unsafe fn json_special(b: &[u8], from: usize) -> usize {
        // SAFETY: SSE2 is part of the x86-64 baseline; each load reads 16 bytes at `i` and the loop
        // conditions keep `i + 16 <= n`.
        unsafe {
            let n = b.len();
            let p = b.as_ptr();
            let mut i = from;
            while i + 32 <= n {
                let a = special_mask(_mm_loadu_si128(p.add(i).cast::<__m128i>()));
                let c = special_mask(_mm_loadu_si128(p.add(i + 16).cast::<__m128i>()));
                let m = (_mm_movemask_epi8(a) as u32) | ((_mm_movemask_epi8(c) as u32) << 16);
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
                i += 32;
            }
            while i + 16 <= n {
                let m =
                    _mm_movemask_epi8(special_mask(_mm_loadu_si128(p.add(i).cast::<__m128i>())));
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
                i += 16;
            }
            super::json_special_scalar(b, i)
        }
    }

    /// `v` in `lo..=hi` (unsigned), as a byte mask.
    #[inline]
    unsafe fn in_range(v: __m128i, lo: u8, hi: u8) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline, and the intrinsics touch no memory.
        unsafe {
            let t = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((hi - lo) as i8)), t)
        }
    }

    #[inline]
    unsafe fn hsum(acc: __m128i) -> u64 {
        // SAFETY: SSE2 is part of the x86-64 baseline, and the intrinsics touch no memory.
        unsafe {
            let s = _mm_sad_epu8(acc, _mm_setzero_si128());
            let s = _mm_add_epi64(s, _mm_srli_si128::<8>(s));
            _mm_cvtsi128_si64(s) as u64
        }
    }

    pub unsafe fn byte_classes(b: &[u8]) -> [u64; 4] {
        // SAFETY: SSE2 is part of the x86-64 baseline; each load reads 16 bytes at `i` and the loop
        // conditions keep `i + 16 <= n`.
        unsafe {
            let mut out = [0u64; 4];
            let n = b.len();
            let p = b.as_ptr();
            let mut i = 0;
            while i + 16 <= n {
                // Per-lane byte counters: at most 255 steps before they are summed.
                let steps = ((n - i) / 16).min(255);
                let (mut ascii, mut ws, mut lead, mut cjk) = (
                    _mm_setzero_si128(),
                    _mm_setzero_si128(),
                    _mm_setzero_si128(),
                    _mm_setzero_si128(),
                );
                for _ in 0..steps {
                    let v = _mm_loadu_si128(p.add(i).cast::<__m128i>());
                    // A true lane is 0xFF (-1): subtracting it counts one.
                    ascii = _mm_sub_epi8(ascii, _mm_cmpgt_epi8(v, _mm_set1_epi8(-1)));
                    let space = _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                        in_range(v, 0x09, 0x0d),
                    );
                    ws = _mm_sub_epi8(ws, space);
                    lead = _mm_sub_epi8(
                        lead,
                        _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0xc0_u8 as i8)), v),
                    );
                    let c = _mm_andnot_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(0xee_u8 as i8)),
                        in_range(v, 0xe3, 0xf7),
                    );
                    cjk = _mm_sub_epi8(cjk, c);
                    i += 16;
                }
                out[0] += hsum(ascii);
                out[1] += hsum(ws);
                out[2] += hsum(lead);
                out[3] += hsum(cjk);
            }
            let tail = super::byte_classes_scalar(&b[i..]);
            for k in 0..4 {
                out[k] += tail[k];
            }
            out
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(
    clippy::cast_ptr_alignment,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation
)]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_andnot_si256, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8,
        _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_max_epu8, _mm256_min_epu8,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_sad_epu8, _mm256_set1_epi8,
        _mm256_setzero_si256, _mm256_sub_epi8, _mm_add_epi64, _mm_cvtsi128_si64, _mm_srli_si128,
    };

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn special_mask(v: __m256i) -> __m256i {
        let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
        let slash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
        let ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
        _mm256_or_si256(_mm256_or_si256(quote, slash), ctl)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn json_special(b: &[u8], from: usize) -> usize {
        // SAFETY: the caller checked AVX2 (this function's contract); each load reads 32 bytes at
        // `i` and the loop conditions keep `i + 32 <= n`.
        unsafe {
            let n = b.len();
            let p = b.as_ptr();
            let mut i = from;
            while i + 32 <= n {
                let m = _mm256_movemask_epi8(special_mask(_mm256_loadu_si256(
                    p.add(i).cast::<__m256i>(),
                ))) as u32;
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
                i += 32;
            }
            super::sse2::json_special(b, i)
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn in_range(v: __m256i, lo: u8, hi: u8) -> __m256i {
        let t = _mm256_sub_epi8(v, _mm256_set1_epi8(lo as i8));
        _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8((hi - lo) as i8)), t)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn hsum(acc: __m256i) -> u64 {
        let s = _mm256_sad_epu8(acc, _mm256_setzero_si256());
        let lo = _mm256_extracti128_si256::<0>(s);
        let hi = _mm256_extracti128_si256::<1>(s);
        let t = _mm_add_epi64(lo, hi);
        let t = _mm_add_epi64(t, _mm_srli_si128::<8>(t));
        _mm_cvtsi128_si64(t) as u64
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn byte_classes(b: &[u8]) -> [u64; 4] {
        // SAFETY: the caller checked AVX2 (this function's contract); each load reads 32 bytes at
        // `i` and the loop conditions keep `i + 32 <= n`.
        unsafe {
            let mut out = [0u64; 4];
            let n = b.len();
            let p = b.as_ptr();
            let mut i = 0;
            while i + 32 <= n {
                let steps = ((n - i) / 32).min(255);
                let (mut ascii, mut ws, mut lead, mut cjk) = (
                    _mm256_setzero_si256(),
                    _mm256_setzero_si256(),
                    _mm256_setzero_si256(),
                    _mm256_setzero_si256(),
                );
                for _ in 0..steps {
                    let v = _mm256_loadu_si256(p.add(i).cast::<__m256i>());
                    ascii = _mm256_sub_epi8(ascii, _mm256_cmpgt_epi8(v, _mm256_set1_epi8(-1)));
                    let space = _mm256_or_si256(
                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)),
                        in_range(v, 0x09, 0x0d),
                    );
                    ws = _mm256_sub_epi8(ws, space);
                    lead = _mm256_sub_epi8(
                        lead,
                        _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8(0xc0_u8 as i8)), v),
                    );
                    let c = _mm256_andnot_si256(
                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(0xee_u8 as i8)),
                        in_range(v, 0xe3, 0xf7),
                    );
                    cjk = _mm256_sub_epi8(cjk, c);
                    i += 32;
                }
                out[0] += hsum(ascii);
                out[1] += hsum(ws);
                out[2] += hsum(lead);
                out[3] += hsum(cjk);
            }
            let tail = super::sse2::byte_classes(&b[i..]);
            for k in 0..4 {
                out[k] += tail[k];
            }
            out
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm512_cmpeq_epi8_mask, _mm512_cmpge_epu8_mask, _mm512_cmplt_epu8_mask,
        _mm512_loadu_si512, _mm512_mask_add_epi8, _mm512_maskz_loadu_epi8, _mm512_movepi8_mask,
        _mm512_reduce_add_epi64, _mm512_sad_epu8, _mm512_set1_epi8, _mm512_setzero_si512,
        _mm512_sub_epi8,
    };

    /// AVX-512 F and BW (and popcnt), which these scans use.
    #[cfg(test)]
    pub fn available() -> bool {
        crate::sys::cpu() & crate::sys::AVX512 != 0
    }

    /// The `n` bytes at `p` (`n` < 64) in the low lanes, zeros above, and their mask. The
    /// masked lanes are not read (a masked load does not fault on them).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn tail(p: *const u8, n: usize) -> (__m512i, u64) {
        // SAFETY: the caller checked AVX-512 and that `p..p + n` is readable; the masked load reads
        // no lane past `n`.
        unsafe {
            let k = (1u64 << n) - 1;
            (_mm512_maskz_loadu_epi8(k, p.cast()), k)
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn special(v: __m512i) -> u64 {
        _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20))
            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8))
            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8))
    }

    /// # Safety
    /// On a CPU where [`available`] is true; `from <= b.len()`.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub unsafe fn json_special(b: &[u8], from: usize) -> usize {
        // SAFETY: the caller checked AVX-512 and `from <= b.len()`; full loads stay below `n` and
        // the tail goes through the masked `tail`.
        unsafe {
            let n = b.len();
            let p = b.as_ptr();
            let mut i = from;
            while i + 64 <= n {
                let m = special(_mm512_loadu_si512(p.add(i).cast()));
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
                i += 64;
            }
            if i < n {
                let (v, k) = tail(p.add(i), n - i);
                let m = special(v) & k;
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
            }
            n
        }
    }

    /// # Safety
    /// On a CPU where [`available`] is true.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub unsafe fn byte_classes(b: &[u8]) -> [u64; 4] {
        // SAFETY: the caller checked AVX-512; full loads stay below `b.len()` and the tail goes
        // through the masked `tail`.
        unsafe {
            /// Adds one to each class's byte counter in the lanes of `k` that hold its bytes.
            #[inline]
            #[target_feature(enable = "avx512f,avx512bw")]
            unsafe fn count(v: __m512i, k: u64, acc: &mut [__m512i; 4]) {
                let set = |x: u8| _mm512_set1_epi8(x as i8);
                let one = set(1);
                let ascii = !_mm512_movepi8_mask(v) & k;
                let space = _mm512_cmpeq_epi8_mask(v, set(b' '))
                    | _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, set(0x09)), set(5));
                let lead = _mm512_cmpge_epu8_mask(v, set(0xc0));
                let cjk =
                    _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, set(0xe3)), set(0xf7 - 0xe3 + 1))
                        & !_mm512_cmpeq_epi8_mask(v, set(0xee));
                acc[0] = _mm512_mask_add_epi8(acc[0], ascii, acc[0], one);
                acc[1] = _mm512_mask_add_epi8(acc[1], space & k, acc[1], one);
                acc[2] = _mm512_mask_add_epi8(acc[2], lead & k, acc[2], one);
                acc[3] = _mm512_mask_add_epi8(acc[3], cjk & k, acc[3], one);
            }
            /// The byte counters summed into `out` (each lane holds at most 255).
            #[inline]
            #[target_feature(enable = "avx512f,avx512bw")]
            unsafe fn fold(acc: &mut [__m512i; 4], out: &mut [u64; 4]) {
                for (a, o) in acc.iter_mut().zip(out.iter_mut()) {
                    let sums = _mm512_sad_epu8(*a, _mm512_setzero_si512());
                    *o += _mm512_reduce_add_epi64(sums) as u64;
                    *a = _mm512_setzero_si512();
                }
            }
            let mut out = [0u64; 4];
            let mut acc = [_mm512_setzero_si512(); 4];
            let n = b.len();
            let p = b.as_ptr();
            let mut i = 0;
            while i + 64 <= n {
                // Byte counters: at most 255 steps before they are summed.
                let end = (i + 255 * 64).min(n - n % 64);
                while i < end {
                    count(_mm512_loadu_si512(p.add(i).cast()), u64::MAX, &mut acc);
                    i += 64;
                }
                fold(&mut acc, &mut out);
            }
            if i < n {
                let (v, k) = tail(p.add(i), n - i);
                count(v, k, &mut acc);
                fold(&mut acc, &mut out);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        // Every byte value, runs of ASCII and of high bytes.
        let mut next = crate::testing::xorshift(seed);
        (0..n).map(|_| (next() >> 24) as u8).collect()
    }

    #[test]
    fn special_matches_scalar() {
        for seed in 1..200u64 {
            let mut b = bytes(seed, (seed as usize * 7) % 300);
            // Mostly plain text so the first special byte lands at varied depths.
            for x in &mut b {
                if (*x < 0x20 || *x == b'"' || *x == b'\\') && seed % 5 != 0 {
                    *x = b'a';
                }
            }
            if let Some(last) = b.last_mut() {
                if seed % 3 == 0 {
                    *last = b'"';
                }
            }
            for from in [0, 1, 15, 17, 40] {
                if from <= b.len() {
                    let want = json_special_scalar(&b, from);
                    assert_eq!(json_special(&b, from), want);
                    #[cfg(target_arch = "x86_64")]
                    #[allow(unsafe_code)]
                    // SAFETY: SSE2 is baseline; AVX2 and AVX-512 only when detected.
                    unsafe {
                        if sys::cpu() & sys::SSE2 != 0 {
                            assert_eq!(sse2::json_special(&b, from), want);
                        }
                        if sys::cpu() & sys::AVX2 != 0 {
                            assert_eq!(avx2::json_special(&b, from), want);
                        }
                        if avx512::available() {
                            assert_eq!(avx512::json_special(&b, from), want);
                        }
                    }
                }
            }
        }
        assert_eq!(json_special(b"abc", 3), 3);
        assert_eq!(json_special("0123456789abcdef日本語\"".as_bytes(), 0), 25);
    }

    /// Random text of 1- to 4-byte characters, with some bytes then changed at random.
    fn text(seed: u64, n: usize, mutations: usize) -> Vec<u8> {
        let mut next = crate::testing::xorshift(seed);
        let mut s = String::new();
        while s.len() < n {
            let r = next();
            let c = match r % 8 {
                0..=2 => char::from(b'a' + (r >> 8) as u8 % 26),
                3 => char::from_u32(0x80 + (r >> 8) as u32 % 0x780).unwrap(),
                4..=5 => char::from_u32(0x3000 + (r >> 8) as u32 % 0x6000).unwrap(),
                6 => char::from_u32(0xE000 + (r >> 8) as u32 % 0x2000).unwrap_or('x'),
                _ => char::from_u32(0x1_0000 + (r >> 8) as u32 % 0xF_FFFF).unwrap_or('y'),
            };
            s.push(c);
        }
        let mut b = s.into_bytes();
        for _ in 0..mutations {
            let r = next();
            let at = (r >> 8) as usize % b.len().max(1);
            if let Some(x) = b.get_mut(at) {
                *x = (r >> 40) as u8;
            }
        }
        b
    }

    #[test]
    fn utf8_check_matches_std() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for seed in 1..400u64 {
            let n = (seed as usize * 13) % 400;
            cases.push(text(seed, n, 0));
            cases.push(text(seed, n, (seed % 4) as usize));
            // Cut anywhere: unfinished characters at the end, at every block edge.
            let t = text(seed, n, 0);
            let cut = (seed as usize * 7) % (t.len() + 1);
            cases.push(t[..cut].to_vec());
        }
        // Each rule Keiser and Lemire check, at every offset around a block edge.
        let bad: [&[u8]; 14] = [
            b"\x80",
            b"\xC0\x80",
            b"\xC1\xBF",
            b"\xE0\x80\x80",
            b"\xE0\x9F\xBF",
            b"\xED\xA0\x80",
            b"\xED\xBF\xBF",
            b"\xF0\x80\x80\x80",
            b"\xF0\x8F\xBF\xBF",
            b"\xF4\x90\x80\x80",
            b"\xF5\x80\x80\x80",
            b"\xFF",
            b"\xE3\x81",
            b"\xC3\xA9\xA9",
        ];
        let good: [&[u8]; 6] = [
            b"\xC2\x80",
            b"\xDF\xBF",
            b"\xE0\xA0\x80",
            b"\xED\x9F\xBF",
            b"\xEE\x80\x80",
            b"\xF4\x8F\xBF\xBF",
        ];
        for piece in bad.iter().chain(&good) {
            for at in 55..70 {
                for after in [0usize, 1, 70] {
                    let mut b = vec![b'a'; at];
                    b.extend_from_slice(piece);
                    b.extend(std::iter::repeat_n(b'b', after));
                    cases.push(b.clone());
                    let mut j = "日本".repeat(at / 6).into_bytes();
                    j.extend_from_slice(piece);
                    j.extend(std::iter::repeat_n(0xE3, after.min(1)));
                    cases.push(j);
                }
            }
        }
        for b in &cases {
            let want = std::str::from_utf8(b).is_ok();
            assert_eq!(is_utf8(b), want, "{b:x?}");
            assert_eq!(sys::without_simd(|| is_utf8(b)), want, "{b:x?}");
        }
        assert!(cases.iter().any(|b| std::str::from_utf8(b).is_err()));
        assert!(cases.iter().any(|b| std::str::from_utf8(b).is_ok()));
    }

    #[test]
    fn classes_match_scalar() {
        for seed in 1..100u64 {
            let b = bytes(seed, seed as usize * 97);
            assert_eq!(byte_classes(&b), byte_classes_scalar(&b));
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            // SAFETY: SSE2 is baseline; AVX2 and AVX-512 only when detected.
            unsafe {
                assert_eq!(sse2::byte_classes(&b), byte_classes_scalar(&b));
                if sys::cpu() & sys::AVX2 != 0 {
                    assert_eq!(avx2::byte_classes(&b), byte_classes_scalar(&b));
                }
                if avx512::available() {
                    assert_eq!(avx512::byte_classes(&b), byte_classes_scalar(&b));
                }
            }
        }
        let all: Vec<u8> = (0..=255u8).cycle().take(256 * 300).collect();
        assert_eq!(byte_classes(&all), byte_classes_scalar(&all));
    }
}
