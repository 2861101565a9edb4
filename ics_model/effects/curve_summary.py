"""Summaries of the specification curve: shares by sign per period, and the placebo.

:func:`curve_summary` gives, per period, the share of estimated specifications with an
odds ratio above and below 1, the share significant at 5% by sign and the median odds
ratio (Simonsohn, Simmons & Nelson 2020, Nature Human Behaviour 4:1208-1214), with a
sentence. :func:`placebo_comparison` sets each specification's post-ICS estimate beside
its pre-ICS one: ratings published before ICSs became statutory (1 July 2022) cannot have
been caused by ICS collaboration, so an exposure that predicts them as strongly measures
geography or history (:func:`placebo_verdict` gives the rules and the sentence);
:func:`placebo_summary` counts the verdicts in a paragraph. Associations, not causal
effects.
"""

from __future__ import annotations

import math
from typing import Any, Final

import polars as pl

from ics_model.effects.curve_contracts import CURVE_PLACEBO, CURVE_SUMMARY
from ics_model.effects.spec import PERIODS, VERDICTS

#: significance level of the shares and verdicts
ALPHA: Final = 0.05


def curve_summary(curve: pl.DataFrame) -> pl.DataFrame:
    """Per period: shares by sign, shares significant by sign, median odds ratio, a sentence.

    Shares are of the specifications with an estimate (``n_estimated``).
    """
    out = []
    for period in PERIODS:
        part = curve.filter(pl.col("period") == period)
        if part.is_empty():
            continue
        est = part.filter(pl.col("estimate").is_not_null())
        k = est.height
        pos, neg = est.filter(pl.col("estimate") > 1), est.filter(pl.col("estimate") < 1)
        sig_pos = pos.filter(pl.col("significant")).height
        sig_neg = neg.filter(pl.col("significant")).height
        median = float(est["estimate"].median()) if k else None  # type: ignore[arg-type]
        row = {
            "period": period,
            "n_specifications": part.height,
            "n_estimated": k,
            "share_positive": pos.height / k if k else None,
            "share_negative": neg.height / k if k else None,
            "share_significant_positive": sig_pos / k if k else None,
            "share_significant_negative": sig_neg / k if k else None,
            "median_estimate": median,
        }
        row["sentence"] = _summary_sentence(row, pos.height, neg.height, sig_pos, sig_neg)
        out.append(row)
    return pl.DataFrame(out, schema=CURVE_SUMMARY.schema, orient="row")


_PERIOD_TEXT: Final = {
    "post_ics": "Ratings published after ICSs began (July 2022)",
    "pre_ics": "Ratings published before ICSs began (placebo)",
}


def _summary_sentence(row: dict[str, Any], pos: int, neg: int, sp: int, sn: int) -> str:
    k = row["n_estimated"]
    head = f"{_PERIOD_TEXT[row['period']]}: {row['n_specifications']} specifications"
    if not k:
        return f"{head}, none estimated."
    return (
        f"{head}, {k} estimated; {pos} ({pos / k:.0%}) find an odds ratio above 1 and "
        f"{neg} ({neg / k:.0%}) below 1; {sp + sn} ({(sp + sn) / k:.0%}) are significant "
        f"at 5% ({sp} positive, {sn} negative); median odds ratio per SD "
        f"{row['median_estimate']:.2f}. Associations, not causal effects."
    )


# ----------------------------------------------------------------------------- placebo


def _or(e: float, lo: float, hi: float) -> str:
    return f"{e:.2f} ({lo:.2f} to {hi:.2f})"


