"""Plotly figure specs (plain dicts, drawn in the browser by the plotly.js shipped with the plotly package).

Plotly renders a subset of HTML in every label, legend and hover text, so every value from the data
is HTML-escaped here: plotly then shows it literally (`<b>` stays the text `<b>`), as the page does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import escape

from lakehouse.ui.expectations import Dashboard
from lakehouse.ui.history import JobRun, ScoringRun
from lakehouse.ui.models import Registry

Figure = dict[str, Any]
STATUS_COLOURS = {"SUCCESS": "#2e9d5b", "COMPLETED": "#2e9d5b", "FAILED": "#d64541", "SKIPPED": "#9aa5b1",
                  "EXCLUDED": "#c9d1d9", "RUNNING": "#2f7fd1"}
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
        {"type": "scatter", "mode": "lines+markers", "name": text(f"{r.dataset}.{r.name}"),
         "x": [text(p.update.label) for p in r.points],
         "y": [None if p.counts.pass_rate is None else round(100 * p.counts.pass_rate, 4) for p in r.points],
         "customdata": [[p.counts.passed, p.counts.failed] for p in r.points],
         "hovertemplate": "%{fullData.name}<br>%{y:.2f}% passed (%{customdata[0]:,} passed, "
                          "%{customdata[1]:,} failed)<br>update %{x}<extra></extra>"}
        for r in board.failing
    ]
    return figure(traces, title={"text": "Pass rate per rule (rules that failed records)"},
                  yaxis={"title": {"text": "% records passing"}, "ticksuffix": "%"}, xaxis=updates_axis(board))


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


def timeline(runs: Sequence[JobRun]) -> Figure:
    """One bar per task run from its start to its end, coloured by status, grouped by job and task."""
    timed = [r for r in runs if r.started_at is not None]
    traces = []
    for status in sorted({r.status for r in timed}):
        mine = [r for r in timed if r.status == status]
        traces.append({
            "type": "bar", "orientation": "h", "name": text(status),
            "base": [r.started_at.isoformat() for r in mine],  # type: ignore[union-attr]  (timed runs only)
            "x": [1000 * _duration(r) for r in mine],
            "y": [text(f"{r.job} · {r.task}") for r in mine],
            "marker": {"color": STATUS_COLOURS.get(status, OTHER_COLOUR)},
            "customdata": [[text(r.run_date), r.attempt, round(_duration(r), 1), text(r.error or "")] for r in mine],
            "hovertemplate": "%{y}<br>run date %{customdata[0]}, attempt %{customdata[1]}<br>"
                             "%{customdata[2]} s<br>%{customdata[3]}<extra>%{fullData.name}</extra>",
        })
    tasks = len({(r.job, r.task) for r in timed})
    return figure(traces, title={"text": "Job runs"}, xaxis={"type": "date"}, barmode="overlay",
                  yaxis={"automargin": True, "categoryorder": "category descending"},
                  height=max(240, 120 + 26 * tasks))


def model_metrics(reg: Registry) -> Figure:
    """Each test metric of every registered version, oldest version first (one category per version)."""
    versions = reg.versions[::-1]
    label = {v.version: text(f"v{v.version} ({v.run_date})" if v.run_date else f"v{v.version}") for v in versions}
    traces = [
        {"type": "scatter", "mode": "lines+markers", "name": text(metric),
         "x": [label[v.version] for v in versions if metric in v.metrics],
         "y": [v.metrics[metric] for v in versions if metric in v.metrics],
         "hovertemplate": "%{fullData.name} %{y:.4f}<br>%{x}<extra></extra>"}
        for metric in reg.metric_names
    ]
    return figure(traces, title={"text": "Test metrics per model version (trained for run date)"},
                  xaxis={"type": "category", "categoryorder": "array", "categoryarray": list(label.values())})


def scoring(runs: Sequence[ScoringRun]) -> Figure:
    """Rows scored and positive decisions per score date."""
    ordered = list(runs)[::-1]
    x = [r.score_date.isoformat() for r in ordered]
    traces = [{"type": "bar", "name": "rows scored", "x": x, "y": [r.rows for r in ordered]},
              {"type": "bar", "name": "positive decisions", "x": x, "y": [r.positives for r in ordered]}]
    return figure(traces, title={"text": "Predictions per score date"}, barmode="group", xaxis={"type": "date"})


def _duration(run: JobRun) -> float:
    if run.duration_s is not None:
        return float(run.duration_s)
    if run.started_at and run.ended_at:
        return (run.ended_at - run.started_at).total_seconds()
    return 0.0
