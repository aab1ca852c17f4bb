"""The lazy numba decorator (:mod:`resilience.jit`): kernels load numba on their first call,
and a kernel calling another kernel by its global name still compiles in nopython mode, also
across modules (issue 16)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from resilience.analysis.traversal import bfs_into
from resilience.jit import LazyKernel, compile_all, njit


@njit(cache=False)
def _inner(x):  # pragma: no cover - compiled
    return x * 2 + 1


@njit(cache=False)
def _outer(n):  # pragma: no cover - compiled
    s = 0
    for i in range(n):
        s += _inner(i)  # a kernel calling a kernel: must be numba's dispatcher when compiled
    return s


@njit(cache=False)
def _reach(indptr, nbr, eid, ok):  # pragma: no cover - compiled
    # a kernel of this module calling one of resilience.analysis (across modules)
    n = indptr.shape[0] - 1
    seen = np.zeros(n, np.bool_)
    bfs_into(indptr, nbr, eid, ok, np.ones(eid.max() + 1, np.bool_), np.zeros(1, np.int64), seen,
             np.empty(n, np.int64))
    return seen.sum()


def test_the_decorator_returns_a_lazy_kernel_with_its_python_function():
    @njit(cache=True, inline="always")
    def f(x):
        return x + 1

    assert isinstance(f, LazyKernel)
    assert f.py_func(1) == 2 and f.__name__ == "f" and f.options == {"cache": True, "inline": "always"}
    with pytest.raises(TypeError, match="keyword options only"):
        njit("int64(int64)")


def test_a_kernel_calling_a_kernel_compiles_in_nopython_mode():
    numba = pytest.importorskip("numba")
    assert _outer(4) == sum(2 * i + 1 for i in range(4)) == _outer.py_func(4)
    # the module's globals are numba's dispatchers now: the caller compiled against them
    assert isinstance(globals()["_inner"], numba.core.registry.CPUDispatcher)
    assert isinstance(globals()["_outer"], numba.core.registry.CPUDispatcher)
    assert globals()["_outer"].nopython_signatures  # compiled, in nopython mode


def test_a_kernel_calling_a_kernel_of_another_module():
    numba = pytest.importorskip("numba")
    indptr, nbr, eid = np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1]), np.array([0, 0, 1, 1])
    ok = np.ones(3, np.bool_)
    assert globals()["_reach"](indptr, nbr, eid, ok) == 3
    from resilience.analysis import _kernels, traversal

    assert isinstance(traversal.bfs_into, numba.core.registry.CPUDispatcher)
    assert traversal.bfs_into is _kernels.bfs_into


def test_a_reference_kept_to_the_lazy_kernel_still_works_after_compiling():
    @njit(cache=False)
    def g(x):  # pragma: no cover - compiled
        return x - 1

    compile_all()
    assert g(3) == 2 and g.dispatcher is not None and g.signatures  # numba's attribute
    assert pickle.loads(pickle.dumps(_inner)) is globals()["_inner"]
