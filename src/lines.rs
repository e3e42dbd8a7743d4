//! Reading JSONL in blocks of whole lines, so large files are processed in parallel with bounded
//! memory (shared by validate and collect).

use std::io::Read;

use crate::error::Error;

/// Bytes per block, and blocks per batch: memory stays near `2 * BLOCK * BATCH` (the batch being
/// checked and the one being read) plus one long line.
pub const BLOCK: usize = 4 << 20;
pub const BATCH: usize = 4;

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

/// Reads `reader` in batches of blocks and hands each batch to `each`, in order. A reader thread
/// reads the next batch while `each` works on the current one; block buffers are reused, so
/// memory stays near two batches.
pub fn for_each_batch(
    reader: &mut (dyn Read + Send),
    name: &str,
    mut each: impl FnMut(&[Block]) -> Result<(), Error>,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Block>, Error>>(0);
        let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        scope.spawn(move || {
            let mut batches = Batches {
                reader,
                name,
                spare,
                carry: Vec::new(),
                line_no: 0,
                eof: false,
            };
            while let Some(batch) = batches.next_batch().transpose() {
                let failed = batch.is_err();
                // The receiver is gone when `each` failed: stop reading.
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        for batch in rx {
            let blocks = batch?;
            each(&blocks)?;
            for b in blocks {
                // The reader may be done already; then the buffer is simply freed.
                let _ = back.send(b.data);
            }
        }
        Ok(())
    })
}

struct Batches<'r> {
    reader: &'r mut (dyn Read + Send),
    name: &'r str,
    /// Buffers handed back once their batch is done.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    carry: Vec<u8>,
    line_no: usize,
    eof: bool,
}

impl Batches<'_> {
    fn next_batch(&mut self) -> Result<Option<Vec<Block>>, Error> {
        let mut blocks: Vec<Block> = Vec::new();
        while blocks.len() < BATCH && !self.eof {
            let mut buf = if self.carry.len() > BLOCK / 2 {
                // A long line in progress: grow it in place rather than copy it again.
                std::mem::take(&mut self.carry)
            } else {
                let mut b = self.spare.try_recv().unwrap_or_default();
                b.clear();
                b.extend_from_slice(&self.carry);
                self.carry.clear();
                b
            };
            buf.reserve(BLOCK);
            // `take` + `read_to_end` fill the spare capacity without zeroing it first.
            let n = (&mut *self.reader)
                .take(BLOCK as u64)
                .read_to_end(&mut buf)
                .map_err(|e| Error::Io {
                    path: self.name.to_string(),
                    source: e,
                })?;
            if n < BLOCK {
                self.eof = true;
            }
            if !self.eof {
                if let Some(cut) = memchr::memrchr(b'\n', &buf) {
                    self.carry.extend_from_slice(&buf[cut + 1..]);
                    buf.truncate(cut + 1);
                } else {
                    // One line longer than a block: keep reading into it.
                    self.carry = buf;
                    continue;
                }
            }
            if buf.is_empty() {
                continue;
            }
            let lines =
                memchr::memchr_iter(b'\n', &buf).count() + usize::from(!buf.ends_with(b"\n"));
            blocks.push(Block {
                first_line: self.line_no,
                data: buf,
            });
            self.line_no += lines;
        }
        Ok((!blocks.is_empty()).then_some(blocks))
    }
}
