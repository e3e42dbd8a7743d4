//! Validate and collect on arbitrary bytes: no panic, and every line that is not blank is a
//! result row or a problem with its line number.
#![no_main]
use arrow_array::{Array, Int64Array};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = _core::validate::validate(
        &_core::validate::Source::Bytes(data.to_vec()),
        &_core::validate::Options::default(),
    );
    if let Ok(r) = &report {
        assert!(r.problem_count >= r.error_count);
    }
    let opts = _core::collect::Options::default();
    let Ok(res) =
        _core::collect::read_results(&_core::collect::Source::Bytes(data.to_vec()), &opts)
    else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    for b in &res.batches {
        let lines = b.column_by_name("line").expect("a line column");
        let lines = lines
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64 lines");
        seen.extend((0..lines.len()).map(|i| lines.value(i) as usize));
    }
    seen.extend(res.problems.iter().map(|p| p.line));
    for (k, line) in data.split(|&b| b == b'\n').enumerate() {
        if !String::from_utf8_lossy(line).trim().is_empty() {
            assert!(
                seen.contains(&(k + 1)),
                "line {} is neither a row nor a problem",
                k + 1
            );
        }
    }
});
