"""Logs as a Parquet dataset: a year of messages in one folder that pandas, DuckDB, Polars and Spark
all read.

:func:`write_dataset` (``LogSet.to_parquet(DIR)``) writes the schema hive-partitioned by UTC day
(``DIR/day=2026-11-25/part-<id>-0.parquet``; rows without a time under
``day=__HIVE_DEFAULT_PARTITION__``): one Arrow schema for every file, ``ts`` as
``timestamp[us, UTC]``, ``author``/``kind``/``source``/``origin`` as dictionaries (pandas
categories). Every call writes new files under fresh names, so appending a new day's load adds
files and never rewrites old ones.

:func:`read_dataset` (``load(DIR)``) reads it back lazily through ``pyarrow.dataset``: the
``since``/``until``/``chat`` filters go down to the files — a day's partition folder is skipped
unless it can hold rows of the range, and Parquet row-group statistics skip the rest.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SourceError
from ..times import parse_time
from ._build import Part
from .schema import AUTHOR_DTYPE, COLUMNS, KIND_DTYPE, STRING_COLUMNS, STRING_DTYPE, rejected_frame

__all__ = ["write_dataset", "read_dataset", "is_dataset", "dataset_files", "dataset_filter", "PARTITIONS",
           "ROW_GROUP_ROWS"]

PARTITIONS = ("day", None)
ROW_GROUP_ROWS = 1 << 17  # DuckDB and pyarrow read row groups in parallel; ~130k rows keeps both cores busy
_CATEGORY_COLUMNS = ("author", "kind", "source", "origin")


def arrow_schema():
    """The one schema of every file (the partition column is in the folder names, not here)."""
    import pyarrow as pa

    dictionary = pa.dictionary(pa.int32(), pa.string())
    types = {"ts": pa.timestamp("us", tz="UTC"), **{c: pa.string() for c in STRING_COLUMNS},
             **{c: dictionary for c in _CATEGORY_COLUMNS}}
    return pa.schema([(c, types[c]) for c in COLUMNS])


def write_dataset(messages: pd.DataFrame, directory: str | Path, *, partition_by: str | None = "day") -> Path:
    """Write a schema frame under ``directory`` as new Parquet files (see the module docstring)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if partition_by not in PARTITIONS:
        raise SourceError(f"partition_by: {partition_by!r} is not one of day, None")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise SourceError("not a folder (a Parquet dataset is a folder of files)", path=str(directory))
    frame = messages[list(COLUMNS)]
    table = pa.Table.from_pandas(frame, schema=arrow_schema(), preserve_index=False)
    partitioning = None
    if partition_by == "day":
        days = frame["ts"].array.asi8 // 86_400_000_000  # UTC days since the epoch
        # a row without a time (a raw Jivo body) goes to day=__HIVE_DEFAULT_PARTITION__
        day = pa.array(days.astype(np.int32), pa.date32(), mask=frame["ts"].isna().to_numpy()).cast(pa.string())
        table = table.append_column("day", day)
        partitioning = ds.partitioning(pa.schema([("day", pa.string())]), flavor="hive")
    directory.mkdir(parents=True, exist_ok=True)
    # preserve_order: each file's rows stay in time order, so reading back needs no sort (a copy of
    # every column); min_rows_per_group: large row groups, not one per incoming batch
    ds.write_dataset(table, directory, format="parquet", partitioning=partitioning,
                     basename_template=f"part-{uuid.uuid4().hex}-{{i}}.parquet",
                     existing_data_behavior="overwrite_or_ignore", preserve_order=True,
                     min_rows_per_group=ROW_GROUP_ROWS, max_rows_per_group=ROW_GROUP_ROWS)
    return directory


def is_dataset(path: Path) -> bool:
    """A folder whose every (non-hidden) file is Parquet: one dataset, read as one."""
    files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    return bool(files) and all(p.suffix == ".parquet" for p in files)


def dataset_files(path: Path) -> list[str]:
    # sorted: day folders in time order, and the same row order every time (DuckDB sorts alike)
    return sorted(str(p) for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))


def dataset_filter(*, since=None, until=None, chat=None, partitioned: bool = True):
    """The pyarrow expression for [since, until) and chat(s); the day partitions it can skip too."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from .tabulate import filter_values, is_blank_filter

    expr = None

    def both(e):
        return e if expr is None else expr & e

    for value, label in ((since, "since"), (until, "until")):
        if is_blank_filter(value):
            continue
        when = pd.Timestamp(parse_time(value, name=label)).tz_convert("UTC")
        scalar = pa.scalar(when.to_pydatetime(), type=pa.timestamp("us", tz="UTC"))
        expr = both(ds.field("ts") >= scalar if label == "since" else ds.field("ts") < scalar)
        if partitioned:
            day = ds.field("day")
            if label == "since":
                expr = both(day >= when.strftime("%Y-%m-%d"))
            else:  # until is exclusive: at midnight that day holds none of the rows
                expr = both(day < when.strftime("%Y-%m-%d") if when == when.normalize()
                            else day <= when.strftime("%Y-%m-%d"))
    chats = filter_values(chat)
    if chats is not None:
        expr = both(ds.field("chat").isin([str(c) for c in chats]))
    return expr


def read_dataset(path: str | Path, *, since=None, until=None, chat=None) -> Part:
    """One dataset folder → a Part of schema rows, filters pushed down to the files."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    path = Path(path)
    origin = str(path)
    try:
        dataset = ds.dataset(dataset_files(path), format="parquet", partitioning="hive",
                             partition_base_dir=str(path))
        partitioned = "day" in dataset.schema.names
        missing = [c for c in ("ts", "chat", "author", "kind") if c not in dataset.schema.names]
        if missing:
            raise SourceError("missing column", path=origin, column=missing[0])
        columns = [c for c in COLUMNS if c in dataset.schema.names]
        table = dataset.to_table(columns=columns, filter=dataset_filter(since=since, until=until, chat=chat,
                                                                        partitioned=partitioned))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"cannot read the Parquet dataset: {exc}", path=origin) from None
    frame = table.to_pandas(types_mapper={pa.string(): STRING_DTYPE, pa.large_string(): STRING_DTYPE}.get,
                            self_destruct=True)
    del table
    return Part(origin, "events", *_schema_rows(frame, origin))


def _schema_rows(frame: pd.DataFrame, origin: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset's columns in schema dtypes; rows that break the schema are rejected, not kept."""
    n = len(frame)
    if frame["ts"].dtype != "datetime64[us, UTC]":
        frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
    for col, dtype in (("author", AUTHOR_DTYPE), ("kind", KIND_DTYPE)):
        if frame[col].dtype != dtype:  # dictionaries come back with their own category order
            frame[col] = frame[col].astype(object).astype(dtype) if not isinstance(
                frame[col].dtype, pd.CategoricalDtype) else frame[col].cat.set_categories(dtype.categories)
    for col in ("source", "origin"):
        if col not in frame:
            frame[col] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8),
                                                   categories=["events" if col == "source" else origin])
        elif not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("category")
    for col in STRING_COLUMNS:
        if col not in frame:
            frame[col] = pd.array([None] * n, dtype=STRING_DTYPE)
    bad = (frame["chat"].isna() | frame["author"].isna() | frame["kind"].isna()).to_numpy()
    rejected = rejected_frame([])
    if bad.any():
        rows = np.flatnonzero(bad)
        rejected = rejected_frame([(origin, None, f"{len(rows)} row(s) without a chat, or a known author/kind")])
        frame = frame[~bad].reset_index(drop=True)
    return frame[list(COLUMNS)], rejected
