"""Writing result files so that a reader never sees half of one.

Example
-------
>>> import tempfile, pathlib
>>> p = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "out" / "plan.json", "{}")
>>> p.read_text(), oct(p.stat().st_mode & 0o777)
('{}', '0o644')
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a rename,
    creating the folder; the file is readable by everyone (0644), as results are meant to be."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
