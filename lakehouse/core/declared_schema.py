"""A dataset's declared schema: the `schema=` DDL string of `@dlt.table` / `dlt.create_streaming_table`, parsed.

Databricks takes the schema as "a SQL DDL string or a Python StructType"
(https://docs.databricks.com/aws/en/dlt-ref/dlt-python-ref-table). The column list follows the pipeline
dataset grammar, `column_name column_type [NOT NULL] [COMMENT 'text'] [column_constraint]` plus table
constraints (https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-create-materialized-view), and the key
of a feature table is the table constraint `[CONSTRAINT name] PRIMARY KEY (key_column [TIMESERIES], ...)`
(https://docs.databricks.com/sql/language-manual/sql-ref-syntax-ddl-create-table-constraint.html).
This module understands exactly that subset: scalar types, NOT NULL, COMMENT, a column-level or table-level
PRIMARY KEY (with TIMESERIES and the RELY/NORELY/NOT ENFORCED options) and refuses anything else by name
(generated columns, masks, foreign keys, nested types), so that nothing declared is silently ignored.

Rules the local runtime enforces with it, as Databricks does:
* the flow's output must have exactly the declared columns and types. Databricks' pipeline engine merges
  the declared schema with the one inferred from the query and fails when they differ; it does not cast
  (USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE, `validateUserSpecifiedSchemas` in the open-sourced engine:
  https://github.com/apache/spark/blob/v4.2.0/sql/pipelines/src/main/scala/org/apache/spark/sql/pipelines/graph/GraphValidations.scala);
* NOT NULL is an enforced Delta constraint: a write with a NULL there fails and commits nothing
  (https://docs.databricks.com/aws/en/tables/constraints.html);
* a table has at most one primary key (CONSTRAINT page), and its columns must be declared NOT NULL. The
  CONSTRAINT page says key columns are "implicitly defined as NOT NULL" in CREATE statements, while Unity
  Catalog refuses a primary key over nullable columns when one is added ("Cannot create the primary key ...
  because its child column(s) ... is nullable"); asking for the explicit NOT NULL satisfies both, and makes
  the local runtime enforce the NULL check Databricks applies to those columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse.core.errors import DeclaredSchemaMismatch, PipelineDefinitionError

_SCALAR_TYPES = {
    "string": "string", "bigint": "bigint", "long": "bigint", "int": "int", "integer": "int",
    "smallint": "smallint", "short": "smallint", "tinyint": "tinyint", "byte": "tinyint",
    "double": "double", "float": "float", "real": "float", "boolean": "boolean", "date": "date",
    "timestamp": "timestamp", "timestamp_ntz": "timestamp_ntz", "binary": "binary",
}  # fmt: skip
_DECIMAL = re.compile(r"^(?:decimal|dec|numeric)(?:\((\d+)(?:,(\d+))?\))?$")
_TOKEN = re.compile(r"\s*(`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[(),]|[^\s(),`'\"]+)", re.S)
_CONSTRAINT_OPTIONS = ("RELY", "NORELY", "NOT ENFORCED", "DEFERRABLE", "INITIALLY DEFERRED", "ENABLE NOVALIDATE")


@dataclass(frozen=True)
class Column:
    """One declared column; `dtype` is Spark's simple string (what `DataType.simpleString()` returns)."""

    name: str
    dtype: str
    nullable: bool = True
    comment: str | None = None


@dataclass(frozen=True)
class PrimaryKey:
    """The informational primary key; `timeseries` is the key column marked TIMESERIES, if any."""

    name: str | None
    columns: tuple[str, ...]
    timeseries: str | None = None


@dataclass(frozen=True)
class DeclaredSchema:
    columns: tuple[Column, ...]
    primary_key: PrimaryKey | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def not_null(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.nullable)

    def ddl(self) -> str:
        """The schema as a DDL string that `parse` reads back to an equal schema."""
        parts = [
            f"{_ident(c.name)} {c.dtype.upper()}" + (" NOT NULL" if not c.nullable else "")
            + (f" COMMENT {sql_string(c.comment)}" if c.comment is not None else "")
            for c in self.columns
        ]
        if self.primary_key is not None:
            key = self.primary_key
            columns = ", ".join(_ident(k) + (" TIMESERIES" if k == key.timeseries else "") for k in key.columns)
            parts.append((f"CONSTRAINT {_ident(key.name)} " if key.name else "") + f"PRIMARY KEY ({columns})")
        return ", ".join(parts)

    def check_frame(self, fields: Iterable[Any], dataset: str) -> None:
        """Refuse an output (its StructFields) whose columns or types differ from the declaration; no data is read."""
        output = {f.name: f.dataType.simpleString() for f in fields}
        declared = {c.name: c.dtype for c in self.columns}
        missing = [c for c in declared if c not in output]
        extra = [c for c in output if c not in declared]
        retyped = [f"{c} is {output[c]}, declared {declared[c]}" for c in declared if c in output and output[c] != declared[c]]
        if missing or extra or retyped:
            details = "; ".join(
                text for text in (
                    f"declared but not produced: {missing}" if missing else "",
                    f"produced but not declared: {extra}" if extra else "",
                    "; ".join(retyped),
                ) if text
            )  # fmt: skip
            raise DeclaredSchemaMismatch(
                f"dataset {dataset!r}: its query's output does not match the schema declared with schema=... "
                f"({details}). Databricks fails the update on this (USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE) "
                "and casts nothing: change the query (select and cast its columns) or the declared schema"
            )


