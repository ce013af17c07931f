"""Bar charts for the dashboard as plain data that ``templates/_bars.svg.html`` draws as inline SVG: no
JavaScript charting library, printable, readable without scripts (each bar carries its value as text and a
``<title>``). Kept apart from the view so the scaling is testable on its own."""
from __future__ import annotations

ROW = 22  # px per bar
LABEL_WIDTH = 150  # px for the label column
BAR_WIDTH = 360  # px for the longest bar
MAX_ROWS = 20


def bars(items, unit: str = "", maximum: float | None = None, kind: str = "") -> dict:
    """``items`` = [(label, value or None)]: rows scaled to ``maximum`` (default: the largest value).

    A None value (nothing to measure) is drawn as no bar with "—"; negative values count as 0."""
    items = list(items)[:MAX_ROWS]
    values = [max(0.0, float(v)) for _, v in items if v is not None]
    top = float(maximum) if maximum else (max(values) if values else 0.0)
    rows = []
    for i, (label, value) in enumerate(items):
        width = 0 if value is None or top <= 0 else round(BAR_WIDTH * min(max(0.0, float(value)), top) / top, 1)
        text = "—" if value is None else (f"{value:g}{unit}" if isinstance(value, (int, float)) else str(value))
        rows.append({"label": label, "value": value, "text": text, "width": width, "y": i * ROW})
    return {"rows": rows, "kind": kind, "height": max(ROW, len(rows) * ROW), "label_width": LABEL_WIDTH,
            "bar_width": BAR_WIDTH, "width": LABEL_WIDTH + BAR_WIDTH + 60}
