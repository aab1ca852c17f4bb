"""The what-if request: one definition of its fields, bounds and messages.

Every interface derives from :class:`WhatIfRequest`: the CLI maps its options to it
(:meth:`WhatIfRequest.from_options`), the what-if DAG's Params and the plugin's pydantic model
are generated from :data:`FIELDS` (:func:`json_schema`), and the DAG and the plugin read their
values with :meth:`WhatIfRequest.from_params`. The messages name each field the way the
interface does (:data:`FORM` for the Params and the API, :data:`CLI` for the options).

This module is light on purpose (no pandas, no networkx): the DAG imports it at parse time.

Example
-------
>>> WhatIfRequest.from_params({"failures": ["A1", " "], "region_km": None}).to_scenario()
{'type': 'explicit', 'fail': ['A1']}
>>> WhatIfRequest.from_options(region="37.4,136.9,5").to_scenario()
{'type': 'region', 'center': {'lat': 37.4, 'lon': 136.9}, 'radius_km': 5.0}
>>> WhatIfRequest.from_options(power_outage="F1", naming=CLI).to_scenario()
Traceback (most recent call last):
...
resilience.errors.BadInput: --hours: --power-outage needs --hours
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from resilience.errors import BadInput

__all__ = ["CLI", "DAMAGE", "FIELDS", "FORM", "FieldSpec", "Naming", "WhatIfRequest", "json_schema"]

#: The kinds of damage (the form's "What fails"), with their titles.
DAMAGE: dict[str, str] = {
    "failures": "Failed nodes or links",
    "srlg": "Shared-risk groups cut",
    "region": "A region (everything within a radius)",
    "power_outage": "A power outage (feed or municipality, hours)",
    "scenario_file": "A scenario file",
}

#: The fields each kind of damage uses.
DAMAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "failures": ("failures",),
    "srlg": ("srlg",),
    "region": ("region_lat", "region_lon", "region_km"),
    "power_outage": ("power_outage_target", "power_outage_hours"),
    "scenario_file": ("scenario_file",),
}
_DAMAGE_WORDS = {"failures": "failed nodes or links", "srlg": "shared-risk groups",
                 "region": "a region", "power_outage": "a power outage", "scenario_file": "a scenario file"}
_ID_MAX_LENGTH = 128


@dataclass(frozen=True)
class FieldSpec:
    """One field of the request: its kind, bounds and words for people.

    ``kind``: ``choice`` (one of :data:`DAMAGE`), ``ids`` (a list of ids), ``number``, ``text``
    or ``file`` (a scenario file name). Bounds are inclusive except ``exclusive_minimum``.
    """

    name: str
    kind: str
    title: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    max_items: int | None = None
    max_length: int | None = None

    def bounds_text(self) -> str:
        """The allowed range in words, e.g. ``from -90 to 90``.

        >>> FIELDS["region_km"].bounds_text()
        'more than 0 and at most 2000'
        """
        low = (f"more than {self.exclusive_minimum:g}" if self.exclusive_minimum is not None
               else f"from {self.minimum:g}" if self.minimum is not None else "")
        if self.maximum is None:
            return low
        return f"{low} and at most {self.maximum:g}" if self.exclusive_minimum is not None else \
            f"{low} to {self.maximum:g}"

    def within(self, value: float) -> bool:
        """Whether ``value`` is a finite number within the bounds.

        >>> FIELDS["power_outage_hours"].within(720), FIELDS["power_outage_hours"].within(float("nan"))
        (True, False)
        """
        return (math.isfinite(value)
                and (self.minimum is None or value >= self.minimum)
                and (self.maximum is None or value <= self.maximum)
                and (self.exclusive_minimum is None or value > self.exclusive_minimum))


FIELDS: dict[str, FieldSpec] = {f.name: f for f in (
    FieldSpec("damage", "choice", "What fails",
              "One kind of damage per run: choose it here, then fill in only its fields below "
              "(a scenario file can combine several)."),
    FieldSpec("failures", "ids", "Failed nodes or links",
              "For 'Failed nodes or links': node or link ids as in the inventory, one per line "
              "(e.g. DCM-WJ-B000). Unknown ids are refused.", max_items=10000, max_length=_ID_MAX_LENGTH),
    FieldSpec("srlg", "ids", "Shared-risk groups cut",
              "For 'Shared-risk groups cut': group ids as in the links' srlg column, one per line "
              "(e.g. R249-Sosogi-W). Every link in them fails at once.", max_items=1000,
              max_length=_ID_MAX_LENGTH),
    FieldSpec("region_lat", "number", "Region: latitude (°N)",
              "For 'A region': the centre's latitude in degrees, -90 to 90 (e.g. 37.39 for Wajima).",
              minimum=-90, maximum=90),
    FieldSpec("region_lon", "number", "Region: longitude (°E)",
              "For 'A region': the centre's longitude in degrees, -180 to 180 (e.g. 136.90).",
              minimum=-180, maximum=180),
    FieldSpec("region_km", "number", "Region: radius (km)",
              "For 'A region': everything within this many km of the centre fails (more than 0, "
              "at most 2000).", exclusive_minimum=0, maximum=2000),
    FieldSpec("power_outage_target", "text", "Power outage: power feed or municipality",
              "For 'A power outage': a power feed id (the inventory's power_feed column) or a "
              "municipality name, e.g. Wajima. Sites there run on battery.", max_length=_ID_MAX_LENGTH),
    FieldSpec("power_outage_hours", "number", "Power outage: hours without grid power",
              "For 'A power outage': how long grid power stays off, 0 to 720 hours. The result shows "
              "the sites out hour by hour as batteries run down.", minimum=0, maximum=720),
    FieldSpec("scenario_file", "file", "Scenario file",
              "For 'A scenario file': one of the prepared scenarios in config/scenarios/ "
              "(earthquake, power outage, region, shared-risk groups).", max_length=255),
)}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON schema of field ``name`` (the DAG's Param, the API's body), with ``default``.

    Every field but ``damage`` admits null (the Airflow form marks the others as required).

    Example
    -------
    >>> json_schema("region_km")["exclusiveMinimum"], json_schema("failures")["type"]
    (0, ['null', 'array'])
    """
    f = FIELDS[name]
    out: dict[str, Any] = {"title": f.title, "description": f.description}
    if f.kind == "choice":
        return {"default": None, "type": "string", "enum": list(DAMAGE), "values_display": dict(DAMAGE), **out}
    if f.kind == "ids":
        return {"default": [], "type": ["null", "array"],
                "items": {"type": "string", "minLength": 1, "maxLength": f.max_length},
                "maxItems": f.max_items, **out}
    if f.kind == "number":
        bounds = {"minimum": f.minimum, "exclusiveMinimum": f.exclusive_minimum, "maximum": f.maximum}
        return {"default": None, "type": ["null", "number"], **{k: v for k, v in bounds.items() if v is not None},
                **out}
    return {"default": None, "type": ["null", "string"], "minLength": 1, "maxLength": f.max_length, **out}


