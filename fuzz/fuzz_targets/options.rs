// Cleaning options from the input's first byte.
pub fn options(flags: u8) -> _core::clean::Options {
    _core::clean::Options {
        drop_code: flags & 1 != 0,
        drop_images: flags & 2 != 0,
        keep_paragraphs: flags & 4 != 0,
        max_chars: (flags & 8 != 0).then_some(usize::from(flags >> 4) * 7 + 1),
        strip_shortcodes: true,
    }
}
