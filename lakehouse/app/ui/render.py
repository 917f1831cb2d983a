"""HTML rendering: the Jinja environment (autoescape on for every template) and the two ways pages link.

Pages never build URLs themselves: they ask `links`, which is `ServerLinks` when served (routes,
`/static/...`, reports through `/blob/...` and only those published) and `ExportLinks` in a static export (file names side by
side, reports relative to the export's folder in the report container, and no link to a page that
was not exported).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from lakehouse.app.ui.blob import Published
from lakehouse.app.ui.layout import NODE_H, NODE_W
from lakehouse.app.ui.models import COUNTS

STATIC = ("ui.css", "ui.js", "plotly.min.js")
PAGES = ("jobs", "models", "reports")  # pages without parameters, besides the index


def static_file(name: str) -> Path:
    """A static asset: the UI's own, or plotly.js as shipped inside the plotly package (no CDN)."""
    if name not in STATIC:
        raise KeyError(name)
    if name == "plotly.min.js":
        return Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    return Path(__file__).parent / "static" / name


class Links(Protocol):
    def index(self) -> str: ...

    def page(self, name: str) -> str: ...

    def update(self, pipeline: str, update_id: str | None = None) -> str | None: ...

    def expectations(self, pipeline: str) -> str: ...

    def dataset(self, pipeline: str, dataset: str) -> str | None: ...

    def static(self, name: str) -> str: ...

    def report(self, path: str) -> str | None: ...

    @property
    def report_problem(self) -> str | None: ...


@dataclass
class ServerLinks:
    """Routes of the served UI; a report is linked only when `reports` lists it (built per request)."""

    reports: Published = field(default_factory=Published)

    def index(self) -> str:
        return "/"

    def page(self, name: str) -> str:
        return f"/{name}"

    def update(self, pipeline: str, update_id: str | None = None) -> str | None:
        base = f"/pipelines/{quote(pipeline, safe='')}"
        return base if update_id is None else f"{base}/updates/{quote(update_id, safe='')}"

    def expectations(self, pipeline: str) -> str:
        return f"/expectations/{quote(pipeline, safe='')}"

    def dataset(self, pipeline: str, dataset: str) -> str | None:
        return f"/pipelines/{quote(pipeline, safe='')}/datasets/{quote(dataset, safe='')}"

    def static(self, name: str) -> str:
        return f"/static/{name}"

    def report(self, path: str) -> str | None:
        return f"/blob/{quote(path)}" if self.reports.has(path) else None

    @property
    def report_problem(self) -> str | None:
        return self.reports.problem


def slug(value: str) -> str:
    """A file-name-safe form of a pipeline name or update id."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", value)


@dataclass
class ExportLinks:
    """Links between the files of a static export; `to_root` leads from the export to the container root."""

    to_root: str = ""
    updates: dict[str, set[str]] = field(default_factory=dict)  # pipeline -> exported update ids
    latest: dict[str, str] = field(default_factory=dict)  # pipeline -> its newest update id
    datasets: dict[str, set[str]] = field(default_factory=dict)  # pipeline -> exported dataset pages
    report_problem: str | None = None

    def index(self) -> str:
        return "index.html"

    def page(self, name: str) -> str:
        return f"{name}.html"

    def update(self, pipeline: str, update_id: str | None = None) -> str | None:
        update_id = update_id or self.latest.get(pipeline)
        if update_id is None or update_id not in self.updates.get(pipeline, set()):
            return None
        return self.update_file(pipeline, update_id)

    @staticmethod
    def update_file(pipeline: str, update_id: str) -> str:
        return f"pipeline-{slug(pipeline)}-{slug(update_id)}.html"

    def expectations(self, pipeline: str) -> str:
        return f"expectations-{slug(pipeline)}.html"

    def dataset(self, pipeline: str, dataset: str) -> str | None:
        return self.dataset_file(pipeline, dataset) if dataset in self.datasets.get(pipeline, set()) else None

    @staticmethod
    def dataset_file(pipeline: str, dataset: str) -> str:
        return f"dataset-{slug(pipeline)}-{slug(dataset)}.html"

    def static(self, name: str) -> str:
        return name

    def report(self, path: str) -> str | None:
        """Relative to the export's folder in the container (the export cannot see what the container holds)."""
        return self.to_root + quote(path)


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def _metric(value: float, name: str) -> str:
    """A test metric: a count (rows) as a whole number, a score with four decimals."""
    return f"{value:,.0f}" if name in COUNTS else f"{value:.4f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _moment(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{1000 * seconds:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


ENV = Environment(loader=PackageLoader("lakehouse.app.ui", "templates"), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(number=_number, percent=_percent, moment=_moment, duration=_duration, metric=_metric)
ENV.globals.update(node_w=NODE_W, node_h=NODE_H)


def render(template: str, links: Links, nav: dict[str, Any], **context: Any) -> str:
    """A page: `template` with the page's context, the links and the navigation (pipelines known)."""
    return ENV.get_template(template).render(links=links, nav=nav, **context)
