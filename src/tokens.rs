//! Token estimates without a tokenizer.
//!
//! Bedrock bills the model's own tokens, which no local library reproduces for every family. The
//! estimate counts characters by script, since CJK text tokenises very differently from English:
//!
//! - ASCII letters, digits and punctuation: 1 token per 4 characters (English averages ~4 chars
//!   per token in the Claude, Llama 3 and Titan tokenizers);
//! - kana, kanji, hangul (CJK): 1 token per character (Japanese runs ~0.8-1.3 tokens per
//!   character in those tokenizers);
//! - any other non-ASCII character (accented Latin, Cyrillic, symbols): 1 token per 2 characters;
//! - whitespace: free (folded into the neighbouring word).
//!
//! Expected error: within ±30% of the billed count for prose in English or Japanese; code,
//! URLs and base64 run higher. Use it to plan quotas and budgets, not to bill.

/// Byte classes: 0 ASCII whitespace or UTF-8 continuation (free), 1 ASCII, 2 lead byte of a
/// CJK character (U+3000..U+D7FF, full-width forms, supplementary planes), 3 other lead byte.
const CLASS: [u8; 256] = {
    let mut t = [1u8; 256];
    t[b' ' as usize] = 0;
    t[b'\t' as usize] = 0;
    t[b'\n' as usize] = 0;
    t[b'\r' as usize] = 0;
    t[0x0c] = 0;
    let mut b = 0x80;
    while b < 0x100 {
        t[b] = match b {
            0x80..=0xbf => 0,
            0xe3..=0xed | 0xef | 0xf0..=0xf7 => 2,
            _ => 3,
        };
        b += 1;
    }
    t
};

/// Estimated tokens of `text`.
pub fn estimate(text: &str) -> u64 {
    let mut counts = [0u64; 4];
    for &b in text.as_bytes() {
        counts[CLASS[b as usize] as usize] += 1;
    }
    counts[1].div_ceil(4) + counts[2] + counts[3].div_ceil(2)
}

#[cfg(test)]
mod tests {
    use super::estimate;

    #[test]
    fn english_and_japanese() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("abcd efgh"), 2);
        assert_eq!(estimate("日本語のテキスト"), 8);
        assert_eq!(estimate("café"), 2);
    }
}
