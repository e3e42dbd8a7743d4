//! A pack's records as batch JSONL: each line rendered from its row when it is written or asked
//! for, measured (length and tokens) once, written in parallel parts.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::{with_line, Measure, Piece, Records};
use crate::error::Error;
use crate::tokens;

impl Records<'_> {
    /// Every record's measure, in order: measured now (in parallel) unless already known.
    pub fn measures(&self) -> &[Measure] {
        self.measured.get_or_init(|| {
            let src = &self.source;
            self.records
                .par_iter()
                .with_min_len(16)
                .map(|r| src.measure_cells(&r.id, &src.row_cells(r.row)).0)
                .collect()
        })
    }

    /// The measures when they are known, without measuring.
    pub fn known_measures(&self) -> Option<&[Measure]> {
        self.measured.get().map(Vec::as_slice)
    }

    /// Appends record `i`'s line (without its newline) to `out`; with `count`, the tokens of
    /// its text are returned.
    fn render_line(&self, i: usize, out: &mut Vec<u8>, count: bool) -> u64 {
        let r = &self.records[i];
        let src = &self.source;
        let rendered = src.render(&r.id, &src.row_cells(r.row), out, count);
        if count {
            tokens::from_classes(rendered.classes) + src.fixed_tokens + rendered.system_tokens
        } else {
            0
        }
    }

    /// Record `i`'s line, without its newline.
    pub fn line(&self, i: usize) -> Vec<u8> {
        let mut out = Vec::new();
        self.render_line(i, &mut out, false);
        out
    }

    /// The bytes records `range` take as JSONL (each line and its newline).
    pub fn jsonl_len(&self, range: Range<usize>) -> usize {
        self.measures()[range].iter().map(|m| m.len + 1).sum()
    }

    /// Renders records `range` as JSONL into `out`, which must be exactly
    /// [`Records::jsonl_len`] bytes: in parallel, each line into its own place.
    pub fn render_into(&self, range: Range<usize>, out: &mut [u8]) -> Result<(), Error> {
        let want = self.jsonl_len(range.clone());
        if out.len() != want {
            return Err(Error::InvalidArgument(format!(
                "the buffer holds {} bytes, the records {want}",
                out.len()
            )));
        }
        let measures = self.measures();
        // Cut `out` into one piece per record, in order.
        let mut pieces: Vec<(usize, &mut [u8])> = Vec::with_capacity(range.len());
        let mut rest = out;
        for i in range {
            let (piece, tail) = rest.split_at_mut(measures[i].len + 1);
            pieces.push((i, piece));
            rest = tail;
        }
        pieces
            .into_par_iter()
            .with_min_len(16)
            .try_for_each(|(i, piece)| {
                with_line(|line| {
                    self.render_line(i, line, false);
                    line.push(b'\n');
                    // Rendering is deterministic: the line is what was measured.
                    if line.len() != piece.len() {
                        return Err(Error::InvalidInput(format!(
                            "record {:?} rendered to {} bytes, not the {} measured (a bug)",
                            self.records[i].id,
                            line.len(),
                            piece.len()
                        )));
                    }
                    piece.copy_from_slice(line);
                    Ok(())
                })
            })
    }

    /// All lines, each ending in `\n`.
    pub fn to_jsonl(&self) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; self.jsonl_len(0..self.records.len())];
        self.render_into(0..self.records.len(), &mut out)?;
        Ok(out)
    }

    /// Writes records `range` as JSONL to `w`: parts of about 256 KB (by the measures when
    /// they are known, else 48 records) rendered in parallel, each into a buffer that is
    /// reused, eight at a time; the next eight are rendered while the eight before are written.
    /// Returns the measure of each record written, counted while rendering when they were not
    /// known.
    pub fn write_jsonl(
        &self,
        range: Range<usize>,
        w: &mut (impl std::io::Write + Send),
    ) -> std::io::Result<Vec<Measure>> {
        const PART: usize = 256 << 10;
        const PART_RECORDS: usize = 48;
        const PARTS: usize = 8;
        type Part = (Vec<u8>, Vec<Measure>);
        let known = self.known_measures();
        let mut parts: Vec<Range<usize>> = Vec::new();
        let (mut start, mut size) = (range.start, 0);
        for i in range.clone() {
            size += known.map_or(PART / PART_RECORDS, |m| m[i].len + 1);
            if size >= PART {
                parts.push(start..i + 1);
                (start, size) = (i + 1, 0);
            }
        }
        if start < range.end {
            parts.push(start..range.end);
        }
        let groups: Vec<&[Range<usize>]> = parts.chunks(PARTS).collect();
        let render = |group: &[Range<usize>], bufs: &mut Vec<Part>| -> std::io::Result<()> {
            bufs.resize_with(group.len(), Default::default);
            group
                .par_iter()
                .zip(bufs.par_iter_mut())
                .try_for_each(|(part, (buf, measures))| {
                    buf.clear();
                    measures.clear();
                    for i in part.clone() {
                        if let Some(next) = self.records.get(i + 1) {
                            self.source.prefetch_row(next.row);
                        }
                        let start = buf.len();
                        let input_tokens = self.render_line(i, buf, known.is_none());
                        let len = buf.len() - start;
                        buf.push(b'\n');
                        match known {
                            // Rendering is deterministic: the line is what was measured.
                            Some(m) if m[i].len != len => {
                                return Err(std::io::Error::other(format!(
                                    "record {:?} rendered to {len} bytes, not the {} measured (a bug)",
                                    self.records[i].id, m[i].len
                                )))
                            }
                            Some(m) => measures.push(m[i]),
                            None => measures.push(Measure { len, input_tokens }),
                        }
                    }
                    Ok(())
                })
        };
        let (mut ready, mut next): (Vec<Part>, Vec<Part>) = (Vec::new(), Vec::new());
        if let Some(first) = groups.first() {
            render(first, &mut ready)?;
        }
        let mut out = Vec::with_capacity(range.len());
        for k in 0..groups.len() {
            let count = groups[k].len();
            let (written, rendered) = rayon::join(
                || {
                    ready[..count]
                        .iter()
                        .try_for_each(|(buf, _)| w.write_all(buf))
                },
                || groups.get(k + 1).map_or(Ok(()), |g| render(g, &mut next)),
            );
            written?;
            rendered?;
            for (_, m) in &ready[..count] {
                out.extend_from_slice(m);
            }
            std::mem::swap(&mut ready, &mut next);
        }
        Ok(out)
    }

    /// Records the measures of every record, found while writing them all.
    pub fn learn_measures(&self, measures: Vec<Measure>) {
        if measures.len() == self.records.len() {
            let _ = self.measured.set(measures);
        }
    }

    /// Upper bounds of each line's size with its newline, from the cells' lengths alone: six
    /// bytes a unit (the longest escape) and the line's fixed bytes.
    pub fn size_bounds(&self) -> Vec<u64> {
        let src = &self.source;
        self.records
            .iter()
            .map(|r| {
                let cells = src.row_cells(r.row);
                let pieces: usize = src
                    .pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Literal(escaped, _) => escaped.len(),
                        Piece::Field(k) => cells[*k].as_ref().map_or(0, |t| 6 * t.units()),
                    })
                    .sum();
                let system = if src.fixed_system.is_none() && src.system.is_some() {
                    // Rendered per row: bounded by the template and its cells.
                    cells.iter().flatten().map(|t| 6 * t.units()).sum::<usize>() * 2 + 4096
                } else {
                    0
                };
                (src.base + 6 * r.id.len() + pieces + system + 1) as u64
            })
            .collect()
    }

    /// The records whose id is not in `done` (sharing the table these hold).
    pub fn exclude(&self, done: &HashSet<String>) -> Self {
        let keep: Vec<usize> = (0..self.records.len())
            .filter(|&i| !done.contains(&self.records[i].id))
            .collect();
        let measured = std::sync::OnceLock::new();
        if let Some(m) = self.known_measures() {
            let _ = measured.set(keep.iter().map(|&i| m[i]).collect());
        }
        Records {
            model: self.model.clone(),
            invocation: self.invocation,
            max_tokens: self.max_tokens,
            records: keep.iter().map(|&i| self.records[i].clone()).collect(),
            source: Arc::clone(&self.source),
            measured,
        }
    }

    /// Estimated input tokens of all records.
    pub fn input_tokens(&self) -> u64 {
        self.measures().iter().map(|m| m.input_tokens).sum()
    }
}
