"""Read CQC API location or provider records: current ratings and rating history.

:func:`read_cqc_api` reads records as the CQC public API returns them (``locations/{id}``
or ``providers/{id}``), in any of three layouts:

- a JSON array of records (``.json``, or text starting with ``[``);
- JSON lines, one record per line (``.jsonl``/``.ndjson``, or text starting with ``{``);
- a CSV export, one record per row, whose nested fields (``currentRatings``,
  ``historicRatings``, ``inspectionCategories``) hold JSON or Python-literal dicts and
  lists (read with :func:`json.loads`, else :func:`ast.literal_eval`; never ``eval``),
  or a flat export with an overall ``Rating`` and ``Rating Date`` per row.

Headers are matched by their letters and digits alone, case-insensitively, so
``locationId``, ``Location ID`` and ``CQC Location ID`` are one field.

``Loaded.frame`` satisfies :data:`~ics_model.data.cqc.CQC_RATINGS` (one row per record x
service x key question: the current Overall and key-question ratings, and service
ratings where the record has them) plus the extra columns of :data:`CQC_API_EXTRAS`.
``Loaded.history`` satisfies :data:`CQC_API_HISTORY`: one row per record x historic
rating (``historicRatings``) x key question, Overall included.

Every record is accounted for: ``n_input_rows`` counts records; each one is either in
the frame (a record without current ratings gets one Overall row with
``rating_status = "missing"``) or in ``Loaded.quarantine`` with its reason. A record's
problems -- a nested field that parses as neither JSON nor a Python literal, no id, an
unknown rating or key-question label, an unparseable date, a duplicate key -- raise one
:class:`~ics_model.contracts.DataContractError` listing every problem (strict mode), or
move the whole record to the quarantine with the reasons (lenient mode).

``source_row`` is the record's place in the file: the CSV row a spreadsheet shows
(header 1, first record 2), the line of a JSON-lines file, or the 1-based position of a
record in a JSON array.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from ics_model import ratings as vocab
from ics_model.contracts import (
    VIOLATION_SCHEMA,
    Column,
    Contract,
    DataContractError,
    Mode,
    empty_quarantine,
    find_violations,
)
from ics_model.data.base import Loaded, SourceReadError, source_name
from ics_model.data.cqc import CQC_RATINGS, OPTIONAL_CQC_COLUMNS, LevelEnum
from ics_model.data.cqc_tables import date_from_text, read_table
from ics_model.inputs import clip, echo, open_input, read_input, regular_file_problem

logger = logging.getLogger(__name__)

#: canonical field -> header keys (letters and digits, lower case) that name it
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "location_id": ("locationid", "cqclocationid"),
    "provider_id": ("providerid", "cqcproviderid"),
    "name": ("name", "locationname", "hospitalname"),
    "provider_name": ("providername",),
    "organisation_type": ("organisationtype",),
    "location_type": ("type", "locationtype"),
    "location_ods_code": ("odscode", "locationodscode"),
    "location_onspd_ccg_code": ("onspdccgcode",),
    "location_onspd_ccg": ("onspdccgname",),
    "location_region": ("region",),
    "location_local_authority": ("localauthority",),
    "care_home": ("carehome",),
    "brand_id": ("brandid",),
    "brand_name": ("brandname",),
    "postcode": ("postalcode", "postcode"),
    "latitude": ("onspdlatitude", "latitude"),
    "longitude": ("onspdlongitude", "longitude"),
    "registration_status": ("registrationstatus",),
    "registration_date": ("registrationdate",),
    "number_of_beds": ("numberofbeds",),
    "constituency": ("constituency",),
    "inspection_directorate": ("inspectiondirectorate",),
    "current_ratings": ("currentratings",),
    "historic_ratings": ("historicratings",),
    "inspection_categories": ("inspectioncategories",),
    "flat_rating": ("rating",),
    "flat_rating_date": ("ratingdate",),
}
_NESTED: Final = {"current_ratings": dict, "historic_ratings": list, "inspection_categories": list}
_TEXT_EXTRAS: Final = ("postcode", "registration_status", "constituency", "inspection_directorate")

#: Columns the API reader adds to :data:`~ics_model.data.cqc.CQC_RATINGS`.
CQC_API_EXTRAS: Final = (
    Column("postcode", pl.String),
    Column("latitude", pl.Float64, min_value=-90, max_value=90, finite=True),
    Column("longitude", pl.Float64, min_value=-180, max_value=180, finite=True),
    Column("registration_status", pl.String, description="e.g. Registered, Deregistered"),
    Column("registration_date", pl.Date),
    Column("number_of_beds", pl.Int64, min_value=0),
    Column("constituency", pl.String),
    Column("inspection_directorate", pl.String),
    Column("report_link_id", pl.String, description="the API's id of the rating's report"),
    Column("rating_organisation_id", pl.String, description="organisationId, if the API gives it"),
)

CQC_API_RATINGS: Final = Contract(
    name="cqc_api_ratings",
    description="CQC API records, current ratings: CQC_RATINGS plus the records' extra fields.",
    key=CQC_RATINGS.key,
    columns=(*CQC_RATINGS.columns[:-1], *CQC_API_EXTRAS, CQC_RATINGS.columns[-1]),
)

CQC_API_HISTORY: Final = Contract(
    name="cqc_api_history",
    description="CQC API rating history: one row per record x historic rating x key question.",
    key=("level", "provider_id", "location_id", "report_date", "report_link_id", "key_question"),
    columns=(
        Column("provider_id", pl.String, nullable=False),
        Column("location_id", pl.String, description="null for provider records"),
        Column("level", LevelEnum, nullable=False),
        Column("report_date", pl.Date, nullable=False, description="the report's publication"),
        Column("report_link_id", pl.String),
        Column("key_question", vocab.KeyQuestionEnum, nullable=False),
        Column("rating", vocab.RatingEnum, description="null when the cell is not a rating"),
        Column("rating_status", vocab.RatingStatusEnum, nullable=False),
        Column("rating_organisation_id", pl.String, description="organisationId, if given"),
        Column(
            "history_entry",
            pl.Int64,
            nullable=False,
            min_value=1,
            description="place of the report in the record's historicRatings, 1 = first "
            "(the API lists them newest first; it orders reports published the same day)",
        ),
        Column("source_row", pl.Int64, nullable=False, description="the record (see module)"),
    ),
)


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def _nested(value: Any) -> Any:
    """Parse a nested field written as JSON or as a Python literal (None when blank)."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"neither JSON nor a Python literal ({type(exc).__name__})") from exc


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


