"""The UI's pages: each reads its model from the tables, adds its charts and renders its template.

A page that names an unknown pipeline or update returns None (the server answers 404). Everything
else renders, showing an empty state for whatever has not run yet.
"""

from __future__ import annotations

from typing import Any

from lakehouse.app.ui import charts
from lakehouse.app.ui.datasets import dataset_details
from lakehouse.app.ui.expectations import dashboard, samples
from lakehouse.app.ui.flows import flow_spans
from lakehouse.app.ui.history import drift_months, job_runs, latest_per_job, quality_runs, scoring_runs
from lakehouse.app.ui.models import CHALLENGER, CHAMPION, registry
from lakehouse.app.ui.pipelines import latest_updates, pipeline_graph, updates
from lakehouse.app.ui.render import Links, render
from lakehouse.app.ui.source import Tables


def _nav(tables: Tables, active: str) -> dict[str, Any]:
    return {"pipelines": tables.pipelines(), "active": active}


def index(tables: Tables, links: Links) -> str:
    """Overview: each pipeline's latest update, each job's last run, the latest quality, drift and scoring runs."""
    runs = job_runs(tables)
    latest = latest_updates(updates(tables))
    return render("index.html", links, _nav(tables, "index"), latest=latest,
                  datasets={p: tables.datasets(p, u.update_id) for p, u in latest.items()}, jobs=latest_per_job(runs),
                  quality=quality_runs(tables)[:1], drift=drift_months(tables)[:1], scoring=scoring_runs(tables)[:1])


def pipeline(tables: Tables, links: Links, name: str, update_id: str | None = None) -> str | None:
    """The dataset graph of one update of a pipeline (default: its newest), and the timeline of its flows."""
    if name not in tables.pipelines():
        return None
    graph = pipeline_graph(tables, name, update_id)
    if graph is None:
        return None
    flows = flow_spans(tables, name, graph.update.update_id)
    ran = [f for f in flows if f.ran]
    figures = {"flows": charts.flow_timeline(ran)} if any(f.started_at for f in ran) else {}
    return render("pipeline.html", links, _nav(tables, f"pipeline:{name}"), pipeline=name, graph=graph, flows=flows,
                  figures=figures)


def dataset(tables: Tables, links: Links, pipeline_name: str, name: str) -> str | None:
    """One dataset: schema, Delta history, its expectations over updates and its quarantined rows."""
    if pipeline_name not in tables.pipelines():
        return None
    details = dataset_details(tables, pipeline_name, name)
    if details is None:
        return None
    figures = {"dataset-pass-rates": charts.pass_rates(details.board)} if details.board.failing else {}
    return render("dataset.html", links, _nav(tables, f"pipeline:{pipeline_name}"), pipeline=pipeline_name,
                  details=details, figures=figures)


def expectations(tables: Tables, links: Links, name: str) -> str | None:
    """Expectation dashboard of a pipeline: pass rates over time, failures, top rules, quarantined rows."""
    if name not in tables.pipelines():
        return None
    board = dashboard(tables, name)
    figures = {}
    if board is not None:
        if any(t.failed or t.dropped for t in board.totals):
            figures["failures"] = charts.failures(board)
        if board.failing:
            figures["pass-rates"] = charts.pass_rates(board)
            figures["top-rules"] = charts.top_failing(board)
    return render("expectations.html", links, _nav(tables, f"expectations:{name}"), pipeline=name, board=board,
                  samples=samples(tables, board.datasets) if board else [], figures=figures)


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
    scores = charts.model_scores(reg)
    if scores is not None:
        figures["scores"] = scores
    figures.update({f"metric-{name}": chart for name, chart in charts.model_other_metrics(reg).items()})
    if scored:
        figures["scoring"] = charts.scoring(scored)
    return render("models.html", links, _nav(tables, "models"), registry=reg, champion=reg.alias(CHAMPION),
                  challenger=reg.alias(CHALLENGER), scoring=scored, figures=figures)


def reports(tables: Tables, links: Links) -> str:
    """Links to the published data-quality (daily) and drift (monthly) reports."""
    return render("reports.html", links, _nav(tables, "reports"), quality=quality_runs(tables),
                  drift=drift_months(tables))
