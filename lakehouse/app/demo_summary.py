"""What the demo's days did, in a few lines read back from the tables and the registry, and where to see each part.

Why read it back instead of collecting it while running: the summary then says what a user will find (`lakehouse ui`,
`lakehouse job history`), also after a rerun that skipped everything, and a staged event that did not happen shows up
as such instead of being announced from the plan.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from pyspark.sql import functions as F

from lakehouse.app.demo_story import Story
from lakehouse.core.rules import FAILED_RULES
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.local.datagen import incident
from lakehouse.local.jobs import conditions as cond
from lakehouse.local.jobs.history import TABLE as JOB_RUNS

TOP_RULES = 3
CLI = ".venv/bin/lakehouse"


def summarize(store: TableStore, settings: Settings, plan: Story) -> list[str]:
    """The summary's lines (rich markup)."""
    runs = store.read(JOB_RUNS).where(F.col("run_date").between(F.lit(plan.first_deployment), F.lit(plan.last)))
    daily = _latest(runs.where("job = 'churn_daily'"))
    days = sorted({r["run_date"] for r in daily})
    failed = sorted({r["run_date"] for r in daily if r["status"] == "FAILED"})
    return [
        f"[bold]What happened[/bold] ({plan.first_deployment}..{plan.last}):",
        f"  days run: {len(days)} (first deployment {plan.first_deployment} with a full refresh, then one daily run per "
        f"day); failed: {', '.join(map(str, failed)) or 'none'}",
        "  " + _quarantine(store),
        "  " + _warnings(store, plan),
        "  " + _incident(daily, plan),
        "  " + _gate(daily, days),
        "  " + _champions(settings, plan),
        "  " + _drift(store, plan.clean_month, plan.drift_month),
        "[bold]Where to see it[/bold]:",
        f"  {CLI} ui  (then http://127.0.0.1:8050): Pipelines > offline_features (the failed update of "
        f"{plan.incident_day} and the recovery), Expectations (pass rates, failing rules), its quarantine_* datasets "
        "(quarantined rows with their rules), Jobs (the failed day, the gate, the drift runs), Models (champion "
        "changes), Reports (data-quality reports per day, drift reports per month)",
        f"  {CLI} job history   (every task run: the failed incident day, the day it recovered, both drift runs)",
        f"  {CLI} mlflow-ui     (runs and registry, then http://127.0.0.1:5000)",
        f"  {CLI} status        (tables: {settings.storage_root}; landing files: {settings.landing})",
    ]


def _latest(frame: Any) -> list[Any]:
    """The last attempt of each (run_date, task): what the day's run ended with."""
    rows = frame.select("run_date", "task", "status", "error", "task_values", "ended_at").collect()
    latest: dict[tuple[date, str], Any] = {}
    for row in sorted(rows, key=lambda r: r["ended_at"]):
        latest[(row["run_date"], row["task"])] = row
    return list(latest.values())


def _gate(daily: list[Any], days: list[date]) -> str:
    gates = {r["run_date"]: '"gate_passed": "true"' in (r["task_values"] or "") for r in daily
             if r["task"] == "data_quality" and r["status"] in cond.SUCCEEDED}
    closed = [d for d, passed in sorted(gates.items()) if not passed]
    excluded = {r["run_date"] for r in daily if r["task"] in ("train", "score") and r["status"] == cond.EXCLUDED}
    unjudged = [str(d) for d in days if d not in gates]
    return (f"quality gate: open on {len(gates) - len(closed)} of the {len(gates)} days data quality ran"
            + "".join(f"; gate closed on {d}, training and scoring "
                      f"{'excluded' if d in excluded else '[red]not excluded[/red]'}" for d in closed)
            + (f"; not evaluated (stayed closed) on {', '.join(unjudged)}" if unjudged else ""))


