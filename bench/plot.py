"""Small SVG charts for docs/benchmarks.md: no plotting dependency, readable on GitHub."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")  # Okabe-Ito
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 300, 70, 20, 36, 44


def _nice(top: float) -> float:
    if top <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(top))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= top:
            return step * magnitude
    return top


def _frame(title: str, y_label: str, y_max: float) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<text x="14" y="{H / 2}" transform="rotate(-90 14 {H / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * i / 4
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{value:,.0f}</text>')
    return out


def bars(title: str, y_label: str, items: Sequence[tuple[str, float]]) -> str:
    """A bar chart of (label, value)."""
    y_max = _nice(max(v for _, v in items) * 1.1)
    out = _frame(title, y_label, y_max)
    slot = (W - LEFT - RIGHT) / len(items)
    for i, (label, value) in enumerate(items):
        h = (H - TOP - BOTTOM) * value / y_max
        x = LEFT + i * slot + slot * 0.2
        out.append(
            f'<rect x="{x:.1f}" y="{H - BOTTOM - h:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{H - BOTTOM - h - 4:.1f}" '
            f'text-anchor="middle">{value:,.0f}</text>'
        )
        out.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{H - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return "\n".join([*out, "</svg>"])


def lines(
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    y_max: float | None = None,
) -> str:
    """A line chart of named series of (x, y) points; the y axis up to ``y_max`` (default: a
    round number above the highest point)."""
    xs = [x for _, pts in series for x, _ in pts]
    x_min, x_max = min(xs), max(xs) or 1.0
    y_max = y_max or _nice(max(y for _, pts in series for _, y in pts) * 1.1)
    out = _frame(title, y_label, y_max)

    def px(x: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * (x - x_min) / ((x_max - x_min) or 1)

    def py(y: float) -> float:
        return H - BOTTOM - (H - TOP - BOTTOM) * y / y_max

    for i, (name, pts) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        out.append(
            f'<text x="{LEFT + 10 + 150 * i}" y="{TOP + 4}" fill="{color}">{escape(name)}</text>'
        )
    for i in range(5):
        x = x_min + (x_max - x_min) * i / 4
        out.append(
            f'<text x="{px(x):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{x:,.0f}</text>'
        )
    out.append(f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>')
    return "\n".join([*out, "</svg>"])
