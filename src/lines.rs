//! Reading JSONL in blocks of whole lines, so large files are processed in parallel with bounded
//! memory (shared by validate and collect).

use std::io::Read;

use crate::error::Error;

/// Bytes per block, and blocks per batch: memory stays near `BLOCK * BATCH` plus one long line.
pub const BLOCK: usize = 4 << 20;
pub const BATCH: usize = 8;

/// A block of whole lines and the 0-based number of its first line.
pub struct Block {
    pub first_line: usize,
    pub data: Vec<u8>,
}

impl Block {
    /// The lines of the block with their 1-based numbers and raw lengths (newline included);
    /// the text has no `\n` or `\r\n`.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &[u8], u64)> + '_ {
        // memchr finds the newlines (SIMD); a byte-by-byte split was a fifth of collect's time.
        let data = &self.data;
        let mut ends = memchr::memchr_iter(b'\n', data).map(|i| i + 1);
        let mut start = 0usize;
        let mut n = self.first_line;
        std::iter::from_fn(move || {
            if start >= data.len() {
                return None;
            }
            let end = ends.next().unwrap_or(data.len());
            let raw = &data[start..end];
            start = end;
            n += 1;
            let text = raw.strip_suffix(b"\n").unwrap_or(raw);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Some((n, text, raw.len() as u64))
        })
    }
}

/// Reads `reader` in batches of blocks and hands each batch to `each`, in order.
pub fn for_each_batch(
    reader: &mut dyn Read,
    name: &str,
    mut each: impl FnMut(Vec<Block>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut carry: Vec<u8> = Vec::new();
    let mut line_no = 0usize;
    let mut eof = false;
    while !eof {
        let mut blocks: Vec<Block> = Vec::new();
        while blocks.len() < BATCH && !eof {
            let mut buf = std::mem::take(&mut carry);
            let start = buf.len();
            buf.resize(start + BLOCK, 0);
            let mut filled = start;
            while filled < buf.len() {
                let n = reader.read(&mut buf[filled..]).map_err(|e| Error::Io {
                    path: name.to_string(),
                    source: e,
                })?;
                if n == 0 {
                    eof = true;
                    break;
                }
                filled += n;
            }
            buf.truncate(filled);
            if !eof {
                if let Some(cut) = memchr::memrchr(b'\n', &buf) {
                    carry = buf.split_off(cut + 1);
                } else {
                    // One line longer than a block: keep reading into it.
                    carry = buf;
                    continue;
                }
            }
            if buf.is_empty() {
                continue;
            }
            let lines =
                memchr::memchr_iter(b'\n', &buf).count() + usize::from(!buf.ends_with(b"\n"));
            blocks.push(Block {
                first_line: line_no,
                data: buf,
            });
            line_no += lines;
        }
        if !blocks.is_empty() {
            each(blocks)?;
        }
    }
    Ok(())
}
