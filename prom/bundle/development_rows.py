"""Which rows a task was developed on, recorded without publishing them.

A bundle evaluated on the rows it was fitted on reports *apparent* performance, not
validation. To say so, ``prom fit`` records a digest of every development row's key in
the task's manifest entry (:class:`DevelopmentRows`, field ``development_rows``), and
``prom evaluate`` checks every evaluation row against it (:meth:`DevelopmentRows.match`).

The key of a row
----------------
- ``"id column"``: the value of an id column — the one the user named (``prom fit
  --id-column``), else the cohort contract's id column (``patient_id``) when the table
  has it and it is recorded in every labelled row;
- ``"row values"``: otherwise, the row's predictor and outcome values (the columns are
  listed in :attr:`DevelopmentRows.columns`). Rows with identical values share a key, and
  a row whose values were corrected since the fit no longer matches: this basis is a good
  guess, an id column is exact. :attr:`DevelopmentRows.note` says why it was used.

An id is exact only where ids are unique beyond one table: two sites that both number
their patients 1, 2, 3 … share ids, not patients. So with an id column a second set of
digests is kept over the id *with* the row's predictor and outcome values
(:attr:`DevelopmentRows.value_columns`): a row whose id and values match is a development
row; a row whose id matches but whose values do not is counted apart (``id_only``) — a
different patient under the same id, or a development patient whose values were
corrected since the fit, which the record cannot tell apart and the evaluation says.

Values are written canonically before hashing, so that the same table read twice gives
the same keys whatever types the reader inferred: a missing value is one marker (NaN,
None, ``pd.NA``), a value that reads as a number is its float64 (``12``, ``12.0`` and
``"12"`` are one value), anything else its text with surrounding blanks removed.

What is stored
--------------
Keyed BLAKE2b digests (:data:`DIGEST_BYTES` bytes each) of the keys, with a random
per-bundle key (``salt``), sorted and de-duplicated, as one base64 string: about 8
characters a row (310 rows ≈ 2.5 kB, 10,000 rows ≈ 80 kB), twice that with an id column
(the id alone, and the id with the values). The ids cannot be read back
from the bundle, and two bundles of the same patients share no digest. The salt has to
be in the bundle for evaluation to check a row, so whoever holds the bundle and a
patient's id can test whether that patient was a development row — which is what the
record is for; the bundle publishes no id. With 48-bit digests the chance that a new row
matches a development row by accident is about ``n_development / 2.8e14`` per row
(under 1 in 10⁸ for a million development rows).
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from prom.bundle.manifest.reader import BundleError, FieldReader
from prom.cohort.contract import COHORT_CONTRACT
from prom.errors import format_rows
from prom.naming import looks_like_id

__all__ = [
    "DIGEST_BYTES",
    "BASES",
    "DevelopmentRows",
    "RowMatch",
    "record_development_rows",
    "canonical_keys",
]

#: Bytes kept of every row's keyed digest (48 bits).
DIGEST_BYTES = 6
#: The two ways a row is keyed (see the module docstring).
BASES = ("id column", "row values")
#: The contract's id column (``patient_id``): used when the table has it.
CONTRACT_ID = next(c.name for c in COHORT_CONTRACT.by_role("id"))
_SEP = "\x1f"


class RowMatch(NamedTuple):
    """Rows of an evaluation table checked against a development record.

    ``development``: the row's key is a development row's; ``unknown``: the row has no key
    (its id is missing). ``reason``: why no row could be checked (then both are all False).
    ``id_only``: the row's id is a development row's but its values are not (None when
    values were not compared); ``values_reason``: why they were not, where they could
    have been.
    """

    development: np.ndarray
    unknown: np.ndarray
    reason: str | None = None
    id_only: np.ndarray | None = None
    values_reason: str | None = None


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _floats(values: np.ndarray) -> np.ndarray:
    """Every value as a float, NaN where it is not a number. Python's ``float`` parses
    text exactly as the CSV reader does (correctly rounded); ``pd.to_numeric`` may differ
    in the last bit."""
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        return np.fromiter((_float(v) for v in values), dtype=float, count=len(values))


def _column_parts(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A column as ``(numbers, codes, texts)``: code 0 a value that reads as a number (its
    float in ``numbers``), 1 a missing value, 2 anything else (its text with blanks
    stripped in ``texts``; None when the column has no such value). Numeric and text
    columns holding the same values give the same parts."""
    missing = values.isna().to_numpy()
    texts = None
    if pd.api.types.is_numeric_dtype(values.dtype) and not isinstance(
        values.dtype, pd.CategoricalDtype
    ):
        nums = values.astype(float).to_numpy()
        codes = missing.astype(np.uint8)
    else:
        obj = values.astype(object)
        nums = _floats(obj.to_numpy())
        rest = ~missing & np.isnan(nums)
        codes = np.where(missing, 1, np.where(rest, 2, 0)).astype(np.uint8)
        if rest.any():
            texts = np.full(len(values), "", dtype=object)
            texts[rest] = obj[rest].astype(str).str.strip().to_numpy()
    nums = np.where(codes == 0, nums, 0.0) + 0.0  # -0.0 is 0.0; no number: 0
    return nums, codes, texts


