"""A JSON layout for dataclasses: :func:`to_json` writes one, :func:`read` reads it back.

A dataclass is an object whose keys are its field names in field order, with two exceptions
marked in a field's metadata:

* :data:`INLINE` - the (dataclass) value's keys are written in the field's place, not under
  its name (nothing when the value is None);
* :data:`OPTIONAL` - the key is left out when the value is None.

:func:`read` checks every value against the field's annotation (``int``, ``float`` (an int
is accepted), ``str``, ``bool``, ``Any``, ``Optional``, ``list[...]``, ``dict[str, ...]``,
dataclasses, ``Union[int, float]``) and raises
:class:`~razor_neuro.export.report.schema.ReportError` naming the first missing, mistyped or
unknown field by its path (``layers[1].synops``).
"""
from __future__ import annotations

import math
import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any, Union

from razor_neuro.export.report.schema import ReportError

__all__ = ["INLINE", "OPTIONAL", "finite", "read", "to_json"]

#: field metadata: write the value's keys in place of the field
INLINE = {"inline": True}
#: field metadata: leave the key out when the value is None
OPTIONAL = {"optional": True}


def to_json(value: Any) -> Any:
    """A dataclass (nested: lists, dicts) as plain JSON values in the layout above."""
    if is_dataclass(value):
        out: dict[str, Any] = {}
        for f in fields(value):
            v = getattr(value, f.name)
            if f.metadata.get("inline"):
                out.update(to_json(v) if v is not None else {})
            elif v is not None or not f.metadata.get("optional"):
                out[f.name] = to_json(v)
        return out
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def finite(value: Any) -> Any:
    """JSON values with NaN and infinities as None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def _where(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


def _read(tp: Any, value: Any, path: str) -> Any:
    """``value`` (parsed JSON) as type ``tp``; :class:`ReportError` naming ``path``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        if set(rest) == {int, float}:
            tp, origin = float, None
        else:
            return _read(rest[0], value, path)
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise ReportError(f"{path or 'report'}: expected an object, got {value!r:.40}")
        obj, used = _read_fields(tp, value, path)
        unknown = [k for k in value if k not in used]
        if unknown:
            raise ReportError(f"{_where(path, unknown[0])}: unknown field")
        return obj
    if origin is list:
        if not isinstance(value, list):
            raise ReportError(f"{path}: expected a list, got {value!r:.40}")
        return [_read(args[0], v, _where(path, i)) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ReportError(f"{path}: expected an object, got {value!r:.40}")
        return {k: _read(args[1], v, _where(path, k)) for k, v in value.items()}
    ok = {int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str), bool: lambda v: isinstance(v, bool)}[tp]
    if not ok(value):
        name = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
        raise ReportError(f"{path}: expected {name[tp]}, got {value!r:.40}")
    return value


def _read_fields(cls: type, data: dict[str, Any], path: str) -> tuple[Any, set[str]]:
    """``cls`` from the keys of ``data`` (inline fields from the same object); returns the
    object and the keys it used."""
    hints = typing.get_type_hints(cls)
    kw: dict[str, Any] = {}
    used: set[str] = set()
    for f in fields(cls):
        tp = hints[f.name]
        if f.metadata.get("inline"):
            inner = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
            if tp is not inner[0] and not any(g.name in data for g in fields(inner[0])):
                kw[f.name] = None  # an optional inline block that is absent
                continue
            kw[f.name], keys = _read_fields(inner[0], data, path)
            used |= keys
        elif f.name in data:
            kw[f.name] = _read(tp, data[f.name], _where(path, f.name))
            used.add(f.name)
        elif f.metadata.get("optional"):
            kw[f.name] = None
        else:
            raise ReportError(f"{_where(path, f.name)}: missing")
    return cls(**kw), used


def read(cls: type, data: Any) -> Any:
    """An instance of the dataclass ``cls`` from JSON values in the layout above."""
    return _read(cls, data, "")
