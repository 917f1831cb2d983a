"""The UI as static files: every page rendered once into a folder, and that folder published to Blob.

The export holds the overview, job runs, models and reports pages, each pipeline's expectation
dashboard, the graphs of its latest updates and a page per dataset, plus the assets (plotly.js included), all side by
side so it opens from disk or from the container. Published under `ui/<yyyy>/<mm>/<dd>/`, its
report links point at the data-quality and drift reports of the same container.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from lakehouse.app.ui import pages
from lakehouse.app.ui.pipelines import updates
from lakehouse.app.ui.render import PAGES, STATIC, ExportLinks, static_file
from lakehouse.app.ui.source import Tables
from lakehouse.core.settings import Settings
from quality.publish import Publisher, report_folder

UPDATES_PER_PIPELINE = 10
KIND = "ui"


def export_site(tables: Tables, out_dir: Path, day: date, updates_per_pipeline: int = UPDATES_PER_PIPELINE) -> list[Path]:
    """Write the pages and assets into `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    links = ExportLinks(to_root="../" * len(report_folder(KIND, day).split("/")))
    for update in updates(tables):  # newest first
        exported = links.updates.setdefault(update.pipeline, set())
        links.latest.setdefault(update.pipeline, update.update_id)
        if len(exported) < updates_per_pipeline:
            exported.add(update.update_id)
    for pipeline in tables.pipelines():
        links.datasets[pipeline] = {row["dataset"] for row in tables.datasets(pipeline)}
    rendered: dict[str, str | None] = {links.index(): pages.index(tables, links)}
    for name in PAGES:
        rendered[links.page(name)] = getattr(pages, name)(tables, links)
    for pipeline in tables.pipelines():
        rendered[links.expectations(pipeline)] = pages.expectations(tables, links, pipeline)
        for dataset in sorted(links.datasets[pipeline]):
            rendered[links.dataset_file(pipeline, dataset)] = pages.dataset(tables, links, pipeline, dataset)
        for update_id in links.updates.get(pipeline, ()):
            rendered[links.update_file(pipeline, update_id)] = pages.pipeline(tables, links, pipeline, update_id)
    written = []
    for file_name, body in rendered.items():
        if body is not None:
            (out_dir / file_name).write_text(body, encoding="utf-8")
            written.append(out_dir / file_name)
    for name in STATIC:
        written.append(Path(shutil.copyfile(static_file(name), out_dir / name)))
    return written


def publish_site(settings: Settings, files: list[Path], day: date) -> list[str]:
    """Upload an export under `ui/<yyyy>/<mm>/<dd>/`; returns where its files went (PublishError keeps it pending)."""
    return Publisher(settings).publish(report_folder(KIND, day), {f.name: f.read_bytes() for f in files},
                                       {"kind": KIND, "day": day.isoformat()})
