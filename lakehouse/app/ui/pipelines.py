"""The pipeline page's model: a pipeline's updates, and one update's dataset graph with its numbers.

Per dataset: the worst flow status, rows written and dropped (event log metrics), rows quarantined
(the rows its quarantine sibling wrote: a `quarantine_*` dataset reading the same input, the
project's quarantine pattern) and each expectation's passed and failed records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lakehouse.app.ui import layout
from lakehouse.app.ui.lineage import update_edges
from lakehouse.app.ui.source import QUARANTINE_PREFIX, Row, Tables

EXTERNAL = "EXTERNAL"  # status of a node that is read by the pipeline but not one of its datasets


@dataclass(frozen=True)
class Update:
    pipeline: str
    update_id: str
    started_at: datetime
    ended_at: datetime
    state: str | None
    error: str | None
    run_date: str | None
    full_refresh: bool | None

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def label(self) -> str:
        """Unique and readable: the day it processed (else when it started) and the start of its id."""
        return f"{self.run_date or self.started_at.strftime('%Y-%m-%d %H:%M')} #{self.update_id[:6]}"


@dataclass(frozen=True)
class Rule:
    dataset: str
    name: str
    passed: int
    failed: int

    @property
    def pass_rate(self) -> float | None:
        total = self.passed + self.failed
        return self.passed / total if total else None


@dataclass
class Node:
    name: str
    status: str
    rows_written: int | None = None
    rows_dropped: int | None = None
    quarantined: int | None = None
    rules: list[Rule] = field(default_factory=list)
    error: str | None = None
    box: layout.Box | None = None

    @property
    def quarantine(self) -> bool:
        return self.name.startswith(QUARANTINE_PREFIX)

    @property
    def failing(self) -> list[Rule]:
        return [r for r in self.rules if r.failed]


@dataclass(frozen=True)
class PipelineGraph:
    update: Update
    updates: list[Update]  # of the same pipeline, newest first (the update chooser)
    nodes: list[Node]
    links: list[layout.Link]
    width: float
    height: float
    edges_origin: str


def updates(tables: Tables) -> list[Update]:
    """Every update of every pipeline, newest first."""
    return [Update(**row) for row in tables.updates()]


def latest_updates(all_updates: list[Update]) -> dict[str, Update]:
    """The newest update of each pipeline."""
    latest: dict[str, Update] = {}
    for update in all_updates:
        latest.setdefault(update.pipeline, update)
    return latest


def pipeline_graph(tables: Tables, pipeline: str, update_id: str | None = None) -> PipelineGraph | None:
    """The graph of `update_id` (default: the newest update); None when there is no such update."""
    own = [u for u in updates(tables) if u.pipeline == pipeline]
    update = next((u for u in own if update_id in (None, u.update_id)), None)
    if update is None:
        return None
    rules = rules_by_dataset(tables.expectations(pipeline, update.update_id))
    rows = sorted(tables.datasets(pipeline, update.update_id), key=lambda r: (r["ended_at"], r["dataset"]))
    nodes = {r["dataset"]: _node(r, rules.get(r["dataset"], [])) for r in rows}  # in the order the update ran them
    edges = update_edges(tables, pipeline, update.update_id)
    pairs = [(a, b) for a, b in edges.pairs if b in nodes]
    for source, _ in pairs:
        nodes.setdefault(source, Node(source, EXTERNAL))
    _set_quarantined(nodes, pairs)
    placed = layout.layout(list(nodes), pairs)
    for name, node in nodes.items():
        node.box = placed.boxes[name]
    ordered = sorted(nodes.values(), key=lambda n: (n.box.layer, n.box.y) if n.box else (0, 0))
    return PipelineGraph(update, own, ordered, placed.links, placed.width, placed.height, edges.origin)


def rules_by_dataset(rows: list[Row]) -> dict[str, list[Rule]]:
    found: dict[str, list[Rule]] = {}
    for r in sorted(rows, key=lambda r: (r["dataset"], r["rule"])):
        found.setdefault(r["dataset"], []).append(Rule(r["dataset"], r["rule"], int(r["passed"]), int(r["failed"])))
    return found


def _node(row: Row, rules: list[Rule]) -> Node:
    return Node(row["dataset"], row["status"], int(row["rows_written"]), int(row["rows_dropped"]),
                rules=rules, error=row["error"] or None)


def quarantine_siblings(pairs: Sequence[tuple[str, str]]) -> dict[str, set[str]]:
    """Per dataset, the quarantine datasets that read one of its inputs (where the rows it rejects go)."""
    inputs: dict[str, set[str]] = {}
    for source, target in pairs:
        inputs.setdefault(target, set()).add(source)
    quarantines = [n for n in inputs if n.startswith(QUARANTINE_PREFIX)]
    return {name: {q for q in quarantines if read & inputs[q]} for name, read in inputs.items()
            if not name.startswith(QUARANTINE_PREFIX) and any(read & inputs[q] for q in quarantines)}


def _set_quarantined(nodes: dict[str, Node], pairs: list[tuple[str, str]]) -> None:
    """A dataset's quarantined rows: what the quarantine datasets sharing one of its inputs wrote."""
    for quarantine in (n for n in nodes.values() if n.quarantine and n.rows_written is not None):
        quarantine.quarantined = quarantine.rows_written
    for name, siblings in quarantine_siblings(pairs).items():
        node = nodes.get(name)
        written = [nodes[q].rows_written for q in siblings if q in nodes and nodes[q].rows_written is not None]
        if node is not None and node.rows_written is not None and written:
            node.quarantined = sum(written)  # type: ignore[arg-type]
