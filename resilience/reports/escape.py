"""Escaping of names that come from feeds, for every place they are shown.

Example
-------
>>> print(csv_safe('=HYPERLINK("http://x")'))
'=HYPERLINK("http://x")
>>> html_text("<script>")
'&lt;script&gt;'
"""

from __future__ import annotations

from markupsafe import escape

__all__ = ["csv_safe", "html_text"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """Neutralise spreadsheet formulas (CSV injection): prefix a quote to text starting with
    ``= + - @`` or a tab/CR. Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def html_text(value: object) -> str:
    """HTML-escape any value for text or attribute context.

    The same function as Jinja2's autoescape (:func:`markupsafe.escape`), so text escaped here
    (inline SVG built in Python) and text escaped by the report templates read the same.
    """
    return str(escape("" if value is None else str(value)))
