//! Byte scans shared by the JSON stages (pack, validate, collect) and the token estimate: the
//! next byte a JSON string cannot hold raw, and byte-class counts. AVX2 32 bytes at a time when
//! the CPU has it (checked once at run time), else SSE2 (every x86-64 CPU) 16 at a time, with a
//! portable scalar version for other targets and for tails.
#![allow(unsafe_code)]

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
        // SAFETY: AVX2 is used only when the CPU reports it; SSE2 is part of the x86-64
        // baseline; both read only within `b`.
        unsafe {
            if std::is_x86_feature_detected!("avx2") {
                avx2::json_special(b, from)
            } else {
                sse2::json_special(b, from)
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        json_special_scalar(b, from)
    }
}

/// Byte counts for the token estimate: `[ascii, whitespace, lead, cjk_lead]` where `ascii`
/// counts bytes < 0x80 (whitespace included), `whitespace` the bytes ` \t\n\x0b\x0c\r`, `lead` the
/// lead bytes of multi-byte characters (>= 0xC0), `cjk_lead` the lead bytes of CJK characters
/// (0xE3..=0xED, 0xEF, 0xF0..=0xF7).
#[inline]
pub fn byte_classes(b: &[u8]) -> [u64; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: as in `json_special`.
        unsafe {
            if std::is_x86_feature_detected!("avx2") {
                avx2::byte_classes(b)
            } else {
                sse2::byte_classes(b)
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        byte_classes_scalar(b)
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
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // v <= 0x1f (unsigned) exactly when min(v, 0x1f) == v.
        let ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_or_si128(_mm_or_si128(quote, slash), ctl)
    }

    pub unsafe fn json_special(b: &[u8], from: usize) -> usize {
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
            let m = _mm_movemask_epi8(special_mask(_mm_loadu_si128(p.add(i).cast::<__m128i>())));
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 16;
        }
        super::json_special_scalar(b, i)
    }

    /// `v` in `lo..=hi` (unsigned), as a byte mask.
    #[inline]
    unsafe fn in_range(v: __m128i, lo: u8, hi: u8) -> __m128i {
        let t = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
        _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((hi - lo) as i8)), t)
    }

    #[inline]
    unsafe fn hsum(acc: __m128i) -> u64 {
        let s = _mm_sad_epu8(acc, _mm_setzero_si128());
        let s = _mm_add_epi64(s, _mm_srli_si128::<8>(s));
        _mm_cvtsi128_si64(s) as u64
    }

    pub unsafe fn byte_classes(b: &[u8]) -> [u64; 4] {
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
        let n = b.len();
        let p = b.as_ptr();
        let mut i = from;
        while i + 32 <= n {
            let m =
                _mm256_movemask_epi8(special_mask(_mm256_loadu_si256(p.add(i).cast::<__m256i>())))
                    as u32;
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 32;
        }
        super::sse2::json_special(b, i)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        // xorshift: every byte value, runs of ASCII and of high bytes.
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
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
                    // SAFETY: SSE2 is baseline; AVX2 only when detected.
                    unsafe {
                        assert_eq!(sse2::json_special(&b, from), want);
                    }
                }
            }
        }
        assert_eq!(json_special(b"abc", 3), 3);
        assert_eq!(json_special("0123456789abcdef日本語\"".as_bytes(), 0), 25);
    }

    #[test]
    fn classes_match_scalar() {
        for seed in 1..100u64 {
            let b = bytes(seed, seed as usize * 97);
            assert_eq!(byte_classes(&b), byte_classes_scalar(&b));
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            // SAFETY: SSE2 is baseline.
            unsafe {
                assert_eq!(sse2::byte_classes(&b), byte_classes_scalar(&b));
            }
        }
        let all: Vec<u8> = (0..=255u8).cycle().take(256 * 300).collect();
        assert_eq!(byte_classes(&all), byte_classes_scalar(&all));
    }
}
