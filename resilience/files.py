"""Result files and the paths they go to: written so that a reader never sees half of one,
at names that never escape their folder.

Example
-------
>>> import tempfile, pathlib
>>> p = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "out" / "plan.json", "{}")
>>> p.read_text(), oct(p.stat().st_mode & 0o777)
('{}', '0o644')
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

__all__ = ["inside", "safe_name", "write_text_atomic"]

_SAFE_ID = re.compile(r"[^A-Za-z0-9_+-]+")


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


def inside(root: str | Path, name: str | Path) -> Path:
    """``root / name``, refusing a name that escapes ``root``.

    Parameters
    ----------
    root : path
        The folder the name must stay in.
    name : path
        A relative name (e.g. from a request or a scenario parameter).

    Returns
    -------
    Path
        The joined path (not resolved through symbolic links).

    Raises
    ------
    ValueError
        ``name`` is absolute, contains ``..``, or resolves (through links) outside ``root``.

    Example
    -------
    >>> inside("/srv/inbox", "a/b.csv").as_posix()
    '/srv/inbox/a/b.csv'
    >>> inside("/srv/inbox", "../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: ../etc/passwd: a path outside /srv/inbox is refused
    """
    root = Path(root)
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not str(name).strip():
        raise ValueError(f"{name}: a path outside {root} is refused")
    joined = root / rel
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(joined)]) != real_root:
        raise ValueError(f"{name}: a path outside {root} is refused")
    return joined


def safe_name(value: str) -> str:
    """``value`` reduced to a safe folder name (letters, digits, ``_+-``; at most 120 characters).

    Example
    -------
    >>> safe_name("manual__2024-01-03T00:00:00+00:00/../x")
    'manual__2024-01-03T00_00_00+00_00_x'
    """
    cleaned = _SAFE_ID.sub("_", value).strip("_") or "claim"
    return cleaned[:120]
