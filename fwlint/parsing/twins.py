"""Mutable twins of the model's frozen dataclasses, for the iptables-save fast path.

A frozen, slotted dataclass can only fill its slots through their descriptors, one call
each.  A twin is a plain class with the same slots: the fast path fills one by plain
attribute stores, then assigns ``__class__`` to make it the model class (the layout must
match exactly, which that assignment checks: each twin is tried once here, so a mismatch
is a TypeError at import).

This module stays pure Python when the build compiles fwlint.parsing.iptables with mypyc:
a class a compiled module defines becomes a native class, and ``__class__`` cannot be
assigned to or from one.  The twins are made with ``type()`` and ``exec``, so they are
ordinary classes wherever they are called from; keeping them here says so.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable


def maker(cls: type) -> type:
    """A constructor of ``cls`` values, positional and about twice as fast as ``cls(...)``
    (0.5 instead of 1.0 us for a Rule, measured): a twin whose ``__init__`` stores each
    field and then makes the object a ``cls``."""
    names = [f.name for f in fields(cls)]
    slots = getattr(cls, "__slots__")
    if tuple(names) != slots:
        raise TypeError(f"{cls.__name__}: slots differ from fields")
    namespace: dict[str, Any] = {"_cls": cls}
    exec(f"def __init__(self, {', '.join(names)}):\n"
         + "".join(f"    self.{name} = {name}\n" for name in names)
         + "    self.__class__ = _cls\n", namespace)
    twin = type(f"_{cls.__name__}Maker", (), {"__slots__": slots,
                                               "__init__": namespace["__init__"]})
    twin(*[None] * len(names))
    return twin


def bare(cls: type) -> type:
    """A class with the slots of ``cls`` and nothing else, for the commonest values of the
    fast path (a rule, the verdict of a jump), built in line: ``value = BareRule()``, one
    store per field, then ``value.__class__ = Rule``.  That saves the call of a maker
    twin's ``__init__``: 0.27 instead of 0.47 us for a Rule (timeit), 40 ms on 100,000
    rules."""
    slots = getattr(cls, "__slots__")
    twin = type(f"_{cls.__name__}Bare", (), {"__slots__": slots})
    probe = twin()
    for name in slots:
        setattr(probe, name, None)
    probe.__class__ = cls
    return twin


_MAKERS: dict[type, type] = {}
_RESPANNERS: dict[type, Callable[[Any, Any], Any]] = {}


def shared_maker(cls: type) -> type:
    """The maker of ``cls``, made once per process."""
    made = _MAKERS.get(cls)
    if made is None:
        made = _MAKERS[cls] = maker(cls)
    return made


def respanner(cls: type) -> Callable[[Any, Any], Any]:
    """A function that copies a model value of ``cls`` with another span (a Span or a
    packed one): ``dataclasses.replace`` goes through ``__init__`` by keyword and is several
    times slower.  Made on first use (each costs a compile at import otherwise)."""
    respan = _RESPANNERS.get(cls)
    if respan is None:
        args = ", ".join("span" if f.name == "span" else f"value.{f.name}"
                         for f in fields(cls))
        namespace: dict[str, Any] = {"_make": shared_maker(cls)}
        exec(f"def respan(value, span):\n    return _make({args})", namespace)
        respan = _RESPANNERS[cls] = namespace["respan"]
    return respan
