//! The AVX-512 (VBMI2) kernels of the transcoders: Latin-1, UCS-2 and UCS-4 to UTF-8, plain
//! or escaped for JSON, with the byte classes counted on the way.

use std::arch::x86_64::{
    __m512i, _mm256_loadu_si256, _mm256_storeu_si256, _mm512_and_si512, _mm512_cmpeq_epi16_mask,
    _mm512_cmpeq_epi32_mask, _mm512_cmpeq_epi8_mask, _mm512_cmpge_epu16_mask,
    _mm512_cmpge_epu32_mask, _mm512_cmpge_epu8_mask, _mm512_cmpgt_epu32_mask,
    _mm512_cmple_epu8_mask, _mm512_cmplt_epu16_mask, _mm512_cmplt_epu32_mask,
    _mm512_cmplt_epu8_mask, _mm512_cmpneq_epi16_mask, _mm512_cmpneq_epi8_mask,
    _mm512_cvtepi16_epi8, _mm512_cvtepu16_epi32, _mm512_cvtepu8_epi32, _mm512_loadu_si512,
    _mm512_mask_mov_epi16, _mm512_mask_mov_epi32, _mm512_mask_sub_epi32,
    _mm512_maskz_compress_epi8, _mm512_movepi8_mask, _mm512_multishift_epi64_epi8, _mm512_or_si512,
    _mm512_permutex2var_epi32, _mm512_permutex2var_epi8, _mm512_reduce_add_epi32,
    _mm512_set1_epi16, _mm512_set1_epi32, _mm512_set1_epi64, _mm512_set1_epi8, _mm512_setr_epi32,
    _mm512_setzero_si512, _mm512_slli_epi32, _mm512_srli_epi32, _mm512_storeu_si512,
    _mm512_sub_epi16, _mm512_sub_epi32, _mm512_sub_epi8, _mm512_ternarylogic_epi32,
    _mm512_test_epi16_mask, _mm_loadu_si128, _pdep_u64,
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
                let lo = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 98, 116, 110, 0, 102, 114, 0, 0);
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
            tally.lead_lanes = _mm512_mask_sub_epi32(tally.lead_lanes, two, tally.lead_lanes, one);
            tally.space_lanes =
                _mm512_mask_sub_epi32(tally.space_lanes, space, tally.space_lanes, one);
            tally.cjk_lanes = _mm512_mask_sub_epi32(tally.cjk_lanes, cjk, tally.cjk_lanes, one);
        }
        if WIDE {
            let four = _mm512_cmpge_epu32_mask(c, set(0x1_0000));
            if four != 0 {
                let b4 =
                    _mm512_ternarylogic_epi32::<0xEA>(fields, set(0x3F3F_3F07), set(0x8080_80F0));
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
unsafe fn encode32<const MODE: u8>(v: __m512i, dst: *mut u8, tally: &mut Tally) -> Option<usize> {
    // SAFETY: the caller checked AVX-512 and has `STEP_ROOM` bytes writable at `dst` (a step's
    // worst case); the compressed store writes only the bytes this step has.
    unsafe {
        let set = |x: u16| _mm512_set1_epi16(x as i16);
        let mut unusual = _mm512_cmpeq_epi16_mask(_mm512_and_si512(v, set(0xF800)), set(0xD800));
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
        let f3 =
            _mm512_multishift_epi64_epi8(_mm512_set1_epi64(0x363C_262C_161C_060C_u64 as i64), v);
        let f2 =
            _mm512_multishift_epi64_epi8(_mm512_set1_epi64(0x3036_2026_1016_0006_u64 as i64), v);
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
            let bytes = _mm512_permutex2var_epi8(a, _mm512_loadu_si512(layout.as_ptr().cast()), b);
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
                            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8)).count_ones(),
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
            let mut ascii = _mm512_test_epi16_mask(v, _mm512_set1_epi16(0xFF80_u16 as i16)) == 0;
            if MODE != PLAIN && ascii {
                ascii = (_mm512_cmplt_epu16_mask(v, _mm512_set1_epi16(0x20))
                    | _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x22))
                    | _mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x5C)))
                    == 0;
                if MODE == COUNTED && ascii {
                    tally.ascii += 32;
                    tally.space +=
                        u64::from(_mm512_cmpeq_epi16_mask(v, _mm512_set1_epi16(0x20)).count_ones());
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
                        + (two.count_ones() + three.count_ones() + (control | quote).count_ones())
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
                    let wide = _mm512_cmplt_epu16_mask(
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
                    let bad =
                        _mm512_cmpeq_epi32_mask(_mm512_and_si512(c, set(0xFFFF_F800)), set(0xD800))
                            | _mm512_cmpgt_epu32_mask(c, set(0x10_FFFF));
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
            lead +=
                u64::from(_mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xC0_u8 as i8)).count_ones());
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
                (_mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xC0_u8 as i8)) & lanes).count_ones(),
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
