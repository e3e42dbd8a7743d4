//! The Python module `bedrock_batch._core`: type conversion, GIL release and error mapping only.

mod arrow;
mod aws;
mod clean;
mod collect;
mod errors;
mod pack;
mod prompt;
mod runtime;
mod source;
mod validate;

// `gil_used = true`: pack reads lists and dicts through borrowed references, which is safe
// only while the GIL serialises other threads; on free-threaded CPython (3.13t, 3.14t) importing
// the module turns the GIL back on (with Python's RuntimeWarning) rather than risk a race.
#[pyo3::pymodule(gil_used = true)]
mod _core {
    #[pymodule_export]
    use super::aws::{valid_job_name, PyAwsClient};
    #[pymodule_export]
    use super::clean::{clean_arrow, clean_batch, clean_html, clean_markdown, detect_format};
    #[pymodule_export]
    use super::collect::{cost_estimate, read_results_core, PyResults};
    #[pymodule_export]
    use super::pack::{
        base_model_id, estimate_tokens, model_info, pack_columns, price_table, PyRecords, PyShard,
    };
    #[pymodule_export]
    use super::prompt::{PyPrompt, PyQuotas};
    #[pymodule_export]
    use super::runtime::simd_paths;
    #[pymodule_export]
    use super::source::{read_wxr, PyArticleStream};
    #[pymodule_export]
    use super::validate::validate_input;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        super::runtime::install_fork_handler();
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }
}
