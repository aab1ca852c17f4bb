"""The one way to read a YAML configuration file (scenarios, resources, measures, ensembles).

A configuration file named on a command line may be anything (``--scenario /etc/passwd``,
``/dev/zero``): it is read up to a size limit, must be UTF-8 YAML, and an error names the file
and, for a YAML error, its line, never quoting the file's content.

Example
-------
>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "s.yaml")
>>> _ = open(p, "w").write("type: srlg\\ngroups: [R1]\\n")
>>> read_yaml_file(p, what="scenario")
{'type': 'srlg', 'groups': ['R1']}
>>> read_yaml_file("/nonexistent.yaml", what="scenario")
Traceback (most recent call last):
...
resilience.yamlfile.ConfigFileError: /nonexistent.yaml: cannot read the scenario file (No such file or directory)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["read_yaml_file", "ConfigFileError", "MAX_CONFIG_BYTES"]

#: Largest configuration file read (16 MiB): anything bigger is not a configuration file.
MAX_CONFIG_BYTES = 16 * 2**20


class ConfigFileError(ValueError):
    """A configuration file that cannot be used: ``str()`` is ``path[:line]: reason``.

    Callers that report with :class:`resilience.errors.BadInput` take ``path``, ``line`` and
    ``reason`` from it.
    """

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = str(path), reason, line
        super().__init__(f"{path}{f':{line}' if line else ''}: {reason}")


def read_yaml_file(path: str | Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """The parsed content of a YAML file (any YAML value; callers check its shape).

    Raises :class:`ConfigFileError` (a ``ValueError``) naming the file (and the line of a YAML error) when it cannot be read,
    is larger than ``max_bytes``, is not UTF-8 text or is not YAML; the message never quotes the
    file's content. ``what`` names the kind of file in the messages ("scenario", "resources").
    """
    import yaml

    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise ConfigFileError(p, f"cannot read the {what} file ({e.strerror or type(e).__name__})") from None
    if len(raw) > max_bytes:
        raise ConfigFileError(p, f"larger than {max_bytes // 2**20} MB: not a {what} file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(p, f"not UTF-8 text: not a {what} file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or "syntax error"
        raise ConfigFileError(p, f"not valid YAML ({problem}): not a {what} file",
                              line=mark.line + 1 if mark is not None else None) from None
