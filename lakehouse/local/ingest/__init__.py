"""Incremental, tolerant ingestion of landing files: the local stand-in for Databricks Auto Loader.

Sail has neither Structured Streaming nor tolerant JSON/CSV readers, so the runtime lists new files
with an exactly-once log (`IngestLog`), parses them in Python/pyarrow with Auto Loader's rescued-data
semantics (`parse_file`) and hands the rows to Spark as Parquet (`to_spark`).
"""

from lakehouse.local.ingest.batch import Batch, read_files, read_new_files, to_spark
from lakehouse.local.ingest.files import IngestLog
from lakehouse.local.ingest.parse import LINE, RESCUED, SOURCE_FILE, FileStats, ReaderOptions, output_schema, parse_file

__all__ = [
    "Batch",
    "ReaderOptions",
    "FileStats",
    "IngestLog",
    "LINE",
    "RESCUED",
    "SOURCE_FILE",
    "output_schema",
    "parse_file",
    "read_files",
    "read_new_files",
    "to_spark",
]