def parse(schema: str | Any, dataset: str) -> DeclaredSchema:
    """The declared schema of `dataset` from a DDL string or a StructType; refuses what it does not understand."""
    if not isinstance(schema, str):
        return from_struct(schema, dataset)
    elements = _split(_tokens(schema, dataset))
    columns: list[Column] = []
    keys: list[PrimaryKey] = []
    for tokens in elements:
        if not tokens:
            raise PipelineDefinitionError(f"dataset {dataset!r}: schema= has an empty element (a stray comma?)")
        if tokens[0].upper() in ("CONSTRAINT", "PRIMARY", "FOREIGN", "CHECK", "UNIQUE"):
            keys.append(_table_constraint(tokens, dataset))
        else:
            column, key = _column(tokens, dataset)
            columns.append(column)
            if key is not None:
                keys.append(key)
    return _checked(DeclaredSchema(tuple(columns), _single_key(keys, dataset)), dataset)


def from_struct(schema: Any, dataset: str, primary_key: PrimaryKey | None = None,
                comments: Mapping[str, str] | None = None) -> DeclaredSchema:
    """A declaration from a StructType (its nullability and `comment` metadata), optionally with a primary key
    whose columns become NOT NULL and column comments (the feature store's create_table)."""
    fields = getattr(schema, "fields", None)
    if fields is None:
        raise PipelineDefinitionError(
            f"dataset {dataset!r}: schema= must be a DDL string or a StructType, not {type(schema).__name__}"
        )
    keyed = set(primary_key.columns) if primary_key else set()
    columns = tuple(
        Column(f.name, f.dataType.simpleString(), f.nullable and f.name not in keyed,
               (comments or {}).get(f.name, (f.metadata or {}).get("comment")))
        for f in fields
    )
    return _checked(DeclaredSchema(columns, primary_key), dataset)


def with_comments(frame: Any, schema: DeclaredSchema) -> Any:
    """`frame` with the declared column comments as column metadata, which the Delta write keeps in the table's
    schema (where `spark.table(...).schema` shows them, as Unity Catalog does for a pipeline's COMMENTs)."""
    for column in schema.columns:
        if column.comment is not None:
            frame = frame.withMetadata(column.name, {"comment": column.comment})
    return frame


