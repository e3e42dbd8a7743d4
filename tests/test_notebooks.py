"""The notebooks: the quickstart and the smoke notebook run headless in a real kernel (sync calls
inside its running loop, progress bars, figures); the AWS notebook is the quickstart's code with
only its setup cells changed."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NB = Path(__file__).resolve().parents[1] / "notebooks"


def run(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NB / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NB)}}
    ).execute()  # raises CellExecutionError on any error cell
    return nb


def outputs(nb: nbformat.NotebookNode, kind: str) -> list[tuple[int, object]]:
    return [
        (i, o["data"][kind])
        for i, c in enumerate(nb.cells)
        for o in c.get("outputs", [])
        if kind in o.get("data", {})
    ]


@pytest.mark.slow
def test_the_quickstart_runs_and_draws() -> None:
    nb = run("quickstart.ipynb")
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(outputs(nb, "image/png")) >= 4
    html = "".join(str(h) for _, h in outputs(nb, "text/html"))
    assert "Run &#x27;quickstart&#x27;" in html or "Run 'quickstart'" in html  # status table
    assert "<table" in html and "summary_en" in html  # the results as a table
    assert "2,400 records" in html


def test_the_committed_quickstart_keeps_its_outputs() -> None:
    nb = nbformat.read(NB / "quickstart.ipynb", as_version=4)
    assert len(outputs(nb, "image/png")) >= 4
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
def test_the_smoke_notebook() -> None:
    nb = run("smoke.ipynb")
    text = "".join(str(t) for _, t in outputs(nb, "text/plain"))
    assert "WordPress & Bedrock" in text and "150 records" in text


def code(nb: nbformat.NotebookNode, *, setup: bool) -> list[str]:
    return [
        c.source
        for c in nb.cells
        if c.cell_type == "code" and ("setup" in c.metadata.get("tags", [])) == setup
    ]


def test_the_aws_notebook_is_the_quickstart_with_another_client() -> None:
    quick = nbformat.read(NB / "quickstart.ipynb", as_version=4)
    aws = nbformat.read(NB / "aws.ipynb", as_version=4)
    assert code(aws, setup=False) == code(quick, setup=False)
    assert len(code(quick, setup=False)) >= 10
    setup = "\n".join(code(aws, setup=True))
    assert "bb.Client(region=REGION)" in setup and "emulator" not in setup
    assert "client.preflight(" in setup and "bb.iam.role_policy(" in setup
    assert all(not c.get("outputs") for c in aws.cells if c.cell_type == "code")
