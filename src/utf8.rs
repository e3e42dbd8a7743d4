//! UTF-8 from the fixed-width code units a Python `str` stores (Latin-1 bytes, UCS-2 or UCS-4
//! units), plain or already escaped as the inside of a JSON string.
//!
//! Turning a Japanese column into UTF-8 was most of the pack stage's time (encoding_rs's
//! UTF-16 path goes one character at a time once text leaves ASCII, and its `&mut str` output
//! must be zeroed and sized first), and pack then read the result twice more: to escape it for
//! JSON and to count the byte classes of the token estimate. Here the output is reserved, not
//! zeroed, and filled in one pass; the JSON form escapes and counts in the same pass. On CPUs
//! with AVX-512 (F, BW and VBMI2; checked once at run time) 16 code units become their 1 to 4
//! bytes each with shifts and masks and `vpcompressb` packs them; a run of 32 ASCII units (64
//! Latin-1 bytes) is narrowed in one step. Elsewhere, and for any block that holds a surrogate,
//! a value past U+10FFFF or a control character JSON writes as `\u00XX`, a scalar loop does the
//! same work.
//!
//! Surrogates follow the rule of [`crate::unicode::Text`]: a high surrogate followed by a low
//! one is the character they encode; any other surrogate (and any value above U+10FFFF) is one
//! U+FFFD. The JSON form is byte for byte what [`crate::json::escaped`] writes for the
//! UTF-8 text, and its classes are what [`crate::simd::byte_classes`] counts in that UTF-8.
#![allow(unsafe_code)]
// The kernels inline their helpers into `#[target_feature]` functions, where a plain `#[inline]`
// is only a hint and a call would cost more than the helper.
#![allow(clippy::inline_always)]

use crate::json::ESCAPES;

/// Byte classes of a text's UTF-8: `[ascii, whitespace, lead, cjk_lead]` (see
/// [`crate::simd::byte_classes`]).
pub type Classes = [u64; 4];

/// A fixed-width code unit: its value and the most UTF-8 bytes one unit can need.
pub trait Unit: Copy {
    const MAX_UTF8: usize;
    fn get(self) -> u32;
}

impl Unit for u8 {
    const MAX_UTF8: usize = 2;
    #[inline]
    fn get(self) -> u32 {
        u32::from(self)
    }
}

impl Unit for u16 {
    const MAX_UTF8: usize = 3;
    #[inline]
    fn get(self) -> u32 {
        u32::from(self)
    }
}

impl Unit for u32 {
    const MAX_UTF8: usize = 4;
    #[inline]
    fn get(self) -> u32 {
        self
    }
}

/// What the writers write: plain UTF-8, or escaped for JSON with or without counting the
/// classes of the text.
const PLAIN: u8 = 0;
const COUNTED: u8 = 1;
const ESCAPED: u8 = 2;

/// Bytes the vector writers may store past the end of what they have written (one 64-byte
/// store, of which only the first bytes count).
const SLACK: usize = 64;

/// The room a step of the writers needs before it starts: the most one step writes (64 bytes
/// of UTF-8 that are all control characters, six bytes each), plus the slack of its store.
const STEP_ROOM: usize = 64 * 6 + SLACK;

/// Above this many units plain output is sized exactly (one counting pass) rather than for
/// the worst case, so a 100 MB document does not reserve 300 MB.
const EXACT_ABOVE: usize = 1 << 20;

/// Appends Latin-1 text (one byte per code point) as UTF-8.
pub fn push_latin1(out: &mut String, src: &[u8]) {
    push_str(out, src);
}

/// Appends UCS-2 text (two bytes per code point, surrogates possible) as UTF-8.
pub fn push_ucs2(out: &mut String, src: &[u16]) {
    push_str(out, src);
}

/// Appends UCS-4 text (four bytes per code point, surrogates possible) as UTF-8.
pub fn push_ucs4(out: &mut String, src: &[u32]) {
    push_str(out, src);
}

/// The UTF-8 bytes one unit takes: a surrogate 3 (so a pair counts 6 for the 4 it takes and
/// a lone one the 3 of U+FFFD), a value past U+10FFFF 4 (for the 3 of U+FFFD).
#[inline(always)]
fn cost(c: u32) -> u32 {
    1 + u32::from(c >= 0x80) + u32::from(c >= 0x800) + u32::from(c >= 0x1_0000)
}

/// An upper bound of the bytes `src` takes as UTF-8.
fn bound<U: Unit>(src: &[U]) -> usize {
    // u32 lane sums vectorise; chunks keep them from overflowing.
    src.chunks(1 << 16)
        .map(|chunk| chunk.iter().map(|u| cost(u.get())).sum::<u32>() as usize)
        .sum()
}

fn push_str<U: Unit>(out: &mut String, src: &[U]) {
    // A large text is measured first so that its buffer is not three times its size.
    let size = if src.len() > EXACT_ABOVE {
        Some(bound(src))
    } else {
        None
    };
    // SAFETY: the plain writers write valid UTF-8 only, and `set_len` covers just what they
    // wrote.
    unsafe { push_units::<U, PLAIN>(out.as_mut_vec(), src, &mut [0; 4], size) }
}

/// How far ahead of its reads a kernel asks for its source: a string's pages are out of the
/// caches and the hardware's prefetcher stops at each page's end.
#[cfg(target_arch = "x86_64")]
const AHEAD: usize = 1024;

/// Appends `src` as the inside of a JSON string (what [`crate::json::escaped`] writes for
/// its UTF-8) and adds the classes of its UTF-8 to `classes`.
pub fn push_json<U: Unit>(out: &mut Vec<u8>, src: &[U], classes: &mut Classes) {
    push_units::<U, COUNTED>(out, src, classes, None);
}

/// [`push_json`] without counting classes (for text already measured).
pub fn push_json_uncounted<U: Unit>(out: &mut Vec<u8>, src: &[U]) {
    push_units::<U, ESCAPED>(out, src, &mut [0; 4], None);
}

/// Appends the UTF-8 (escaped for JSON with `JSON`) of `src`: each round reserves room for the
/// rest at its plainest (`size`, or `MAX_UTF8` bytes a unit), and the writers stop where the
/// room ends, which only escapes past the two-byte ones can make come early.
fn push_units<U: Unit, const MODE: u8>(
    out: &mut Vec<u8>,
    src: &[U],
    classes: &mut Classes,
    size: Option<usize>,
) {
    let mut i = 0;
    let mut first = true;
    while i < src.len() {
        let rest = match size {
            Some(n) if first => n,
            _ => (src.len() - i) * U::MAX_UTF8,
        };
        first = false;
        out.reserve(rest + STEP_ROOM);
        // SAFETY: the writers store only below `limit`, the end of the reservation, and
        // return the end of the bytes they wrote, which `set_len` then covers.
        unsafe {
            let base = out.as_mut_ptr();
            let limit = base.add(out.capacity());
            let (next, end) = encode::<U, MODE>(src, i, base.add(out.len()), limit, classes);
            out.set_len(end.offset_from(base) as usize);
            i = next;
        }
    }
}

