"""Planning over the stored network: restoration while sites are out, hardening before.

Example
-------
>>> import tempfile
>>> from resilience.errors import BadInput
>>> try:
...     restore(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db", strategy="fastest")
... except BadInput as exc:
...     print(exc)
--strategy: must be one of planned, nearest, largest, fifo, not 'fastest'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from resilience.api.state import (
    engine,
    ensure_schema,
    load_graph,
    load_model,
    store_guard,
    warn_graph_coverage,
    warn_model_coverage,
)
from resilience.settings import load_settings

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["harden", "restore"]


@store_guard
def restore(
    resources: str | Path | None = None,
    *,
    db_url: str | None = None,
    snapshot_id: int | None = None,
    scenario: dict | str | Path | None = None,
    horizon_h: float = 72.0,
    strategy: str = "planned",
    out_dir: str | Path | None = None,
) -> dict:
    """Plan the restoration of the sites that are out (``resilience restore``).

    ``resources``: a resources YAML file (default: settings ``restoration_resources``,
    ``config/resources/noto-2024.yaml``); ``snapshot_id``: plan from the state at that stored snapshot's time (the
    state tables hold the current state: the snapshot gives the time the freshness is read at
    and the plan is filed under its id); ``scenario``: a what-if scenario (dict or YAML file)
    whose damage is added to the current state (failed nodes need a crew, failed links are
    down). Returns the plan of :func:`resilience.restoration.plan_restoration` plus
    ``snapshot_id`` and ``resources`` (the file); with ``out_dir`` it is also written there as
    ``restoration-<snapshot id or 'current'>.json`` (``path`` in the result).

    Raises :class:`resilience.errors.BadInput` for a bad resources file, scenario, strategy,
    horizon or snapshot id.
    """
    import json

    from resilience.errors import BadInput
    from resilience.restoration import STRATEGIES, load_resources, plan_restoration

    s = load_settings()
    res_path = Path(resources) if resources else s.path(s.restoration_resources)
    if strategy not in STRATEGIES:
        raise BadInput("--strategy", f"must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if not (0 < horizon_h <= 24 * 365):
        raise BadInput("--horizon", f"must be more than 0 and at most a year of hours, not {horizon_h}")
    try:
        res = load_resources(res_path)
    except ValueError as exc:
        raise BadInput(str(res_path), str(exc).removeprefix(f"{res_path}: ")) from None
    as_of = None
    if snapshot_id is not None:
        from resilience.store.snapshots import read_snapshot

        ensure_schema(db_url)
        snap = read_snapshot(engine(db_url), int(snapshot_id))
        if snap is None:
            raise BadInput("--from-snapshot", f"no snapshot {snapshot_id}")
        as_of = snap.as_of
    failed_nodes = failed_links = None
    G: nx.MultiGraph | None = None
    model = None
    if scenario is None:  # the compiled model of the store: no networkx graph read into arrays
        model = load_model(db_url=db_url, as_of=as_of)
        warn_model_coverage(model)
    else:
        G = load_graph(db_url=db_url, as_of=as_of)
        warn_graph_coverage(G)
        from resilience.analysis import to_csr
        from resilience.scenarios import load_scenario, scenario_from_dict

        try:
            sc = scenario_from_dict(scenario) if isinstance(scenario, dict) else load_scenario(scenario)
            model = to_csr(G)
            dmg = sc.damage(G, model)
        except ValueError as exc:
            raise BadInput("--scenario", str(exc)) from None
        failed_nodes, failed_links = dmg.nodes, dmg.links
    try:
        plan = plan_restoration(G, res, horizon_h=horizon_h, strategy=strategy,
                                failed_nodes=failed_nodes, failed_links=failed_links, csr=model)
    except ValueError as exc:
        raise BadInput(str(res_path), str(exc)) from None
    plan["snapshot_id"] = snapshot_id
    plan["resources"] = str(res_path)
    if out_dir is not None:
        from resilience.files import write_text_atomic

        name = f"restoration-{snapshot_id if snapshot_id is not None else 'current'}.json"
        path = write_text_atomic(Path(out_dir) / name, json.dumps(plan, default=str, ensure_ascii=False))
        plan["path"] = str(path)
    return plan


def harden(
    budget: float,
    *,
    measures: str | Path | None = None,
    scenarios: Iterable[str | Path] | None = None,
    runs: int | None = None,
    horizon_h: float | None = None,
    holdout: str | None = None,
    seed: int = 0,
    db_url: str | None = None,
    G: nx.MultiGraph | None = None,
    out_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Plan hardening within ``budget`` (``resilience harden``).

    ``measures``: a catalogue YAML (default ``config/hardening/measures.yaml`` of the settings'
    home); ``scenarios``: scenario or ensemble YAML files (default: every file of
    ``config/scenarios``, skipping those that name elements this network does not have);
    ``runs``: samples in all (default the ensemble's ``runs`` or 200); ``horizon_h``: hours
    counted (default the ensemble's ``horizon_hours`` or 168); ``holdout``: a scenario name
    left out of planning and scored alone; ``G``: plan on this network instead of the stored
    one. Returns :func:`resilience.hardening.plan_hardening`'s result plus ``measures`` and
    ``scenario_files`` (and ``skipped``); with ``out_dir`` it is also written there as
    ``hardening-<budget>.json`` (``path`` in the result).

    Raises :class:`resilience.errors.BadInput` for a bad catalogue, scenario, budget or runs.
    """
    import json

    from resilience.errors import BadInput
    from resilience.hardening import load_catalogue, plan_hardening, read_ensemble

    s = load_settings()
    if not (budget >= 0 and budget < float("inf")):
        raise BadInput("--budget", f"must be a finite amount >= 0, not {budget}")
    m_path = Path(measures) if measures else s.path(s.hardening_measures)
    try:
        cat = load_catalogue(m_path)
    except ValueError as exc:
        raise BadInput(str(m_path), str(exc).removeprefix(f"{m_path}: ")) from None
    explicit = scenarios is not None
    files = [Path(p) for p in scenarios] if explicit else sorted(s.path(s.scenarios_dir).glob("*.yaml"))
    if not files:
        raise BadInput("--scenarios", "no scenario files")
    if G is None:
        G = load_graph(db_url=db_url)
    from resilience.analysis import to_csr
    from resilience.hardening import build_ensemble

    csr = to_csr(G)
    entries: list[dict] = []
    opts: dict = {}
    skipped: list[str] = []
    for f in files:
        try:
            e, o = read_ensemble(f)
            build_ensemble(G, csr, e, runs=len(e))  # names only what this network has
        except ValueError as exc:
            if explicit:
                raise BadInput(str(f), str(exc).removeprefix(f"{f}: ")) from None
            skipped.append(f"{f.name}: {exc}")
            continue
        entries += e
        opts.update(o)
    if not entries:
        raise BadInput("--scenarios", "no scenario applies to this network: " + "; ".join(skipped))
    runs = int(runs if runs is not None else opts.get("runs", 200))
    if not (1 <= runs <= 100_000):
        raise BadInput("--runs", f"must be from 1 to 100000, not {runs}")
    hz = float(horizon_h if horizon_h is not None else opts.get("horizon_hours", 168))
    try:
        out = plan_hardening(G, cat, entries, budget=float(budget), runs=runs, horizon_h=hz, seed=seed,
                             holdout=holdout, progress=progress)
    except ValueError as exc:
        raise BadInput("--holdout" if holdout and "hold out" in str(exc) else "harden", str(exc)) from None
    out["measures"] = str(m_path)
    out["scenario_files"] = [str(f) for f in files]
    if skipped:
        out["skipped"] = skipped
    if out_dir is not None:
        from resilience.files import write_text_atomic

        path = write_text_atomic(Path(out_dir) / f"hardening-{int(budget)}.json",
                                 json.dumps(out, default=str, ensure_ascii=False))
        out["path"] = str(path)
    return out
