"""The methods pages (docs/methods/*.md): worked examples recomputed with the library.

Each worked example in the pages gives its inputs as a Markdown table right after a comment
``<!-- example: NAME -->`` and its results as inline code ``NAME = VALUE`` (or as a table).
These tests read both from the pages, recompute every result with the library's own
functions, and check that the page shows it correctly rounded to the digits it prints: a
number edited in a page without the library agreeing fails here, and so does a change of
the library that the page does not follow. The pages' mathematics, links and anchors are
checked too (the site renders ``$...$`` and ``$$`` blocks with KaTeX).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = ROOT / "docs" / "methods"
PAGES = (
    "index.md",
    "ratings.md",
    "inequality.md",
    "intervals.md",
    "partnership.md",
    "composite.md",
    "uncertainty.md",
    "nof.md",
    "effects.md",
)
#: every worked example a page marks, by page; each is recomputed by a test below
EXAMPLES = {
    "inequality.md": {"sii", "rii-check", "theil", "leik", "gini"},
    "intervals.md": {"wilson", "kish", "funnel", "fisher-z"},
    "ratings.md": {"principles", "saf", "ics-ratings"},
    "partnership.md": {"flows"},
    "composite.md": {"composite", "composite-results"},
    "uncertainty.md": {"ranks", "sobol"},
    "nof.md": {"nof-segments", "nof-rollup", "nof-cqc"},
    "effects.md": {"icc", "placebo", "power"},
}

_MARKER = re.compile(r"<!--\s*example:\s*([a-z0-9-]+)\s*-->")
_RESULT = re.compile(r"`([^`=\n]+?) = (-?\d+(?:\.\d+)?)`")


# --------------------------------------------------------------------------- reading pages


@cache
def text(page: str) -> str:
    return (METHODS / page).read_text(encoding="utf-8")


def table(page: str, example: str, *, header: bool = False) -> list[list[str]]:
    """The body rows (cells stripped) of the table after ``<!-- example: NAME -->``.

    With ``header``, the header row first.
    """
    lines = text(page).splitlines()
    starts = [i for i, line in enumerate(lines) if _MARKER.search(line) and example in line]
    starts = [i for i in starts if _MARKER.search(lines[i]).group(1) == example]
    assert len(starts) == 1, f"{page}: example {example!r} marked {len(starts)} times"
    i = starts[0] + 1
    while not lines[i].strip():
        i += 1
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
        i += 1
    assert len(rows) >= 3 and set(rows[1][0]) <= {"-", ":"}, f"{page}: no table for {example}"
    return [rows[0], *rows[2:]] if header else rows[2:]


@cache
def results(page: str) -> dict[str, str]:
    """Every inline ``name = number`` of a page; a name shown twice must agree."""
    out: dict[str, str] = {}
    for name, value in _RESULT.findall(text(page)):
        assert out.setdefault(name, value) == value, f"{page}: {name} shown as {value} and more"
    return out


def decimals(shown: str) -> int:
    return len(shown.split(".")[1]) if "." in shown else 0


def assert_rounded(shown: str, value: float, what: str = "") -> None:
    """``shown`` is ``value`` rounded to the digits it prints (half a unit either side)."""
    assert value is not None and math.isfinite(value), f"{what}: library gives {value}"
    tol = 0.5 * 10 ** -decimals(shown) + 1e-9
    assert abs(float(shown) - value) <= tol, f"{what}: page shows {shown}, library {value!r}"


def shows(page: str, name: str, value: float) -> None:
    """The page's result line ``name = ...`` shows ``value``."""
    found = results(page)
    assert name in found, f"{page}: no result line `{name} = ...`"
    assert_rounded(found[name], value, f"{page}: {name}")


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def yes(cell: str) -> bool:
    assert cell in ("yes", "no"), cell
    return cell == "yes"


# --------------------------------------------------------------------------- the pages


def test_every_page_exists_with_a_title_and_no_external_assets():
    for page in PAGES:
        body = text(page)
        assert body.startswith("# "), page
        for bad in ("<img", "<script", "<link", "<iframe", "![", "url("):
            assert bad not in body, f"{page}: {bad}"


def test_every_marked_example_is_recomputed():
    for page in PAGES:
        marked = set(_MARKER.findall(text(page)))
        assert marked == EXAMPLES.get(page, set()), page


