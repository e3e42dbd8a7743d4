//! One row per record: duplicates reported or merged (retries), inputs joined, in place.

use std::collections::{HashMap, HashSet};

use super::{Kept, Problem};

/// foldhash's fast hasher, as in `pack`: recordIds are short.
type Build = foldhash::fast::RandomState;

/// One row per record: duplicates reported (the best status kept), inputs joined. With
/// `attempts`, repeats are expected: the best outcome is kept (the later line on a tie) and
/// counted, not reported. Works in place: a million rows are not held twice.
pub(super) fn settle(
    mut rows: Vec<Kept>,
    inputs: Option<&[String]>,
    attempts: bool,
    problems: &mut Vec<Problem>,
) -> Vec<Kept> {
    let n = rows.len();
    // For each id's first row: the row that wins and how many lines the id had.
    let mut best: Vec<usize> = (0..n).collect();
    let mut count: Vec<u32> = vec![1; n];
    let mut keep = vec![true; n];
    {
        let mut first: HashMap<&str, usize, Build> =
            HashMap::with_capacity_and_hasher(n, Build::default());
        for (j, r) in rows.iter().enumerate() {
            let Some(&i) = first.get(r.record_id.as_str()) else {
                first.insert(r.record_id.as_str(), j);
                continue;
            };
            keep[j] = false;
            let b = &rows[best[i]];
            if attempts {
                count[i] += 1;
                if r.status <= b.status {
                    best[i] = j;
                }
                continue;
            }
            // The problem sits on the line that is dropped; its message names both.
            let later = r.status < b.status;
            let dropped = if later { b } else { r };
            problems.push(Problem {
                file: dropped.file.to_string(),
                line: dropped.line,
                record_id: Some(r.record_id.clone()),
                message: format!(
                    "recordId {:?} appears again (first at {}:{}, again at {}:{}); the {} one is kept",
                    r.record_id,
                    b.file,
                    b.line,
                    r.file,
                    r.line,
                    if later { "later" } else { "first" }
                ),
            });
            if r.status < b.status {
                best[i] = j;
            }
        }
    }
    for i in 0..n {
        if keep[i] {
            if best[i] != i {
                rows.swap(i, best[i]);
            }
            rows[i].attempts = count[i];
        }
    }
    let mut kept = keep.iter();
    rows.retain(|_| kept.next().copied().unwrap_or(false));
    drop((best, count, keep));
    let Some(inputs) = inputs else { return rows };
    // Each row's place in the inputs' order; rows never input go after them and are cut.
    let mut place = vec![usize::MAX; rows.len()];
    let mut missing: Vec<(usize, &String)> = Vec::new();
    let mut wanted = 0usize;
    {
        let at: HashMap<&str, usize, Build> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.record_id.as_str(), i))
            .collect();
        let mut seen: HashSet<&str, Build> =
            HashSet::with_capacity_and_hasher(inputs.len(), Build::default());
        for id in inputs {
            if !seen.insert(id.as_str()) {
                continue;
            }
            match at.get(id.as_str()) {
                Some(&i) => place[i] = wanted,
                None => missing.push((wanted, id)),
            }
            wanted += 1;
        }
        for r in &rows {
            if !seen.contains(r.record_id.as_str()) {
                problems.push(Problem {
                    file: r.file.to_string(),
                    line: r.line,
                    record_id: Some(r.record_id.clone()),
                    message: format!(
                        "recordId {:?} is in the output but was never input",
                        r.record_id
                    ),
                });
            }
        }
    }
    let unplaced = place.iter_mut().filter(|p| **p == usize::MAX);
    for (at, p) in (wanted..).zip(unplaced) {
        *p = at;
    }
    rows.reserve_exact(missing.len());
    for (k, id) in missing {
        rows.push(Kept::missing(id.clone()));
        place.push(k);
    }
    // The permutation applied in place, cycle by cycle.
    for i in 0..rows.len() {
        while place[i] != i {
            let j = place[i];
            rows.swap(i, j);
            place.swap(i, j);
        }
    }
    rows.truncate(wanted);
    rows
}