@dataclass(frozen=True)
class Naming:
    """How an interface names the fields in messages: ``labels`` (field or ``region`` to the name
    people typed), ``request`` (the request as a whole) and ``kinds`` (the kinds of damage, in
    the message for a request without any)."""

    labels: Mapping[str, str]
    request: str
    kinds: str

    def __call__(self, name: str) -> str:
        return self.labels.get(name, name)


#: The Params of the what-if DAG and the plugin's API: fields by their own names.
FORM = Naming({}, "params", "failures, srlg, a region, a power outage or a scenario file")
#: ``resilience whatif``: fields by option.
CLI = Naming({"failures": "--fail", "srlg": "--srlg", "region": "--region", "region_lat": "--region",
              "region_lon": "--region", "region_km": "--region", "power_outage_target": "--power-outage",
              "power_outage_hours": "--hours", "scenario_file": "--scenario", "damage": "--damage"}, "whatif",
             "--fail, --region, --power-outage, --srlg or --scenario")


def _ids(value: Any, name: str, naming: Naming) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    if not isinstance(value, list | tuple):
        raise BadInput(naming(name), "expected a list of ids")
    ids = tuple(str(v).strip() for v in value if str(v).strip())
    f = FIELDS[name]
    if f.max_items is not None and len(ids) > f.max_items:
        raise BadInput(naming(name), f"at most {f.max_items} ids, not {len(ids)}")
    return ids


