"""Alarm mapping rules (``config/alarms.yaml``): how an event names its element and what it means.

The rules are read and checked once, at start: every mistake is reported with the rule (or
section) it is in, all at once, as one :class:`~resilience.errors.BadInput`; the receiver does
not start with rules it cannot use.

Example
-------
>>> rs = load_rules()                       # the documented default, config/alarms.yaml
>>> rs.match({"source": "alertmanager", "alertname": "SiteDown"}).effect
'down'
>>> rs.to_id("b1.example.net:9100")
'b1.example.net'
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from resilience.errors import BadInput

__all__ = ["Rule", "RuleSet", "load_rules", "parse_rules", "EFFECTS", "HOLDING", "CLEARING",
           "NODE_EFFECTS", "LINK_EFFECTS", "SOURCE_TYPES", "default_rules_path"]

#: Alarms that hold while active (cleared by the sender's clear).
HOLDING = ("down", "degraded", "on_battery", "battery_low", "link_down")
#: One-shot events that clear active alarms of the same element: effect -> the effects cleared.
CLEARING = {"up": ("down", "degraded"), "power_restored": ("on_battery", "battery_low"),
            "link_up": ("link_down",)}
EFFECTS = (*HOLDING, *CLEARING, "heartbeat", "ignore")
LINK_EFFECTS = frozenset({"link_down", "link_up"})
NODE_EFFECTS = frozenset(EFFECTS) - LINK_EFFECTS - {"ignore"}
SOURCE_TYPES = ("alertmanager", "ves", "3gpp", "snmp")
_NAMING_KINDS = ("node", "link", "any")


def default_rules_path() -> Path:
    """``config/alarms.yaml`` of the project home (``RESILIENCE_HOME``), else of the package's
    repository.

    >>> default_rules_path().name
    'alarms.yaml'
    """
    from resilience.settings import load_settings, project_root

    s = load_settings()
    own = s.path("config/alarms.yaml")
    if own.is_file():
        return own
    repo = Path(__file__).resolve().parent.parent.parent / "config" / "alarms.yaml"
    return repo if repo.is_file() else project_root() / "config" / "alarms.yaml"


@dataclass(frozen=True)
class Rule:
    """One alarm rule: all ``when`` fields must match (any of each field's patterns)."""

    name: str
    effect: str
    when: tuple[tuple[str, tuple[re.Pattern, ...]], ...]
    minutes_from: str | None = None

    def matches(self, facts: dict[str, str]) -> bool:
        """Whether the event's facts satisfy every condition.

        >>> r = Rule("x", "down", (("alertname", (re.compile("^SiteDown$", re.I),)),))
        >>> r.matches({"alertname": "sitedown"}), r.matches({})
        (True, False)
        """
        for name, patterns in self.when:
            value = facts.get(name)
            if value is None or not any(p.search(value) for p in patterns):
                return False
        return True


@dataclass
class RuleSet:
    """The loaded rules: naming per source type, aliases, rewrites and alarm rules."""

    naming: dict[str, dict[str, tuple[str, ...]]]
    aliases: dict[str, str]
    rewrite: list[tuple[re.Pattern, str]]
    rules: list[Rule]
    path: str = ""
    _cache: dict[str, str] = field(default_factory=dict, repr=False)

    def match(self, facts: dict[str, str]) -> Rule | None:
        """The first rule the facts match, or ``None`` (an unmapped alarm)."""
        for rule in self.rules:
            if rule.matches(facts):
                return rule
        return None

    def to_id(self, name: str) -> str:
        """The element id for a name: alias, else the first rewrite that matches, else itself.

        >>> rs = RuleSet({}, {"10.0.0.5": "B1"}, [(re.compile(r"^(?P<h>[^:]+):\\d+$"), "{h}")], [])
        >>> rs.to_id("10.0.0.5:9100"), rs.to_id("B2")
        ('B1', 'B2')
        """
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        out = self.aliases.get(name)
        if out is None:
            for pattern, template in self.rewrite:
                m = pattern.search(name)
                if m:
                    out = template.format(**{k: v or "" for k, v in m.groupdict().items()})
                    out = self.aliases.get(out, out)
                    break
        if out is None:
            out = name
        if len(self._cache) < 100_000:
            self._cache[name] = out
        return out

    def names(self, source_type: str, kind: str) -> tuple[str, ...]:
        """The naming fields of ``kind`` (node, link, any) for one source type."""
        return self.naming.get(source_type, {}).get(kind, ())


def _compile(pattern: object, where: str, errors: list[str]) -> re.Pattern | None:
    if not isinstance(pattern, str) or not pattern:
        errors.append(f"{where}: a pattern must be a non-empty string")
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        errors.append(f"{where}: bad regular expression ({exc})")
        return None


def parse_rules(data: object, path: str = "alarms.yaml", *, base: Path | None = None) -> RuleSet:
    """Check and build the rules from the parsed YAML document.

    Raises :class:`~resilience.errors.BadInput` listing every mistake (one per line, each
    naming its rule or section).

    >>> parse_rules({"version": 1, "rules": [{"name": "a", "when": {"alertname": "X"},
    ...              "effect": "sink"}]})
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: alarms.yaml: field rules: 1 mistake(s): rule 1 (a): effect 'sink' is not one of down, degraded, on_battery, battery_low, link_down, up, power_restored, link_up, heartbeat, ignore
    """
    errors: list[str] = []
    if not isinstance(data, dict):
        raise BadInput(path, "the rules file must be a YAML mapping (version, naming, rules)")
    unknown = set(data) - {"version", "naming", "aliases", "alias_file", "rewrite", "rules"}
    if unknown:
        errors.append(f"unknown sections: {', '.join(sorted(map(str, unknown)))}")
    if data.get("version", 1) != 1:
        errors.append("version: only version 1 is known")
    naming: dict[str, dict[str, tuple[str, ...]]] = {}
    for stype, spec in (data.get("naming") or {}).items():
        if stype not in SOURCE_TYPES:
            errors.append(f"naming.{stype}: not one of {', '.join(SOURCE_TYPES)}")
            continue
        if not isinstance(spec, dict) or set(spec) - set(_NAMING_KINDS):
            errors.append(f"naming.{stype}: a mapping of node/link/any to lists of fields")
            continue
        naming[stype] = {}
        for kind, fields in spec.items():
            if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
                errors.append(f"naming.{stype}.{kind}: a list of field names")
                continue
            naming[stype][kind] = tuple(fields)
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        errors.append("aliases: a mapping of name to element id")
        aliases = {}
    aliases = {str(k): str(v) for k, v in aliases.items()}
    alias_file = data.get("alias_file") or ""
    if alias_file:
        p = Path(alias_file)
        p = p if p.is_absolute() else (base or Path.cwd()) / p
        try:
            with p.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
            if rows and not {"alias", "element_id"} <= set(rows[0]):
                errors.append(f"alias_file {alias_file}: needs the columns alias,element_id")
            for r in rows:
                if r.get("alias") and r.get("element_id"):
                    aliases.setdefault(r["alias"].strip(), r["element_id"].strip())
        except OSError as exc:
            errors.append(f"alias_file {alias_file}: cannot be read ({exc.strerror})")
    rewrite: list[tuple[re.Pattern, str]] = []
    for i, rw in enumerate(data.get("rewrite") or [], 1):
        where = f"rewrite {i}"
        if not isinstance(rw, dict) or set(rw) != {"match", "id"}:
            errors.append(f"{where}: needs exactly match and id")
            continue
        pat = _compile(rw["match"], where, errors)
        if pat is None:
            continue
        groups = set(pat.groupindex)
        used = set(re.findall(r"{(\w+)}", str(rw["id"])))
        if not used or used - groups:
            errors.append(f"{where}: id uses {sorted(used - groups) or 'no group'}; the pattern's "
                          f"named groups are {sorted(groups)}")
            continue
        rewrite.append((pat, str(rw["id"])))
    rules: list[Rule] = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.append("rules: a non-empty list of rules")
        raw_rules = []
    names: set[str] = set()
    for i, r in enumerate(raw_rules, 1):
        label = f"rule {i}" + (f" ({r.get('name')})" if isinstance(r, dict) and r.get("name") else "")
        if not isinstance(r, dict):
            errors.append(f"{label}: a mapping with name, when, effect")
            continue
        extra = set(r) - {"name", "when", "effect", "minutes_from"}
        if extra:
            errors.append(f"{label}: unknown keys {', '.join(sorted(map(str, extra)))}")
        name = r.get("name")
        if not isinstance(name, str) or not name:
            errors.append(f"{label}: missing name")
        elif name in names:
            errors.append(f"{label}: duplicate name")
        names.add(str(name))
        effect = r.get("effect")
        if effect not in EFFECTS:
            errors.append(f"{label}: effect '{effect}' is not one of {', '.join(EFFECTS)}")
        when = r.get("when")
        if not isinstance(when, dict) or not when:
            errors.append(f"{label}: when must map fields to patterns")
            continue
        conds = []
        for fname, pats in when.items():
            pats = pats if isinstance(pats, list) else [pats]
            if fname == "source":
                bad = [p for p in pats if str(p).strip("^$") not in SOURCE_TYPES]
                if bad:
                    errors.append(f"{label}: source must be one of {', '.join(SOURCE_TYPES)}")
            compiled = [_compile(p, f"{label} when.{fname}", errors) for p in pats]
            if None not in compiled:
                conds.append((str(fname), tuple(compiled)))
        mf = r.get("minutes_from")
        if mf is not None and (effect not in ("on_battery", "battery_low") or not isinstance(mf, str)):
            errors.append(f"{label}: minutes_from is a field name, for on_battery or battery_low")
        if effect in EFFECTS and name:
            rules.append(Rule(str(name), str(effect), tuple(conds), mf))
    if errors:
        raise BadInput(path, f"{len(errors)} mistake(s): " + "; ".join(errors), field="rules")
    return RuleSet(naming, aliases, rewrite, rules, path)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and check a rules file (default: :func:`default_rules_path`).

    Raises :class:`~resilience.errors.BadInput` naming the file when it cannot be read or
    parsed, or listing every bad rule.
    """
    from resilience.yamlfile import ConfigFileError, read_yaml_file

    p = Path(path) if path else default_rules_path()
    try:
        data = read_yaml_file(p, what="rules")
    except ConfigFileError as exc:
        raise BadInput(exc.path, exc.reason, line=exc.line) from None
    return parse_rules(data, str(p), base=p.parent.parent if p.parent.name == "config" else p.parent)