def canonical_keys(frame: pd.DataFrame, columns: Sequence[str]) -> list[bytes]:
    """The key of every row of ``frame`` made of ``columns`` (see the module docstring):
    the float64 bytes of its numbers, a code byte per value (number, missing, text), then
    each text value tagged with its column's position."""
    n = len(frame)
    if not columns:
        return [b""] * n
    parts = [_column_parts(frame[c]) for c in columns]
    k = len(columns)
    numbers = np.ascontiguousarray(np.column_stack([p[0] for p in parts]), dtype="<f8")
    codes = np.ascontiguousarray(np.column_stack([p[1] for p in parts]), dtype=np.uint8)
    fixed = np.concatenate([numbers.view(np.uint8), codes], axis=1)
    void = np.ascontiguousarray(fixed).view(np.dtype((np.void, 9 * k))).ravel()
    rows: list[bytes] = [bytes(r) for r in void.tolist()]
    tagged = [
        [f"{j}={t}{_SEP}" if t else "" for t in p[2].tolist()]
        for j, p in enumerate(parts)
        if p[2] is not None
    ]
    if not tagged:
        return rows
    texts = ["".join(t) for t in zip(*tagged, strict=True)]
    return [r + t.encode("utf-8") for r, t in zip(rows, texts, strict=True)]


def _digests(keys: Sequence[bytes], salt: bytes) -> list[bytes]:
    blake2b = hashlib.blake2b
    return [blake2b(k, key=salt, digest_size=DIGEST_BYTES).digest() for k in keys]


def _encoded(digests: Sequence[bytes]) -> str:
    return base64.b64encode(b"".join(sorted(set(digests)))).decode("ascii")


def _decoded(text: str) -> set[bytes]:
    raw = base64.b64decode(text)
    return {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}


def _key_frame(data: pd.DataFrame, X: pd.DataFrame | None) -> pd.DataFrame:
    """The rows' key values: ``data`` with the predictors as the bundle reads them
    (``X``, a derived one included) in place of the table's own columns."""
    return data if X is None else data.drop(columns=list(X.columns), errors="ignore").join(X)


