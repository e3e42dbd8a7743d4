"""The core's layering: low-level helpers import no stage module, and no modules import each other
in a cycle (read from the `crate::` paths of the Rust sources, comments aside)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LOW = {"simd", "utf8", "unicode", "lines", "tape", "json", "sys", "error"}
STAGES = {"clean", "pack", "validate", "collect", "aws", "source", "cost", "tokens", "py"}


def _code(path: Path) -> str:
    return "\n".join(re.sub(r"//.*", "", line) for line in path.read_text().splitlines())


def _module(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".rs")


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.rs"):
        name = _module(path)
        if name == "lib":
            continue
        uses = set(re.findall(r"\bcrate::([a-z0-9_]+)", _code(path)))
        graph.setdefault(name, set()).update(uses - {name, "testing"})
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_low_level_modules_import_no_stage() -> None:
    graph = _graph()
    assert graph.keys() >= LOW
    wrong = {low: sorted(graph[low] & STAGES) for low in LOW if graph[low] & STAGES}
    assert not wrong, f"low-level modules importing stages: {wrong}"


def test_no_module_cycles() -> None:
    graph = _graph()
    assert _cycle(graph) is None, f"module cycle: {' -> '.join(_cycle(graph) or [])}"
    # The check itself finds a cycle when there is one.
    assert _cycle({**graph, "simd": graph["simd"] | {"pack"}}) is not None


def test_clean_submodules_have_no_cycle() -> None:
    clean = SRC / "clean"
    graph = {
        p.stem: set(re.findall(r"\bsuper::([a-z_]+)::", _code(p))) - {p.stem}
        for p in clean.glob("*.rs")
        if p.stem != "mod"
    }
    assert _cycle(graph) is None, f"cycle in clean/: {_cycle(graph)}"
