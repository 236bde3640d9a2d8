"""Server-rendered SVG bar charts (no script, no CDN): one horizontal bar a label."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 160
BAR_WIDTH = 320
VALUE_WIDTH = 70


def bar_chart(title: str, data: Sequence[tuple[str, float]], *, unit: str = "") -> Markup:
    """An accessible SVG: a title, then a bar, its label and its value per entry."""
    top = max((value for _, value in data), default=0) or 1
    height = max(len(data), 1) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(data):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = round(BAR_WIDTH * value / top, 1)
        shown = f"{value:g}{unit}"
        parts.append(
            f'<g><text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT - 4}" text-anchor="end">'
            f"{escape(str(label))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="#0b4f6c"><title>{escape(str(label))}: {escape(shown)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4}" y="{y + BAR_HEIGHT - 4}">'
            f"{escape(shown)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
