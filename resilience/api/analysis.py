"""Analyses of the current state read on demand: single points of failure and battery forecast.

Example
-------
>>> import tempfile
>>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")  # an empty network: CoverageWarning
...     len(spof(db_url=url)), forecast(db_url=url, hours=[1])["nodes_out"].tolist()
(0, [0])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from resilience.api.state import load_graph, store_guard, warn_graph_coverage, warn_model_coverage
from resilience.settings import load_settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["forecast", "spof"]

#: The order of ``resilience spof``: largest blast radius first, ties by type and id.
_ORDER = (["subscribers_lost", "nodes_lost", "element_type", "id"], [False, False, True, True])


@store_guard
def spof(*, db_url: str | None = None, top: int | None = 50, srlg: bool = False) -> pd.DataFrame:
    """Blast radius of every node and link of the current state, largest first.

    Columns ``element_type, id, nodes_lost, subscribers_lost`` then ``name`` (a node's name, a
    link's ends' names) and for links ``a``, ``b``, ``a_name``, ``b_name``
    (:func:`resilience.analysis.names.element_names`); ``top=None`` gives all elements,
    otherwise the ``top`` single points of failure
    (:func:`resilience.analysis.single_points_of_failure`).

    ``srlg=True``: every shared-risk group that cuts anything instead, columns ``srlg``,
    ``links`` (its link ids), ``nodes_lost``, ``subscribers_lost``, ``hidden_nodes``,
    ``hidden_subscribers`` (its hidden part: the nodes it cuts that are not single-homed),
    largest first (``top`` groups unless ``None``).

    ``attrs`` of the frame: ``spofs_cutting_others`` and ``single_homed_sites`` (sites that
    hang on their own access link), over all single points of failure.

    Issues a :class:`resilience.analysis.coverage.CoverageWarning` when the network has no core
    or serves nothing (every blast radius is then 0).

    Example
    -------
    >>> import tempfile, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     spof(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db").attrs
    {'spofs_cutting_others': 0, 'single_homed_sites': 0}
    """
    import pandas as pd

    from resilience.analysis import (
        blast_radius,
        single_points_of_failure,
        srlg_blast_radius,
        to_csr,
    )
    from resilience.analysis.names import element_names

    G = load_graph(db_url=db_url)
    csr = to_csr(G)
    warn_model_coverage(csr)
    if srlg:
        df = srlg_blast_radius(G, csr=csr)
        df = df[df["nodes_lost"] > 0].head(top) if top is not None else df[df["nodes_lost"] > 0]
        links = csr.srlg_links
        df = df.assign(links=[[csr.links[i] for i in links[g]] for g in df["srlg"]])
        cols = ["srlg", "links", "nodes_lost", "subscribers_lost", "hidden_nodes", "hidden_subscribers"]
        return df[cols].reset_index(drop=True)
    spofs = single_points_of_failure(G, csr=csr)
    own_link = int(((spofs["element_type"] == "link") & (spofs["nodes_lost"] == 1)).sum())  # a site's own access link
    df = blast_radius(G, csr=csr) if top is None else spofs
    df = df.sort_values(_ORDER[0], ascending=_ORDER[1], kind="stable")
    df = (df if top is None else df.head(top)).reset_index(drop=True)
    names = pd.DataFrame(element_names(G, df["element_type"], df["id"]), index=df.index,
                         columns=["name", "a", "b", "a_name", "b_name"])
    out = pd.concat([df, names], axis=1)
    out.attrs.update(spofs_cutting_others=len(spofs) - own_link, single_homed_sites=own_link)
    return out


@store_guard
def forecast(*, db_url: str | None = None, hours: Iterable[float] | None = None) -> pd.DataFrame:
    """Nodes and subscribers out at each horizon if grid power is not restored (default
    horizons: settings ``forecast_hours``).

    Example
    -------
    >>> import tempfile, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     forecast(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db", hours=[3])["horizon_hours"].tolist()
    [3.0]
    """
    from resilience.analysis import battery_forecast

    G = load_graph(db_url=db_url)
    warn_graph_coverage(G)
    return battery_forecast(G, hours=tuple(hours) if hours else load_settings().forecast_hours)
