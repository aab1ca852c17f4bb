"""Errors with the place of the problem: file, line and field.

Example
-------
>>> str(BadInput("feeds/nodes.csv", "not UTF-8 or CP932 text", line=3, field="name"))
'feeds/nodes.csv:3: field name: not UTF-8 or CP932 text'
>>> str(StoreError("sqlite:///var/r.db", "read-only", "attempt to write a readonly database"))
'database sqlite:///var/r.db is read-only: attempt to write a readonly database'
"""

from __future__ import annotations

__all__ = ["BadInput", "ResilienceError", "StoreError"]


class ResilienceError(Exception):
    """Base of the project's own errors."""


class BadInput(ResilienceError):
    """An input that cannot be used at all (the CLI exits 2 with this message).

    Parameters
    ----------
    path : str
        The file (or parameter) at fault.
    message : str
        What is wrong, in the operator's words.
    line, field : optional
        Where in the file, when known (1-based line; for CSV the header is line 1).
    """

    def __init__(self, path: str, message: str, *, line: int | None = None, field: str | None = None):
        self.path, self.message, self.line, self.field = str(path), message, line, field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        fld = f" field {self.field}:" if self.field else ""
        return f"{where}:{fld} {self.message}"


class StoreError(ResilienceError):
    """The database refused or failed an operation: read-only, full, unreachable (the CLI exits 1
    with this one-line message; nothing of the failed transaction is stored).

    Parameters
    ----------
    database : str
        The database URL with any password hidden.
    problem : str
        What is wrong in a few words: ``read-only``, ``full``, ``unreachable``, ``unavailable``.
    detail : str
        The first line of the driver's message.
    """

    def __init__(self, database: str, problem: str, detail: str = ""):
        self.database, self.problem, self.detail = database, problem, detail
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"database {self.database} is {self.problem}" + (f": {self.detail}" if self.detail else "")
