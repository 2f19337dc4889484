"""The geometry of the reports' charts: bars in SVG user units, computed here and drawn by the
templates (``desk/charts.html``) as inline SVG — no script, no library, nothing fetched.

Coordinates are in a fixed ``viewBox``; the SVG scales to the page's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.helpdesk.stats import Series

WIDTH, HEIGHT = 640, 240  # the viewBox of a chart
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 28  # room for the axis labels
# A colour-blind-safe palette (Okabe–Ito), one colour per stacked key.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    key: Any
    value: int


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class DayLabel:
    x: float
    day: date


@dataclass(frozen=True)
class StackedBars:
    """One bar per day, stacked by key; the axis ticks and a few day labels."""

    bars: list[Bar]
    ticks: list[Tick]
    labels: list[DayLabel]
    colours: dict[Any, str]
    top: int  # the axis' top value
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def nice_top(value: int) -> int:
    """A round axis top at or above ``value``: 1, 2, 5, 10, 20, 50, 100, ..."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def stacked(series: Series) -> StackedBars:
    """Bars for a per-day series: each day's keys stacked bottom-up in ``series.keys`` order."""
    colours = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(series.keys)}
    peak = max((series.day_total(day) for day in series.days), default=0)
    top = nice_top(max(peak, 1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(series.days), 1)
    baseline = HEIGHT - BOTTOM
    bars: list[Bar] = []
    for i, day in enumerate(series.days):
        y = float(baseline)
        for key in series.keys:
            value = series.at(day, key)
            if value:
                height = value / top * plot_h
                y -= height
                bars.append(
                    Bar(
                        x=round(LEFT + i * slot + slot * 0.1, 2),
                        y=round(y, 2),
                        width=round(slot * 0.8, 2),
                        height=round(height, 2),
                        colour=colours[key],
                        key=key,
                        value=value,
                    )
                )
    ticks = [Tick(round(baseline - plot_h * f, 2), round(top * f)) for f in (0, 0.5, 1)]
    every = max(1, len(series.days) // 7)  # about a week's worth of labels
    labels = [
        DayLabel(round(LEFT + i * slot + slot / 2, 2), day)
        for i, day in enumerate(series.days)
        if i % every == 0
    ]
    return StackedBars(bars, ticks, labels, colours, top)


@dataclass(frozen=True)
class Row:
    """One horizontal bar: ``key`` is what the template names it by."""

    key: Any
    value: float | None
    y: float
    width: float  # 0 when there is no value


@dataclass(frozen=True)
class HorizontalBars:
    rows: list[Row]
    top: float  # the value of a full-width bar
    width: int
    height: int
    left: int
    bar_height: int


H_LEFT, H_RIGHT, H_ROW, H_BAR = 150, 90, 34, 22  # room for names and the values


def horizontal(values: list[tuple[Any, float | None]], top: float | None = None) -> HorizontalBars:
    """One bar per (key, value), full width at ``top`` (default: the largest value, rounded
    up); a missing value (None) is a row without a bar."""
    largest = max((v for _, v in values if v is not None), default=0.0)
    full = top if top is not None else float(nice_top(max(1, int(-(-largest // 1)))))
    plot_w = WIDTH - H_LEFT - H_RIGHT
    rows = [
        Row(
            key=key,
            value=value,
            y=i * H_ROW + (H_ROW - H_BAR) / 2,
            width=round(plot_w * min(value, full) / full, 2) if value else 0.0,
        )
        for i, (key, value) in enumerate(values)
    ]
    return HorizontalBars(rows, full, WIDTH, H_ROW * len(values), H_LEFT, H_BAR)
