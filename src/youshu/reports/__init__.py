"""Reports: one self-contained HTML file per run (plotly embedded, no network); Excel lists come later."""

from youshu.reports.html import (
    FONT_STACK,
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Note,
    QualityBadge,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
    fmt_wan,
    render_report,
)

__all__ = [
    "FONT_STACK",
    "Column",
    "FigureBlock",
    "Kpi",
    "KpiGrid",
    "Note",
    "QualityBadge",
    "Section",
    "TableBlock",
    "fmt_int",
    "fmt_pct",
    "fmt_wan",
    "render_report",
]
