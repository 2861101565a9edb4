"""ODS successor chains and ICB vintages (2023: 42 ICBs; 2026: mapped forward through succ)."""

from __future__ import annotations

import polars as pl

# --------------------------------------------------------------------------- successors


def resolve_successors(
    codes: list[str] | pl.Series, successors: pl.DataFrame, open_codes: set[str]
) -> pl.DataFrame:
    """Follow ODS successor chains from each code to an open organisation.

    Parameters
    ----------
    codes : organisation codes to resolve.
    successors : the canonical ``succ`` frame (predecessor_code, successor_code, effective_date).
    open_codes : codes of currently open organisations (the chain stops at one).

    Returns
    -------
    pl.DataFrame
        code, current_code (null unless resolved), status (``open``, ``successor``,
        ``split``, ``no_open_successor``), chain (``A > B > C``).

    Notes
    -----
    A predecessor with several successors at its latest effective date is a split and is
    never resolved. Cycles stop the walk (status ``no_open_successor``).
    """
    latest = successors.filter(
        pl.col("effective_date") == pl.col("effective_date").max().over("predecessor_code")
    )
    nxt: dict[str, list[str]] = {}
    for pred, succ in latest.select("predecessor_code", "successor_code").iter_rows():
        nxt.setdefault(pred, [])
        if succ not in nxt[pred]:
            nxt[pred].append(succ)
    out = []
    for code in list(codes):
        chain = [code]
        status = "no_open_successor"
        current = None
        node = code
        if node in open_codes:
            status, current = "open", node
        else:
            while True:
                following = nxt.get(node, [])
                if len(following) > 1:
                    status = "split"
                    chain.append("{" + ", ".join(sorted(following)) + "}")
                    break
                if not following or following[0] in chain:
                    break
                node = following[0]
                chain.append(node)
                if node in open_codes:
                    status, current = "successor", node
                    break
        out.append((code, current, status, " > ".join(chain)))
    return _text_rows(out, ("code", "current_code", "status", "chain"))


def _text_rows(rows: list[tuple], columns: tuple[str, ...]) -> pl.DataFrame:
    """Build a frame of String columns from row tuples (empty rows give an empty frame)."""
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


# --------------------------------------------------------------------------- ICB vintages


def icb_table(
    icb_codes: pl.DataFrame, successors: pl.DataFrame | None = None, vintage: str = "2023"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the ICB list for a vintage, and the 2023 -> vintage code map.

    Returns
    -------
    (icbs, code_map)
        ``icbs``: icb_code, icb_gss, icb_name (one row per ICB of the vintage).
        ``code_map``: icb_code_2023, icb_code, status (``same``, ``merged``, ``split``), note.
        For ``2026`` the codes follow ``succ``; an ICB with several successors is a split:
        its code maps to null and providers in it are reported, never guessed. New 2026
        ICBs have no GSS code in the embedded data; their name lists the 2023 ICBs merged.
    """
    base = icb_codes.select("icb_code", "icb_gss", "icb_name")
    if vintage == "2023":
        cmap = base.select(
            pl.col("icb_code").alias("icb_code_2023"),
            pl.col("icb_code"),
            pl.lit("same").alias("status"),
            pl.lit(None, pl.String).alias("note"),
        )
        return base, cmap
    if vintage != "2026":
        raise ValueError(f"icb vintage must be '2023' or '2026', got {vintage!r}")
    if successors is None:
        raise ValueError("mapping ICBs to the 2026 vintage needs the ODS successor file")
    icb_set = set(base["icb_code"])
    resolved = resolve_successors(sorted(icb_set), successors, open_codes=set())
    rows = []
    for code, _cur, status, chain in resolved.iter_rows():
        parts = chain.split(" > ")
        if status == "split":
            rows.append((code, None, "split", f"{code} split: {parts[-1]}"))
        elif len(parts) == 1:
            rows.append((code, code, "same", None))
        else:
            rows.append((code, parts[-1], "merged", f"{chain}"))
    cmap = _text_rows(rows, ("icb_code_2023", "icb_code", "status", "note"))
    named = cmap.join(
        base.rename({"icb_code": "icb_code_2023"}), on="icb_code_2023", how="left"
    ).filter(pl.col("icb_code").is_not_null())
    icbs = (
        named.group_by("icb_code")
        .agg(
            pl.col("icb_gss").first(),
            pl.col("icb_name").sort().alias("names"),
            pl.col("icb_code_2023").first().alias("old"),
            pl.len().alias("n"),
        )
        .with_columns(
            pl.when((pl.col("n") == 1) & (pl.col("old") == pl.col("icb_code")))
            .then(pl.col("names").list.first())
            .when(pl.col("n") == 1)
            .then(
                pl.concat_str(
                    pl.col("icb_code"),
                    pl.lit(" (formerly "),
                    pl.col("names").list.first(),
                    pl.lit(")"),
                )
            )
            .otherwise(
                pl.concat_str(
                    pl.col("icb_code"),
                    pl.lit(" (formed from "),
                    pl.col("names").list.join(" + "),
                    pl.lit(")"),
                )
            )
            .alias("icb_name"),
            # a new code has no GSS code in the embedded data
            pl.when((pl.col("n") == 1) & (pl.col("old") == pl.col("icb_code")))
            .then(pl.col("icb_gss"))
            .alias("icb_gss"),
        )
        .select("icb_code", "icb_gss", "icb_name")
        .sort("icb_code")
    )
    return icbs, cmap


def with_icb(frame: pl.DataFrame, icbs: pl.DataFrame, cmap: pl.DataFrame) -> pl.DataFrame:
    """Map a 2023 ``icb_code`` column to the vintage and attach gss and name."""
    return (
        frame.rename({"icb_code": "icb_code_2023"})
        .join(
            cmap.select(
                "icb_code_2023",
                "icb_code",
                pl.col("status").alias("icb_status"),
                pl.col("note").alias("icb_note"),
            ),
            on="icb_code_2023",
            how="left",
        )
        .join(icbs, on="icb_code", how="left")
    )


def lost_reason(old_code: str | None, note: str | None, vintage: str) -> str:
    """Return why a host ICB code has no single ICB in the ``vintage``."""
    return (
        f"host ICB {old_code or '<none>'} has no single ICB in the {vintage} vintage: "
        f"{note or 'unknown ICB code'} (not guessed)"
    )


def place_by_icb(
    frame: pl.DataFrame, icb_codes: pl.DataFrame, successors: pl.DataFrame | None, vintage: str
) -> pl.DataFrame:
    """Map a 2023 ``icb_code`` column to the vintage; add ``lost_reason`` where it fails."""
    icbs, cmap = icb_table(icb_codes, successors, vintage)
    placed = with_icb(frame, icbs, cmap)
    return placed.with_columns(
        pl.when(pl.col("icb_code").is_null() & pl.col("icb_code_2023").is_not_null())
        .then(
            pl.concat_str(
                pl.lit("host ICB "),
                pl.col("icb_code_2023"),
                pl.lit(f" has no single ICB in the {vintage} vintage: "),
                pl.col("icb_note").fill_null("unknown ICB code"),
                pl.lit(" (not guessed)"),
            )
        )
        .alias("lost_reason")
    )