/// Appends UTF-8 text as the inside of a JSON string and adds its byte classes.
pub fn push_json_utf8(out: &mut Vec<u8>, src: &str, classes: &mut Classes) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            let b = src.as_bytes();
            let mut i = 0;
            while i < b.len() {
                out.reserve(b.len() - i + STEP_ROOM);
                // SAFETY: as in `push_units`; the bytes written are `src`'s, whole characters
                // between escapes, so the output is valid UTF-8.
                unsafe {
                    let base = out.as_mut_ptr();
                    let limit = base.add(out.capacity());
                    let (next, end) = avx512::json_utf8(b, i, base.add(out.len()), limit, classes);
                    out.set_len(end.offset_from(base) as usize);
                    i = next;
                }
            }
            return;
        }
    }
    crate::json::escaped(out, src);
    let c = crate::simd::byte_classes(src.as_bytes());
    for k in 0..4 {
        classes[k] += c[k];
    }
}

/// The exact length of what [`push_json`] writes for `src`, with the classes of its UTF-8
/// added to `classes`, without writing it: masks counted per 32 units (64 bytes) where the
/// CPU has AVX-512, else the scalar count.
pub fn json_measure<U: Unit>(src: &[U], classes: &mut Classes) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            // SAFETY: the CPU has the features the function was compiled for.
            return unsafe { avx512::measure(src, classes) };
        }
    }
    measure_scalar(src, 0, src.len(), classes).1
}

/// The exact length of what [`push_json_utf8`] writes for `src`, with its byte classes added
/// to `classes`.
pub fn json_measure_utf8(src: &str, classes: &mut Classes) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            // SAFETY: as in `json_measure`.
            return unsafe { avx512::measure_utf8(src.as_bytes(), classes) };
        }
    }
    let c = crate::simd::byte_classes(src.as_bytes());
    for k in 0..4 {
        classes[k] += c[k];
    }
    src.bytes().map(json_ascii_len).sum()
}

/// The bytes JSON takes for a byte (1, 2 for a short escape, 6 for `\u00XX`).
#[inline(always)]
fn json_ascii_len(c: u8) -> usize {
    match ESCAPES.get(c as usize) {
        Some(&(_, n)) if n > 0 => n as usize,
        _ => 1,
    }
}

/// [`json_measure`] of `src[i..end]` one unit at a time (a surrogate pair straddling `end` is
/// taken whole): the next unit and the length.
fn measure_scalar<U: Unit>(
    src: &[U],
    mut i: usize,
    end: usize,
    classes: &mut Classes,
) -> (usize, usize) {
    let mut len = 0;
    while i < end {
        let c = src[i].get();
        i += 1;
        if c < 0x80 {
            classes[0] += 1;
            classes[1] += u64::from(c == 0x20 || (0x09..=0x0D).contains(&c));
            len += json_ascii_len(c as u8);
            continue;
        }
        let c = if (0xD800..0xE000).contains(&c) {
            match src.get(i).map(|u| u.get()) {
                Some(lo) if c < 0xDC00 && (0xDC00..0xE000).contains(&lo) => {
                    i += 1;
                    0x1_0000
                }
                _ => 0xFFFD,
            }
        } else if c > 0x10_FFFF {
            0xFFFD
        } else {
            c
        };
        classes[2] += 1;
        classes[3] += u64::from((0x3000..0xE000).contains(&c) || c >= 0xF000);
        len += cost(c) as usize;
    }
    (i, len)
}

/// Bytes between `dst` and `limit`.
#[inline(always)]
fn room(dst: *mut u8, limit: *mut u8) -> usize {
    (limit as usize).saturating_sub(dst as usize)
}

/// Writes the UTF-8 of `src[i..]` at `dst` (escaped for JSON, with its classes added, when
/// `JSON`) while there is room before `limit`: the next unit and the end of the bytes written.
///
/// # Safety
/// `dst..limit` must be writable; `i <= src.len()`.
unsafe fn encode<U: Unit, const MODE: u8>(
    src: &[U],
    i: usize,
    dst: *mut u8,
    limit: *mut u8,
    classes: &mut Classes,
) -> (usize, *mut u8) {
    // SAFETY: this function's contract (`dst..limit` writable, `i <= src.len()`) is passed on;
    // AVX-512 only where `available` says the CPU has it.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512::available() {
                return avx512::encode::<U, MODE>(src, i, dst, limit, classes);
            }
        }
        // A unit takes at most six bytes escaped (a control character), `MAX_UTF8` plain; a
        // surrogate pair that straddles the end takes four more. Steps shrink with the room left, so
        // an exact reservation is filled to its end rather than grown.
        let per = if MODE == PLAIN { U::MAX_UTF8 } else { 6 };
        let (mut i, mut dst) = (i, dst);
        loop {
            let fit = room(dst, limit).saturating_sub(8) / per;
            if fit == 0 || i >= src.len() {
                return (i, dst);
            }
            (i, dst) = scalar::<U, MODE>(src, i, src.len().min(i + fit), dst, classes);
        }
    }
}

/// Writes the JSON form of the ASCII byte `c` at `dst`: the next output byte.
///
/// # Safety
/// `dst` must be valid for six bytes.
#[inline(always)]
unsafe fn ascii_json(c: u8, dst: *mut u8) -> *mut u8 {
    // SAFETY: the caller gives six writable bytes at `dst`; at most six are written.
    unsafe {
        let (e, n) = &ESCAPES[(c & 0x7F) as usize];
        if *n == 0 {
            *dst = c;
            return dst.add(1);
        }
        std::ptr::copy_nonoverlapping(e.as_ptr(), dst, 6);
        dst.add(*n as usize)
    }
}

