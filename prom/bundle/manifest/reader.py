"""Reading one JSON object of a manifest field by field, naming where a field is missing,
of the wrong kind, or not known (the manifest's typed classes are built with it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prom.errors import PromError

__all__ = ["BundleError", "Records", "FieldReader", "records", "records_by_model", "rows"]

#: A stored table: one mapping of plain values per row (as ``DataFrame.to_dict("records")``).
Records = tuple[Mapping[str, Any], ...]


class BundleError(PromError, ValueError):
    """A bundle is missing, malformed, tampered with, or holds something it may not."""


class FieldReader:
    """Reads one JSON object's fields, naming where a field is missing or of the wrong kind."""

    def __init__(self, d: Any, where: str):
        if not isinstance(d, Mapping):
            raise BundleError(f"{where}: expected a JSON object, found {type(d).__name__}")
        self.d, self.where = d, where
        self.seen: set[str] = set()

    def _get(self, key: str, required: bool) -> Any:
        self.seen.add(key)
        if key not in self.d:
            if required:
                raise BundleError(f"{self.where}: field {key!r} is missing")
            return None
        return self.d[key]

    def req(self, key: str) -> Any:
        return self._get(key, True)

    def opt(self, key: str) -> Any:
        return self._get(key, False)

    def has(self, key: str) -> bool:
        return key in self.d

    def text(self, key: str, required: bool = True) -> Any:
        v = self._get(key, required)
        if v is not None and not isinstance(v, str):
            raise BundleError(f"{self.where}: field {key!r} must be text; found {v!r}")
        return v

    def integer(self, key: str, required: bool = True) -> Any:
        v = self._get(key, required)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise BundleError(f"{self.where}: field {key!r} must be an integer; found {v!r}")
        return v

    def mapping(self, key: str, required: bool = True) -> Mapping[str, Any]:
        v = self._get(key, required)
        if v is None and not required:
            return {}
        if not isinstance(v, Mapping):
            raise BundleError(f"{self.where}: field {key!r} must be a JSON object; found {v!r}")
        return v

    def records(self, key: str, required: bool = True) -> Records | None:
        v = self._get(key, required)
        if v is None:
            return None
        return records(v, f"{self.where}: field {key!r}")

    def typed(self, key: str, parse: Callable[[Any], Any]) -> Any:
        """An optional field read by ``parse`` (None when absent); an error ``parse``
        raises (ValueError, KeyError, TypeError) becomes a BundleError naming the field."""
        v = self._get(key, False)
        try:
            return None if v is None else parse(v)
        except (ValueError, KeyError, TypeError) as e:
            raise BundleError(f"{self.where}: field {key!r}: {e}") from None

    def done(self) -> None:
        unknown = sorted(set(self.d) - self.seen)
        if unknown:
            raise BundleError(
                f"{self.where}: unknown field(s) {', '.join(map(repr, unknown))}; this "
                "manifest was not written by this version of prom"
            )


def records(v: Any, where: str) -> Records:
    if not isinstance(v, list) or not all(isinstance(r, Mapping) for r in v):
        raise BundleError(f"{where} must be a list of JSON objects (a table)")
    return tuple(dict(r) for r in v)


def records_by_model(v: Mapping[str, Any], where: str) -> dict[str, Records]:
    return {k: records(rows, f"{where}[{k!r}]") for k, rows in v.items()}


def rows(records: Records) -> list[dict[str, Any]]:
    return [dict(r) for r in records]
