//! Sets pyo3's cfgs (`Py_LIMITED_API`, `PyPy`, `GraalPy`, `Py_GIL_DISABLED`, `Py_3_x`) for the
//! interpreter being built for, so `src/py` can choose the string path per interpreter.
fn main() {
    pyo3_build_config::print_expected_cfgs();
    pyo3_build_config::use_pyo3_cfgs();
}
