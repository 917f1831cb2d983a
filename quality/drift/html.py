"""The published report.html: Evidently's self-contained report with our summary on top.

The summary is static HTML (readable without JavaScript): the month, the retraining signal and why, the
drifted columns, both windows with their coverage, what was sampled, warnings, prediction drift and
performance. Every value is escaped. Evidently's own part stays as it rendered it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from quality.drift.result import DriftResult

STYLE = """<style>
#drift-summary{font-family:system-ui,sans-serif;margin:16px 24px;padding:12px 16px;border:1px solid #ccc;border-radius:6px}
#drift-summary table{border-collapse:collapse}#drift-summary td,#drift-summary th{padding:2px 10px;text-align:left}
#drift-summary .drifted{color:#b00020;font-weight:600}#drift-summary .warn{color:#8a5a00}
</style>"""


def _row(*cells: Any, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<tr{attr}>" + "".join(f"<td>{escape(_text(c))}</td>" for c in cells) + "</tr>"


def _text(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _window(name: str, w: dict[str, Any], sampled: dict[str, Any]) -> str:
    missing = ", ".join(w["missing_days"]) or "none"
    return _row(name, f"{w['start']} .. {w['end']}", w["source"], f"{w['rows']:,}", f"{sampled['sampled']:,}",
                f"{w['days_present']}/{w['days_expected']}", missing)


def summary_html(result: DriftResult) -> str:
    """The summary section (escaped)."""
    data = result.to_dict()
    signal = "RETRAIN RECOMMENDED" if result.retrain_recommended else "no retraining needed"
    parts = [
        f'<section id="drift-summary"><h2>Drift {escape(data["month"])}: '
        f'<span id="signal" class="{"drifted" if result.retrain_recommended else ""}">{signal}</span></h2>',
        f"<p>{result.drifted_count} of {result.number_of_columns} feature columns drifted "
        f"(share {result.drifted_share:.3f}, dataset drift at {result.drift_share_threshold:g})</p>",
    ]
    if result.retrain_reasons:
        parts.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in result.retrain_reasons) + "</ul>")
    if result.warnings:
        parts.append('<ul id="warnings" class="warn">' + "".join(f"<li>{escape(w)}</li>" for w in result.warnings) + "</ul>")
    parts.append("<table><tr><th>window</th><th>dates</th><th>source</th><th>rows</th><th>sampled</th>"
                 "<th>days</th><th>missing days</th></tr>"
                 + _window("current", data["current"], data["sampling"]["current"])
                 + _window("reference", data["reference"], data["sampling"]["reference"]) + "</table>")
    parts.append(f"<p>Reference: {escape(data['reference']['detail'] or data['reference']['source'])}. "
                 f"Sampling: {escape(data['sampling']['strategy'])}, seed {data['sampling']['seed']}, "
                 f"at most {data['sampling']['sample_rows']:,} rows per window.</p>")
    parts.append('<table id="columns"><tr><th>column</th><th>type</th><th>method</th><th>score</th><th>threshold</th>'
                 "<th>drifted</th><th>status</th><th>null share ref / cur</th></tr>"
                 + "".join(_row(c.column, c.kind if c.kind == "prediction" else c.column_type, c.method, c.score,
                                c.threshold, "DRIFT" if c.drifted else "no", c.status,
                                f"{_text(c.null_share_reference)} / {_text(c.null_share_current)}",
                                cls="drifted" if c.drifted else "")
                           for c in sorted(result.columns, key=lambda c: not c.drifted))
                 + "</table>")
    if result.performance:
        parts.append("<p>Performance on matured labels: " + escape(", ".join(
            f"{k} {_text(v)}" for k, v in result.performance.items() if not isinstance(v, dict))) + "</p>")
    return STYLE + "".join(parts) + "</section>"


def render_html(result: DriftResult, evidently_html: str) -> str:
    """Evidently's page with the summary inserted at the top of its body."""
    if "<body>" not in evidently_html:
        raise ValueError("the Evidently report has no <body> to put the summary in")
    return evidently_html.replace("<body>", "<body>" + summary_html(result), 1)
