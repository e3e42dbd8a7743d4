//! Reading JSONL in blocks of whole lines, so large files are processed in parallel with bounded
//! memory (shared by validate and collect).
//!
//! Files are memory-mapped: the page cache is read in place (no copy into buffers), and each
//! batch's pages are dropped from the mapping once it is done, so the resident memory stays near
//! one batch. What cannot be mapped (pipes, special files) is read in blocks by a reader thread.
//! A file truncated by another process while it is read can end the process (SIGBUS), as with
//! any memory-mapped reader; batch outputs are written once and not changed afterwards.

use std::fs::File;
use std::io::Read;

use crate::error::Error;

/// Bytes per block, and blocks per batch: memory stays near `2 * BLOCK * BATCH` (the batch being
/// checked and the one being read) plus one long line.
pub const BLOCK: usize = 4 << 20;
pub const BATCH: usize = 4;

/// How much of the next line [`Block::lines`] prefetches.
const PREFETCH: usize = 1 << 10;

/// A block of whole lines, the 0-based number of its first line, and where each line ends.
pub struct Block<'a> {
    pub first_line: usize,
    pub data: &'a [u8],
    /// The end of each line (after its `\n`; the last may be the end of the data).
    pub ends: Vec<usize>,
}

/// Where the lines of `data` end (after each `\n`, and at the end of an unterminated last line).
/// memchr finds the newlines (SIMD); a byte-by-byte split was a fifth of collect's time.
fn line_ends(data: &[u8]) -> Vec<usize> {
    let mut ends: Vec<usize> = memchr::memchr_iter(b'\n', data).map(|i| i + 1).collect();
    if !data.is_empty() && !data.ends_with(b"\n") {
        ends.push(data.len());
    }
    ends
}

impl Block<'_> {
    /// The lines of the block with their 1-based numbers and raw lengths (newline included);
    /// the text has no `\n` or `\r\n`.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &[u8], u64)> + '_ {
        let data = self.data;
        let mut start = 0usize;
        self.ends.iter().enumerate().map(move |(k, &end)| {
            // The start of the next line is asked of the memory while this one is read (the
            // block was scanned for newlines as a whole and is out of the caches again by now);
            // the scans prefetch ahead of themselves from there.
            let next = self.ends.get(k + 1).map_or(end, |&e| e.min(end + PREFETCH));
            let mut at = end;
            while at < next {
                crate::sys::prefetch(data.as_ptr().wrapping_add(at));
                at += 64;
            }
            let raw = &data[start..end];
            start = end;
            let text = raw.strip_suffix(b"\n").unwrap_or(raw);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            (self.first_line + k + 1, text, raw.len() as u64)
        })
    }
}

/// What to read lines from.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    File(&'a File),
    Bytes(&'a [u8]),
}