@dataclass(frozen=True)
class DevelopmentRows:
    """The keyed digests of a task's development rows (see the module docstring).

    ``basis``: ``"id column"`` or ``"row values"``; ``columns``: the id column, or the
    predictor and outcome columns whose values make the key; ``n_rows``: development rows
    (labelled rows of the fit, plus rows the models were recalibrated on since:
    :meth:`adding`); ``salt``: the per-bundle hash key (hex); ``digests``:
    base64 of the sorted distinct digests; ``note``: why this basis was used.
    ``value_columns``, ``value_digests``: with an id column, the predictor and outcome
    columns and the digests of each row's id with their values (see the module
    docstring; empty in bundles written before them, whose ids are matched alone).
    """

    basis: str
    columns: tuple[str, ...]
    n_rows: int
    salt: str
    digests: str
    note: str = ""
    value_columns: tuple[str, ...] = ()
    value_digests: str = ""

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"development rows: basis {self.basis!r}; expected one of {BASES}")

    @property
    def n_distinct(self) -> int:
        """Distinct keys among the development rows."""
        return len(base64.b64decode(self.digests)) // DIGEST_BYTES

    def describe(self, values: bool = True) -> str:
        """How rows are matched, for a person: ``by id column 'patient_id'``; ``values=False``
        when a match could not compare the row's values (:attr:`RowMatch.values_reason`)."""
        if self.basis == "id column":
            if self.value_digests and not values:
                return f"matched by id column {self.columns[0]!r} alone"
            also = " and the row's values" if self.value_digests else ""
            return f"matched by id column {self.columns[0]!r}{also}"
        return "matched by the values of the predictors and the outcome"

    def _set(self) -> set[bytes]:
        return _decoded(self.digests)

    def match(self, data: pd.DataFrame, X: pd.DataFrame | None = None) -> RowMatch:
        """Which rows of ``data`` were development rows.

        ``X``: the task's predictors for those rows as the bundle reads them
        (:meth:`prom.bundle.TaskEntry.rows`), without the predictors the table lacked;
        with the ``"row values"`` basis the predictor values are taken from it (a derived
        predictor included), the outcome values from ``data``. A key column that is in
        neither means no row can be checked (``reason``).
        """
        n = len(data)
        none = np.zeros(n, dtype=bool)
        frame = _key_frame(data, X)
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            what = "id column" if self.basis == "id column" else "column(s)"
            return RowMatch(
                none,
                none,
                f"the table has no {what} {', '.join(map(repr, absent))}, by which the bundle "
                "records its development rows",
            )
        if self.basis == "id column":
            ids = frame[self.columns[0]]
            unknown = ids.isna().to_numpy()
        else:
            unknown = none
        keys = canonical_keys(frame, self.columns)
        known = self._set()
        salt = bytes.fromhex(self.salt)
        dev = (
            np.fromiter((d in known for d in _digests(keys, salt)), dtype=bool, count=n) & ~unknown
        )
        if not self.value_digests:
            return RowMatch(dev, unknown)
        lacking = [c for c in self.value_columns if c not in frame.columns]
        if lacking:
            why = (
                f"values not compared: the table has no {', '.join(map(repr, lacking))}; "
                "a row sharing a development row's id is counted as that row"
            )
            return RowMatch(dev, unknown, values_reason=why)
        both = _digests(canonical_keys(frame, self.columns + self.value_columns), salt)
        valued = _decoded(self.value_digests)
        same = np.fromiter((d in valued for d in both), dtype=bool, count=n)
        return RowMatch(dev & same, unknown, id_only=dev & ~same)

    def adding(
        self, data: pd.DataFrame, X: pd.DataFrame | None, what: str
    ) -> tuple[DevelopmentRows | None, str]:
        """This record with the rows of ``data`` added (same key, basis and columns), and
        a sentence saying what was added — e.g. the rows a bundle was recalibrated on,
        whose calibration figures are then apparent too. ``X`` as for :meth:`match`.

        Rows without a key (a missing id) cannot be added; the sentence counts them. A
        table without the key columns adds nothing: the record is then ``None`` and the
        sentence says why.
        """
        frame = _key_frame(data, X)
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            return None, (
                f"the {len(data):,} rows {what} are not recorded: the table has no "
                f"{', '.join(map(repr, absent))}, by which the bundle records its rows"
            )
        keep = (
            frame[self.columns[0]].notna().to_numpy()
            if self.basis == "id column"
            else np.ones(len(frame), dtype=bool)
        )
        salt = bytes.fromhex(self.salt)
        keys = canonical_keys(frame.loc[keep], self.columns)
        new = self._set() | set(_digests(keys, salt))
        added = f"{int(keep.sum()):,} rows {what}"
        if not keep.all():
            added += f" ({int((~keep).sum()):,} more without an id, not recorded)"
        note = f"{self.note}; plus {added}" if self.note else f"plus {added}"
        value_columns, value_digests = self.value_columns, self.value_digests
        if value_digests:
            lacking = [c for c in value_columns if c not in frame.columns]
            if lacking:  # ids alone from here on: an added id must match whatever its values
                value_columns, value_digests = (), ""
                note += (
                    f" (without {', '.join(map(repr, lacking))}: ids are matched alone from "
                    "here on)"
                )
            else:
                both = canonical_keys(frame.loc[keep], self.columns + value_columns)
                value_digests = _encoded([*_decoded(value_digests), *_digests(both, salt)])
        record = DevelopmentRows(
            basis=self.basis,
            columns=self.columns,
            n_rows=self.n_rows + int(keep.sum()),
            salt=self.salt,
            digests=_encoded(list(new)),
            note=note,
            value_columns=value_columns,
            value_digests=value_digests,
        )
        return record, f"recorded as development rows: {added}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "basis": self.basis,
            "columns": list(self.columns),
            "n_rows": self.n_rows,
            "hash": f"blake2b-{DIGEST_BYTES * 8}, keyed",
            "salt": self.salt,
            "digests": self.digests,
        }
        if self.note:
            d["note"] = self.note
        if self.value_digests:
            d["value_columns"] = list(self.value_columns)
            d["value_digests"] = self.value_digests
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> DevelopmentRows:
        r = FieldReader(d, f"{where}: development_rows")
        basis = r.text("basis")
        columns = r.req("columns")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise BundleError(f"{r.where}: field 'columns' must be a list of column names")
        scheme = r.text("hash")
        if scheme != f"blake2b-{DIGEST_BYTES * 8}, keyed":
            raise BundleError(
                f"{r.where}: hash {scheme!r}; this version reads 'blake2b-{DIGEST_BYTES * 8}, keyed'"
            )
        salt, digests = r.text("salt"), r.text("digests")
        value_columns = r.opt("value_columns") or []
        if not isinstance(value_columns, list) or not all(
            isinstance(c, str) for c in value_columns
        ):
            raise BundleError(f"{r.where}: field 'value_columns' must be a list of column names")
        value_digests = r.text("value_digests", required=False) or ""
        if bool(value_columns) != bool(value_digests) or (value_digests and basis != "id column"):
            raise BundleError(
                f"{r.where}: 'value_columns' and 'value_digests' come together, with basis "
                "'id column' only"
            )
        try:
            bytes.fromhex(salt)
            raws = [base64.b64decode(x, validate=True) for x in (digests, value_digests)]
        except ValueError:
            raise BundleError(f"{r.where}: 'salt' or 'digests' is not valid hex/base64") from None
        if any(len(raw) % DIGEST_BYTES for raw in raws):
            raise BundleError(f"{r.where}: 'digests' is not a whole number of digests")
        if basis not in BASES:
            raise BundleError(f"{r.where}: basis {basis!r}; expected one of {', '.join(BASES)}")
        out = cls(
            basis=basis,
            columns=tuple(columns),
            n_rows=r.integer("n_rows"),
            salt=salt,
            digests=digests,
            note=r.text("note", required=False) or "",
            value_columns=tuple(value_columns),
            value_digests=value_digests,
        )
        r.done()
        return out


