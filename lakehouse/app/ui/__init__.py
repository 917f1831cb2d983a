"""Local pipeline UI and dashboards: what Databricks shows in its pipeline UI, job runs and expectation
dashboards, built from the same event log and tables and served on localhost (or exported as static HTML).

Layers: `queries` (SQL text, also valid on Databricks SQL) -> `source.Tables` (runs them) -> page models
(`pipelines`, `flows`, `datasets`, `expectations`, `history`, `models`) -> `charts` (plotly specs) and Jinja
templates (`render`, `pages`) -> `server` (Flask; report files through `blob`) and `export` (static files,
published to Blob). CLI: `cli.ui`.
"""