/// Hands the lines of `input` to `each` in batches of blocks, in order.
pub fn for_each_batch(
    input: Input<'_>,
    name: &str,
    mut each: impl FnMut(&[Block<'_>]) -> Result<(), Error>,
) -> Result<(), Error> {
    match input {
        Input::Bytes(b) => for_each_slice_batch(b, &mut each, |_, _| {}, |_, _| {}),
        Input::File(f) => {
            let is_file = f.metadata().is_ok_and(|m| m.is_file() && m.len() > 0);
            let map = if is_file { map_file(f) } else { None };
            let Some(map) = map else {
                let mut reader = f;
                return for_each_read_batch(&mut reader, name, each);
            };
            crate::sys::advise_sequential(&map);
            // Each batch's pages are mapped in one call before it is read, and dropped after.
            let before = |start, len| crate::sys::advise_will_read(&map, start, len);
            let done = |start, len| crate::sys::advise_done(&map, start, len);
            for_each_slice_batch(&map, &mut each, before, done)
        }
    }
}

/// The file mapped read-only, or `None` when it cannot be mapped.
#[allow(unsafe_code)]
fn map_file(f: &File) -> Option<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and lives for one `for_each_batch` call; the caveat
    // (another process truncating the file) is documented at the top of the module.
    unsafe { memmap2::MmapOptions::new().map(f) }.ok()
}

/// Batches of blocks cut from bytes in memory; `before(start, len)` precedes each batch and
/// `done(start, len)` follows it.
fn for_each_slice_batch(
    data: &[u8],
    each: &mut impl FnMut(&[Block<'_>]) -> Result<(), Error>,
    mut before: impl FnMut(usize, usize),
    mut done: impl FnMut(usize, usize),
) -> Result<(), Error> {
    use rayon::prelude::*;
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < data.len() {
        let batch_start = start;
        let mut slices = Vec::with_capacity(BATCH);
        while slices.len() < BATCH && start < data.len() {
            let mut end = (start + BLOCK).min(data.len());
            if end < data.len() {
                end = memchr::memchr(b'\n', &data[end - 1..]).map_or(data.len(), |i| end + i);
            }
            slices.push(&data[start..end]);
            start = end;
        }
        before(batch_start, start - batch_start);
        // Line numbers: each block's lines found in parallel, then counted in order.
        let all_ends: Vec<Vec<usize>> = slices.par_iter().map(|s| line_ends(s)).collect();
        let mut blocks = Vec::with_capacity(slices.len());
        for (s, ends) in slices.into_iter().zip(all_ends) {
            let n = ends.len();
            blocks.push(Block {
                first_line: line_no,
                data: s,
                ends,
            });
            line_no += n;
        }
        each(&blocks)?;
        done(batch_start, start - batch_start);
    }
    Ok(())
}

/// Reads `reader` in batches of blocks and hands each batch to `each`, in order. A reader thread
/// reads the next batch while `each` works on the current one; block buffers are reused, so
/// memory stays near two batches.
fn for_each_read_batch(
    reader: &mut (dyn Read + Send),
    name: &str,
    mut each: impl FnMut(&[Block<'_>]) -> Result<(), Error>,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        type Batch = Vec<(usize, Vec<u8>, Vec<usize>)>;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch, Error>>(0);
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
            let (meta, datas): (Vec<_>, Vec<_>) = batch?
                .into_iter()
                .map(|(first_line, data, ends)| ((first_line, ends), data))
                .unzip();
            let blocks: Vec<Block<'_>> = meta
                .into_iter()
                .zip(&datas)
                .map(|((first_line, ends), data)| Block {
                    first_line,
                    data,
                    ends,
                })
                .collect();
            each(&blocks)?;
            drop(blocks);
            for data in datas {
                // The reader may be done already; then the buffer is simply freed.
                let _ = back.send(data);
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
    fn next_batch(&mut self) -> Result<Option<Vec<(usize, Vec<u8>, Vec<usize>)>>, Error> {
        let mut blocks: Vec<(usize, Vec<u8>, Vec<usize>)> = Vec::new();
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
            let ends = line_ends(&buf);
            let lines = ends.len();
            blocks.push((self.line_no, buf, ends));
            self.line_no += lines;
        }
        Ok((!blocks.is_empty()).then_some(blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_lines(blocks: &[Block<'_>], out: &mut Vec<(usize, Vec<u8>, u64)>) {
        for b in blocks {
            out.extend(b.lines().map(|(n, t, len)| (n, t.to_vec(), len)));
        }
    }

    #[test]
    fn mapped_slices_and_the_reader_agree() {
        // Short lines, a line longer than a block, CRLF, an empty line, no final newline.
        let mut data = Vec::new();
        for i in 0..200_000 {
            data.extend_from_slice(format!("{{\"recordId\":\"r{i}\"}}\n").as_bytes());
        }
        data.extend(std::iter::repeat_n(b'x', BLOCK + 123));
        data.extend_from_slice(b"\r\n\nlast");
        let mut from_slice = Vec::new();
        for_each_slice_batch(
            &data,
            &mut |b: &[Block<'_>]| {
                collect_lines(b, &mut from_slice);
                Ok(())
            },
            |_, _| {},
            |_, _| {},
        )
        .unwrap();
        let mut from_reader = Vec::new();
        for_each_read_batch(&mut data.as_slice(), "t", |b| {
            collect_lines(b, &mut from_reader);
            Ok(())
        })
        .unwrap();
        assert_eq!(from_slice.len(), 200_003);
        assert!(from_slice == from_reader);
        let long = &from_slice[200_000];
        assert_eq!(
            (long.0, long.1.len(), long.2),
            (200_001, BLOCK + 123, BLOCK as u64 + 125)
        );
        assert_eq!(from_slice[200_002].1, b"last");
        assert_eq!(from_slice[200_002].0, 200_003);
    }
}