def record_development_rows(
    data: pd.DataFrame,
    X: pd.DataFrame,
    outcome_columns: Sequence[str],
    *,
    id_column: str | None = None,
    salt: bytes | None = None,
) -> DevelopmentRows:
    """The development record of a fit on the rows ``X.index`` of ``data``.

    ``X``: the fit's predictors on its labelled rows; ``outcome_columns``: the columns the
    label is read from; ``id_column``: the user's id column (default: the contract's
    ``patient_id`` when present and recorded in every labelled row, else the row's values);
    ``salt``: the hash key (default: 16 random bytes).

    Raises
    ------
    ValueError  ``id_column`` is not in ``data``, is a predictor, or is missing in a
                labelled row
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    rows = data.loc[X.index]
    note = ""
    basis: str | None = None
    columns: tuple[str, ...] = ()
    if id_column is not None:
        if id_column not in data.columns:
            raise ValueError(
                f"--id-column {id_column!r} is not a column of the table; expected one of its "
                f"columns (e.g. {', '.join(map(repr, list(data.columns)[:5]))})"
            )
        if id_column in X.columns:
            raise ValueError(
                f"--id-column {id_column!r} is also a predictor of the fit; an id does not "
                "predict an outcome: remove it from --predictors"
            )
        gone = np.flatnonzero(rows[id_column].isna().to_numpy())
        if gone.size:
            raise ValueError(
                f"--id-column {id_column!r} is missing in {gone.size:,} labelled row(s) "
                f"({format_rows(X.index[gone])}); expected an id in every row"
            )
        basis, columns = "id column", (id_column,)
        note = "given with --id-column"
    elif CONTRACT_ID in data.columns and not rows[CONTRACT_ID].isna().any():
        basis, columns = "id column", (CONTRACT_ID,)
        note = "the cohort contract's id column"
    values = tuple(X.columns) + tuple(c for c in outcome_columns if c not in X.columns)
    if basis is None:
        basis, columns = "row values", values
        if CONTRACT_ID in data.columns:
            k = int(rows[CONTRACT_ID].isna().sum())
            note = (
                f"{CONTRACT_ID!r} is missing in {k:,} labelled row(s) and no --id-column was given"
            )
        else:
            note = f"the table has no {CONTRACT_ID!r} column and no --id-column was given"
            alike = [c for c in data.columns if looks_like_id(str(c)) and c not in X.columns]
            if alike:
                note += f"; {alike[0]!r} looks like an id: --id-column {alike[0]!r}"
    frame = _key_frame(rows, X)
    value_columns: tuple[str, ...] = ()
    value_digests = ""
    if basis == "id column":
        value_columns = tuple(c for c in values if c != columns[0])
        both = canonical_keys(frame, columns + value_columns)
        value_digests = _encoded(_digests(both, salt))
    return DevelopmentRows(
        basis=basis,
        columns=columns,
        n_rows=len(X),
        salt=salt.hex(),
        digests=_encoded(_digests(canonical_keys(frame, columns), salt)),
        note=note,
        value_columns=value_columns,
        value_digests=value_digests,
    )
