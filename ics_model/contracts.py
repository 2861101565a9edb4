"""Frame contracts: one declared contract per frame that crosses a stage boundary.

A :class:`Contract` names the columns (dtype, nullability, allowed values or
pattern) and the key. :func:`validate` checks a frame against it and reports
**every** violation at once -- row number, column, value, problem -- either by
raising one :class:`DataContractError` (strict mode) or by moving the offending
rows to a quarantine frame with a reason (lenient mode). Nothing is dropped
silently.

Row numbers: when the frame carries a ``source_row`` column (the row number in
the file it was read from, header = row 1), violations cite it; otherwise they
cite the 0-based frame index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from ics_model.inputs import MAX_ECHO, InputError, clip, echo

Mode = Literal["strict", "lenient"]

VIOLATION_SCHEMA = {
    "contract": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "problem": pl.String,
}


@dataclass(frozen=True)
class Column:
    """One column of a contract.

    Parameters
    ----------
    name : column name (snake_case).
    dtype : the polars dtype the column must have (Enum categories must match).
    nullable : whether nulls are allowed.
    allowed : optional set of allowed values (checked on non-null values).
    pattern : optional regular expression every non-null string value must match in full.
    min_value, max_value : optional inclusive numeric bounds.
    required : a missing optional column is not a violation.
    finite : a float column must hold finite numbers: NaN and infinity are reported as
        such (a source column read from text); off by default, since derived columns
        may hold an infinite bound (an odds ratio's upper limit).
    """

    name: str
    dtype: pl.DataType | type[pl.DataType]
    nullable: bool = True
    allowed: frozenset[str] | None = None
    pattern: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    required: bool = True
    description: str = ""
    finite: bool = False

    @classmethod
    def text(
        cls,
        name: str,
        description: str,
        *,
        nullable: bool = False,
        pattern: str | None = None,
        allowed: frozenset[str] | None = None,
    ) -> Column:
        """Return a String column, non-nullable unless ``nullable``."""
        return cls(
            name,
            pl.String,
            nullable=nullable,
            allowed=allowed,
            pattern=pattern,
            description=description,
        )

    @classmethod
    def icb_code(cls, pattern: str, description: str = "ICB ODS code") -> Column:
        """Return the non-nullable ``icb_code`` column, its values matching ``pattern``."""
        return cls.text("icb_code", description, pattern=pattern)

    @classmethod
    def icb_name(cls, *, nullable: bool = True, description: str = "ICB name") -> Column:
        """Return the ``icb_name`` column, nullable unless told otherwise."""
        return cls.text("icb_name", description, nullable=nullable)

    @classmethod
    def count(cls, name: str, description: str, *, min_value: int = 0) -> Column:
        """Return a non-nullable Int64 count column of at least ``min_value``."""
        return cls(name, pl.Int64, nullable=False, min_value=min_value, description=description)

    @classmethod
    def number(
        cls,
        name: str,
        description: str,
        *,
        nullable: bool = True,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> Column:
        """Return a Float64 column, nullable unless told otherwise, with optional bounds."""
        return cls(
            name,
            pl.Float64,
            nullable=nullable,
            min_value=min_value,
            max_value=max_value,
            description=description,
        )

    @classmethod
    def flag(cls, name: str, description: str) -> Column:
        """Return a non-nullable Boolean column."""
        return cls(name, pl.Boolean, nullable=False, description=description)

    @classmethod
    def share(
        cls, name: str, description: str, *, nullable: bool = True, max_value: float = 1.0
    ) -> Column:
        """Return a Float64 share (or probability) column in [0, ``max_value``]."""
        return cls.number(name, description, nullable=nullable, min_value=0.0, max_value=max_value)


@dataclass(frozen=True)
class Contract:
    """A declared frame contract: columns and key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    extra_columns: bool = True  # whether undeclared columns are allowed
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    @classmethod
    def closed(
        cls,
        name: str,
        columns: tuple[Column, ...],
        *,
        key: tuple[str, ...] = (),
        description: str = "",
    ) -> Contract:
        """Return a contract that allows no undeclared column (an output frame's)."""
        return cls(name, columns, key, description, extra_columns=False)

    def __post_init__(self) -> None:
        """Index the columns by name."""
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        """Return the declared column names, in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """Return the declared column called ``name`` (``KeyError`` if none)."""
        return self._by_name[name]

    @property
    def schema(self) -> dict[str, pl.DataType | type[pl.DataType]]:
        """Return the declared columns' dtypes by name, in order."""
        return {c.name: c.dtype for c in self.columns}

    def empty(self) -> pl.DataFrame:
        """Return an empty frame with this contract's schema."""
        return pl.DataFrame(schema=self.schema)

    def describe(self) -> pl.DataFrame:
        """Return the contract as a frame (for documentation and the metric catalogue)."""
        return pl.DataFrame(
            {
                "column": [c.name for c in self.columns],
                "dtype": [str(c.dtype) for c in self.columns],
                "nullable": [c.nullable for c in self.columns],
                "key": [c.name in self.key for c in self.columns],
                "allowed": [
                    ", ".join(sorted(c.allowed)) if c.allowed else None for c in self.columns
                ],
                "description": [c.description for c in self.columns],
            }
        )


class DataContractError(InputError, ValueError):
    """A frame broke its contract; ``violations`` lists every violation found.

    The message shows the first violations (row, column, value, problem) and
    the total count; the full list is in :attr:`violations` (a polars frame).
    """

    def __init__(self, contract: str, violations: pl.DataFrame, source: str | None = None):
        self.contract = contract
        self.violations = violations
        self.source = source
        n = violations.height
        where = f" in {source}" if source else ""
        what = f"contract '{contract}'" if contract != source else "the data contract"
        lines = [f"{n} violation(s) of {what}{where}:"]
        for r in violations.head(20).iter_rows(named=True):
            column, problem = echo(r["column"], 2 * MAX_ECHO), clip(r["problem"], 2 * MAX_ECHO)
            if r["row"] is None:
                lines.append(f"  column {column}: {problem}")
            else:
                lines.append(
                    f"  row {r['row']}, column {column}, value {echo(r['value'])}: {problem}"
                )
        if n > 20:
            lines.append(f"  ... and {n - 20} more (see .violations)")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Validated:
    """Result of :func:`validate`: the valid rows and the quarantined ones."""

    frame: pl.DataFrame
    quarantine: pl.DataFrame
    violations: pl.DataFrame


def _dtype_matches(actual: pl.DataType, expected: pl.DataType | type[pl.DataType]) -> bool:
    if isinstance(expected, pl.Enum):
        return isinstance(actual, pl.Enum) and list(actual.categories) == list(expected.categories)
    if isinstance(expected, type):
        return actual.base_type() == expected
    return actual == expected


def _row_numbers(frame: pl.DataFrame) -> pl.Series:
    if "source_row" in frame.columns:
        return frame["source_row"].cast(pl.Int64)
    return pl.Series("row", range(frame.height), dtype=pl.Int64)


def find_violations(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Every violation of ``contract`` in ``frame``, one row each.

    Columns: contract, row (null for whole-column problems), column, value, problem.
    A helper column ``_index`` (0-based frame index) is included for row-level
    violations so callers can quarantine the rows. The row-level checks are
    evaluated together, in one parallel pass over the frame.
    """
    schema = {**VIOLATION_SCHEMA, "_index": pl.Int64}
    pieces: list[pl.DataFrame] = []

    def add_column(column: str, problem: str, value: str | None = None) -> None:
        row = {"contract": contract.name, "row": None, "column": column, "value": value}
        pieces.append(pl.DataFrame([{**row, "problem": problem, "_index": None}], schema=schema))

    missing = [c.name for c in contract.columns if c.required and c.name not in frame.columns]
    if missing:
        add_column(", ".join(missing), missing_columns_problem(frame.columns, contract))
    if not contract.extra_columns:
        extra = [c for c in frame.columns if c not in contract.column_names and c != "source_row"]
        for c in extra:
            add_column(c, "column not declared in the contract")

    # (column, problem, mask, value) for every row-level check
    checks: list[tuple[str, str, pl.Expr, pl.Expr]] = []
    for col in contract.columns:
        if col.name not in frame.columns:
            continue
        if not _dtype_matches(frame.schema[col.name], col.dtype):
            add_column(col.name, f"dtype {frame.schema[col.name]} where {col.dtype} is declared")
            continue
        s = pl.col(col.name)
        txt = s.cast(pl.String)
        if not col.nullable:
            checks.append((col.name, "null in a non-nullable column", s.is_null(), txt))
        if col.allowed is not None:
            bad = txt.is_not_null() & ~txt.is_in(sorted(col.allowed))
            checks.append(
                (col.name, f"not one of the allowed values {sorted(col.allowed)}", bad, txt)
            )
        if col.pattern is not None:
            bad = txt.is_not_null() & ~txt.str.contains(f"^(?:{col.pattern})$")
            checks.append((col.name, f"does not match the pattern {col.pattern!r}", bad, txt))
        finite = col.finite and frame.schema[col.name].is_float()
        if finite:
            bad = s.is_not_null() & ~s.is_finite()
            checks.append((col.name, "not a finite number (NaN or infinite)", bad, txt))
        number = s.is_not_null() & (s.is_finite() if finite else pl.lit(True))
        if col.min_value is not None:
            bad = number & (s < col.min_value)
            checks.append((col.name, f"below the minimum {col.min_value}", bad, txt))
        if col.max_value is not None:
            bad = number & (s > col.max_value)
            checks.append((col.name, f"above the maximum {col.max_value}", bad, txt))
    if contract.key and all(k in frame.columns for k in contract.key):
        # rows with a null key part are reported by the nullability check, not here
        complete = pl.all_horizontal([pl.col(k).is_not_null() for k in contract.key])
        dup = pl.struct(list(contract.key)).is_duplicated().over(complete) & complete
        keyvals = pl.concat_str(
            [pl.col(k).cast(pl.String).fill_null("<null>") for k in contract.key],
            separator=" | ",
        )
        checks.append(("+".join(contract.key), "duplicate key", dup, keyvals))

    masks = frame.select(mask.alias(f"_{i}") for i, (_, _, mask, _) in enumerate(checks))
    counts = masks.select(pl.all().sum()).row(0) if checks else ()
    if any(counts):  # the row numbers are only needed to report violations
        rows = (
            pl.col("source_row").cast(pl.Int64)
            if "source_row" in frame.columns
            else pl.int_range(pl.len(), dtype=pl.Int64)
        )
        indexed = frame.with_columns(
            rows.alias("_row"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_index")
        )
        for (column, problem, _, value), n, mask in zip(
            checks, counts, masks.iter_columns(), strict=True
        ):
            if not n:
                continue
            pieces.append(
                indexed.filter(mask).select(
                    pl.lit(contract.name).alias("contract"),
                    pl.col("_row").alias("row"),
                    pl.lit(column).alias("column"),
                    value.alias("value"),
                    pl.lit(problem).alias("problem"),
                    "_index",
                )
            )
    if not pieces:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.cast(schema) for p in pieces], how="vertical").sort(
        "row", "column", nulls_last=False, maintain_order=True
    )


def validate(
    frame: pl.DataFrame,
    contract: Contract,
    *,
    mode: Mode = "strict",
    source: str | None = None,
) -> Validated:
    """Check ``frame`` against ``contract``.

    In ``strict`` mode any violation raises one :class:`DataContractError`
    listing all of them. In ``lenient`` mode rows with row-level violations
    move to the quarantine frame (with ``source``, ``source_row`` and a
    ``reason`` joining all of a row's problems); whole-column problems
    (a missing column, a wrong dtype) still raise, since no row can be kept.
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    violations = find_violations(frame, contract)
    public = violations.drop("_index")
    if violations.is_empty():
        return Validated(frame, empty_quarantine(), public)
    column_level = violations.filter(pl.col("_index").is_null())
    if mode == "strict" or not column_level.is_empty():
        raise DataContractError(contract.name, public, source)
    reasons = violations.group_by("_index").agg(
        pl.concat_str(
            [
                pl.col("column"),
                pl.lit(": "),
                pl.col("value").fill_null("<null>"),
                pl.lit(" ("),
                pl.col("problem"),
                pl.lit(")"),
            ]
        )
        .str.join("; ")
        .alias("reason")
    )
    indexed = frame.with_row_index("_index").with_columns(pl.col("_index").cast(pl.Int64))
    bad = indexed.join(reasons, on="_index", how="inner").sort("_index")
    good = indexed.join(reasons, on="_index", how="anti").drop("_index")
    quarantine = to_quarantine(bad.drop("_index"), source or contract.name, bad["reason"])
    return Validated(good, quarantine, public)


def empty_quarantine() -> pl.DataFrame:
    """Return an empty quarantine frame: source, source_row, reason, record."""
    return pl.DataFrame(
        schema={
            "source": pl.String,
            "source_row": pl.Int64,
            "reason": pl.String,
            "record": pl.String,
        }
    )


def to_quarantine(rows: pl.DataFrame, source: str, reasons: pl.Series | str) -> pl.DataFrame:
    """Quarantine rows: the source, the row number, a reason, and the row as JSON text."""
    if rows.is_empty():
        return empty_quarantine()
    src_rows = _row_numbers(rows)
    reason = (
        pl.Series("reason", [reasons] * rows.height, dtype=pl.String)
        if isinstance(reasons, str)
        else reasons.cast(pl.String).alias("reason")
    )
    record = rows.drop("source_row", strict=False).select(
        pl.struct(pl.all().cast(pl.String)).struct.json_encode().alias("record")
    )["record"]
    return pl.DataFrame(
        {
            "source": [source] * rows.height,
            "source_row": src_rows,
            "reason": reason,
            "record": record,
        },
        schema=empty_quarantine().schema,
    )


def missing_columns_problem(
    found: Sequence[str], required: Iterable[str] | Contract, recognised: int | None = None
) -> str:
    """Return the problem text of missing columns: the columns found, or a wrong-file hint.

    When not one required column is among ``found`` the file is probably not the one
    meant (a config pointing at the wrong file), so its header -- which may be the first
    line of any file -- is not repeated; otherwise the columns found are listed, cut to
    :data:`~ics_model.inputs.MAX_ECHO` characters. ``recognised`` is the number of
    expected columns found, when the caller matched headers by pattern (default: the
    ``required`` names among ``found``).
    """
    if isinstance(required, Contract):
        required = [c.name for c in required.columns if c.required]
    if recognised is None:
        recognised = len(set(required).intersection(found))
    if not recognised and len(found) == 1 and (sep := next((c for c in ";|" if c in found[0]), "")):
        return (
            f"missing required column(s); the file's first line is one field holding {sep!r}: "
            "separate columns with commas"
        )
    if not recognised:
        return (
            f"missing required column(s); none is in the file's first line ({len(found)} "
            "field(s)): is it the right file?"
        )
    return f"missing required column(s); found: {clip(', '.join(map(str, found)))}"


def require_columns(
    found: Sequence[str], required: Iterable[str], source: str, recognised: int | None = None
) -> None:
    """Raise a :class:`DataContractError` listing missing and found columns.

    ``recognised``: see :func:`missing_columns_problem`.
    """
    required = list(required)
    missing = [c for c in required if c not in found]
    if missing:
        v = pl.DataFrame(
            {
                "contract": [source],
                "row": [None],
                "column": [", ".join(missing)],
                "value": [None],
                "problem": [missing_columns_problem(found, required, recognised)],
            },
            schema=VIOLATION_SCHEMA,
        )
        raise DataContractError(source, v, source)


def snake_case(name: str) -> str:
    """``"Location ONSPD CCG Code"`` -> ``"location_onspd_ccg_code"``."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_")
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", s)
    return s.lower()
