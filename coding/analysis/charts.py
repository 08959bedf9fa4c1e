"""Server-side SVG charts: geometry computed here, drawn by templates/coding/analysis/_*.svg.

The charts take the very numbers the tables beside them show (no second query path), so the
picture and the table cannot disagree. Text in the SVG goes through Django's autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Colours for coders (one per coder, in order); readable on white, apart for colour-blind eyes.
SERIES_COLOURS = (
    "#1f5fa8",
    "#e08214",
    "#2a9d5c",
    "#b8336a",
    "#7b5ea7",
    "#8c6d31",
    "#17becf",
    "#7f7f7f",
)


def series_colour(i: int) -> str:
    return SERIES_COLOURS[i % len(SERIES_COLOURS)]


@dataclass
class Segment:
    x: float
    width: float
    colour: str
    title: str


@dataclass
class Bar:
    label: str
    y: float
    value: int
    segments: list[Segment]
    end: float = 0.0  # where the value label goes, just past the bar
    indent: int = 0


@dataclass
class BarChart:
    """Horizontal (stacked) bars with labels on the left and the value at the bar's end."""

    width: int
    height: int
    label_width: int
    plot_width: int
    bar_height: int
    bars: list[Bar]
    ticks: list[dict[str, Any]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def stacked_bars(
    rows: list[tuple[str, list[tuple[int, str, str]]]],
    *,
    legend: list[tuple[str, str]] | None = None,
    width: int = 720,
    label_width: int = 230,
    bar_height: int = 16,
    gap: int = 6,
    indents: list[int] | None = None,
) -> BarChart:
    """``rows``: (label, [(value, colour, title), ...]) in display order."""
    plot_width = width - label_width - 50
    top = max((sum(v for v, _c, _t in segs) for _l, segs in rows), default=0) or 1
    scale = plot_width / top
    bars = []
    y = 4.0
    for i, (label, segs) in enumerate(rows):
        x = 0.0
        out = []
        for value, colour, title in segs:
            if value <= 0:
                continue
            w = value * scale
            out.append(Segment(round(x, 1), round(w, 1), colour, title))
            x += w
        bars.append(
            Bar(
                label=label,
                y=y,
                value=sum(v for v, _c, _t in segs),
                segments=out,
                end=round(x + 4, 1),
                indent=(indents[i] if indents else 0) * 12,
            )
        )
        y += bar_height + gap
    ticks = [
        {"x": round(top * k / 4 * scale, 1), "text": f"{round(top * k / 4):,}".replace(",", " ")}
        for k in range(5)
    ]
    return BarChart(
        width=width,
        height=int(y + 18),
        label_width=label_width,
        plot_width=plot_width,
        bar_height=bar_height,
        bars=bars,
        ticks=ticks,
        legend=legend or [],
    )


@dataclass
class Progress:
    """A progress bar of ``share`` (0–1) drawn ``width`` pixels wide."""

    share: float
    width: int = 100

    @property
    def filled(self) -> float:
        return round(max(0.0, min(1.0, self.share)) * self.width, 1)

    @property
    def percent(self) -> float:
        return round(100 * self.share, 1)