def sql_string(text: str) -> str:
    """A SQL string literal (backslash escapes, as Spark SQL reads them)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- parsing -----------------------------------------------------------------------------------------
def _tokens(text: str, dataset: str) -> list[str]:
    tokens, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            raise PipelineDefinitionError(f"dataset {dataset!r}: cannot read schema= near {stripped[position:position + 30]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _split(tokens: list[str]) -> list[list[str]]:
    """Top-level comma-separated elements (commas inside parentheses belong to their element)."""
    elements: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        depth += token == "("
        depth -= token == ")"
        if token == "," and depth == 0:
            elements.append([])
        else:
            elements[-1].append(token)
    return elements


def _column(tokens: list[str], dataset: str) -> tuple[Column, PrimaryKey | None]:
    name = _name(tokens[0], dataset)
    dtype, rest = _type(tokens[1:], name, dataset)
    nullable, comment, key = True, None, None
    words = list(rest)
    while words:
        head = words[0].upper()
        if head == "NOT" and len(words) > 1 and words[1].upper() == "NULL":
            nullable, words = False, words[2:]
        elif head == "COMMENT" and len(words) > 1 and words[1][:1] in "'\"":
            comment, words = _unquote(words[1]), words[2:]
        elif head in ("CONSTRAINT", "PRIMARY"):
            key_name = None
            if head == "CONSTRAINT":
                key_name, words = _name(words[1], dataset) if len(words) > 1 else None, words[2:]
            if [w.upper() for w in words[:2]] != ["PRIMARY", "KEY"]:
                raise _unsupported(dataset, f"column {name!r}: a column constraint other than PRIMARY KEY")
            key, words = PrimaryKey(key_name, (name,)), _options(words[2:], dataset)
        else:
            raise _unsupported(dataset, f"column {name!r}: {' '.join(words)!r}")
    return Column(name, dtype, nullable, comment), key


def _type(tokens: list[str], column: str, dataset: str) -> tuple[str, list[str]]:
    if not tokens:
        raise PipelineDefinitionError(f"dataset {dataset!r}: column {column!r} has no type in schema=")
    word, rest = tokens[0].lower(), tokens[1:]
    if rest[:1] == ["("]:  # a parameterised type: DECIMAL(p, s)
        close = rest.index(")") if ")" in rest else len(rest)
        word, rest = word + "(" + "".join(rest[1:close]) + ")", rest[close + 1 :]
    if word in _SCALAR_TYPES:
        return _SCALAR_TYPES[word], rest
    decimal = _DECIMAL.match(word)
    if decimal:
        return f"decimal({decimal.group(1) or 10},{decimal.group(2) or 0})", rest
    raise _unsupported(dataset, f"column {column!r}: type {tokens[0]!r} (scalar types only)")


def _table_constraint(tokens: list[str], dataset: str) -> PrimaryKey:
    name = None
    if tokens[0].upper() == "CONSTRAINT":
        if len(tokens) < 2:
            raise PipelineDefinitionError(f"dataset {dataset!r}: CONSTRAINT without a name in schema=")
        name, tokens = _name(tokens[1], dataset), tokens[2:]
    if [t.upper() for t in tokens[:3]] != ["PRIMARY", "KEY", "("] or ")" not in tokens:
        raise _unsupported(dataset, f"constraint {' '.join(tokens)!r} (only PRIMARY KEY (...))")
    close = tokens.index(")")
    columns, timeseries = [], None
    for part in _split(tokens[3:close]):
        if not part or len(part) > 2 or (len(part) == 2 and part[1].upper() != "TIMESERIES"):
            raise PipelineDefinitionError(
                f"dataset {dataset!r}: PRIMARY KEY lists {' '.join(part)!r}; expected `column [TIMESERIES]`"
            )
        columns.append(_name(part[0], dataset))
        if len(part) == 2:
            if timeseries is not None:
                raise PipelineDefinitionError(f"dataset {dataset!r}: PRIMARY KEY has more than one TIMESERIES column")
            timeseries = columns[-1]
    _options(tokens[close + 1 :], dataset)
    return PrimaryKey(name, tuple(columns), timeseries)


def _options(words: Sequence[str], dataset: str) -> list[str]:
    """Consume informational constraint options (they change nothing here); refuse anything else."""
    text = " ".join(w.upper() for w in words)
    for option in _CONSTRAINT_OPTIONS:
        text = re.sub(rf"(^|\s){option}(?=\s|$)", " ", text)
    if text.strip():
        raise _unsupported(dataset, f"constraint option(s) {text.strip()!r}")
    return []


def _single_key(keys: list[PrimaryKey], dataset: str) -> PrimaryKey | None:
    if len(keys) > 1:
        raise PipelineDefinitionError(
            f"dataset {dataset!r}: schema= declares {len(keys)} primary keys; a table can have at most one"
        )
    return keys[0] if keys else None


def _checked(schema: DeclaredSchema, dataset: str) -> DeclaredSchema:
    """Refuse duplicate columns, keys over unknown or nullable columns."""
    seen: set[str] = set()
    for name in schema.names:
        if name.lower() in seen:
            raise PipelineDefinitionError(f"dataset {dataset!r}: schema= declares column {name!r} more than once")
        seen.add(name.lower())
    key = schema.primary_key
    if key is None:
        return schema
    by_name = {c.name: c for c in schema.columns}
    unknown = [k for k in key.columns if k not in by_name]
    if unknown or len(set(key.columns)) != len(key.columns):
        raise PipelineDefinitionError(
            f"dataset {dataset!r}: PRIMARY KEY ({', '.join(key.columns)}) names unknown or repeated columns {unknown}"
        )
    nullable = [k for k in key.columns if by_name[k].nullable]
    if nullable:
        raise PipelineDefinitionError(
            f"dataset {dataset!r}: PRIMARY KEY column(s) {nullable} are nullable; declare them NOT NULL "
            "(Unity Catalog refuses a primary key over nullable columns)"
        )
    return schema


def _name(token: str, dataset: str) -> str:
    if token.startswith("`"):
        return token[1:-1].replace("``", "`")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
        raise PipelineDefinitionError(f"dataset {dataset!r}: {token!r} is not a column or constraint name in schema=")
    return token


def _ident(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "`" + name.replace("`", "``") + "`"


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _unsupported(dataset: str, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"dataset {dataset!r}: schema= {what} is not understood by the local runtime, which reads column types, "
        "NOT NULL, COMMENT and PRIMARY KEY (... [TIMESERIES]); declare only those, or extend "
        "lakehouse/core/declared_schema.py"
    )