def placebo_verdict(
    post: tuple[float, float, float, bool] | None,
    pre: tuple[float, float, float, bool] | None,
    *,
    missing: str = "",
) -> tuple[str, str]:
    """Classify a post- vs pre-ICS pair of estimates and say it in a sentence.

    Each side is ``(odds_ratio, ci_lower, ci_upper, significant)``, or None when not
    estimated. On the log scale, with ``b`` the post and ``a`` the pre estimate:

    - ``neither``: neither is significant;
    - ``opposite``: both significant with opposite signs;
    - ``pre_only``: only the pre-ICS one is significant;
    - ``pre_as_strong``: the post one is significant and the pre one has its sign and
      ``|a| >= |b|``, or is significant too with an interval that holds ``b``;
    - ``overlapping``: otherwise, when the intervals overlap;
    - ``stronger_post``: the pre one significant with the same sign, weaker and apart;
    - ``post_only``: the rest (the pre interval holds 1 and lies apart from ``b``).

    Examples
    --------
    >>> placebo_verdict((1.8, 1.2, 2.7, True), (1.9, 1.3, 2.8, True))[0]
    'pre_as_strong'
    >>> placebo_verdict((1.8, 1.3, 2.5, True), (0.95, 0.8, 1.1, False))[0]
    'post_only'
    """
    if post is None or pre is None:
        side = "post-ICS" if post is None else "pre-ICS"
        return "not_comparable", f"No {side} estimate{': ' + missing if missing else ''}."
    (b, bl, bh, bs), (a, al, ah, as_) = post, pre
    lb, la = math.log(b), math.log(a)
    same = (lb > 0) == (la > 0)
    text = f"post-ICS odds ratio {_or(b, bl, bh)}, pre-ICS {_or(a, al, ah)}"
    if not bs and not as_:
        verdict = "neither"
        say = f"Neither post- nor pre-ICS ratings show an association ({text})."
    elif bs and as_ and not same:
        verdict = "opposite"
        say = (
            f"The exposure is associated with ratings in opposite directions before and "
            f"after ICSs began ({text}): no consistent association."
        )
    elif as_ and not bs:
        verdict = "pre_only"
        say = (
            f"The exposure predicted pre-ICS ratings but not post-ICS ones ({text}): "
            "whatever it captures predates ICS collaboration."
        )
    elif same and (abs(la) >= abs(lb) or (as_ and al <= b <= ah)):
        verdict = "pre_as_strong"
        say = (
            f"The exposure predicts pre-ICS ratings as strongly as post-ICS ones ({text}): "
            "this is geography or history, not ICS collaboration."
        )
    elif al <= bh and bl <= ah:
        verdict = "overlapping"
        say = (
            f"The association is weaker before ICSs began but the intervals overlap "
            f"({text}): the placebo cannot separate an ICS-era change from geography or "
            "history."
        )
    elif as_:
        verdict = "stronger_post"
        say = (
            f"The association was present before ICSs began and is stronger after ({text}): "
            "part of it predates ICS collaboration; an association, not causal."
        )
    else:
        verdict = "post_only"
        say = (
            f"The association appears only after ICSs began ({text}): consistent with, but "
            "not proof of, an ICS-era change; an association, not causal."
        )
    return verdict, say


def placebo_comparison(curve: pl.DataFrame, skipped: pl.DataFrame | None = None) -> pl.DataFrame:
    """Post- vs pre-ICS estimate of each specification side by side, with the verdict.

    One row per ``spec_id`` of the curve; ``skipped`` supplies the reason a period is
    missing.
    """
    cols = ["estimate", "ci_lower", "ci_upper", "p_value", "significant", "n"]
    keys = ["spec_id", "population", "outcome", "exposure", "controls", "model"]
    sides = {
        p: curve.filter(pl.col("period") == p).select(
            "spec_id", *(pl.col(c).alias(f"{c}_{p.split('_')[0]}") for c in cols)
        )
        for p in PERIODS
    }
    ids = curve.select(keys).unique(subset="spec_id").sort("spec_id")
    frame = ids.join(sides["post_ics"], on="spec_id", how="left").join(
        sides["pre_ics"], on="spec_id", how="left"
    )
    why = {}
    if skipped is not None:
        for r in skipped.filter(pl.col("spec_id").is_not_null()).iter_rows(named=True):
            why[(r["spec_id"], r["period"])] = r["reason"]
    verdicts, sentences = [], []
    for r in frame.iter_rows(named=True):
        sides_ = []
        for s in ("post", "pre"):
            e = r[f"estimate_{s}"]
            ok = e is not None and e > 0 and r[f"ci_lower_{s}"] is not None
            sides_.append(
                (e, r[f"ci_lower_{s}"], r[f"ci_upper_{s}"], bool(r[f"significant_{s}"]))
                if ok
                else None
            )
        period = "post_ics" if sides_[0] is None else "pre_ics"
        v, s = placebo_verdict(*sides_, missing=why.get((r["spec_id"], period), ""))
        verdicts.append(v)
        sentences.append(s)
    return frame.with_columns(
        pl.Series("verdict", verdicts, dtype=pl.String),
        pl.Series("sentence", sentences, dtype=pl.String),
    ).select(CURVE_PLACEBO.column_names)


def placebo_summary(placebo: pl.DataFrame) -> str:
    """One paragraph: how many specifications fall under each placebo verdict."""
    both = placebo.filter(pl.col("verdict") != "not_comparable")
    if both.is_empty():
        return "No specification was estimated both before and after ICSs began: no placebo."
    counts = dict(both["verdict"].value_counts().iter_rows())
    parts = [f"{VERDICTS[v]}: {counts[v]}" for v in VERDICTS if v in counts]
    text = (
        f"Placebo (ratings published before ICSs began in July 2022 cannot reflect ICS "
        f"collaboration): of {both.height} specifications estimated in both periods, "
        + "; ".join(parts)
        + "."
    )
    if counts.get("pre_as_strong", 0):
        text += (
            " Where the exposure predicts pre-ICS ratings as strongly as post-ICS ones, the "
            "association reflects geography or history, not ICS collaboration."
        )
    if n_only := placebo.height - both.height:
        text += f" {n_only} specification(s) were estimated in one period only."
    return text


__all__ = [
    "curve_summary",
    "placebo_comparison",
    "placebo_summary",
    "placebo_verdict",
]
