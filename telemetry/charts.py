"""Geometry for the two server-side SVG charts. Plain Python, no Django.

Why SVG from the server and no JS charting library: the charts are part of the same fragment the
page, htmx and the WebSocket push render (so a pushed update redraws them with no client code),
they read with JavaScript off, they pick up the page theme through CSS classes and currentColor,
and every bar or slice can be a plain link with a <title> tooltip.
"""

from __future__ import annotations

import math
from datetime import date

WIDTH, HEIGHT = 600, 160
TOP, BOTTOM, LEFT, RIGHT = 8, 20, 44, 4
MAX_SLICES = 6  # beyond this the rest is one "other" slice: colours stay distinguishable


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at least `value` (and 0.01)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    step = max(10.0 ** math.floor(math.log10(value)), 0.01)
    for m in (1, 2, 2.5, 5, 10):
        top = m * step
        if top >= value:
            return top if math.isfinite(top) else value
    return value


def daily_bars(daily: list[dict]) -> dict:
    """Bars for [{date, cost, tokens, invocations}], oldest first."""
    top = nice_ceiling(max((d["cost"] for d in daily), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(daily), 1)
    bars = []
    for i, d in enumerate(daily):
        h = plot_h * (d["cost"] / top) if top else 0  # divide first: never overflows
        if d["cost"] > 0:
            h = max(h, 1.0)  # a spend of a cent still shows
        day = date.fromisoformat(d["date"])
        bars.append(
            {
                **d,
                "day": day,
                "x": round(LEFT + i * slot + slot * 0.15, 2),
                "y": round(TOP + plot_h - h, 2),
                "w": round(slot * 0.7, 2),
                "h": round(h, 2),
                "label_x": round(LEFT + i * slot + slot / 2, 2),
                "show_label": i % 7 == (len(daily) - 1) % 7,  # one date label a week, ending today
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "top": top,
        "mid": top / 2,
        "axis_x": LEFT,
        "axis_y": TOP + plot_h,
        "plot_h": plot_h,
        "top_y": TOP,
        "mid_y": TOP + plot_h / 2,
        "label_y": HEIGHT - 4,
        "right": WIDTH - RIGHT,
        "empty": not any(d["invocations"] for d in daily),
    }


def model_slices(models: list[dict], more: dict | None = None) -> list[dict]:
    """Doughnut slices by invocation share, drawn as dashed circle strokes (pathLength 100), so
    the template needs no trigonometry. `more`: the models not listed, summed ({count,
    invocations, tokens, cost}), as /api/stats gives them."""
    more = more or {"count": 0, "invocations": 0, "tokens": 0, "cost": 0.0}
    total = sum(m["invocations"] for m in models) + more["invocations"]
    if not total:
        return []
    ranked = sorted(models, key=lambda m: (-m["invocations"], m["model"]))
    head, tail = ranked[:MAX_SLICES], ranked[MAX_SLICES:]
    items = [dict(m, other=False) for m in head]
    if tail or more["count"]:
        items.append(
            {
                "model": f"{len(tail) + more['count']} other models",
                "invocations": sum(m["invocations"] for m in tail) + more["invocations"],
                "tokens": sum(m["tokens"] for m in tail) + more["tokens"],
                "cost": sum(m["cost"] for m in tail) + more["cost"],
                "other": True,
            }
        )
    offset = 0.0
    slices = []
    for i, m in enumerate(items):
        pct = 100.0 * m["invocations"] / total
        slices.append(
            {
                **m,
                "index": i,
                "percent": pct,
                "dash": f"{pct:.3f} {100 - pct:.3f}",
                # SVG draws from 3 o'clock; 25 moves the start to 12 o'clock.
                "dashoffset": f"{(25 - offset) % 100:.3f}",
            }
        )
        offset += pct
    return slices
