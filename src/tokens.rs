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

/// Estimated tokens of `text` (byte classes counted 32 or 16 bytes at a time, see `simd`).
pub fn estimate(text: &str) -> u64 {
    from_classes(crate::simd::byte_classes(text.as_bytes()))
}

/// The estimate from the byte classes of a text's UTF-8 (`[ascii, whitespace, lead, cjk_lead]`,
/// as [`crate::simd::byte_classes`] counts them; the classes of pieces add up).
pub fn from_classes([ascii, space, lead, cjk]: [u64; 4]) -> u64 {
    (ascii - space).div_ceil(4) + cjk + (lead - cjk).div_ceil(2)
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
