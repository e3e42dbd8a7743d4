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
mod avx512;

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
