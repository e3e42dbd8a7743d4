//! Clean Markdown: no panic, `max_chars` held, and every word of the text is in the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "options.rs"]
mod options;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let opts = options::options(flags);
    let md = String::from_utf8_lossy(rest);
    let text = _core::clean::clean_markdown(&md, &opts);
    if let Some(max) = opts.max_chars {
        assert!(text.chars().count() <= max);
    }
    // Character references and HTML inside the Markdown are decoded, so a word made of
    // letters the input does not have may only come from a reference.
    if !md.contains('&') {
        for word in text.split_whitespace() {
            for c in word.chars().filter(|c| c.is_alphanumeric()) {
                assert!(md.contains(c), "{c:?} of {word:?} is not in the input");
            }
        }
    }
});