def test_inequality_page_shows_the_sii_formula():
    body = text("inequality.md")
    assert r"b_i = \sum_{j<i} a_j + \frac{a_i}{2}" in body
    assert (
        r"\mathrm{SII} = \beta_1 = \frac{\sum_i a_i (b_i - \bar b)\, y_i}"
        r"{\sum_i a_i (b_i - \bar b)^2}" in body
    )
    assert r"\mathrm{RII} = e^{\beta}" in body


def _without_code(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def test_math_is_balanced_and_display_blocks_stand_alone():
    for page in PAGES:
        lines = text(page).splitlines()
        fenced = False
        display = False
        for n, line in enumerate(lines, start=1):
            if line.startswith("```"):
                fenced = not fenced
                continue
            if fenced:
                continue
            if line.strip() == "$$":
                if not display:
                    assert n == 1 or not lines[n - 2].strip(), (
                        f"{page}:{n}: no blank line before $$"
                    )
                else:
                    assert n == len(lines) or not lines[n].strip(), f"{page}:{n}: no blank after $$"
                display = not display
                continue
            if display:
                assert "$" not in line, f"{page}:{n}: $ inside a display block"
                continue
            assert "$$" not in line, f"{page}:{n}: display math must be on lines of its own"
            dollars = len(re.findall(r"(?<!\\)\$", _without_code(line)))
            assert dollars % 2 == 0, f"{page}:{n}: inline math must open and close on one line"
        assert not display and not fenced, page


def slugify(value: str) -> str:
    """Python-Markdown's default heading id (markdown.extensions.toc.slugify)."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def anchors(page: str) -> set[str]:
    heads = [m.group(1) for m in re.finditer(r"^#{1,6} (.+)$", text(page), re.M)]
    slugs = [slugify(h) for h in heads]
    assert len(slugs) == len(set(slugs)), f"{page}: two headings with one anchor"
    return set(slugs)


def test_relative_links_reach_a_page_and_a_heading():
    seen = 0
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", text(page)):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            dest = path or page
            assert dest in PAGES, f"{page}: link to {target} leaves the methods pages"
            if anchor:
                assert anchor in anchors(dest), f"{page}: no heading for {target}"
            seen += 1
    assert seen > 20


# --------------------------------------------------------------------------- inequality


def sii_quintiles() -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    rows = table("inequality.md", "sii")
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    n = np.array([number(r[1]) for r in rows])
    k = np.array([number(r[2]) for r in rows])
    return n, k, rows


def test_sii_worked_example():
    from ics_model.metrics.rii import ridit_ranks
    from ics_model.metrics.sii import slope_index

    n, k, rows = sii_quintiles()
    a, b = n / n.sum(), ridit_ranks(n)
    for r, ai, bi, yi in zip(rows, a, b, k / n, strict=True):
        assert_rounded(r[3], yi, "share")
        assert_rounded(r[4], ai, "a_i")
        assert_rounded(r[5], bi, "b_i")
        assert_rounded(r[6], bi - float(a @ b), "b_i - mean")
    frame = pl.DataFrame({"q": [1, 2, 3, 4, 5], "n": n, "y": k / n, "se": [0.1] * 5})
    out = slope_index(
        frame,
        quantile="q",
        population="n",
        value="y",
        se="se",
        intercept=True,
        repetitions=1000,
        seed=1,
    ).row(0, named=True)
    shows("inequality.md", "SII", out["sii"])
    shows("inequality.md", "intercept", out["intercept"])
    shows("inequality.md", "phe_sii RII", out["rii"])


def _practices(n: np.ndarray, k: np.ndarray) -> pl.DataFrame:
    rows = []
    for q, (nq, kq) in enumerate(zip(n.astype(int), k.astype(int), strict=True), start=1):
        rows += [("QAA", q, "Good")] * kq + [("QAA", q, "Requires improvement")] * (nq - kq)
    return pl.DataFrame(rows, schema=["icb_code", "imd_quintile", "rating"], orient="row")


def _pipeline_metrics(n: np.ndarray, k: np.ndarray) -> dict[str, float | None]:
    from ics_model.metrics.system import gp_inequality_rows

    rows = gp_inequality_rows(_practices(n, k), repetitions=1000, seed=1, min_group_size=5)
    return dict(rows.filter(pl.col("icb_code") == "QAA").select("metric", "value").iter_rows())


def test_sii_rii_and_gap_through_the_pipeline_and_the_small_number_rule():
    n, k, _ = sii_quintiles()
    m = _pipeline_metrics(n, k)
    shows("inequality.md", "SII", m["gp_sii_good_or_outstanding"])
    shows("inequality.md", "RII", m["gp_rii_good_or_outstanding"])
    shows("inequality.md", "gap", m["gp_gap_good_or_outstanding"])
    # the page: with 4 rated practices in quintile 1, SII, RII and the gap are null
    assert "quintile 1 held 4 rated practices" in text("inequality.md")
    small_n, small_k = n.copy(), k.copy()
    small_n[0], small_k[0] = 4, 2
    small = _pipeline_metrics(small_n, small_k)
    for metric in ("gp_sii_good_or_outstanding", "gp_rii_good_or_outstanding"):
        assert small[metric] is None, metric
    assert small["gp_gap_good_or_outstanding"] is None


def test_rii_worked_example():
    from ics_model.metrics.rii import relative_index, ridit_ranks

    n, k, _ = sii_quintiles()
    frame = pl.DataFrame({"q": [1, 2, 3, 4, 5], "n": n, "k": k})
    out = relative_index(frame, quantile="q", population="n", events="k", repetitions=1000, seed=1)
    beta = out["log_rii"][0]
    shows("inequality.md", "log RII", beta)
    shows("inequality.md", "RII", out["rii"][0])
    b = ridit_ranks(n)
    assert f"\\beta = {beta:.6f}" in text("inequality.md")
    for r, ni, bi in zip(table("inequality.md", "rii-check"), n, b, strict=True):
        assert number(r[1]) == ni
        assert_rounded(r[2], math.exp(beta * bi), "exp(beta b)")
        assert_rounded(r[3], ni * math.exp(beta * bi), "n exp(beta b)")
        assert_rounded(r[4], ni * math.exp(beta * bi) * bi, "n exp(beta b) b")
    tilted = np.sum(n * np.exp(beta * b) * b) / np.sum(n * np.exp(beta * b))
    assert tilted == pytest.approx(float(k @ b / k.sum()), abs=1e-9)


def test_theil_worked_example():
    from ics_model.metrics.inequality import theil_decomposition

    rows = table("inequality.md", "theil")
    frame = pl.DataFrame(
        {
            "ics": [r[0] for r in rows],
            "w": [number(r[2]) for r in rows],
            "x": [number(r[3]) for r in rows],
        }
    )
    dec = theil_decomposition(frame, "x", "ics", weight="w")
    shows("inequality.md", "T", dec.total)
    shows("inequality.md", "between", dec.between)
    shows("inequality.md", "within", dec.within)
    t_a = dec.groups.filter(pl.col("ics") == "A")["theil"][0]
    shows("inequality.md", "T_A", t_a)
    assert dec.between + dec.within == pytest.approx(dec.total)


def test_leik_worked_example():
    from ics_model.metrics.inequality import rating_dispersion
    from ics_model.ratings import RATING_COUNT_COLUMNS, RATING_LABELS

    head, row = table("inequality.md", "leik", header=True)
    assert head[1:] == list(RATING_LABELS) and row[0] == "providers"
    counts = dict(zip(RATING_LABELS, row[1:], strict=True))
    frame = pl.DataFrame({RATING_COUNT_COLUMNS[r]: [int(c)] for r, c in counts.items()})
    shows("inequality.md", "D", rating_dispersion(frame)["leik_dispersion"][0])


def test_gini_worked_example():
    from ics_model.metrics.inequality import gini

    rows = table("inequality.md", "gini")
    w = [number(r[1]) for r in rows]
    over = [number(r[2]) for r in rows]
    x = [o / p for o, p in zip(over, w, strict=True)]
    for r, xi in zip(rows, x, strict=True):
        assert_rounded(r[3], xi, "share")
    shows("inequality.md", "G", gini(x, w))


# --------------------------------------------------------------------------- intervals


def test_wilson_worked_example():
    from ics_model.ratings import wilson_interval

    ((k, n, level),) = table("intervals.md", "wilson")
    lower, upper = wilson_interval(int(k), int(n), float(level))
    shows("intervals.md", "Wilson lower", lower)
    shows("intervals.md", "Wilson upper", upper)


def test_effective_size_wilson_worked_example():
    from ics_model.views import ics_view_by

    (own, shared) = table("intervals.md", "kish")
    assert number(own[2]) == 1
    icbs = pl.DataFrame({"icb_code": ["QAA"], "icb_gss": ["E54000001"], "icb_name": ["A"]})

    def trust(row: list[str], trust_type: str) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "sector": ["nhs_trust"],
                "provider_id": [row[0]],
                "key_question": ["Overall"],
                "rating": [row[1]],
                "icb_code": ["QAA"],
                "trust_type": [trust_type],
            }
        )

    allocated = trust(shared, "ambulance").with_columns(icb_weight=pl.lit(number(shared[2])))
    view = ics_view_by(trust(own, "acute"), icbs, vintages={}, allocated=allocated)
    row = view.filter((pl.col("trust_type") == "all") & (pl.col("key_question") == "Overall"))
    shows("intervals.md", "n_eff", row["n_rated_effective"][0])
    shows("intervals.md", "effective lower", row["share_good_or_outstanding_lower"][0])
    shows("intervals.md", "effective upper", row["share_good_or_outstanding_upper"][0])


def test_funnel_worked_example():
    from ics_model.funnel import funnel_limits

    ((p0, n, level),) = table("intervals.md", "funnel")
    args = (float(p0), [int(n)], [float(level)])
    exact = funnel_limits(*args).row(0, named=True)
    normal = funnel_limits(*args, method="normal").row(0, named=True)
    shows("intervals.md", "exact upper", exact["upper"])
    shows("intervals.md", "exact lower", exact["lower"])
    shows("intervals.md", "normal upper", normal["upper"])
    assert normal["lower"] == 0.0
    wider = funnel_limits(float(p0), [int(n)], [0.998])["upper"][0]
    assert f"{wider:.5f}" in text("intervals.md")


def test_fisher_z_worked_example():
    from ics_model.effects.rank_correlation import bonett_wright_interval, fieller_interval

    rows = {r[0]: (float(r[1]), int(r[2])) for r in table("intervals.md", "fisher-z")}
    for name, fn in (("spearman", bonett_wright_interval), ("kendall", fieller_interval)):
        lower, upper = fn(*rows[name])
        shows("intervals.md", f"{name} lower", lower)
        shows("intervals.md", f"{name} upper", upper)


def test_order_statistics_and_clopper_pearson():
    from ics_model.effects.power import clopper_pearson
    from ics_model.metrics.sii import _order_stats

    ((lower, upper),) = _order_stats(np.arange(1.0, 100_001.0), [0.95])  # the i-th draw is i
    shows("intervals.md", "lower position", lower)
    shows("intervals.md", "upper position", upper)
    shows("intervals.md", "clopper-pearson upper", clopper_pearson(0, 10)[1])


# --------------------------------------------------------------------------- ratings


def test_principles_worked_example():
    from ics_model.rules import rule_from_counts

    rows = table("ratings.md", "principles")
    assert len(rows) >= 8
    for rule_set, o, g, r, i, aggregate in rows:
        got = rule_from_counts(int(o), int(g), int(r), int(i), rule_set)
        assert got == aggregate, (rule_set, o, g, r, i)


def test_saf_worked_example():
    from ics_model.rules import saf_percent, saf_rating

    for scores, percent, nearest, exact in table("ratings.md", "saf"):
        s = [int(v) for v in scores.split()]
        assert_rounded(percent, saf_percent(s), scores)
        assert saf_rating(s) == nearest
        assert saf_rating(s, rounding="exact") == exact


def test_modelled_ics_ratings_worked_example():
    from ics_model.rules import ics_modelled_ratings

    rows = table("ratings.md", "ics-ratings")
    counts = [[int(c) for c in r[1:5]] for r in rows]
    view = pl.DataFrame(
        {
            "icb_code": [r[0] for r in rows],
            "sector": ["nhs_trust"] * len(rows),
            "key_question": ["Overall"] * len(rows),
            "n_rated": [sum(c) for c in counts],
            "n_outstanding": [c[0] for c in counts],
            "n_good": [c[1] for c in counts],
            "n_requires_improvement": [c[2] for c in counts],
            "n_inadequate": [c[3] for c in counts],
        }
    )
    shares = ics_modelled_ratings(view, "ics_shares")["modelled_ics_rating"].to_list()
    segments = ics_modelled_ratings(view, "ics_nof_segments")["modelled_ics_segment"].to_list()
    for r, rating, segment in zip(rows, shares, segments, strict=True):
        assert (rating or "none") == r[5], r[0]
        assert ("none" if segment is None else str(segment)) == r[6], r[0]


def test_rating_age_worked_example():
    from ics_model.mapping.age import with_rating_age
    from ics_model.mapping.base import finish

    frame = finish(
        pl.DataFrame(
            {
                "sector": ["gp_practice", "nhs_trust"],
                "provider_id": ["P1", "T1"],
                "key_question": ["Overall", "Overall"],
                "rating_status": ["rated", "rated"],
                "publication_date": [None, date(2016, 9, 3)],
                "publication_year": [2016, 2016],
                "publication_date_precision": ["year", "day"],
                "icb_code": ["QAA", "QAA"],
                "icb_name": ["A", "A"],
                "mapping_method": ["icb_name", "ods_trust"],
                "rating_source": ["own", "own"],
            }
        )
    )
    assert "3 September 2018" in text("ratings.md")
    ages = dict(
        with_rating_age(frame, date(2018, 9, 3)).select("provider_id", "rating_age_years").rows()
    )
    shows("ratings.md", "GP practice age", ages["P1"])
    shows("ratings.md", "trust age", ages["T1"])


# --------------------------------------------------------------------------- partnership


def test_partnership_worked_example():
    from ics_model.data.ods import SubIcbKind
    from ics_model.data.rtt import PartType
    from ics_model.metrics.partnership import (
        ics_partnership_metrics,
        provider_partnership_metrics,
    )
    from ics_model.metrics.partnership_inputs import flow_table

    rows = table("partnership.md", "flows")
    icss = sorted({r[0] for r in rows})
    sub_icb = {code: f"0{i}X" for i, code in enumerate(icss, start=1)}
    hosts = {r[1]: r[2] for r in rows}
    names = {p: f"{p} HOSPITALS NHS TRUST" for p, h in hosts.items() if h != "independent"}
    names |= {p: f"{p} SURGICAL LTD" for p, h in hosts.items() if h == "independent"}
    trusts = pl.DataFrame(
        [(p, names[p], h, True) for p, h in hosts.items() if h != "independent"],
        schema=["org_code", "name", "icb_code", "is_open"],
        orient="row",
    )
    subs = pl.DataFrame(
        [(sub_icb[c], f"SUB-ICB {c}", "sub_icb_location", c, True) for c in icss],
        schema=["org_code", "name", "kind", "icb_code", "is_open"],
        orient="row",
    ).with_columns(pl.col("kind").cast(SubIcbKind))
    flows = pl.DataFrame(
        [
            (
                "RTT-January-2030",
                r[1],
                names[r[1]],
                r[0],
                sub_icb[r[0]],
                "C",
                "Part_2",
                "C_999",
                int(number(r[3])),
                i,
            )
            for i, r in enumerate(rows)
        ],
        schema={
            "period": pl.String,
            "provider_code": pl.String,
            "provider_name": pl.String,
            "commissioner_parent_code": pl.String,
            "commissioner_code": pl.String,
            "commissioner_name": pl.String,
            "part_type": pl.String,
            "treatment_function_code": pl.String,
            "pathways": pl.Int64,
            "source_row": pl.Int64,
        },
        orient="row",
    ).with_columns(pl.col("part_type").cast(PartType))
    t = flow_table(flows, trusts, subs)
    icbs = pl.DataFrame({"icb_code": icss, "icb_name": icss})
    ics = {r["icb_code"]: r for r in ics_partnership_metrics(t, icbs).iter_rows(named=True)}
    for name, shown in results("partnership.md").items():
        metric, _, code = name.rpartition(" ")
        if code in ics:
            assert_rounded(shown, ics[code][metric], name)
    trust = {r["provider_id"]: r for r in provider_partnership_metrics(t).iter_rows(named=True)}
    for metric in ("home_system_share", "n_commissioning_icss", "hhi_commissioning_icss"):
        shows("partnership.md", f"{metric} RA1", trust["RA1"][metric])
    assert len([n for n in results("partnership.md") if n.rpartition(" ")[2] in ics]) >= 9


# --------------------------------------------------------------------------- composite


def _composite(**top):
    from ics_model.composite import composite, composite_spec_from_dict

    rows = table("composite.md", "composite")
    cols = ["gp_good_or_outstanding", "gp_sii", "self_containment"]
    matrix = pl.DataFrame(
        {
            "icb_code": [r[0] for r in rows],
            "icb_name": [r[0] for r in rows],
            **{
                c: [None if r[j] == "-" else number(r[j]) for r in rows]
                for j, c in enumerate(cols, 1)
            },
        },
        schema_overrides=dict.fromkeys(cols, pl.Float64),
    )

    def ind(name: str, direction: str = "higher_is_better") -> dict:
        return {"name": name, "source": f"metric:{name}", "direction": direction}

    pillars = {
        "quality": {"weight": 1, "indicators": [ind(cols[0]), ind(cols[1], "lower_is_better")]},
        "partnership": {"weight": 1, "indicators": [ind(cols[2])]},
    }
    return composite(matrix, composite_spec_from_dict({"pillars": pillars, **top}))


def test_composite_worked_example():
    arithmetic = _composite().scores
    geometric = _composite(aggregation="geometric", normalise_range=[1, 100]).scores
    rows = table("composite.md", "composite-results")
    assert [r[0] for r in rows] == arithmetic["icb_code"].to_list()
    for r, a, ar, g, gr in zip(
        rows,
        arithmetic["score"],
        arithmetic["rank"],
        geometric["score"],
        geometric["rank"],
        strict=True,
    ):
        assert_rounded(r[1], a, f"arithmetic {r[0]}")
        assert int(r[2]) == ar
        assert_rounded(r[3], g, f"geometric {r[0]}")
        assert int(r[4]) == gr
    coverage = dict(zip(arithmetic["icb_code"], arithmetic["coverage"], strict=True))
    shows("composite.md", "coverage Q04", coverage["Q04"])
    assert _composite(min_coverage=0.8).scores["rank"].to_list()[3] is None


# --------------------------------------------------------------------------- uncertainty


def test_rank_summary_worked_example():
    from ics_model.uncertainty.run import _per_ics
    from ics_model.uncertainty.spec import UncertaintySpec

    rows = table("uncertainty.md", "ranks")
    ranks = np.array([[number(c) for c in r[1:]] for r in rows])
    codes = ["A", "B", "C"]
    out = _per_ics(codes, codes, -ranks.mean(axis=0), -ranks, ranks, UncertaintySpec(top_k=1))
    a = out.row(0, named=True)
    assert a["icb_code"] == "A"
    for column in ("rank_median", "rank_p05", "rank_p95", "p_top_k", "p_bottom_k"):
        shows("uncertainty.md", f"{column} A", a[column])


def test_dirichlet_weight_spread_worked_example():
    from ics_model.uncertainty.draws import weight_draws

    kappa, w = 50.0, 1 / 3
    sd = math.sqrt(w * (1 - w) / (kappa + 1))
    shows("uncertainty.md", "weight SD", sd)
    _, pillars = weight_draws(
        [1.0], [1.0, 1.0, 1.0], [0], n=100_000, rng=np.random.default_rng(7), concentration=kappa
    )
    assert pillars.std(axis=0) == pytest.approx([sd] * 3, abs=1e-3)


def test_sobol_worked_example():
    from ics_model.uncertainty.sobol import sobol_design, sobol_indices, sobol_problem

    rows = {r[0]: [number(c) for c in r[1:]] for r in table("uncertainty.md", "sobol")}
    exact = {
        "$Y = X_1 + 2X_2$": [0.2, 0.8, 0.2, 0.8],
        "$Y = X_1 X_2$": [3 / 7, 3 / 7, 4 / 7, 4 / 7],
    }
    assert set(rows) == set(exact)
    problem = sobol_problem(["x1", "x2"])
    x = sobol_design(problem, 1024, calc_second_order=False, seed=1)
    outputs = {"additive": x[:, 0] + 2 * x[:, 1], "product": x[:, 0] * x[:, 1]}
    got = sobol_indices(
        problem,
        {k: v[:, None] for k, v in outputs.items()},
        ["Q01"],
        ["one"],
        calc_second_order=False,
        num_resamples=50,
        seed=2,
    ).filter(pl.col("icb_code") == "Q01")
    for (model, shown), output in zip(rows.items(), outputs, strict=True):
        for v, e in zip(shown, exact[model], strict=True):
            assert_rounded(f"{v:.4f}", e, model)
        est = got.filter(pl.col("output") == output).sort("assumption")  # x1, x2
        estimates = [*est["S1"], *est["ST"]]
        assert estimates == pytest.approx(exact[model], abs=0.02), model


# --------------------------------------------------------------------------- NOF


def test_nof_segments_worked_example():
    from ics_model.ratings import NOF_DOMAINS
    from ics_model.rules.nof import nof_segments

    rows = table("nof.md", "nof-segments")
    frame = pl.DataFrame(
        {
            "org_code": [r[0] for r in rows],
            "league_avg_score": [number(r[1]) for r in rows],
            "league_in_deficit": [yes(r[2]) for r in rows],
        }
    ).with_columns(pl.lit(None, pl.Float64).alias(f"domain_score_{d}") for d in NOF_DOMAINS)
    out = nof_segments(frame, "nof_2025_26")
    for r, raw, seg in zip(
        rows, out["derived_unadjusted_segment"], out["derived_segment"], strict=True
    ):
        assert (int(r[3]), int(r[4])) == (raw, seg), r[0]


def test_nof_rollup_worked_example():
    from ics_model.metrics.nof import ics_nof

    rows = table("nof.md", "nof-rollup")
    trusts = pl.DataFrame(
        {
            "icb_code": [r[0] for r in rows],
            "nhs_trust_type": ["Acute trust"] * len(rows),
            "adjusted_segment": [int(r[2]) for r in rows],
            "avg_metric_score": [number(r[1]) for r in rows],
            "in_deficit": [yes(r[3]) for r in rows],
            "data_month": ["2026-03"] * len(rows),
        }
    )
    codes = sorted({r[0] for r in rows})
    icbs = pl.DataFrame({"icb_code": codes, "icb_name": codes})
    out = {r["icb_code"]: r for r in ics_nof(trusts, icbs, by_type=False).iter_rows(named=True)}
    qa1 = out["QA1"]
    shows("nof.md", "share_segment_1_2 QA1", qa1["share_segment_1_2"])
    shows("nof.md", "wilson lower QA1", qa1["share_segment_1_2_lower"])
    shows("nof.md", "wilson upper QA1", qa1["share_segment_1_2_upper"])
    shows("nof.md", "mean_avg_score QA1", qa1["mean_avg_score"])
    shows("nof.md", "rank QA1", qa1["rank"])
    assert not out["QB2"]["ranked"] and out["QB2"]["rank"] is None


def test_nof_cqc_correlation_worked_example():
    from ics_model.effects.rank_correlation import spearman_rows, tau_b_rows

    rows = table("nof.md", "nof-cqc")
    x = np.array([[number(r[1]) for r in rows]])
    y = np.array([[number(r[2]) for r in rows]])
    shows("nof.md", "spearman", spearman_rows(x, y)[0])
    shows("nof.md", "kendall tau-b", tau_b_rows(x, y)[0])


# --------------------------------------------------------------------------- effects


def test_icc_and_mde_worked_example():
    from ics_model.effects.core import anova_icc, min_detectable_or

    values, clusters = [], []
    for cluster, outcomes in table("effects.md", "icc"):
        v = [float(o) for o in outcomes.split()]
        values += v
        clusters += [cluster] * len(v)
    shows("effects.md", "ICC", anova_icc(np.array(values), np.array(clusters)))
    # 630 practices in 30 ICSs of 21, prevalence 0.05, rho_y 0.05, rho_x 1: DEFF = 2
    deff = 1 + (21 - 1) * 0.05 * 1.0
    shows("effects.md", "MDE", min_detectable_or(630, 0.05, deff, 1.0))


def test_placebo_worked_example():
    from ics_model.effects.curve_summary import placebo_verdict

    rows = table("effects.md", "placebo")
    assert len(rows) >= 5
    for r in rows:
        post = (number(r[0]), number(r[1]), number(r[2]), yes(r[3]))
        pre = (number(r[4]), number(r[5]), number(r[6]), yes(r[7]))
        assert placebo_verdict(post, pre)[0] == r[8], r


def test_specification_count_and_power_worked_examples():
    from ics_model.effects.power import min_detectable_effect
    from ics_model.effects.spec import EffectCurveConfig, combination_problem

    c = EffectCurveConfig()
    valid = [
        (p, o, m)
        for p in c.populations
        for o in c.outcomes
        for m in c.models
        if combination_problem(p, o, m) is None
    ]
    shows("effects.md", "valid specifications", len(valid) * len(c.exposures) * len(c.controls))
    rows = table("effects.md", "power")
    ors, power = [number(r[0]) for r in rows], [number(r[1]) for r in rows]
    shows("effects.md", "minimum detectable OR", min_detectable_effect(ors, power))