/// Writes the UTF-8 of `src[i..]` at `dst` up to unit `end` (one unit further when a surrogate
/// pair straddles `end`): the next unit and the next output byte. With `JSON` it escapes and
/// counts classes as [`push_json`] does.
///
/// # Safety
/// `dst` must be valid for the bytes written (see [`bound`]); `i <= end <= src.len()`.
#[inline]
unsafe fn scalar<U: Unit, const MODE: u8>(
    src: &[U],
    mut i: usize,
    end: usize,
    mut dst: *mut u8,
    classes: &mut Classes,
) -> (usize, *mut u8) {
    // SAFETY: the caller gives room for the bytes written (see `bound`) and `i <= end <=
    // src.len()`; `src` is read by index.
    unsafe {
        while i < end {
            let c = src[i].get();
            i += 1;
            if c < 0x80 {
                if MODE == COUNTED {
                    classes[0] += 1;
                    classes[1] += u64::from(c == 0x20 || (0x09..=0x0D).contains(&c));
                }
                if MODE == PLAIN {
                    *dst = c as u8;
                    dst = dst.add(1);
                } else {
                    dst = ascii_json(c as u8, dst);
                }
                continue;
            }
            let c = if (0xD800..0xE000).contains(&c) {
                match src.get(i).map(|u| u.get()) {
                    Some(lo) if c < 0xDC00 && (0xDC00..0xE000).contains(&lo) => {
                        i += 1;
                        0x1_0000 + ((c - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    _ => 0xFFFD,
                }
            } else if c > 0x10_FFFF {
                0xFFFD
            } else {
                c
            };
            if MODE == COUNTED {
                classes[2] += 1;
                classes[3] += u64::from((0x3000..0xE000).contains(&c) || c >= 0xF000);
            }
            if c < 0x800 {
                *dst = 0xC0 | (c >> 6) as u8;
                *dst.add(1) = 0x80 | (c & 0x3F) as u8;
                dst = dst.add(2);
            } else if c < 0x1_0000 {
                *dst = 0xE0 | (c >> 12) as u8;
                *dst.add(1) = 0x80 | ((c >> 6) & 0x3F) as u8;
                *dst.add(2) = 0x80 | (c & 0x3F) as u8;
                dst = dst.add(3);
            } else {
                *dst = 0xF0 | (c >> 18) as u8;
                *dst.add(1) = 0x80 | ((c >> 12) & 0x3F) as u8;
                *dst.add(2) = 0x80 | ((c >> 6) & 0x3F) as u8;
                *dst.add(3) = 0x80 | (c & 0x3F) as u8;
                dst = dst.add(4);
            }
        }
        (i, dst)
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::cast_possible_wrap, clippy::cast_ptr_alignment)]
mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm256_loadu_si256, _mm256_storeu_si256, _mm512_and_si512,
        _mm512_cmpeq_epi16_mask, _mm512_cmpeq_epi32_mask, _mm512_cmpeq_epi8_mask,
        _mm512_cmpge_epu16_mask, _mm512_cmpge_epu32_mask, _mm512_cmpge_epu8_mask,
        _mm512_cmpgt_epu32_mask, _mm512_cmple_epu8_mask, _mm512_cmplt_epu16_mask,
        _mm512_cmplt_epu32_mask, _mm512_cmplt_epu8_mask, _mm512_cmpneq_epi16_mask,
        _mm512_cmpneq_epi8_mask, _mm512_cvtepi16_epi8, _mm512_cvtepu16_epi32, _mm512_cvtepu8_epi32,
        _mm512_loadu_si512, _mm512_mask_mov_epi16, _mm512_mask_mov_epi32, _mm512_mask_sub_epi32,
        _mm512_maskz_compress_epi8, _mm512_movepi8_mask, _mm512_multishift_epi64_epi8,
        _mm512_or_si512, _mm512_permutex2var_epi32, _mm512_permutex2var_epi8,
        _mm512_reduce_add_epi32, _mm512_set1_epi16, _mm512_set1_epi32, _mm512_set1_epi64,
        _mm512_set1_epi8, _mm512_setr_epi32, _mm512_setzero_si512, _mm512_slli_epi32,
        _mm512_srli_epi32, _mm512_storeu_si512, _mm512_sub_epi16, _mm512_sub_epi32,
        _mm512_sub_epi8, _mm512_ternarylogic_epi32, _mm512_test_epi16_mask, _mm_loadu_si128,
        _pdep_u64,
    };

    use super::{ascii_json, room, scalar, Classes, Unit, COUNTED, PLAIN, STEP_ROOM};

    /// AVX-512 F, BW, VBMI, VBMI2 with popcnt and BMI2 (see [`crate::sys::cpu`]).
    #[inline]
    pub fn available() -> bool {
        crate::sys::cpu() & crate::sys::AVX512_VBMI != 0
    }

    /// A kernel's running class counts, kept in registers: vector steps count their lanes
    /// into per-lane sums (one masked subtract a class), ASCII runs into plain integers.
    /// Folded into a [`Classes`] once, at the end.
    struct Tally {
        /// Units of the vector steps (each one character: a surrogate sends a step to the
        /// scalar path), whose non-lead lanes are the ASCII ones.
        units: u64,
        ascii: u64,
        space: u64,
        /// Lead (non-ASCII) characters and CJK ones of the 32-unit steps, counted from masks.
        lead: u64,
        cjk: u64,
        lead_lanes: __m512i,
        space_lanes: __m512i,
        cjk_lanes: __m512i,
    }

    impl Tally {
        #[inline(always)]
        unsafe fn new() -> Tally {
            // SAFETY: reached only on a CPU with AVX-512 (the callers check `available`); the
            // intrinsics touch no memory.
            unsafe {
                Tally {
                    units: 0,
                    ascii: 0,
                    space: 0,
                    lead: 0,
                    cjk: 0,
                    lead_lanes: _mm512_setzero_si512(),
                    space_lanes: _mm512_setzero_si512(),
                    cjk_lanes: _mm512_setzero_si512(),
                }
            }
        }

        #[inline(always)]
        unsafe fn fold(self, total: &mut Classes) {
            // SAFETY: reached only on a CPU with AVX-512 (the callers check `available`); the
            // intrinsics touch no memory.
            unsafe {
                let sum = |v: __m512i| u64::from(_mm512_reduce_add_epi32(v) as u32);
                let lead = sum(self.lead_lanes) + self.lead;
                total[0] += self.ascii + self.units - lead;
                total[1] += self.space + sum(self.space_lanes);
                total[2] += lead;
                total[3] += sum(self.cjk_lanes) + self.cjk;
            }
        }
    }

    /// # Safety
    /// As [`super::encode`], on a CPU where [`available`] is true.
    pub unsafe fn encode<U: Unit, const MODE: u8>(
        src: &[U],
        i: usize,
        dst: *mut u8,
        limit: *mut u8,
        classes: &mut Classes,
    ) -> (usize, *mut u8) {
        // SAFETY: the caller checked `available` and gives `dst..limit` writable; `U::MAX_UTF8`
        // tells the unit's width, so the slice is `src` itself, as bytes, `u16`s or `u32`s.
        unsafe {
            let n = src.len();
            match U::MAX_UTF8 {
                2 => latin1::<MODE>(
                    std::slice::from_raw_parts(src.as_ptr().cast::<u8>(), n),
                    i,
                    dst,
                    limit,
                    classes,
                ),
                3 => ucs2::<MODE>(
                    std::slice::from_raw_parts(src.as_ptr().cast::<u16>(), n),
                    i,
                    dst,
                    limit,
                    classes,
                ),
                _ => ucs4::<MODE>(
                    std::slice::from_raw_parts(src.as_ptr().cast::<u32>(), n),
                    i,
                    dst,
                    limit,
                    classes,
                ),
            }
        }
    }

    /// The tail after the vector steps (fewer than a step's units), by the scalar writer when
    /// the room holds its worst case; else it is left for the caller's next round.
    #[inline(always)]
    unsafe fn tail<U: Unit, const MODE: u8>(
        src: &[U],
        i: usize,
        dst: *mut u8,
        limit: *mut u8,
        classes: &mut Classes,
    ) -> (usize, *mut u8) {
        // SAFETY: the scalar writer runs only when `dst..limit` holds the tail's worst case (six
        // bytes a unit and a pair's four more).
        unsafe {
            if room(dst, limit) >= (src.len() - i) * 6 + 8 {
                scalar::<U, MODE>(src, i, src.len(), dst, classes)
            } else {
                (i, dst)
            }
        }
    }

    #[inline(always)]
    unsafe fn set(v: u32) -> __m512i {
        // SAFETY: reached only on a CPU with AVX-512; the intrinsic touches no memory.
        unsafe { _mm512_set1_epi32(v as i32) }
    }

    /// The UTF-8 of 16 code points (one per 32-bit lane) stored at `dst` (one 64-byte store):
    /// the bytes that count, or `None` when the scalar path must take the block (with `CHECK`,
    /// a lane is a surrogate or above U+10FFFF; with `JSON`, a control character needs
    /// `\u00XX`). `WIDE` lanes may need four bytes (UCS-4). With `JSON`, `"`, `\` and the
    /// controls with a short escape become their two-byte escapes, and the lanes' classes go
    /// to `tally`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,bmi2")]
    unsafe fn encode16<const WIDE: bool, const CHECK: bool, const MODE: u8>(
        c: __m512i,
        dst: *mut u8,
        tally: &mut Tally,
    ) -> Option<usize> {
        // SAFETY: the caller checked AVX-512 and has `STEP_ROOM` bytes writable at `dst` (a step's
        // worst case); the stores are masked to the bytes this step has.
        unsafe {
            if CHECK {
                let mut bad =
                    _mm512_cmpeq_epi32_mask(_mm512_and_si512(c, set(0xFFFF_F800)), set(0xD800));
                if WIDE {
                    bad |= _mm512_cmpgt_epu32_mask(c, set(0x10_FFFF));
                }
                if bad != 0 {
                    return None;
                }
            }
            let two = _mm512_cmpge_epu32_mask(c, set(0x80));
            let three = _mm512_cmpge_epu32_mask(c, set(0x800));
            // One byte-field gather puts c >> 18, c >> 12, c >> 6 and c in the four bytes of each
            // lane (`vpmultishiftqb`: the 8 bits from an offset); a lane's 4-, 3- or 2-byte form
            // is then those bytes (shifted down by one or two) masked and tagged:
            // 11110xxx 10xxxxxx 10xxxxxx 10xxxxxx, 1110xxxx 10xxxxxx 10xxxxxx, 110xxxxx 10xxxxxx,
            // first byte lowest. `(x & a) | b` is one `vpternlogd` (0xEA).
            let fields = _mm512_multishift_epi64_epi8(_mm512_set1_epi64(0x2026_2C32_0006_0C12), c);
            let b3 = _mm512_ternarylogic_epi32::<0xEA>(
                _mm512_srli_epi32::<8>(fields),
                set(0x003F_3F0F),
                set(0x0080_80E0),
            );
            let b2 = _mm512_ternarylogic_epi32::<0xEA>(
                _mm512_srli_epi32::<16>(fields),
                set(0x0000_3F1F),
                set(0x0000_80C0),
            );
            let mut v = _mm512_mask_mov_epi32(c, two, b2);
            v = _mm512_mask_mov_epi32(v, three, b3);
            let mut keep = _mm512_mask_mov_epi32(set(0xFF), two, set(0xFFFF));
            keep = _mm512_mask_mov_epi32(keep, three, set(0x00FF_FFFF));
            if MODE != PLAIN {
                let control = _mm512_cmplt_epu32_mask(c, set(0x20));
                let quote =
                    _mm512_cmpeq_epi32_mask(c, set(0x22)) | _mm512_cmpeq_epi32_mask(c, set(0x5C));
                if control | quote != 0 {
                    // The second escape byte of a control character, from a 32-entry table (the
                    // upper 16 are all 0: none of them has a short escape).
                    let lo =
                        _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 98, 116, 110, 0, 102, 114, 0, 0);
                    let second = _mm512_permutex2var_epi32(lo, c, set(0));
                    if _mm512_cmpeq_epi32_mask(second, set(0)) & control != 0 {
                        // Before any class is counted: the scalar path counts the block.
                        return None;
                    }
                    let second = _mm512_mask_mov_epi32(second, quote, c);
                    let escaped =
                        _mm512_or_si512(set(u32::from(b'\\')), _mm512_slli_epi32::<8>(second));
                    v = _mm512_mask_mov_epi32(v, control | quote, escaped);
                    keep = _mm512_mask_mov_epi32(keep, control | quote, set(0xFFFF));
                }
            }
            if MODE == COUNTED {
                let space = _mm512_cmpeq_epi32_mask(c, set(0x20))
                    | _mm512_cmplt_epu32_mask(_mm512_sub_epi32(c, set(0x09)), set(5));
                // Lead bytes 0xE3..=0xED and 0xEF: U+3000..U+DFFF and U+F000.. (see `simd`).
                let cjk = _mm512_cmplt_epu32_mask(_mm512_sub_epi32(c, set(0x3000)), set(0xB000))
                    | _mm512_cmpge_epu32_mask(c, set(0xF000));
                let one = set(u32::MAX);
                tally.units += 16;
                tally.lead_lanes =
                    _mm512_mask_sub_epi32(tally.lead_lanes, two, tally.lead_lanes, one);
                tally.space_lanes =
                    _mm512_mask_sub_epi32(tally.space_lanes, space, tally.space_lanes, one);
                tally.cjk_lanes = _mm512_mask_sub_epi32(tally.cjk_lanes, cjk, tally.cjk_lanes, one);
            }
            if WIDE {
                let four = _mm512_cmpge_epu32_mask(c, set(0x1_0000));
                if four != 0 {
                    let b4 = _mm512_ternarylogic_epi32::<0xEA>(
                        fields,
                        set(0x3F3F_3F07),
                        set(0x8080_80F0),
                    );
                    v = _mm512_mask_mov_epi32(v, four, b4);
                    keep = _mm512_mask_mov_epi32(keep, four, set(u32::MAX));
                }
            }
            let bytes = _mm512_movepi8_mask(keep);
            _mm512_storeu_si512(dst.cast(), _mm512_maskz_compress_epi8(bytes, v));
            Some(bytes.count_ones() as usize)
        }
    }

    /// The UTF-8 of 32 UCS-2 units `v` (16-bit lanes) stored at `dst` (two 64-byte stores, at
    /// most 96 bytes that count), or `None`, before anything is counted, when a unit is a
    /// surrogate or (with JSON) needs an escape: [`encode16`] takes those steps.
    ///
    /// Each lane's first two bytes are built in place (`c`; `110xxxxx 10xxxxxx`;
    /// `1110xxxx 10xxxxxx`, gathered by one `vpmultishiftqb` each) and its third byte
    /// (`10xxxxxx`) in a second register; one `vpermt2b` per 16 units lays them out three bytes a
    /// unit, and `vpcompressb` keeps the bytes each unit has (mask built with `pdep`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,bmi2")]
    unsafe fn encode32<const MODE: u8>(
        v: __m512i,
        dst: *mut u8,
        tally: &mut Tally,
    ) -> Option<usize> {
        // SAFETY: the caller checked AVX-512 and has `STEP_ROOM` bytes writable at `dst` (a step's
        // worst case); the compressed store writes only the bytes this step has.
        unsafe {
            let set = |x: u16| _mm512_set1_epi16(x as i16);
            let mut unusual =
                _mm512_cmpeq_epi16_mask(_mm512_and_si512(v, set(0xF800)), set(0xD800));
            if MODE != PLAIN {
                unusual |= _mm512_cmplt_epu16_mask(v, set(0x20))
                    | _mm512_cmpeq_epi16_mask(v, set(0x22))
                    | _mm512_cmpeq_epi16_mask(v, set(0x5C));
            }
            if unusual != 0 {
                return None;
            }
            let two = _mm512_cmpge_epu16_mask(v, set(0x80));
            let three = _mm512_cmpge_epu16_mask(v, set(0x800));
            // Per 16-bit lane, first byte low: [c >> 12, c >> 6] and [c >> 6, c], masked and tagged.
            let f3 = _mm512_multishift_epi64_epi8(
                _mm512_set1_epi64(0x363C_262C_161C_060C_u64 as i64),
                v,
            );
            let f2 = _mm512_multishift_epi64_epi8(
                _mm512_set1_epi64(0x3036_2026_1016_0006_u64 as i64),
                v,
            );
            let a3 = _mm512_ternarylogic_epi32::<0xEA>(f3, set(0x3F0F), set(0x80E0));
            let a2 = _mm512_ternarylogic_epi32::<0xEA>(f2, set(0x3F1F), set(0x80C0));
            let a = _mm512_mask_mov_epi16(_mm512_mask_mov_epi16(v, two, a2), three, a3);
            let b = _mm512_ternarylogic_epi32::<0xEA>(v, set(0x003F), set(0x0080));
            if MODE == COUNTED {
                let space = _mm512_cmpeq_epi16_mask(v, set(0x20))
                    | _mm512_cmplt_epu16_mask(_mm512_sub_epi16(v, set(0x09)), set(5));
                let cjk = _mm512_cmplt_epu16_mask(_mm512_sub_epi16(v, set(0x3000)), set(0xB000))
                    | _mm512_cmpge_epu16_mask(v, set(0xF000));
                tally.units += 32;
                tally.lead += u64::from(two.count_ones());
                tally.space += u64::from(space.count_ones());
                tally.cjk += u64::from(cjk.count_ones());
            }
            let mut n = 0;
            for (half, layout) in [(0, &LAYOUT[0]), (16, &LAYOUT[1])] {
                let bytes =
                    _mm512_permutex2var_epi8(a, _mm512_loadu_si512(layout.as_ptr().cast()), b);
                let keep = 0x2492_4924_9249_u64
                    | _pdep_u64(u64::from(two >> half) & 0xFFFF, 0x4924_9249_2492)
                    | _pdep_u64(u64::from(three >> half) & 0xFFFF, 0x9249_2492_4924);
                _mm512_storeu_si512(dst.add(n).cast(), _mm512_maskz_compress_epi8(keep, bytes));
                n += keep.count_ones() as usize;
            }
            Some(n)
        }
    }

    /// [`encode32`]'s byte layout: for units `u` of each half, bytes `2u` and `2u + 1` of the
    /// first register and byte `2u` of the second (index + 64), three bytes a unit.
    static LAYOUT: [[u8; 64]; 2] = {
        let mut t = [[0u8; 64]; 2];
        let mut h = 0;
        while h < 2 {
            let mut j = 0;
            while j < 16 {
                let u = (h * 16 + j) as u8;
                t[h][3 * j] = 2 * u;
                t[h][3 * j + 1] = 2 * u + 1;
                t[h][3 * j + 2] = 64 + 2 * u;
                j += 1;
            }
            h += 1;
        }
        t
    };

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,bmi2")]
    unsafe fn latin1<const MODE: u8>(
        src: &[u8],
        mut i: usize,
        mut dst: *mut u8,
        limit: *mut u8,
        classes: &mut Classes,
    ) -> (usize, *mut u8) {
        // SAFETY: the caller gives `dst..limit` writable and `i <= src.len()` (this function's
        // contract); the steps below write only where `room` says they fit and read `src` below its
        // end.
        unsafe {
            let n = src.len();
            let p = src.as_ptr();
            let mut tally = Tally::new();
            while i + 64 <= n && room(dst, limit) >= STEP_ROOM {
                crate::sys::prefetch(p.wrapping_add(i + super::AHEAD));
                let v = _mm512_loadu_si512(p.add(i).cast());
                if _mm512_movepi8_mask(v) == 0 {
                    if MODE == PLAIN {
                        _mm512_storeu_si512(dst.cast(), v);
                        dst = dst.add(64);
                        i += 64;
                        continue;
                    }
                    let special = _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20))
                        | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8))
                        | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8));
                    if special == 0 {
                        _mm512_storeu_si512(dst.cast(), v);
                        if MODE == COUNTED {
                            tally.ascii += 64;
                            tally.space += u64::from(
                                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8))
                                    .count_ones(),
                            );
                        }
                        dst = dst.add(64);
                        i += 64;
                        continue;
                    }
                }
                // Four steps of 16 write at most 4 x 96 bytes: within the room checked above.
                for _ in 0..4 {
                    let c = _mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(i).cast()));
                    match encode16::<false, false, MODE>(c, dst, &mut tally) {
                        Some(k) => dst = dst.add(k),
                        None => dst = scalar::<u8, MODE>(src, i, i + 16, dst, classes).1,
                    }
                    i += 16;
                }
            }
            tally.fold(classes);
            tail::<u8, MODE>(src, i, dst, limit, classes)
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,bmi2")]
    unsafe fn ucs2<const MODE: u8>(
        src: &[u16],
        mut i: usize,
        mut dst: *mut u8,
        limit: *mut u8,
        classes: &mut Classes,
    ) -> (usize, *mut u8) {
        // SAFETY: the caller gives `dst..limit` writable and `i <= src.len()` (this function's
        // contract); the steps below write only where `room` says they fit and read `src` below its
        // end.
        unsafe {
            let n = src.len();
            let p = src.as_ptr();
            let mut tally = Tally::new();
            while i + 32 <= n && room(dst, limit) >= STEP_ROOM {
                crate::sys::prefetch(p.wrapping_add(i + super::AHEAD / 2).cast());
                let v = _mm512_loadu_si512(p.add(i).cast());
                let mut ascii =
                    _mm512_test_epi16_mask(v, _mm512_set1_epi16(0xFF80_u16 as i16)) == 0;
                if MODE != PLAIN && ascii {
                    ascii = (_mm512_cmplt_epu16_mask(v, _mm512_set1_epi16(0x20))
                        | _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x22))
                        | _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x5C)))
                        == 0;
                    if MODE == COUNTED && ascii {
                        tally.ascii += 32;
                        tally.space += u64::from(
                            _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x20)).count_ones(),
                        );
                    }
                }
                if ascii {
                    _mm256_storeu_si256(dst.cast(), _mm512_cvtepi16_epi8(v));
                    dst = dst.add(32);
                    i += 32;
                    continue;
                }
                if let Some(k) = encode32::<MODE>(v, dst, &mut tally) {
                    dst = dst.add(k);
                    i += 32;
                    continue;
                }
                // Two steps of 16 (at most 2 x 100 bytes, within the room checked above), unless
                // the first sends its block to the scalar path.
                let c = _mm512_cvtepu16_epi32(_mm256_loadu_si256(p.add(i).cast()));
                if let Some(k) = encode16::<false, true, MODE>(c, dst, &mut tally) {
                    dst = dst.add(k);
                    i += 16;
                } else {
                    (i, dst) = scalar::<u16, MODE>(src, i, i + 16, dst, classes);
                    continue;
                }
                let c = _mm512_cvtepu16_epi32(_mm256_loadu_si256(p.add(i).cast()));
                if let Some(k) = encode16::<false, true, MODE>(c, dst, &mut tally) {
                    dst = dst.add(k);
                    i += 16;
                } else {
                    (i, dst) = scalar::<u16, MODE>(src, i, i + 16, dst, classes);
                }
            }
            tally.fold(classes);
            tail::<u16, MODE>(src, i, dst, limit, classes)
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,bmi2")]
    unsafe fn ucs4<const MODE: u8>(
        src: &[u32],
        mut i: usize,
        mut dst: *mut u8,
        limit: *mut u8,
        classes: &mut Classes,
    ) -> (usize, *mut u8) {
        // SAFETY: the caller gives `dst..limit` writable and `i <= src.len()` (this function's
        // contract); the steps below write only where `room` says they fit and read `src` below its
        // end.
        unsafe {
            let n = src.len();
            let p = src.as_ptr();
            let mut tally = Tally::new();
            while i + 16 <= n && room(dst, limit) >= STEP_ROOM {
                crate::sys::prefetch(p.wrapping_add(i + super::AHEAD / 4).cast());
                let c = _mm512_loadu_si512(p.add(i).cast());
                if let Some(k) = encode16::<true, true, MODE>(c, dst, &mut tally) {
                    dst = dst.add(k);
                    i += 16;
                } else {
                    (i, dst) = scalar::<u32, MODE>(src, i, i + 16, dst, classes);
                }
            }
            tally.fold(classes);
            tail::<u32, MODE>(src, i, dst, limit, classes)
        }
    }

    /// [`super::json_measure`]: UCS-2 32 units a step, Latin-1 64, UCS-4 16; a step that holds
    /// a surrogate (or a value past U+10FFFF) is counted by the scalar path.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub unsafe fn measure<U: Unit>(src: &[U], classes: &mut Classes) -> usize {
        // SAFETY: the caller checked `available`; each load reads a whole step below `n` and the
        // rest goes to the scalar count.
        unsafe {
            let n = src.len();
            let (mut i, mut len) = (0usize, 0usize);
            let (mut lead, mut space, mut cjk, mut units) = (0u32, 0u32, 0u32, 0u32);
            let fold = |classes: &mut Classes, lead: u32, space: u32, cjk: u32, units: u32| {
                classes[0] += u64::from(units - lead);
                classes[1] += u64::from(space);
                classes[2] += u64::from(lead);
                classes[3] += u64::from(cjk);
            };
            match U::MAX_UTF8 {
                2 => {
                    let p = src.as_ptr().cast::<u8>();
                    while i + 64 <= n {
                        let v = _mm512_loadu_si512(p.add(i).cast());
                        let two = _mm512_movepi8_mask(v);
                        let control = _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20));
                        let quote = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8))
                            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8));
                        let mut blank = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8));
                        len += 64 + (two.count_ones() + (control | quote).count_ones()) as usize;
                        if control != 0 {
                            let t = _mm512_sub_epi8(v, _mm512_set1_epi8(8));
                            let short = _mm512_cmplt_epu8_mask(t, _mm512_set1_epi8(6))
                                & _mm512_cmpneq_epi8_mask(v, _mm512_set1_epi8(0x0B));
                            len += 4 * (control & !short).count_ones() as usize;
                            blank |= _mm512_cmplt_epu8_mask(
                                _mm512_sub_epi8(v, _mm512_set1_epi8(9)),
                                _mm512_set1_epi8(5),
                            );
                        }
                        lead += two.count_ones();
                        space += blank.count_ones();
                        units += 64;
                        i += 64;
                    }
                }
                3 => {
                    let p = src.as_ptr().cast::<u16>();
                    while i + 32 <= n {
                        let v = _mm512_loadu_si512(p.add(i).cast());
                        let surrogate = _mm512_cmpeq_epi16_mask(
                            _mm512_and_si512(v, _mm512_set1_epi16(0xF800_u16 as i16)),
                            _mm512_set1_epi16(0xD800_u16 as i16),
                        );
                        if surrogate != 0 {
                            let (next, l) = super::measure_scalar(src, i, i + 32, classes);
                            len += l;
                            i = next;
                            continue;
                        }
                        let two = _mm512_cmpge_epu16_mask(v, _mm512_set1_epi16(0x80));
                        let three = _mm512_cmpge_epu16_mask(v, _mm512_set1_epi16(0x800));
                        let control = _mm512_cmplt_epu16_mask(v, _mm512_set1_epi16(0x20));
                        let quote = _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x22))
                            | _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x5C));
                        let mut blank = _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x20));
                        len += 32
                            + (two.count_ones()
                                + three.count_ones()
                                + (control | quote).count_ones())
                                as usize;
                        if control != 0 {
                            let t = _mm512_sub_epi16(v, _mm512_set1_epi16(8));
                            let short = _mm512_cmplt_epu16_mask(t, _mm512_set1_epi16(6))
                                & _mm512_cmpneq_epi16_mask(v, _mm512_set1_epi16(0x0B));
                            len += 4 * (control & !short).count_ones() as usize;
                            blank |= _mm512_cmplt_epu16_mask(
                                _mm512_sub_epi16(v, _mm512_set1_epi16(9)),
                                _mm512_set1_epi16(5),
                            );
                        }
                        // Lead bytes 0xE3..=0xED and 0xEF: U+3000..U+DFFF and U+F000.. (see `simd`).
                        let wide =
                            _mm512_cmplt_epu16_mask(
                                _mm512_sub_epi16(v, _mm512_set1_epi16(0x3000)),
                                _mm512_set1_epi16(0xB000_u16 as i16),
                            ) | _mm512_cmpge_epu16_mask(v, _mm512_set1_epi16(0xF000_u16 as i16));
                        lead += two.count_ones();
                        space += blank.count_ones();
                        cjk += wide.count_ones();
                        units += 32;
                        i += 32;
                    }
                }
                _ => {
                    let p = src.as_ptr().cast::<u32>();
                    while i + 16 <= n {
                        let c = _mm512_loadu_si512(p.add(i).cast());
                        let bad = _mm512_cmpeq_epi32_mask(
                            _mm512_and_si512(c, set(0xFFFF_F800)),
                            set(0xD800),
                        ) | _mm512_cmpgt_epu32_mask(c, set(0x10_FFFF));
                        let control = _mm512_cmplt_epu32_mask(c, set(0x20));
                        if bad | control != 0 {
                            let (next, l) = super::measure_scalar(src, i, i + 16, classes);
                            len += l;
                            i = next;
                            continue;
                        }
                        let two = _mm512_cmpge_epu32_mask(c, set(0x80));
                        let three = _mm512_cmpge_epu32_mask(c, set(0x800));
                        let four = _mm512_cmpge_epu32_mask(c, set(0x1_0000));
                        let quote = _mm512_cmpeq_epi32_mask(c, set(0x22))
                            | _mm512_cmpeq_epi32_mask(c, set(0x5C));
                        let blank = _mm512_cmpeq_epi32_mask(c, set(0x20));
                        let wide =
                            _mm512_cmplt_epu32_mask(_mm512_sub_epi32(c, set(0x3000)), set(0xB000))
                                | _mm512_cmpge_epu32_mask(c, set(0xF000));
                        len += 16
                            + (two.count_ones()
                                + three.count_ones()
                                + four.count_ones()
                                + quote.count_ones()) as usize;
                        lead += two.count_ones();
                        space += blank.count_ones();
                        cjk += wide.count_ones();
                        units += 16;
                        i += 16;
                        // Keep the u32 sums far from overflow.
                        if units > 1 << 30 {
                            fold(classes, lead, space, cjk, units);
                            (lead, space, cjk, units) = (0, 0, 0, 0);
                        }
                    }
                }
            }
            fold(classes, lead, space, cjk, units);
            len + super::measure_scalar(src, i, n, classes).1
        }
    }

    /// [`super::json_measure_utf8`], 64 bytes a step.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub unsafe fn measure_utf8(src: &[u8], classes: &mut Classes) -> usize {
        // SAFETY: the caller checked `available`; each load reads 64 bytes below `n` and the rest
        // goes to the scalar count.
        unsafe {
            let n = src.len();
            let p = src.as_ptr();
            let (mut i, mut len) = (0usize, 0usize);
            let (mut ascii, mut white, mut lead, mut cjk_total) = (0u64, 0u64, 0u64, 0u64);
            while i + 64 <= n {
                let v = _mm512_loadu_si512(p.add(i).cast());
                let control = _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20));
                let quote = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8))
                    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8));
                let mut blank = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8));
                len += 64 + (control | quote).count_ones() as usize;
                if control != 0 {
                    let t = _mm512_sub_epi8(v, _mm512_set1_epi8(8));
                    let short = _mm512_cmplt_epu8_mask(t, _mm512_set1_epi8(6))
                        & _mm512_cmpneq_epi8_mask(v, _mm512_set1_epi8(0x0B));
                    len += 4 * (control & !short).count_ones() as usize;
                    blank |= _mm512_cmplt_epu8_mask(
                        _mm512_sub_epi8(v, _mm512_set1_epi8(9)),
                        _mm512_set1_epi8(5),
                    );
                }
                let cjk = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xE3_u8 as i8))
                    & _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0xF7_u8 as i8))
                    & _mm512_cmpneq_epi8_mask(v, _mm512_set1_epi8(0xEE_u8 as i8));
                ascii += u64::from((!_mm512_movepi8_mask(v)).count_ones());
                white += u64::from(blank.count_ones());
                lead += u64::from(
                    _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xC0_u8 as i8)).count_ones(),
                );
                cjk_total += u64::from(cjk.count_ones());
                i += 64;
            }
            classes[0] += ascii;
            classes[1] += white;
            classes[2] += lead;
            classes[3] += cjk_total;
            let tail = &src[i..];
            let c = crate::simd::byte_classes(tail);
            for k in 0..4 {
                classes[k] += c[k];
            }
            len + tail
                .iter()
                .map(|&b| super::json_ascii_len(b))
                .sum::<usize>()
        }
    }

    /// UTF-8 escaped for JSON from byte `i`, 64 bytes a step, while there is room before
    /// `limit`: a step without `"`, `\` or control bytes is one store; otherwise the runs
    /// between them are copied and each is escaped. Classes are counted per step from the same
    /// masks. Returns the next byte and the end of the output.
    ///
    /// # Safety
    /// `dst..limit` must be writable; `i <= src.len()`.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub unsafe fn json_utf8(
        src: &[u8],
        mut i: usize,
        mut dst: *mut u8,
        limit: *mut u8,
        classes: &mut Classes,
    ) -> (usize, *mut u8) {
        // SAFETY: the caller gives `dst..limit` writable and `i <= src.len()` (this function's
        // contract); the steps below write only where `room` says they fit and read `src` below its
        // end.
        unsafe {
            let n = src.len();
            let p = src.as_ptr();
            // Counted in registers, added to `classes` once.
            let (mut ascii, mut white, mut lead, mut cjk_total) = (0u64, 0u64, 0u64, 0u64);
            while i < n && room(dst, limit) >= STEP_ROOM {
                let take = (n - i).min(64);
                let lanes = if take == 64 {
                    u64::MAX
                } else {
                    (1u64 << take) - 1
                };
                let v = if take == 64 {
                    _mm512_loadu_si512(p.add(i).cast())
                } else {
                    // A short tail is copied into a zeroed block; the lanes past it are masked out.
                    let mut block = [0u8; 64];
                    std::ptr::copy_nonoverlapping(p.add(i), block.as_mut_ptr(), take);
                    _mm512_loadu_si512(block.as_ptr().cast())
                };
                let control = _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20)) & lanes;
                let special = control
                    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8))
                    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8));
                let space = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8))
                    | _mm512_cmplt_epu8_mask(
                        _mm512_sub_epi8(v, _mm512_set1_epi8(9)),
                        _mm512_set1_epi8(5),
                    );
                let cjk = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xE3_u8 as i8))
                    & _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0xF7_u8 as i8))
                    & _mm512_cmpneq_epi8_mask(v, _mm512_set1_epi8(0xEE_u8 as i8));
                ascii += u64::from((!_mm512_movepi8_mask(v) & lanes).count_ones());
                white += u64::from((space & lanes).count_ones());
                lead += u64::from(
                    (_mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xC0_u8 as i8)) & lanes)
                        .count_ones(),
                );
                cjk_total += u64::from((cjk & lanes).count_ones());
                if special == 0 {
                    _mm512_storeu_si512(dst.cast(), v);
                    dst = dst.add(take);
                } else {
                    let mut from = 0usize;
                    let mut rest = special;
                    while rest != 0 {
                        let at = rest.trailing_zeros() as usize;
                        rest &= rest - 1;
                        std::ptr::copy_nonoverlapping(p.add(i + from), dst, at - from);
                        dst = ascii_json(*p.add(i + at), dst.add(at - from));
                        from = at + 1;
                    }
                    std::ptr::copy_nonoverlapping(p.add(i + from), dst, take - from);
                    dst = dst.add(take - from);
                }
                i += take;
            }
            classes[0] += ascii;
            classes[1] += white;
            classes[2] += lead;
            classes[3] += cjk_total;
            (i, dst)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: each unit as a `char`, surrogate pairs joined, anything else U+FFFD.
    fn reference(units: &[u32]) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < units.len() {
            let c = units[i];
            i += 1;
            if (0xD800..0xDC00).contains(&c)
                && i < units.len()
                && (0xDC00..0xE000).contains(&units[i])
            {
                out.push(
                    char::from_u32(0x1_0000 + ((c - 0xD800) << 10) + (units[i] - 0xDC00)).unwrap(),
                );
                i += 1;
            } else {
                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
        }
        out
    }

    /// The JSON reference: the escaper and the byte-class counter on the plain UTF-8.
    fn json_reference(text: &str) -> (Vec<u8>, Classes) {
        let mut out = Vec::new();
        crate::json::escaped(&mut out, text);
        (out, crate::simd::byte_classes(text.as_bytes()))
    }

    fn scalar_only<U: Unit, const MODE: u8>(src: &[U]) -> (Vec<u8>, Classes) {
        let mut v = vec![0u8; src.len() * 6 + SLACK];
        let mut classes = [0; 4];
        // SAFETY: `v` has room for the bound.
        let n = unsafe {
            let (_, end) = scalar::<U, MODE>(src, 0, src.len(), v.as_mut_ptr(), &mut classes);
            end.offset_from(v.as_ptr()) as usize
        };
        v.truncate(n);
        (v, classes)
    }

    /// What `push_json` writes and counts, checked against what `json_measure` counts.
    fn json_of<U: Unit>(src: &[U]) -> (Vec<u8>, Classes) {
        let mut out = b"x".to_vec();
        let mut classes = [0; 4];
        push_json(&mut out, src, &mut classes);
        let mut measured = [0; 4];
        assert_eq!(
            json_measure(src, &mut measured),
            out.len() - 1,
            "measured length"
        );
        assert_eq!(measured, classes, "measured classes");
        let mut uncounted = b"x".to_vec();
        push_json_uncounted(&mut uncounted, src);
        assert_eq!(uncounted, out, "uncounted");
        (out[1..].to_vec(), classes)
    }

    /// The same for UTF-8 text.
    fn json_of_utf8(text: &str) -> (Vec<u8>, Classes) {
        let mut out = Vec::new();
        let mut classes = [0; 4];
        push_json_utf8(&mut out, text, &mut classes);
        let mut measured = [0; 4];
        assert_eq!(
            json_measure_utf8(text, &mut measured),
            out.len(),
            "measured length"
        );
        assert_eq!(measured, classes, "measured classes");
        (out, classes)
    }

    /// Code points drawn from every UTF-8 length, surrogates (paired and lone), ASCII runs,
    /// JSON specials and values past U+10FFFF, by a fixed xorshift so failures repeat.
    fn units(seed: u64, n: usize, max: u32) -> Vec<u32> {
        let mut next = crate::testing::xorshift(seed);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let x = next();
            let pick = (x >> 40) as u32;
            let c = match x % 13 {
                0..=3 => 0x20 + pick % 0x5F,
                4 => pick % 0x80,
                5 => 0x80 + pick % 0x780,
                6 => 0x800 + pick % 0xF800,
                7 => 0x3040 + pick % 0x60,
                8 => 0xD800 + pick % 0x800,
                9 => {
                    out.push(0xD800 + pick % 0x400);
                    0xDC00 + (pick >> 10) % 0x400
                }
                10 => [0x22, 0x5C, 0x0A, 0x09, 0x0D, 0x08, 0x0C, 0x20][pick as usize % 8],
                11 => pick % 0x20,
                _ => 0x1_0000 + pick % 0x11_0000,
            };
            out.push(c.min(max));
            if x.is_multiple_of(7) {
                // A long ASCII run, for the fast paths; with a quote now and then.
                let q = if x.is_multiple_of(3) { 0x22 } else { 0x61 };
                out.extend((0..(pick % 100)).map(|k| if k == 50 { q } else { 0x61 + k % 26 }));
            }
        }
        out.truncate(n);
        out
    }

    /// Runs `check` with the vector paths on (where the CPU has them) and off.
    fn both_paths(check: impl Fn()) {
        check();
        crate::sys::without_simd(check);
    }

    #[test]
    fn every_width_matches_the_reference() {
        both_paths(every_width);
    }

    #[test]
    fn long_escapes_past_the_first_reservation() {
        both_paths(long_escapes);
    }

    #[test]
    fn every_control_character_escapes_like_the_writer() {
        both_paths(every_control);
    }

    /// Text as articles have it: runs of 1-, 2- and 3-byte characters (kana, kanji, the
    /// U+E000.. and U+F000.. blocks, spaces) with no escape or surrogate, which the 32-unit
    /// UCS-2 steps take, and now and then a unit that sends a step to the 16-unit path.
    fn plain(seed: u64, n: usize) -> Vec<u32> {
        let mut next = crate::testing::xorshift(seed);
        (0..n)
            .map(|_| {
                let x = next();
                let pick = (x >> 40) as u32;
                match x % 211 {
                    0 => [0x22, 0x5C, 0x0A, 0xD800][pick as usize % 4],
                    1..=40 => 0x20 + pick % 2,
                    41..=80 => 0x23 + pick % 0x39,
                    81..=100 => 0x80 + pick % 0x780,
                    101..=160 => 0x3000 + pick % 0x6000,
                    161..=180 => 0x800 + pick % 0xD000,
                    181..=195 => 0xE000 + pick % 0x2000,
                    _ => 0xF000 + pick % 0x1000,
                }
            })
            .collect()
    }

    #[test]
    fn plain_text_every_width() {
        both_paths(|| {
            for seed in 1..200u64 {
                let n = (seed as usize * 53) % 1500;
                let wide = plain(seed, n);
                check_width(&wide, push_ucs4, &format!("plain ucs4 {seed}"));
                let narrow: Vec<u16> = wide.iter().map(|&c| c as u16).collect();
                check_width(&narrow, push_ucs2, &format!("plain ucs2 {seed}"));
            }
        });
    }

    /// A text of one width against the reference, through every writer and both paths.
    fn check_width<U: Unit>(src: &[U], push: fn(&mut String, &[U]), what: &str) -> String {
        let as32: Vec<u32> = src.iter().map(|u| u.get()).collect();
        let want = reference(&as32);
        let mut got = String::from("x");
        push(&mut got, src);
        assert_eq!(&got[1..], want, "{what}");
        assert_eq!(
            scalar_only::<_, PLAIN>(src).0,
            want.as_bytes(),
            "{what} scalar"
        );
        assert!(bound(src) >= want.len(), "{what} bound");
        let json = json_reference(&want);
        assert_eq!(json_of(src), json, "{what} json");
        assert_eq!(scalar_only::<_, COUNTED>(src), json, "{what} json scalar");
        want
    }

    fn every_width() {
        for seed in 1..300u64 {
            let n = (seed as usize * 37) % 700;
            let wide = units(seed, n, u32::MAX);
            let text = check_width(&wide, push_ucs4, &format!("ucs4 {seed}"));
            let narrow: Vec<u16> = units(seed, n, 0xFFFF).iter().map(|&c| c as u16).collect();
            check_width(&narrow, push_ucs2, &format!("ucs2 {seed}"));
            let latin: Vec<u8> = units(seed, n, 0xFF).iter().map(|&c| c as u8).collect();
            let want = check_width(&latin, push_latin1, &format!("latin1 {seed}"));
            assert_eq!(bound(&latin), want.len());
            // UTF-8 input, through the vector path where the CPU has it.
            assert_eq!(
                json_of_utf8(&text),
                json_reference(&text),
                "utf8 json {seed}"
            );
        }
    }

    #[test]
    fn pairs_across_block_edges_and_large_inputs() {
        both_paths(pairs_and_large);
    }

    fn pairs_and_large() {
        // A pair split across the 16-unit blocks and at the very end.
        for at in [14usize, 15, 16, 31, 32, 33] {
            let mut u: Vec<u16> = "日本語テキスト".encode_utf16().cycle().take(48).collect();
            u[at] = 0xD83D;
            u[at + 1] = 0xDE00;
            let mut got = String::new();
            push_ucs2(&mut got, &u);
            let as32: Vec<u32> = u.iter().map(|&c| u32::from(c)).collect();
            assert_eq!(got, reference(&as32));
            assert!(got.contains('😀'));
        }
        let mut lone = vec![0x61u16; 20];
        lone.push(0xD800);
        let mut got = String::new();
        push_ucs2(&mut got, &lone);
        assert!(got.ends_with('\u{FFFD}'));
        // Past the exact-size threshold: the reservation is the exact length plus slack.
        let big: Vec<u16> = "記事 text　"
            .encode_utf16()
            .cycle()
            .take(EXACT_ABOVE + 5)
            .collect();
        let mut got = String::new();
        push_ucs2(&mut got, &big);
        assert_eq!(got, String::from_utf16(&big).unwrap());
        assert!(got.capacity() <= got.len() + STEP_ROOM);
    }

    fn long_escapes() {
        // Six bytes a unit: more than the first round reserves, so the writers stop at the
        // room's end and go on in later rounds.
        for mix in ["\u{1}", "\u{1}日", "\u{1f}\"a", "\u{1}😀"] {
            let text = mix.repeat(5000);
            let units: Vec<u16> = text.encode_utf16().collect();
            assert_eq!(json_of(&units), json_reference(&text), "{mix:?} ucs2");
            let wide: Vec<u32> = text.chars().map(u32::from).collect();
            assert_eq!(json_of(&wide), json_reference(&text), "{mix:?} ucs4");
            if text.chars().all(|c| u32::from(c) < 0x100) {
                let latin: Vec<u8> = text.chars().map(|c| u32::from(c) as u8).collect();
                assert_eq!(json_of(&latin), json_reference(&text), "{mix:?} latin1");
            }
            assert_eq!(json_of_utf8(&text), json_reference(&text), "{mix:?} utf8");
        }
    }

    fn every_control() {
        let all: Vec<u16> = (0..0x80u16).chain("日本\"\\".encode_utf16()).collect();
        let text = String::from_utf16(&all).unwrap();
        // In every position of a block, so both the vector and the scalar paths see each.
        for shift in 0..40 {
            let mut units: Vec<u16> = "テ".encode_utf16().cycle().take(shift).collect();
            units.extend(&all);
            let mut want_text: String = "テ".repeat(shift);
            want_text.push_str(&text);
            assert_eq!(json_of(&units), json_reference(&want_text), "shift {shift}");
            let mut out = Vec::new();
            let mut classes = [0; 4];
            push_json_utf8(&mut out, &want_text, &mut classes);
            assert_eq!(
                (out, classes),
                json_reference(&want_text),
                "utf8 shift {shift}"
            );
        }
    }
}
