"""The data-quality report as one self-contained HTML page (inline CSS, no scripts, no external assets).

Read top-down in a minute: the day's status and gate decision, the failed checks (errors first),
the DLT expectation metrics of the pipeline update, then one section per table with all its checks
and a few failing sample rows. Every value that comes from data or configuration goes through
`html.escape` (cells are escaped unless built by this module as markup), so a `<script>` in a
record is shown as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from quality.results import LEVELS, CheckResult, Result

MAX_CELL = 200
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
header{padding:16px 24px;color:#fff}
header.ok{background:#1a7f37}header.warn{background:#9a6700}header.error{background:#cf222e}
h1{margin:0 0 4px;font-size:22px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;width:100%;background:#fff;margin:4px 0 8px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.level{font-weight:600;text-transform:uppercase;font-size:12px}
.level-error{color:#cf222e}.level-warn{color:#9a6700}.level-ok{color:#1a7f37}.level-skipped{color:#57606a}
.samples td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.muted{color:#57606a}.scroll{overflow-x:auto}summary{cursor:pointer;color:#57606a;margin:4px 0}
"""


class Markup(str):
    """HTML built here; every other cell value is escaped."""


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return html.escape(text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…")


def _cell(value: Any, cls: str = "") -> str:
    body = value if isinstance(value, Markup) else _text(value)
    return f'<td class="{cls}">{body}</td>' if cls else f"<td>{body}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "", numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(v, "num" if i in numeric else "") for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _level(check: CheckResult) -> Markup:
    label = "skipped" if check.outcome == "skipped" else check.level
    return Markup(f'<span class="level level-{label}">{label}</span>')


def _order(checks: Iterable[CheckResult]) -> list[CheckResult]:
    """Failed first (errors before warnings), then skipped, then passed; stable within a group."""
    return sorted(checks, key=lambda c: (c.outcome != "failed", -LEVELS.index(c.level), c.outcome == "passed"))


def _samples(check: CheckResult) -> str:
    if not check.samples:
        return ""
    columns = list(check.samples[0])
    table = _table(columns, ([row.get(c) for c in columns] for row in check.samples), "samples")
    return f'<p class="muted">Sample rows failing {_text(check.name)}:</p><div class="scroll">{table}</div>'


def _failed_section(result: Result) -> str:
    failed = result.failed
    if not failed:
        return '<section id="failed"><h2>Failed checks</h2><p>None: every check passed or was skipped.</p></section>'
    rows = [(_level(c), c.table, c.name, c.category, c.message, c.threshold) for c in failed]
    table = _table(["level", "table", "check", "category", "found", "threshold"], rows)
    return f'<section id="failed"><h2>Failed checks ({len(failed)})</h2>{table}</section>'


def _expectations_section(result: Result) -> str:
    summary = result.expectations
    if summary is None:
        return ""
    if summary.update_id is None:
        body = f"<p>No update of pipeline {_text(summary.pipeline)} for this date in the event log.</p>"
    else:
        failing = sorted((e for e in summary.expectations if e.failed_records),
                         key=lambda e: (-e.failed_rate, e.dataset, e.name))
        rows = [(e.dataset, e.name, f"{e.passed_records:,}", f"{e.failed_records:,}", f"{e.failed_rate:.2%}")
                for e in failing]
        dropped = ", ".join(f"{d}: {n:,}" for d, n in sorted(summary.dropped_records.items()) if n)
        started = f"{summary.started_at:%Y-%m-%d %H:%M:%S}" if summary.started_at else "?"
        body = (f"<p>Update {_text(summary.update_id)} ({_text(summary.state)}), started {_text(started)}."
                f" Dropped records: {_text(dropped or 'none')}. {len(summary.expectations) - len(failing)} of"
                f" {len(summary.expectations)} expectations had no failed records.</p>"
                + (_table(["dataset", "expectation", "passed", "failed", "failed %"], rows, numeric=(2, 3, 4))
                   if rows else ""))
    return f'<section id="expectations"><h2>DLT expectations, pipeline {_text(summary.pipeline)}</h2>{body}</section>'


def _checks_table(checks: list[CheckResult]) -> str:
    return _table(["level", "check", "category", "found", "threshold"],
                  [(_level(c), c.name, c.category, c.message, c.threshold) for c in checks])


def _table_section(table: str, label: str, checks: list[CheckResult]) -> str:
    """Failed and skipped checks in view, passed ones folded, then the failing samples."""
    passed = [c for c in checks if c.outcome == "passed"]
    shown = [c for c in checks if c.outcome != "passed"]
    listing = _checks_table(shown) if shown else ""
    if passed:
        listing += f"<details><summary>{len(passed)} passed checks</summary>{_checks_table(passed)}</details>"
    samples = "".join(_samples(c) for c in checks if c.outcome == "failed")
    return (f'<section class="table" id="table-{_text(table)}"><h3>{_text(table)} '
            f'<span class="muted">({_text(label)})</span></h3>{listing}{samples}</section>')


def _rows_label(result: Result, table: str) -> str:
    if table not in result.rows:
        return "pipeline event log"
    rows = result.rows[table]
    return "table missing" if rows is None else f"{rows:,} rows in the run date's slice"


def render_html(result: Result) -> str:
    """The report page of one validation run."""
    status = result.status
    gate = "passed" if result.gate_passed else "BLOCKED: training and scoring stop for this day"
    counts = {o: sum(c.outcome == o for c in result.checks) for o in ("passed", "failed", "skipped")}
    by_table: dict[str, list[CheckResult]] = {}
    for check in result.checks:
        by_table.setdefault(check.table, []).append(check)
    tables = "".join(_table_section(t, _rows_label(result, t), _order(cs)) for t, cs in by_table.items())
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Data quality {_text(result.run_date)}: {status.upper()}</title><style>{STYLE}</style></head>
<body><header class="{status}"><h1>Data quality {_text(result.run_date)}: <span id="status">{status.upper()}</span></h1>
<div>Gate {_text(gate)} (fails on {_text(result.fail_on)}) · environment {_text(result.env)} · run {_text(result.run_id)} · generated {generated}</div></header>
<main><section id="summary"><p>{len(result.checks)} checks on {len(result.rows)} tables: {counts['failed']} failed,
{counts['skipped']} skipped, {counts['passed']} passed.</p></section>
{_failed_section(result)}{_expectations_section(result)}<h2>Tables</h2>{tables}</main></body></html>
"""
