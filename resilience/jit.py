"""Compiled kernels that load numba on their first call, not at import.

``@njit(cache=True)`` of this module is numba's decorator, made lazy: importing a module of
kernels costs nothing, and a one-shot command on a small network, whose searches run the
kernels' Python form (``kernel.py_func``, below ``resilience.analysis.traversal.SMALL_GRAPH``),
never loads numba and llvmlite (a few tenths of a second). The first call of any lazy kernel
imports numba and turns every lazy kernel loaded so far into numba's dispatcher, with the
options it was declared with, and rebinds the module globals that name a lazy kernel (the
kernel's own module, and every loaded module of its package) to that dispatcher *before*
anything compiles: a kernel calls another kernel by its global name, also across modules, and
in nopython mode that name must be numba's dispatcher. After that first call the kernels are
numba's own objects, as fast as if decorated at import.

Example
-------
>>> @njit(cache=False)
... def _twice(x):
...     return 2 * x
>>> _twice.py_func(21)  # the Python form: numba is not loaded for this
42
>>> isinstance(_twice, LazyKernel)
True
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["njit", "LazyKernel", "compile_all"]

_LOCK = threading.RLock()
#: Every lazy kernel declared so far, materialised or not.
_KERNELS: list[LazyKernel] = []


class LazyKernel:
    """A function to compile with numba's ``njit(**options)`` on its first call.

    ``py_func`` is the Python function (no numba). Calling the kernel, or reading any
    attribute of numba's dispatcher (``signatures``, ``inspect_types``, ...), compiles it: see
    :func:`compile_all`.

    Parameters
    ----------
    py_func : callable
        The kernel's Python source.
    options : dict
        ``numba.njit`` options (``cache``, ``inline``, ``parallel``, ...), passed unchanged.

    Example
    -------
    >>> k = LazyKernel(lambda x: x + 1, {"cache": False})
    >>> k.py_func(1), k.options
    (2, {'cache': False})
    """

    def __init__(self, py_func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = py_func
        self.options = dict(options)
        self.dispatcher: Any = None
        functools.update_wrapper(self, py_func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        dispatcher = self.dispatcher
        return (self.compiled() if dispatcher is None else dispatcher)(*args, **kwargs)

    def compiled(self) -> Any:
        """numba's dispatcher of this kernel (all lazy kernels are materialised on the way)."""
        if self.dispatcher is None:
            compile_all()
        return self.dispatcher

    def __getattr__(self, name: str) -> Any:  # only for what the instance lacks
        if name.startswith("_") or name in ("py_func", "options", "dispatcher"):
            raise AttributeError(name)  # private probes (numba's typeof, copy, ...) load nothing
        return getattr(self.compiled(), name)

    def __reduce__(self) -> tuple:  # pickled by name, like a function
        return (_by_name, (self.__module__, self.__qualname__))

    def __repr__(self) -> str:
        state = "compiled" if self.dispatcher is not None else "not loaded"
        return f"<lazy numba kernel {self.__module__}.{self.__qualname__} ({state})>"


def _by_name(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def njit(*args: Any, **options: Any) -> Any:
    """numba's ``njit``, loaded on the kernel's first call (same options, e.g. ``cache=True``).

    Use as ``@njit``, ``@njit()`` or ``@njit(cache=True, ...)``. Keyword options only: an
    eager signature would need numba at import.

    Parameters
    ----------
    **options
        Passed to ``numba.njit`` unchanged when the kernel is compiled.

    Returns
    -------
    LazyKernel, or a decorator making one

    Example
    -------
    >>> @njit(cache=False)
    ... def _inc(x):
    ...     return x + 1
    >>> _inc.py_func(1)
    2
    """
    if args:
        if len(args) == 1 and callable(args[0]) and not options:
            return _declare(args[0], {})
        raise TypeError("resilience.jit.njit takes keyword options only")
    return lambda func: _declare(func, options)


def _declare(func: Callable[..., Any], options: dict[str, Any]) -> LazyKernel:
    kernel = LazyKernel(func, options)
    with _LOCK:
        _KERNELS.append(kernel)
    return kernel


def compile_all() -> None:
    """Load numba and turn every lazy kernel declared so far into numba's dispatcher.

    The globals naming a lazy kernel are rebound to its dispatcher in each kernel's module and
    in every loaded module of the kernels' top packages, so that kernels calling kernels
    compile in nopython mode. Compiling itself stays lazy (numba's, per signature, on the
    dispatcher's first call); a no-op when nothing is pending.

    Example
    -------
    >>> @njit(cache=False)
    ... def _add(x, y):
    ...     return x + y
    >>> compile_all()  # loads numba; the global ``_add`` is numba's dispatcher now
    >>> _add(1, 2), type(_add).__name__
    (3, 'CPUDispatcher')
    """
    with _LOCK:
        pending = [k for k in _KERNELS if k.dispatcher is None]
        if not pending:
            return
        import numba
        from numba.core.compiler_lock import global_compiler_lock

        # numba's compiler lock: no other thread compiles a kernel before its callees are bound
        with global_compiler_lock:
            for k in pending:
                k.dispatcher = numba.njit(**k.options)(k.py_func)
            namespaces = {id(k.py_func.__globals__): k.py_func.__globals__ for k in _KERNELS}
            packages = {(k.__module__ or "").partition(".")[0] for k in _KERNELS} - {""}
            for name, module in list(sys.modules.items()):
                if name.partition(".")[0] in packages:
                    ns = getattr(module, "__dict__", None)
                    if isinstance(ns, dict):
                        namespaces[id(ns)] = ns
            for ns in namespaces.values():
                for key, value in list(ns.items()):
                    if isinstance(value, LazyKernel) and value.dispatcher is not None:
                        ns[key] = value.dispatcher
