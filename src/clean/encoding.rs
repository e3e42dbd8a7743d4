//! Bytes to text for HTML: a BOM, then a `<meta charset>` (or `http-equiv` content type) in the
//! head, then UTF-8 with replacement characters. Legacy labels map as browsers map them
//! (WHATWG Encoding Standard: `iso-8859-1` is windows-1252).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// How far into the document a `<meta charset>` is looked for. The WHATWG prescan reads 1,024
/// bytes, but real pages put long `<script>`/`<style>` first, and browsers re-decode when a
/// later meta disagrees; 16 KiB of head covers the corpus without reading the body.
const PRESCAN: usize = 16 * 1024;

/// Finds the encoding a `<meta>` in the head declares.
pub fn sniff_meta(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(PRESCAN)];
    let finder = memchr::memmem::Finder::new(b"<meta");
    let lower: Vec<u8> = head.to_ascii_lowercase();
    for start in finder.find_iter(&lower) {
        let end = memchr::memchr(b'>', &lower[start..]).map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        let Some(pos) = memchr::memmem::find(tag, b"charset") else {
            continue;
        };
        let mut rest = &tag[pos + 7..];
        while let [c, tail @ ..] = rest {
            if c.is_ascii_whitespace() {
                rest = tail;
            } else {
                break;
            }
        }
        let Some(tail) = rest.strip_prefix(b"=") else {
            continue;
        };
        let value = tail
            .iter()
            .skip_while(|c| c.is_ascii_whitespace() || **c == b'"' || **c == b'\'')
            .take_while(|c| {
                !(c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b';' | b'/' | b'>'))
            })
            .copied()
            .collect::<Vec<u8>>();
        if let Some(enc) = Encoding::for_label(&value) {
            // A meta that claims UTF-16 is wrong by definition (the parser already read ASCII).
            if enc == UTF_16LE || enc == UTF_16BE {
                return Some(UTF_8);
            }
            return Some(enc);
        }
    }
    None
}

/// Decodes HTML bytes to text. Never fails: undecodable bytes become U+FFFD.
pub fn decode_html(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text;
    }
    let enc = sniff_meta(bytes).unwrap_or(UTF_8);
    if enc == UTF_8 {
        return String::from_utf8_lossy(bytes);
    }
    let (text, _) = enc.decode_without_bom_handling(bytes);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_charset_latin1_is_windows_1252() {
        let page =
            b"<html><head><meta charset=\"ISO-8859-1\"></head><body>caf\xe9 \x93q\x94</body>";
        let text = decode_html(page);
        assert!(text.contains("caf\u{e9}"));
        assert!(text.contains("\u{201c}q\u{201d}"));
    }

    #[test]
    fn http_equiv() {
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=shift_jis\"><p>\x82\xa0</p>";
        assert!(decode_html(page).contains('\u{3042}'));
    }

    #[test]
    fn bom_wins() {
        let mut page = vec![0xff, 0xfe];
        for u in "<p>\u{3042}</p>".encode_utf16() {
            page.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_html(&page), "<p>\u{3042}</p>");
    }

    #[test]
    fn invalid_utf8_replaced() {
        assert_eq!(decode_html(b"a\xffb"), "a\u{fffd}b");
    }
}
