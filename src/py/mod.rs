//! The Python module `bedrock_batch._core`: type conversion, GIL release and error mapping only.

mod aws;
mod clean;
mod collect;
mod errors;
mod pack;
mod runtime;

#[pyo3::pymodule]
mod _core {
    #[pymodule_export]
    use super::aws::{valid_job_name, PyAwsClient};
    #[pymodule_export]
    use super::clean::{clean_batch, clean_html, clean_markdown, detect_format};
    #[pymodule_export]
    use super::collect::{cost_estimate, read_results_core, PyResults};
    #[pymodule_export]
    use super::pack::{
        estimate_tokens, model_info, pack_columns, price_table, validate_input, PyPrompt, PyQuotas,
        PyRecords, PyShard,
    };

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        super::runtime::install_fork_handler();
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }
}
