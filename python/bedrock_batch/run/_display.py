"""Small HTML tables for notebooks (``_repr_html_``), without pandas."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 100 else f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return html.escape("" if v is None else str(v))


def html_table(title: str, rows: Sequence[Mapping[str, Any]], limit: int = 50) -> str:
    """``title`` (HTML) above a table of ``rows`` (the first ``limit``)."""
    cols = list(rows[0]) if rows else []
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>"
        for r in rows[:limit]
    )
    more = f"<p>… {len(rows) - limit} more rows</p>" if len(rows) > limit else ""
    return f"<div><p>{title}</p><table><tr>{head}</tr>{body}</table>{more}</div>"