# ----------------------------------------------------------------------------- reading


def _records(path: Path, src: str) -> tuple[list[tuple[int, Any]], str, list[str]]:
    """Return ``(source_row, record)`` pairs, the layout and notes (bad lines: raw text)."""
    with open_input(path) as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson") or (suffix != ".csv" and head.startswith("{")):
        return _json_lines(path), "jsonl", []
    if suffix == ".json" or head.startswith("["):
        try:
            data = json.loads(_json_text(path))
        except ValueError as exc:
            raise SourceReadError(path, f"not a JSON array of records: {exc}") from exc
        except RecursionError:
            raise SourceReadError(path, "JSON nested too deeply to read") from None
        if not isinstance(data, list):
            kind = type(data).__name__
            raise SourceReadError(path, f"expected a JSON array of records, got a {kind}")
        return list(enumerate(data, start=1)), "json", []
    table = read_table(path, None, r"$^")
    rows = table.frame.to_dicts()
    return [(r.pop("source_row"), r) for r in rows], "csv", list(table.notes)


def _json_text(path: Path) -> str:
    """Return the text of a JSON file (UTF-8, optional BOM); SourceReadError names a bad line."""
    data = read_input(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceReadError(path, f"not UTF-8 text at line {line}: {exc.reason}") from None


def _json_lines(path: Path) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for number, line in enumerate(_json_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except ValueError as exc:
            out.append((number, _BadLine(line, str(exc))))
        except RecursionError:
            out.append((number, _BadLine(line, "nested too deeply to read")))
    return out


class _BadLine:
    """A JSON line that does not parse (kept to report it)."""

    def __init__(self, text: str, error: str):
        self.text = text
        self.error = error


# ----------------------------------------------------------------------------- one record


def _rating_rows(
    block: Mapping[str, Any], service: str, report_type: str, top_date: Any
) -> list[dict[str, Any]]:
    """Rows of one rating block (overall or a service): its own rating and key questions."""
    date = block.get("reportDate", top_date)
    base = {"service": service, "report_type": report_type}
    rows = [
        {
            **base,
            "key_question": "Overall",
            "rating": block.get("rating"),
            "publication_date": _text(date),
            "report_link_id": _text(block.get("reportLinkId")),
            "rating_organisation_id": _text(block.get("organisationId")),
        }
    ]
    for kq in block.get("keyQuestionRatings") or []:
        rows.append(
            {
                **base,
                "key_question": kq.get("name"),
                "rating": kq.get("rating"),
                "publication_date": _text(kq.get("reportDate", date)),
                "report_link_id": _text(kq.get("reportLinkId", block.get("reportLinkId"))),
                "rating_organisation_id": _text(kq.get("organisationId")),
            }
        )
    return rows


def _record(
    row: int, raw: Any, fields: Mapping[str, str] | None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Return a record's fields, current rows, history rows and problems (field, value, what)."""
    problems: list[tuple[str, str, str]] = []
    if isinstance(raw, _BadLine):
        return {}, [], [], [("<line>", raw.text[:80], f"not JSON: {raw.error}")]
    if not isinstance(raw, dict):
        return {}, [], [], [("<record>", str(raw)[:80], "a record must be a JSON object")]
    names = fields if fields is not None else _field_names(list(raw), None)
    rec: dict[str, Any] = {canon: raw.get(header) for canon, header in names.items()}
    for canon, kind in _NESTED.items():
        try:
            value = _nested(rec.get(canon))
        except ValueError as exc:
            problems.append((names[canon], str(rec[canon])[:80], str(exc)))
            value = None
        if value is not None and not isinstance(value, kind):
            problems.append((names[canon], str(value)[:80], f"expected a {kind.__name__}"))
            value = None
        rec[canon] = value
    level = "location" if _text(rec.get("location_id")) else "provider"
    if not _text(rec.get("location_id")) and not _text(rec.get("provider_id")):
        problems.append(("locationId/providerId", "", "record without a location or provider id"))
    report_type = "Location" if level == "location" else "Provider"
    current: list[dict[str, Any]] = []
    cur = rec.get("current_ratings")
    if cur:
        current = _rating_rows(
            cur.get("overall") or {}, "Overall", report_type, cur.get("reportDate")
        )
        for svc in cur.get("serviceRatings") or []:
            current += _rating_rows(svc, _text(svc.get("name")) or "", "Service", None)
    elif "flat_rating" in names and _text(rec.get("flat_rating")):
        current = _rating_rows(
            {"rating": rec["flat_rating"], "reportDate": rec.get("flat_rating_date")},
            "Overall",
            report_type,
            None,
        )
    if not current:  # every record appears in the frame
        current = _rating_rows({}, "Overall", report_type, None)
    history: list[dict[str, Any]] = []
    for place, entry in enumerate(rec.get("historic_ratings") or [], start=1):
        if not isinstance(entry, dict):
            problems.append((names["historic_ratings"], str(entry)[:80], "entry is not a dict"))
            continue
        for h in _rating_rows(entry.get("overall") or {}, "Overall", report_type, None):
            h["report_date"] = _text(entry.get("reportDate"))
            h["report_link_id"] = _text(entry.get("reportLinkId"))
            h["history_entry"] = place
            h["rating_organisation_id"] = (
                _text(entry.get("organisationId")) or h["rating_organisation_id"]
            )
            history.append(h)
    categories = rec.get("inspection_categories") or []
    primary = [c.get("name") for c in categories if str(c.get("primary")).lower() == "true"]
    rec["location_primary_inspection_category"] = _text(primary[0]) if primary else None
    rec["level"] = level
    return rec, current, history, problems


def _field_names(headers: list[str], src: str | None) -> dict[str, str]:
    """Canonical field -> the header naming it (the first of its spellings found).

    In a CSV export (``src`` given), a header the reader needs that appears twice (the
    same name, however spaced or cased) is refused: which of the two to read is
    ambiguous. A JSON record's keys are distinct; the first spelling is read.
    """
    by_key: dict[str, list[str]] = {}
    for h in headers:
        by_key.setdefault(_key(h), []).append(h)
    out: dict[str, str] = {}
    for canon, keys in _FIELDS.items():
        found = [by_key[k] for k in keys if k in by_key]
        if not found:
            continue
        if len(found[0]) > 1 and src is not None:
            twice = found[0]
            problem = (
                f"the column {echo(twice[0].strip())} appears {len(twice)} times: which to "
                "read is ambiguous; rename or delete the others"
            )
            v = pl.DataFrame(
                {
                    "contract": ["cqc_api"],
                    "row": [None],
                    "column": [twice[0].strip()],
                    "value": [None],
                    "problem": [problem],
                },
                schema=VIOLATION_SCHEMA,
            )
            raise DataContractError("cqc_api", v, src)
        out[canon] = found[0][0]
    return out


# ----------------------------------------------------------------------------- frames


def _identity(rec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the record's fields repeated on each of its rows."""
    level = rec["level"]
    out = {c: _text(rec.get(c)) for c in (*OPTIONAL_CQC_COLUMNS, *_TEXT_EXTRAS)}
    out |= {
        "provider_id": _text(rec.get("provider_id")),
        "location_id": _text(rec.get("location_id")) if level == "location" else None,
        "level": level,
        "location_name": _text(rec.get("name")) if level == "location" else None,
        "provider_name": _text(rec.get("provider_name"))
        or (_text(rec.get("name")) if level == "provider" else None),
        "location_primary_inspection_category": rec.get("location_primary_inspection_category"),
        **{c: _text(rec.get(c)) for c in ("latitude", "longitude", "registration_date")},
        "number_of_beds": _text(rec.get("number_of_beds")),
    }
    return out


def _checked(rows: list[dict[str, Any]], date_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse the text columns of ``rows``; return the typed frame and its parse problems."""
    ints = ("source_row", "history_entry")
    schema = {k: pl.Int64 if k in ints else pl.String for k in rows[0]}
    frame = pl.DataFrame(
        [{k: v if k in ints or v is None else str(v) for k, v in r.items()} for r in rows],
        schema=schema,
    )
    rating, status, known = vocab.rating_expr_from_text("rating")
    kq = vocab.key_question_expr_from_text("key_question")
    date = date_from_text(date_col)
    numbers = {
        "latitude": pl.Float64,
        "longitude": pl.Float64,
        "number_of_beds": pl.Int64,
        "registration_date": pl.Date,
    }
    present = [c for c in numbers if c in frame.columns]
    casts = {
        c: date_from_text(c) if t == pl.Date else pl.col(c).cast(t, strict=False)
        for c, t in numbers.items()
        if c in present
    }
    checks = [
        ("rating", known, "unknown rating label"),
        ("key_question", kq.is_not_null(), "unknown key question label"),
        (date_col, date.is_not_null() | pl.col(date_col).is_null(), "unparseable date"),
        *(
            (c, e.is_not_null() | pl.col(c).is_null(), f"not a {numbers[c]} value")
            for c, e in casts.items()
        ),
    ]
    problems = pl.concat(
        [
            frame.filter(~ok).select(
                pl.col("source_row").alias("row"),
                pl.lit(col).alias("column"),
                pl.col(col).cast(pl.String).alias("value"),
                pl.lit(what).alias("problem"),
            )
            for col, ok, what in checks
        ]
    )
    typed = frame.with_columns(
        rating.alias("rating"),
        status.alias("rating_status"),
        kq.alias("key_question"),
        date.alias(date_col),
        pl.col("level").cast(LevelEnum),
        *(e.alias(c) for c, e in casts.items()),
    )
    return typed, problems


def _current_frame(rows: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    typed, problems = _checked(rows, "publication_date")
    own = pl.coalesce("location_id", "provider_id")
    typed = typed.with_columns(
        (pl.col("rating_organisation_id").is_not_null() & (pl.col("rating_organisation_id") != own))
        .fill_null(False)
        .alias("inherited")
    )
    return typed.select(CQC_API_RATINGS.column_names), problems


def _history_frame(rows: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    if not rows:
        return CQC_API_HISTORY.empty(), pl.DataFrame(schema=_PROBLEM_SCHEMA)
    typed, problems = _checked(rows, "report_date")
    return typed.select(CQC_API_HISTORY.column_names), problems


_PROBLEM_SCHEMA: Final = {k: VIOLATION_SCHEMA[k] for k in ("row", "column", "value", "problem")}


def read_cqc_api(path: str | Path, *, mode: Mode = "strict") -> Loaded:
    """Read CQC API location or provider records into current ratings and rating history.

    Parameters
    ----------
    path : a JSON array, JSON-lines or CSV file of API records (see the module docstring).
    mode : ``"strict"`` raises one :class:`DataContractError` listing every problem;
        ``"lenient"`` moves each offending record to ``Loaded.quarantine`` with the reasons.

    Returns
    -------
    Loaded
        ``frame`` satisfies :data:`CQC_API_RATINGS` (:data:`~ics_model.data.cqc.CQC_RATINGS`
        plus :data:`CQC_API_EXTRAS`); ``history`` satisfies :data:`CQC_API_HISTORY`;
        ``n_input_rows`` counts records, each in the frame or the quarantine; ``variant``
        is ``"<levels>/<layout>"``, e.g. ``"locations/csv-nested"``.

    Raises
    ------
    SourceReadError
        The file is missing or unreadable, or a JSON array does not parse.
    DataContractError
        The CSV has no id column, or (strict mode) records break the contract; each
        problem names the record's row, its id, the field and the value.
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    p = Path(path)
    src = source_name(p)
    problem = regular_file_problem(p)
    if problem is not None:
        raise SourceReadError(p, problem)
    records, layout, notes = _records(p, src)
    fields = None
    if layout == "csv":
        headers = list(records[0][1]) if records else []
        fields = _field_names(headers, src)
        if "location_id" not in fields and "provider_id" not in fields:
            _no_id_column(headers, src)
        layout += "-nested" if "current_ratings" in fields else "-flat"
    current: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    ids: dict[int, str] = {}
    for row, raw in records:
        rec, cur, hist, probs = _record(row, raw, fields)
        issues += [{"row": row, "column": f, "value": v, "problem": w} for f, v, w in probs]
        if not rec:
            continue
        ident = _identity(rec)
        ids[row] = ident["location_id"] or ident["provider_id"] or "<no id>"
        current += [{**ident, **c, "source_row": row} for c in cur]
        keep = ("provider_id", "location_id", "level")
        history += [{**{k: ident[k] for k in keep}, **h, "source_row": row} for h in hist]
    if not records:
        raise SourceReadError(p, "no records")
    frame, cur_problems = _current_frame(current) if current else (CQC_API_RATINGS.empty(), None)
    hist_frame, hist_problems = _history_frame(history)
    contract_problems = [
        find_violations(f, c).select(list(_PROBLEM_SCHEMA))
        for f, c in ((frame, CQC_API_RATINGS), (hist_frame, CQC_API_HISTORY))
    ]
    violations = pl.concat(
        [
            pl.DataFrame(issues, schema=_PROBLEM_SCHEMA),
            *(x for x in (cur_problems, hist_problems) if x is not None),
            *contract_problems,
        ]
    ).unique(maintain_order=True)
    record_id = pl.col("row").replace_strict(ids, default="<unparsed>", return_dtype=pl.String)
    violations = violations.sort("row", maintain_order=True).select(
        pl.lit("cqc_api").alias("contract"),
        "row",
        "column",
        "value",
        pl.format("{} (record {})", "problem", record_id).alias("problem"),
    )
    quarantine = empty_quarantine()
    if violations.height:
        if mode == "strict":
            raise DataContractError("cqc_api", violations, src)
        quarantine = _quarantine(violations, dict(records), src)
        bad = quarantine["source_row"]
        frame = frame.filter(~pl.col("source_row").is_in(bad.implode()))
        hist_frame = hist_frame.filter(~pl.col("source_row").is_in(bad.implode()))
    n_records = len(records)
    kept = frame["source_row"].n_unique()
    if kept + quarantine.height != n_records:  # pragma: no cover - a bug, not bad input
        raise AssertionError(f"{src}: {n_records} records, {kept} kept + {quarantine.height}")
    levels = sorted({str(x) + "s" for x in frame["level"].unique().to_list()}) or ["records"]
    variant = f"{'+'.join(levels)}/{layout}"
    counts = frame["rating_status"].value_counts(sort=True).rows()
    notes += [
        f"{n_records} record(s): {kept} in the frame, {quarantine.height} quarantined",
        "current rating statuses: " + ", ".join(f"{s} {n}" for s, n in counts),
        f"{hist_frame.height} history row(s) from historicRatings",
        "the frame has one row per record x service x key question (n_input_rows counts records)",
    ]
    logger.info("%s: %s; %d records, %d quarantined", src, variant, n_records, quarantine.height)
    kept = {"quarantine": quarantine, "notes": tuple(notes), "history": hist_frame}
    return Loaded(frame, src, n_records, variant, **kept)


def _no_id_column(headers: list[str], src: str) -> None:
    """Raise the error of a CSV without a location or provider id column."""
    v = pl.DataFrame(
        {
            "contract": ["cqc_api"],
            "row": [None],
            "column": ["locationId/providerId"],
            "value": [None],
            "problem": [f"no location or provider id column; found: {clip(', '.join(headers))}"],
        },
        schema=VIOLATION_SCHEMA,
    )
    raise DataContractError("cqc_api", v, src)


def _quarantine(violations: pl.DataFrame, raw: Mapping[int, Any], src: str) -> pl.DataFrame:
    """One quarantine row per offending record: every problem joined, the record as JSON."""
    reasons = violations.group_by("row", maintain_order=True).agg(
        pl.format("{}: {} ({})", "column", pl.col("value").fill_null("<null>"), "problem")
        .str.join("; ")
        .alias("reason")
    )
    rows = reasons["row"].to_list()
    records = [
        raw[r].text if isinstance(raw[r], _BadLine) else json.dumps(raw[r], default=str)
        for r in rows
    ]
    return pl.DataFrame(
        {
            "source": [src] * len(rows),
            "source_row": rows,
            "reason": reasons["reason"],
            "record": records,
        },
        schema=empty_quarantine().schema,
    )
