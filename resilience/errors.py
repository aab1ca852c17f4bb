"""Errors with the place of the problem: file, line and field.

Example
-------
>>> str(BadInput("feeds/nodes.csv", "not UTF-8 or CP932 text", line=3, field="name"))
'feeds/nodes.csv:3: field name: not UTF-8 or CP932 text'
"""

from __future__ import annotations

__all__ = ["BadInput", "ResilienceError"]


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