def _number(value: Any, name: str, naming: Naming) -> float | None:
    if value is None or value == "":
        return None
    f = FIELDS[name]
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise BadInput(naming(name), f"{f.title}: expected a number, not {str(value)[:40]!r}") from None
    if not f.within(x):
        raise BadInput(naming(name), f"{f.title} must be a finite number {f.bounds_text()}, not {x:g}")
    return x


def _text(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


@dataclass(frozen=True)
class WhatIfRequest:
    """A what-if request: one kind of damage (a scenario file may combine several).

    Build it with :meth:`from_params` (the DAG's Params, the API's body) or
    :meth:`from_options` (the CLI); both check types and bounds (:data:`FIELDS`) and raise
    :class:`resilience.errors.BadInput` naming the field as the interface does.
    :meth:`to_scenario` gives the scenario dict of :func:`resilience.api.whatif`.

    Attributes
    ----------
    damage : str or None
        Which kind of damage (a key of :data:`DAMAGE`); when given, its fields must be filled
        and the others empty.
    failures, srlg : tuple of str
        Ids of failed nodes or links; shared-risk groups cut.
    region_lat, region_lon, region_km : float or None
        A disc: all three or none.
    power_outage_target : str or None
        A power feed id or municipality (``all`` for every feed), with ``power_outage_hours``.
    scenario_file : str or None
        A scenario YAML file (for the Params: a name in the scenarios folder).
    naming : Naming
        How messages name the fields (:data:`FORM` or :data:`CLI`).
    """

    damage: str | None = None
    failures: tuple[str, ...] = ()
    srlg: tuple[str, ...] = ()
    region_lat: float | None = None
    region_lon: float | None = None
    region_km: float | None = None
    power_outage_target: str | None = None
    power_outage_hours: float | None = None
    scenario_file: str | None = None
    naming: Naming = field(default=FORM, compare=False, repr=False)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, naming: Naming = FORM) -> WhatIfRequest:
        """The request of Params or an API body (unknown keys are ignored here: the API refuses
        them before). Empty values count as not given.

        >>> WhatIfRequest.from_params({"region_lat": 91})
        Traceback (most recent call last):
        ...
        resilience.errors.BadInput: region_lat: Region: latitude (°N) must be a finite number from -90 to 90, not 91
        """
        damage = _text(params.get("damage"))
        if damage is not None and damage not in DAMAGE:
            raise BadInput(naming("damage"), f"{damage!r} is not one of {', '.join(DAMAGE)}")
        return cls(
            damage=damage,
            failures=_ids(params.get("failures"), "failures", naming),
            srlg=_ids(params.get("srlg"), "srlg", naming),
            region_lat=_number(params.get("region_lat"), "region_lat", naming),
            region_lon=_number(params.get("region_lon"), "region_lon", naming),
            region_km=_number(params.get("region_km"), "region_km", naming),
            power_outage_target=_text(params.get("power_outage_target")),
            power_outage_hours=_number(params.get("power_outage_hours"), "power_outage_hours", naming),
            scenario_file=_text(params.get("scenario_file")),
            naming=naming,
        )

    @classmethod
    def from_options(
        cls,
        *,
        fail: str | list[str] = "",
        region: str = "",
        power_outage: str | None = None,
        hours: float | None = None,
        srlg: str | list[str] = "",
        scenario: str | Path | None = None,
        naming: Naming = CLI,
    ) -> WhatIfRequest:
        """The request of ``resilience whatif``'s options: ``--fail`` and ``--srlg`` as
        comma-separated ids, ``--region LAT,LON,KM``, ``--power-outage`` with ``--hours``,
        ``--scenario FILE`` (any path).

        >>> WhatIfRequest.from_options(region="37,136")
        Traceback (most recent call last):
        ...
        resilience.errors.BadInput: --region: '37,136' is not LAT,LON,KM
        """
        lat = lon = km = None
        if region:
            parts = region.split(",")
            if len(parts) != 3:
                raise BadInput(naming("region"), f"'{region}' is not LAT,LON,KM")
            lat, lon, km = parts
        return cls.from_params({"failures": fail, "srlg": srlg, "region_lat": lat, "region_lon": lon,
                                "region_km": km, "power_outage_target": power_outage,
                                "power_outage_hours": hours,
                                "scenario_file": None if scenario is None else str(scenario)}, naming=naming)

    def _filled(self, name: str) -> bool:
        value = getattr(self, name)
        return bool(value) if isinstance(value, tuple) else value is not None

    def check(self) -> None:
        """One kind of damage per request, each kind complete: with ``damage``, its fields must
        be filled and the fields of every other kind empty; a region needs all three values.

        >>> WhatIfRequest(damage="region").check()
        Traceback (most recent call last):
        ...
        resilience.errors.BadInput: damage: you chose a region: fill in region_lat and region_lon and region_km
        """
        n = self.naming
        kind = self.damage
        if kind is not None:
            if not any(self._filled(f) for f in DAMAGE_FIELDS[kind]):
                raise BadInput(n("damage"), f"you chose {_DAMAGE_WORDS[kind]}: fill in "
                                            f"{' and '.join(n(f) for f in DAMAGE_FIELDS[kind])}")
            others = [n(f) for k, fs in DAMAGE_FIELDS.items() if k != kind for f in fs if self._filled(f)]
            if others:
                raise BadInput(n("damage"), f"you chose {_DAMAGE_WORDS[kind]}, but {', '.join(others)} "
                                            f"{'is' if len(others) == 1 else 'are'} filled too: one kind of "
                                            "damage per run (empty the other fields, or use a scenario file)")
        region = [self.region_lat, self.region_lon, self.region_km]
        if any(v is not None for v in region) and any(v is None for v in region):
            raise BadInput(n("region"), "give region_lat, region_lon and region_km together")

    def to_scenario(self, *, scenarios_dir: str | Path | None = None) -> dict[str, Any]:
        """The scenario dict (as in ``config/scenarios/*.yaml``) of this request, checked
        (:meth:`check`).

        ``scenarios_dir``: the only folder a scenario file is read from, by name (the Params and
        the API); ``None``: ``scenario_file`` is a path (the CLI). A scenario file that is not a
        YAML scenario is named, never quoted. The values of the scenario itself are checked
        when it is built (:func:`resilience.scenarios.scenario_from_dict`).

        >>> WhatIfRequest(srlg=("R1",), failures=("A1",)).to_scenario()
        Traceback (most recent call last):
        ...
        resilience.errors.BadInput: params: give one kind of damage per what-if (or a scenario file)
        """
        self.check()
        n = self.naming
        parts: list[dict[str, Any]] = []
        if self.failures:
            parts.append({"type": "explicit", "fail": list(self.failures)})
        if self.region_lat is not None:
            parts.append({"type": "region", "center": {"lat": self.region_lat, "lon": self.region_lon},
                          "radius_km": self.region_km})
        if self.power_outage_target is not None:
            if self.power_outage_hours is None:
                raise BadInput(n("power_outage_hours"),
                               f"{n('power_outage_target')} needs {n('power_outage_hours')}")
            parts.append({"type": "power_outage", "areas": [self.power_outage_target],
                          "hours": self.power_outage_hours})
        if self.srlg:
            parts.append({"type": "srlg", "groups": list(self.srlg)})
        if self.scenario_file is not None:
            parts.append(self._read_file(scenarios_dir))
        if not parts:
            raise BadInput(n.request, f"no damage given (nothing to simulate): give {n.kinds}")
        if len(parts) > 1:
            raise BadInput(n.request, "give one kind of damage per what-if (or a scenario file)")
        return parts[0]

    def _read_file(self, scenarios_dir: str | Path | None) -> dict[str, Any]:
        from resilience.files import inside
        from resilience.scenarios import read_scenario_file

        n, name = self.naming, str(self.scenario_file)
        if scenarios_dir is None:
            path = Path(name)
        else:
            try:
                path = inside(Path(scenarios_dir), name)
            except ValueError as exc:
                raise BadInput(n("scenario_file"), str(exc)) from None
            if not path.is_file():
                raise BadInput(n("scenario_file"), f"{name}: no such file in {scenarios_dir}")
        try:
            return read_scenario_file(path)  # never echoes the file's content
        except ValueError as exc:
            msg = str(exc)
            raise BadInput(n("scenario_file"), msg if msg.startswith(str(path)) else f"{path}: {msg}") from None

    def to_params(self) -> dict[str, Any]:
        """The request as Params (lists for ids): what the DAG's form would hold.

        >>> WhatIfRequest(failures=("A1",)).to_params()["failures"]
        ['A1']
        """
        return {f.name: list(getattr(self, f.name)) if f.name in ("failures", "srlg") else getattr(self, f.name)
                for f in fields(self) if f.name != "naming"}