def _quarantine(store: TableStore) -> str:
    counts: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for table in (t for t in store.list_tables() if t.startswith("quarantine_")):
        frame = store.read(table)
        counts[table.removeprefix("quarantine_")] = frame.count()
        for row in frame.select(F.explode(FAILED_RULES).alias("rule")).groupBy("rule").count().collect():
            rules[f"silver_{table.removeprefix('quarantine_')}.{row['rule']}"] += row["count"]
    per_source = ", ".join(f"{source} {n:,}" for source, n in counts.most_common() if n)
    top = ", ".join(f"{rule} {n:,}" for rule, n in rules.most_common(TOP_RULES))
    return (f"quarantined rows (drop rules): {sum(counts.values()):,} ({per_source or 'none'}); "
            f"top failing rules: {top or 'none'}")


def _warnings(store: TableStore, plan: Story) -> str:
    results = store.read("data_quality_results").where(F.col("run_date").between(F.lit(plan.first_deployment),
                                                                                    F.lit(plan.last)))
    warned = results.where("level = 'warn'")
    days = warned.select("run_date").distinct().count()
    rows = warned.groupBy("table_name", "check_name").agg(F.countDistinct("run_date").alias("days")).collect()
    named = ", ".join(f"{r['table_name']} {r['check_name']} ({r['days']} d)"
                      for r in sorted(rows, key=lambda r: -r["days"])[:TOP_RULES])
    return f"data-quality warnings on {days} day(s), {len(rows)} check(s){': ' + named if named else ''}"


def _incident(daily: list[Any], plan: Story) -> str:
    day, next_day = plan.incident_day, plan.recovery_day
    pipeline = {r["run_date"]: r for r in daily if r["task"] == "offline_features"}
    hit = pipeline.get(day)
    if hit is None or hit["status"] != "FAILED":
        return f"[red]incident: the run of {day} did not fail as staged ({hit['status'] if hit else 'no run'})[/red]"
    recovered = next_day in pipeline and pipeline[next_day]["status"] in ("SUCCESS", "SKIPPED")
    return (f"incident: on {day} the transactions file carried PayPal payments in {incident.CURRENCY}; expect_or_fail "
            f"{incident.RULE} failed the offline_features update, data quality reported the failed update and closed "
            f"the gate (online features upstream failed); on {next_day} the corrected file replaced it, the "
            f"transactions tables were fully refreshed and the daily run "
            f"{'succeeded' if recovered else '[red]did not succeed[/red]'}")


def _champions(settings: Settings, plan: Story) -> str:
    from lakehouse.platform import tracking
    from ml import registry, uc_tags

    client = tracking.configure(settings)
    name = tracking.registered_model_name(settings)
    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    promoted = [v for v in versions if v.tags.get(uc_tags.GATE_OUTCOME) == "promoted"]
    held = len(versions) - len(promoted)
    champion = registry.current_version(client, name, registry.CHAMPION)
    steps = " -> ".join(f"v{v.version} ({v.tags.get(uc_tags.RUN_DATE, '?')})" for v in promoted)
    return (f"champion: {steps or 'none promoted'}; now @champion v{champion.version if champion else '-'}; "
            f"{held} challenger(s) held by the promotion gate")


def _drift(store: TableStore, *months: date) -> str:
    rows = store.read("drift_history").where(F.col("month").isin(*months)).collect()
    verdicts = []
    for month in months:
        of_month = [r for r in rows if r["month"] == month and r["kind"] == "feature"]
        if not of_month:
            verdicts.append(f"{month:%B}: no drift run")
            continue
        drifted = sorted(r["column_name"] for r in of_month if r["drifted"])
        first = of_month[0]
        verdict = (f"{'drift' if first['dataset_drift'] else 'no drift'}, "
                   f"{'retrain' if first['retrain_recommended'] else 'no retraining'}")
        reference = f"{first['reference_source']} {first['reference_start']}..{first['reference_end']}"
        columns = f"{len(drifted)} of {len(of_month)} features drifted{': ' + ', '.join(drifted) if drifted else ''}"
        verdicts.append(f"{month:%B} vs {reference}: {verdict} ({columns})")
    return "drift: " + "; ".join(verdicts)
