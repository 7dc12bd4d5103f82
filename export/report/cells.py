"""How one value is written in a table cell (shared by the Markdown, CSV and LaTeX renderers)
and the two facts about a report every table asks: where its counts come from, and whether a
separate run without the schedule exists.

Counts are per sample; ``nj`` writes an energy given in pJ as nJ.
"""
from __future__ import annotations

from typing import Any, Optional

from razor_neuro.export.report.data import NetworkReport

__all__ = ["acc", "count", "div", "nj", "ratio", "source_name", "two_runs"]


def count(v: Any) -> str:
    """``1,234`` for a whole count, ``12.3`` / ``1.23`` otherwise, ``-`` for None."""
    if v is None:
        return "-"
    v = float(v)
    if v.is_integer():
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def nj(pj: Optional[float]) -> str:
    """An energy in pJ written in nJ."""
    if pj is None:
        return "-"
    v = pj / 1e3
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"


def ratio(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.3f}"


def acc(v: Optional[float]) -> str:
    return "n/a (no labels)" if v is None else f"{v:.4f}"


def div(a: Optional[float], b: Optional[float]) -> Optional[float]:
    """``a / b``, None when either is None or ``b`` is 0."""
    return None if a is None or b is None or b == 0 else a / b


def source_name(net: NetworkReport) -> str:
    """``Lava fixed_pt`` or ``torch reference fixed_pt, licensed by verify``."""
    if net.source.kind == "lava":
        return f"Lava {net.source.tag}"
    return f"torch reference {net.source.tag}, licensed by verify"


def two_runs(net: NetworkReport) -> bool:
    """A "without schedule" run that differs from the scheduled one exists."""
    return not net.without_schedule.same_run
