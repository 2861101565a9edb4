r"""The NHS Oversight Framework's provider segmentation, and its check against the publication.

:func:`nof_segments` derives each trust's segment from its average metric score with a
``nof`` rule set (:class:`~ics_model.rules.rulesets.NofRuleSet`):

.. math::

    s^{raw} = 1 + \#\{k : \text{score} > c_k\}, \qquad
    s = \max(s^{raw}, \text{cap}) \text{ if in deficit, else } s^{raw},

and segment 5 where the data flags intensive support. :func:`check_nof` compares the
derived segment with the published one, trust by trust. Lower is better throughout
(NHS England, *NHS Oversight Framework 2025/26*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from ics_model.rules.rulesets import Cuts, NofRuleSet, get_rule_set


def segment_of(score: pl.Expr, cuts: Cuts) -> pl.Expr:
    """Return the segment (1-4; null for a null score) of ``score`` under ``cuts``.

    Examples
    --------
    >>> cuts = Cuts(bounds=(2.0, 2.5, 3.0))
    >>> pl.DataFrame({"x": [1.2, 2.0, 2.01, 3.0, 3.5, None]}).select(
    ...     segment_of(pl.col("x"), cuts)
    ... )["x"].to_list()
    [1, 1, 2, 3, 4, None]
    """
    over = sum((score > b).cast(pl.Int64) for b in cuts.bounds)
    return (pl.lit(1, pl.Int64) + over).alias(score.meta.output_name())


def _nof(rule_set: Any) -> NofRuleSet:
    rs = get_rule_set(rule_set)
    if not isinstance(rs, NofRuleSet):
        raise TypeError(f"rule set {rs.name!r} is of kind {rs.kind!r}; a nof rule set is needed")
    return rs


def nof_segments(frame: pl.DataFrame, rule_set: Any = "nof_2025_26") -> pl.DataFrame:
    """Derive NOF segments from scores with a ``nof`` rule set.

    Parameters
    ----------
    frame : one row per trust with the rule set's ``score`` and ``deficit`` columns (and
        ``domain_score_<domain>`` for its domain cuts; ``intensive_support`` if present).
    rule_set : a ``nof`` rule set, by name or object.

    Returns
    -------
    pl.DataFrame
        ``frame`` with ``derived_unadjusted_segment`` (from the score alone),
        ``derived_segment`` (after the deficit cap and the intensive-support override),
        ``derived_capped`` (the cap changed it) and ``derived_domain_segment_<domain>``.
    """
    rs = _nof(rule_set)
    raw = segment_of(pl.col(rs.score), rs.cuts)
    in_deficit = pl.col(rs.deficit).fill_null(False)
    capped = pl.max_horizontal(raw, pl.lit(rs.deficit_cap)) if rs.deficit_cap is not None else raw
    seg = pl.when(in_deficit).then(capped).otherwise(raw)
    if "intensive_support" in frame.columns:
        seg = (
            pl.when(pl.col("intensive_support").fill_null(False))
            .then(pl.lit(rs.intensive_support_segment, pl.Int64))
            .otherwise(seg)
        )
    return frame.with_columns(
        raw.alias("derived_unadjusted_segment"),
        seg.cast(pl.Int64).alias("derived_segment"),
        (in_deficit & (capped != raw)).fill_null(False).alias("derived_capped"),
        *(
            segment_of(pl.col(f"domain_score_{d}"), c).alias(f"derived_domain_segment_{d}")
            for d, c in rs.domain_cuts.items()
        ),
    )


@dataclass(frozen=True)
class NofCheck:
    """Derived against published NOF segments.

    Attributes
    ----------
    rule_set : the rule set's name.
    summary : one row per measure (``segment`` and each domain): ``n`` trusts compared,
        ``n_agree``, ``agreement``.
    disagreements : one row per trust and measure that differs: org_code, org_name,
        measure, score, in_deficit, published, derived, reason.
    """

    rule_set: str
    summary: pl.DataFrame
    disagreements: pl.DataFrame

    @property
    def line(self) -> str:
        """The overall segment's ``agreement N/M`` line."""
        r = self.summary.row(0, named=True)
        return f"agreement {r['n_agree']}/{r['n']}"


def check_nof(frame: pl.DataFrame, rule_set: Any = "nof_2025_26") -> NofCheck:
    """Re-derive every published NOF segment and report agreement and disagreements.

    The overall segment is compared on the trusts with a published ``segment`` and a
    ``score`` (the 129 acute trusts of the league table in the embedded extract); each
    domain segment on the organisations with both a domain score and segment.

    Examples
    --------
    >>> from ics_model.data.nof import read_nof_segments
    >>> check_nof(read_nof_segments().frame).line
    'agreement 129/129'
    """
    rs = _nof(rule_set)
    derived = nof_segments(frame, rs)
    measures = [("segment", rs.score, rs.segment, "derived_segment")] + [
        (d, f"domain_score_{d}", f"domain_segment_{d}", f"derived_domain_segment_{d}")
        for d in rs.domain_cuts
    ]
    rows, parts = [], []
    for measure, score, published, mine in measures:
        cmp = derived.filter(pl.col(score).is_not_null() & pl.col(published).is_not_null())
        agree = cmp.filter(pl.col(published) == pl.col(mine))
        rows.append((measure, cmp.height, agree.height))
        bad = cmp.filter(pl.col(published) != pl.col(mine))
        deficit = pl.col(rs.deficit) if measure == "segment" else pl.lit(None, pl.Boolean)
        parts.append(
            bad.select(
                "org_code",
                "org_name",
                pl.lit(measure).alias("measure"),
                pl.col(score).alias("score"),
                deficit.alias("in_deficit"),
                pl.col(published).alias("published"),
                pl.col(mine).alias("derived"),
                pl.format(
                    "score {} gives segment {} under the rule set's edges; published {}",
                    pl.col(score),
                    pl.col(mine),
                    pl.col(published),
                ).alias("reason"),
            )
        )
    summary = pl.DataFrame(
        rows, schema={"measure": pl.String, "n": pl.Int64, "n_agree": pl.Int64}, orient="row"
    ).with_columns((pl.col("n_agree") / pl.col("n")).alias("agreement"))
    return NofCheck(rs.name, summary, pl.concat(parts, how="vertical_relaxed"))


__all__ = ["NofCheck", "check_nof", "nof_segments", "segment_of"]
