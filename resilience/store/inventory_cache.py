"""Flat arrays kept beside an SQLite store, named by its inventory mark.

The compiled inventory (:class:`resilience.topology.compiled.CompiledInventory`: node and link
order, CSR adjacency, labels) depends on the nodes and links tables only. :func:`write_arrays`
keeps it as one Arrow IPC file in the store's cache folder, named by
:func:`resilience.store.repo.inventory_mark` (which changes with any inventory change: feed
files, ``inventory set-kind``, namespaces), and :func:`read_arrays` gives it back, memory-mapped,
to a later process with the same mark. The file is written whole (a temporary file renamed);
one that is missing, unreadable or of another layout reads as ``None`` (compile again).

Example
-------
>>> import tempfile
>>> import numpy as np, pyarrow as pa
>>> d = tempfile.mkdtemp()
>>> write_arrays(d, "abc", {"eu": np.array([0, 1]), "ids": pa.array(["a", "b"], pa.large_string())})
>>> got = read_arrays(d, "abc")
>>> got["eu"].tolist(), got["ids"].to_pylist(), read_arrays(d, "other")
([0, 1], ['a', 'b'], None)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["read_arrays", "write_arrays"]

_FORMAT = 1  # bump when the layout of the file changes
_PREFIX = "compiled"
_RETIRED = ("inventory-*.arrow",)  # the nodes and links frames earlier versions kept here too


def _path(cache_dir: str | Path, mark: str) -> Path:
    return Path(cache_dir) / f"{_PREFIX}-v{_FORMAT}-{mark}.arrow"


def write_arrays(cache_dir: str | Path, mark: str, arrays: Mapping[str, Any]) -> None:
    """Keep ``arrays`` (name to 1-d numpy array or Arrow array) under ``mark``; the files of
    other marks are removed. A folder that cannot be written is ignored (nothing is kept)."""
    import numpy as np
    import pyarrow as pa

    path = _path(cache_dir, mark)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        columns = {}
        for name, values in arrays.items():
            arr = values if isinstance(values, pa.Array) else pa.array(np.ascontiguousarray(values))
            offsets = pa.array([0, len(arr)], type=pa.int64())
            columns[name] = pa.LargeListArray.from_arrays(offsets, arr)
        table = pa.table(columns)
        path.parent.mkdir(parents=True, exist_ok=True)
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)  # whole files only
        for pattern in (f"{_PREFIX}-*.arrow", *_RETIRED):
            for old in path.parent.glob(pattern):
                if old != path:
                    old.unlink(missing_ok=True)
    except (OSError, pa.ArrowException):
        Path(tmp).unlink(missing_ok=True)


def read_arrays(cache_dir: str | Path, mark: str) -> dict[str, Any] | None:
    """The arrays kept under ``mark`` (numbers as read-only numpy views of the memory-mapped
    file, text as Arrow arrays), or ``None`` when there are none or the file cannot be read."""
    import pyarrow as pa

    path = _path(cache_dir, mark)
    if not path.exists():
        return None
    try:
        # not closed here: the arrays read are views of the mapping (unmapped when released)
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        out: dict[str, Any] = {}
        for name in table.column_names:
            values = table.column(name).chunk(0).values
            if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
                values = values.to_numpy(zero_copy_only=False)
            out[name] = values
        return out
    except (OSError, IndexError, pa.ArrowException):
        return None
