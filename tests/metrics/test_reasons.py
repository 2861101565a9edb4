"""Finishing ics_metrics: geography notes, a row per ICS x metric, a reason for every gap."""

import polars as pl

from ics_model.mapping.icb_geography import IcbGeography
from ics_model.metrics.reasons import NO_REASON, NO_ROW, with_geography_notes
from ics_model.metrics.system import ICS_METRICS

E = pl.DataFrame()


def _row(icb, metric, value, note=None, vintage="RTT April 2026; ICBs of April 2023 (42)"):
    return {
        "icb_code": icb,
        "metric": metric,
        "value": value,
        "lower": None,
        "upper": None,
        "pillar": "partnership" if metric == "self_containment" else "inequality",
        "direction": "higher_is_better",
        "unit": "share (0-1)",
        "vintage": vintage,
        "source": "test",
        "note": note,
        "complete": True,
    }


def _frame(rows):
    return pl.DataFrame(rows, schema=ICS_METRICS.empty().schema)


def test_geography_notes_go_to_the_metrics_they_qualify():
    geo = IcbGeography(
        "2026",
        *[E] * 8,
        flow_notes={"QAA": "partial flows"},
        gp_notes={"A1A1A": "GP practices of L1 not placed"},
    )
    m = _frame(
        [
            _row("QAA", "self_containment", 0.8),
            _row("QAA", "gp_sii_good_or_outstanding", 0.1),
            _row("A1A1A", "self_containment", 0.7),
            _row("A1A1A", "gp_sii_good_or_outstanding", None, "4 quantiles (< 5)"),
            _row("A1A1A", "user_score", 3.0),
        ]
    )
    out = with_geography_notes(m, geo, pl.DataFrame({"icb_code": ["A1A1A", "QAA", "QBB"]}))
    notes = {(r["icb_code"], r["metric"]): r["note"] for r in out.iter_rows(named=True)}
    assert notes[("QAA", "self_containment")] == "partial flows"
    assert notes[("QAA", "gp_sii_good_or_outstanding")] is None
    assert notes[("A1A1A", "self_containment")] is None
    assert notes[("A1A1A", "gp_sii_good_or_outstanding")] == (
        "4 quantiles (< 5); GP practices of L1 not placed"
    )
    # QBB gets a row with a reason for each catalogue metric; a user indicator does not
    assert notes[("QBB", "self_containment")] == NO_ROW
    complete = {(r["icb_code"], r["metric"]): r["complete"] for r in out.iter_rows(named=True)}
    assert complete[("QBB", "self_containment")] is False
    assert ("QBB", "user_score") not in notes
    assert set(out["vintage"]) == {"RTT April 2026; ICBs of April 2026 (3)"}


def test_a_null_without_a_reason_gets_one_and_notes_are_not_repeated():
    geo = IcbGeography(
        "2023", *[E] * 8, flow_notes={"QAA": "partial flows"}, partial_flows=frozenset({"QAA"})
    )
    m = _frame(
        [
            _row("QAA", "self_containment", 0.5, "incomplete coverage; partial flows"),
            _row("QAA", "gp_sii_good_or_outstanding", None),
            _row("ENGLAND", "theil_total", None),
        ]
    )
    out = with_geography_notes(m, geo, pl.DataFrame({"icb_code": ["QAA"]}))
    notes = {(r["icb_code"], r["metric"]): r["note"] for r in out.iter_rows(named=True)}
    assert notes[("QAA", "self_containment")] == "incomplete coverage; partial flows"
    assert notes[("QAA", "gp_sii_good_or_outstanding")] == NO_REASON
    assert notes[("ENGLAND", "theil_total")] is None  # national rows are not ICSs
    # QAA's resident flows cover part of it: its flow metrics are incomplete, GP ones not
    complete = {(r["icb_code"], r["metric"]): r["complete"] for r in out.iter_rows(named=True)}
    assert complete[("QAA", "self_containment")] is False
    assert complete[("QAA", "gp_sii_good_or_outstanding")] is True
    assert set(out["vintage"]) == {"RTT April 2026; ICBs of April 2023 (42)"}
