"""Plotly figure specs (plain dicts, drawn in the browser by the plotly.js shipped with the plotly package).

Plotly renders a subset of HTML in every label, legend and hover text, so every value from the data
is HTML-escaped here: plotly then shows it literally (`<b>` stays the text `<b>`), as the page does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import escape

from lakehouse.app.ui.expectations import Dashboard
from lakehouse.app.ui.flows import QUEUED, FlowSpan
from lakehouse.app.ui.history import JobRun, ScoringRun
from lakehouse.app.ui.models import COUNTS, Registry

Figure = dict[str, Any]
STATUS_COLOURS = {"SUCCESS": "#2e9d5b", "COMPLETED": "#2e9d5b", "FAILED": "#d64541", "SKIPPED": "#9aa5b1",
                  "EXCLUDED": "#c9d1d9", "RUNNING": "#2f7fd1", "QUEUED": "#bcccdc"}
OTHER_COLOUR = "#e0a526"


def text(value: object) -> str:
    """A data value as plotly label text that shows literally."""
    return str(escape("" if value is None else str(value)))


def figure(traces: list[dict[str, Any]], **layout: Any) -> Figure:
    base = {"margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "hovermode": "closest", "height": 360,
            "legend": {"orientation": "h", "y": -0.2}, "font": {"size": 12}}
    return {"data": traces, "layout": {**base, **layout}}


def updates_axis(board: Dashboard) -> dict[str, Any]:
    """One category per update, oldest first (evenly spaced, whether updates are days or minutes apart)."""
    return {"type": "category", "categoryorder": "array", "categoryarray": [text(u.label) for u in board.updates],
            "title": {"text": "update (run date #id)"}}


def pass_rates(board: Dashboard) -> Figure:
    """Pass rate (%) per update of each rule that failed records: one line per dataset.rule."""
    traces = [
        {"type": "scatter", "mode": "lines+markers", "name": text(f"{r.dataset}.{r.name}"), "cliponaxis": False,
         "x": [text(p.update.label) for p in r.points],
         "y": [None if p.counts.pass_rate is None else round(100 * p.counts.pass_rate, 4) for p in r.points],
         "customdata": [[p.counts.passed, p.counts.failed] for p in r.points],
         "hovertemplate": "%{fullData.name}<br>%{y:.2f}% passed (%{customdata[0]:,} passed, "
                          "%{customdata[1]:,} failed)<br>update %{x}<extra></extra>"}
        for r in board.failing
    ]
    rates = [y for t in traces for y in t["y"] if y is not None]
    return figure(traces, title={"text": "Pass rate per rule (rules that failed records)"},
                  yaxis={"title": {"text": "% records passing"}, "ticksuffix": "%", "range": percent_range(rates)},
                  xaxis=updates_axis(board))


def percent_range(rates: Sequence[float]) -> list[float]:
    """A % axis that never passes 100 or drops below 0, zoomed on the rates shown (99.2 and 99.8 stay apart)."""
    low = min(rates, default=0.0)
    pad = max((100 - low) * 0.1, 0.5)
    return [max(0.0, low - pad), 100.0]


def failures(board: Dashboard) -> Figure:
    """Failed records (summed over rules) and dropped records per update."""
    x = [text(t.update.label) for t in board.totals]
    traces = [
        {"type": "bar", "name": name, "x": x, "y": values, "hovertemplate": f"{name}: %{{y:,}}<br>update %{{x}}<extra></extra>"}
        for name, values in (("failed records", [t.failed for t in board.totals]),
                             ("dropped records", [t.dropped for t in board.totals]))
    ]
    return figure(traces, title={"text": "Failed and dropped records per update"}, barmode="group",
                  xaxis=updates_axis(board))


def top_failing(board: Dashboard) -> Figure:
    """Rules with the most failed records over the window, largest at the top."""
    rules = board.top_failing[::-1]
    trace = {"type": "bar", "orientation": "h", "x": [r.failed for r in rules],
             "y": [text(f"{r.dataset}.{r.name}") for r in rules], "marker": {"color": "#d64541"},
             "hovertemplate": "%{y}: %{x:,} failed records<extra></extra>"}
    return figure([trace], title={"text": "Top failing rules"}, height=max(200, 60 + 28 * len(rules)),
                  margin={"l": 260, "r": 20, "t": 40, "b": 40}, showlegend=False)


@dataclass(frozen=True)
class Span:
    """One bar of a Gantt chart: a row (task, flow) busy from `start` for `seconds`, in a status."""

    row: str
    start: datetime
    seconds: float
    status: str
    detail: str = ""  # plain text lines for the hover, escaped here


def gantt(spans: Sequence[Span], rows: Sequence[str], title: str) -> Figure:
    """Bars from start to end on a time axis, one colour per status, rows top-down in the order of `rows`."""
    traces = []
    for status in sorted({s.status for s in spans}):
        mine = [s for s in spans if s.status == status]
        traces.append({
            "type": "bar", "orientation": "h", "name": text(status),
            "base": [s.start.isoformat() for s in mine],
            "x": [1000 * s.seconds for s in mine],
            "y": [text(s.row) for s in mine],
            "marker": {"color": STATUS_COLOURS.get(status, OTHER_COLOUR)},
            "customdata": [[_seconds(s.seconds), "<br>".join(text(line) for line in s.detail.splitlines())] for s in mine],
            "hovertemplate": "%{y}<br>%{customdata[0]}<br>%{customdata[1]}<extra>%{fullData.name}</extra>",
        })
    return figure(traces, title={"text": title}, xaxis={"type": "date"}, barmode="overlay",
                  margin={"l": 60, "r": 20, "t": 40, "b": 70},  # room for the date under the first time tick
                  yaxis={"automargin": True, "type": "category", "categoryorder": "array",
                         "categoryarray": [text(r) for r in reversed(rows)]},
                  height=max(240, 120 + 26 * len(rows)))


def timeline(runs: Sequence[JobRun]) -> Figure:
    """One bar per task run from its start to its end, coloured by status, grouped by job and task."""
    spans = [Span(f"{r.job} · {r.task}", r.started_at, _duration(r), r.status,
                  f"run date {r.run_date}, attempt {r.attempt}\n{r.error or ''}")
             for r in runs if r.started_at is not None]
    return gantt(spans, sorted({s.row for s in spans}), "Job runs")


def flow_timeline(flows: Sequence[FlowSpan]) -> Figure:
    """An update's flows as Databricks' update details show them: time queued, then running until the end state."""
    spans = [Span(f.flow, f.queued_at, (f.started_at - f.queued_at).total_seconds(), QUEUED, f"dataset {f.dataset}")
             for f in flows if f.queued_at is not None and f.started_at is not None and f.queued_at < f.started_at]
    spans += [Span(f.flow, f.started_at, f.seconds, f.status, f"dataset {f.dataset}\n{f.error or ''}")
              for f in flows if f.started_at is not None]
    return gantt(spans, [f.flow for f in flows], "Flows of this update")


def model_scores(reg: Registry) -> Figure | None:
    """The test metrics that are scores in [0, 1] (ROC AUC, PR AUC, Brier, ...) of every version, on one 0-1 axis."""
    names = [m for m in reg.metric_names if _unit_interval(reg, m)]
    if not names:
        return None
    return _metric_lines(reg, names, title={"text": "Test scores per model version (trained for run date)"},
                         yaxis={"range": [0, 1], "title": {"text": "score (0-1)"}})


def model_other_metrics(reg: Registry) -> dict[str, Figure]:
    """Every other test metric (rows, lift at k, log loss, ...) on an axis of its own: one chart per metric."""
    return {name: _metric_lines(reg, [name], height=260, showlegend=False,
                                title={"text": text(f"Test {name} per model version"), "x": 0.02, "xanchor": "left"},
                                margin={"l": 60, "r": 40, "t": 50, "b": 50},
                                yaxis={"title": {"text": text(name)}, "rangemode": "tozero"})
            for name in reg.metric_names if not _unit_interval(reg, name)}


def _unit_interval(reg: Registry, metric: str) -> bool:
    """Every recorded value lies in [0, 1] (NaN, e.g. a one-class ROC AUC, says nothing) and it is not a count."""
    values = [v.metrics[metric] for v in reg.versions if metric in v.metrics and math.isfinite(v.metrics[metric])]
    return metric not in COUNTS and bool(values) and all(0 <= v <= 1 for v in values)


def _metric_lines(reg: Registry, names: list[str], **layout: Any) -> Figure:
    """One line per metric over the versions, oldest first, one category per version."""
    versions = reg.versions[::-1]  # oldest version first, one category per version
    label = {v.version: text(f"v{v.version} ({v.run_date})" if v.run_date else f"v{v.version}") for v in versions}
    traces = [
        {"type": "scatter", "mode": "lines+markers", "name": text(metric),
         "x": [label[v.version] for v in versions if metric in v.metrics],
         "y": [_finite(v.metrics[metric]) for v in versions if metric in v.metrics],
         "hovertemplate": "%{fullData.name} %{y:.4f}<br>%{x}<extra></extra>"}
        for metric in names
    ]
    return figure(traces, xaxis={"type": "category", "categoryorder": "array", "categoryarray": list(label.values())},
                  **layout)


def _finite(value: float) -> float | None:
    """A value plotly can take from JSON (NaN is no JSON number: it would break the whole spec)."""
    return value if math.isfinite(value) else None


def scoring(runs: Sequence[ScoringRun]) -> Figure:
    """Rows scored and positive decisions per score date."""
    ordered = list(runs)[::-1]
    x = [r.score_date.isoformat() for r in ordered]
    traces = [{"type": "bar", "name": "rows scored", "x": x, "y": [r.rows for r in ordered]},
              {"type": "bar", "name": "positive decisions", "x": x, "y": [r.positives for r in ordered]}]
    return figure(traces, title={"text": "Predictions per score date"}, barmode="group", xaxis={"type": "date"})


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _duration(run: JobRun) -> float:
    if run.duration_s is not None:
        return float(run.duration_s)
    if run.started_at and run.ended_at:
        return (run.ended_at - run.started_at).total_seconds()
    return 0.0
