"""The UI's pages: each reads its model from the tables, adds its charts and renders its template.

A page that names an unknown pipeline or update returns None (the server answers 404). Everything
else renders, showing an empty state for whatever has not run yet.
"""

from __future__ import annotations

from typing import Any

from lakehouse.ui import charts
from lakehouse.ui.expectations import dashboard
from lakehouse.ui.history import drift_months, job_runs, latest_per_job, quality_runs, scoring_runs
from lakehouse.ui.models import CHALLENGER, CHAMPION, registry
from lakehouse.ui.pipelines import latest_updates, pipeline_graph, updates
from lakehouse.ui.render import Links, render
from lakehouse.ui.source import Tables


def _nav(tables: Tables, active: str) -> dict[str, Any]:
    return {"pipelines": tables.pipelines(), "active": active}


def index(tables: Tables, links: Links) -> str:
    """Overview: each pipeline's latest update, each job's last run, the latest quality, drift and scoring runs."""
    runs = job_runs(tables)
    return render("index.html", links, _nav(tables, "index"),
                  latest=latest_updates(updates(tables)), jobs=latest_per_job(runs),
                  quality=quality_runs(tables)[:1], drift=drift_months(tables)[:1], scoring=scoring_runs(tables)[:1])


def pipeline(tables: Tables, links: Links, name: str, update_id: str | None = None) -> str | None:
    """The dataset graph of one update of a pipeline (default: its newest)."""
    if name not in tables.pipelines():
        return None
    graph = pipeline_graph(tables, name, update_id)
    if graph is None:
        return None
    return render("pipeline.html", links, _nav(tables, f"pipeline:{name}"), pipeline=name, graph=graph)


def expectations(tables: Tables, links: Links, name: str) -> str | None:
    """Expectation dashboard of a pipeline: pass rates over time, failures, top rules, quarantined rows."""
    if name not in tables.pipelines():
        return None
    board = dashboard(tables, name)
    figures = {}
    if board is not None:
        figures["failures"] = charts.failures(board)
        if board.failing:
            figures["pass-rates"] = charts.pass_rates(board)
            figures["top-rules"] = charts.top_failing(board)
    return render("expectations.html", links, _nav(tables, f"expectations:{name}"), pipeline=name, board=board,
                  figures=figures)


def jobs(tables: Tables, links: Links) -> str:
    """Job runs: a timeline of every task run, the last run of each task and the failures."""
    runs = job_runs(tables)
    figures = {"timeline": charts.timeline(runs)} if runs else {}
    return render("jobs.html", links, _nav(tables, "jobs"), runs=runs, latest=latest_per_job(runs), figures=figures)


def models(tables: Tables, links: Links) -> str:
    """Champion and challenger, test metrics of every version, and the batch scoring runs."""
    reg = registry(tables.settings)
    scored = scoring_runs(tables)
    figures = {}
    if reg.metric_names:
        figures["metrics"] = charts.model_metrics(reg)
    if scored:
        figures["scoring"] = charts.scoring(scored)
    return render("models.html", links, _nav(tables, "models"), registry=reg, champion=reg.alias(CHAMPION),
                  challenger=reg.alias(CHALLENGER), scoring=scored, figures=figures)


def reports(tables: Tables, links: Links) -> str:
    """Links to the published data-quality (daily) and drift (monthly) reports."""
    return render("reports.html", links, _nav(tables, "reports"), quality=quality_runs(tables),
                  drift=drift_months(tables))
