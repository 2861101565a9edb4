"""One paragraph, in plain English, of what the collaboration analysis can and cannot say.

:func:`plain_conclusion` writes it from the numbers only: the headline test (estimate,
interval, the minimum detectable effect), the specification curve (shares of each sign and
significant, the joint permutation test), the pre-ICS placebo and, when run, the power
simulation. For scale it quotes a published bar: in 7,310 English GP practices, funding per
SD had an odds ratio of 1.13 (1.06-1.19) on the CQC rating (see the README); an association
with a proxy of "collaboration" far larger than that deserves suspicion.
"""

from __future__ import annotations

from typing import Any

#: a published effect size on GP ratings, for scale
FUNDING_BAR = "funding per SD had an odds ratio of 1.13 (1.06-1.19) on 7,310 GP practices' ratings"


def _or(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x == float("inf"):
        return "unbounded"
    return f"{x:.2f}"


def _headline(r: Any) -> str:
    lo, hi = r.ci_lower, r.ci_upper
    covers = lo <= 1.0 <= hi
    if lo == 0.0 and hi == float("inf"):
        interval = "95% CI unbounded on both sides"
        what = "the data cannot tell any odds ratio from no association"
    else:
        interval = f"95% CI {_or(lo)}-{_or(hi)}"
        what = (
            (
                "compatible both with no association and with odds ratios of any size "
                "(the interval has no upper bound)"
                if hi == float("inf")
                else f"compatible both with no association and with odds ratios up to {_or(hi)}"
            )
            if covers
            else ("a positive" if r.odds_ratio_per_sd > 1 else "a negative")
            + " association that the interval does not cross 1 for"
        )
    return (
        f"Among {r.n_providers} providers in {r.n_clusters} ICSs ({r.n_outcome} rated "
        f"{r.outcome}), the odds ratio of {r.outcome} per SD of {r.exposure} is "
        f"{_or(r.odds_ratio_per_sd)} ({interval}): {what}."
    )


def _curve(curve: Any) -> str:
    parts = []
    for row in curve.summary.to_dicts():
        period = "after ICSs began (July 2022)" if row["period"] == "post_ics" else "before"
        joint = curve.joint.filter(
            (curve.joint["period"] == row["period"])
            & (curve.joint["statistic"] == "n_significant_dominant")
        )
        p = joint["p_value"][0] if joint.height else None
        parts.append(
            f"of {row['n_estimated']} specifications of ratings published {period}, "
            f"{row['share_positive']:.0%} estimate a positive association and "
            f"{row['share_significant_positive'] + row['share_significant_negative']:.0%} are "
            f"significant at 5% (median odds ratio {_or(row['median_estimate'])}"
            + (f"; joint permutation test p = {p:.2f}" if p is not None else "")
            + ")"
        )
    return "Across the specification curve, " + "; ".join(parts) + "."


def plain_conclusion(result: Any = None, curve: Any = None, power: Any = None) -> str:
    """Return the plain-English conclusion of the collaboration analysis.

    Parameters
    ----------
    result : the headline :class:`~ics_model.effects.EffectResult`, or None.
    curve : the :class:`~ics_model.effects.curve.CurveResult`, or None.
    power : the power simulation result (with ``mde``), or None.

    Returns
    -------
    str
        One paragraph. It always ends by saying that this is an association with a proxy,
        not a causal effect of collaboration.
    """
    sentences = []
    if result is not None:
        sentences.append(_headline(result))
        mde = getattr(power, "min_detectable_effect", None) if power is not None else None
        if power is not None and mde is None:
            largest = float(power.table["odds_ratio"].max())
            detect = (
                f"not even an odds ratio of {largest:g} per SD reaches 80% power in the "
                "simulation on the real design"
            )
        else:
            source = "by simulation on the real design" if mde is not None else "approximately"
            mde = mde if mde is not None else result.min_detectable_effect
            detect = (
                "the design detects with 80% power only odds ratios of about "
                f"{_or(mde)} per SD or more ({source})"
            )
        sentences.append(
            f"{detect[0].upper()}{detect[1:]}; for scale, {FUNDING_BAR}. An association far "
            "larger than that would deserve suspicion, and a smaller one cannot be told from none."
        )
    if curve is not None and curve.summary.height:
        sentences.append(_curve(curve))
        if curve.placebo_text:
            sentences.append(curve.placebo_text)
    sentences.append(
        "These are associations with proxies of collaboration (patient-flow structure, PCN "
        "membership), not causal effects: the exposures are measured at one time and the "
        "ratings at others, and ICSs differ in much besides collaboration."
    )
    return " ".join(sentences)


__all__ = ["FUNDING_BAR", "plain_conclusion"]
