"""The expectation dashboard's model: one pipeline's rules over its recent updates, and quarantined rows.

Built from two grouped event log queries (expectations per update and rule, datasets per update)
and one query over the quarantine tables; every widget of the page is a view of these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lakehouse.app.ui.pipelines import Rule, Update, updates
from lakehouse.app.ui.source import Tables

WINDOW = 60  # updates shown
TOP_RULES = 10
SAMPLES = 5  # rows per quarantine table


@dataclass(frozen=True)
class Point:
    update: Update
    counts: Rule  # the rule's records in this update


@dataclass(frozen=True)
class RuleHistory:
    dataset: str
    name: str
    points: list[Point]  # oldest first, updates that evaluated the rule

    @property
    def total(self) -> Rule:
        return Rule(self.dataset, self.name, sum(p.counts.passed for p in self.points),
                    sum(p.counts.failed for p in self.points))


@dataclass(frozen=True)
class UpdateTotals:
    update: Update
    failed: int  # records failing any rule, counted once per rule
    dropped: int


@dataclass(frozen=True)
class Sample:
    table: str
    rules: list[str]
    record: dict[str, object]


@dataclass(frozen=True)
class Dashboard:
    pipeline: str
    updates: list[Update]  # oldest first
    rules: list[RuleHistory]
    totals: list[UpdateTotals]  # oldest first
    datasets: set[str]  # the pipeline's datasets in these updates

    @property
    def failing(self) -> list[RuleHistory]:
        """Rules that failed at least one record in the window (the others passed everything)."""
        return [r for r in self.rules if r.total.failed]

    @property
    def top_failing(self) -> list[Rule]:
        return sorted((r.total for r in self.failing), key=lambda r: (-r.failed, r.dataset, r.name))[:TOP_RULES]


def dashboard(tables: Tables, pipeline: str) -> Dashboard | None:
    """The dashboard of `pipeline`; None when it has no update."""
    shown = [u for u in updates(tables) if u.pipeline == pipeline][:WINDOW][::-1]
    if not shown:
        return None
    by_id = {u.update_id: u for u in shown}
    histories: dict[tuple[str, str], list[Point]] = {}
    failed: dict[str, int] = dict.fromkeys(by_id, 0)
    for row in sorted(tables.expectations(pipeline), key=lambda r: (r["dataset"], r["rule"])):
        update = by_id.get(row["update_id"])
        if update is not None:
            counts = Rule(row["dataset"], row["rule"], int(row["passed"]), int(row["failed"]))
            histories.setdefault((counts.dataset, counts.name), []).append(Point(update, counts))
            failed[update.update_id] += counts.failed
    datasets = tables.datasets(pipeline)
    dropped: dict[str, int] = dict.fromkeys(by_id, 0)
    for row in datasets:
        if row["update_id"] in dropped:
            dropped[row["update_id"]] += int(row["rows_dropped"])
    rules = [RuleHistory(d, n, sorted(p, key=lambda p: p.update.started_at)) for (d, n), p in histories.items()]
    totals = [UpdateTotals(u, failed[u.update_id], dropped[u.update_id]) for u in shown]
    own = {row["dataset"] for row in datasets}
    return Dashboard(pipeline, shown, rules, totals, own)


def samples(tables: Tables, names: set[str], limit: int = SAMPLES) -> list[Sample]:
    """The latest quarantined rows of the quarantine tables `names`, each with the rules it broke."""
    found = []
    for row in tables.quarantine_samples(names, limit):
        record = {k: v for k, v in json.loads(row["record"]).items() if k != "_failed_rules"}
        found.append(Sample(row["table_name"], list(row["rules"] or []), record))
    return found
