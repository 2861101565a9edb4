"""GP provider-level collaboration exposures: the ePCN, list-size and payments readers, the
builder on hand-made frames (answers worked out by hand) and the real embedded data."""

import gzip
import hashlib
from datetime import date, timedelta

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.contracts import DataContractError
from ics_model.data.cqc import read_gp_practices
from ics_model.data.gp_lists import GP_LIST_SIZES, read_gp_list_sizes
from ics_model.data.gp_payments import GP_PAYMENTS, PCN_NETWORK_COLUMNS, read_gp_payments
from ics_model.data.ods import read_ods_sub_icbs
from ics_model.data.pcn import EPCN_MEMBERSHIPS, read_epcn
from ics_model.data.sources import SOURCES
from ics_model.metrics.gp_exposure_catalogue import (
    EXPOSURES,
    NO_CODE,
    NO_REASON,
    exposure_catalogue,
    gp_exposure_coverage,
)
from ics_model.metrics.gp_exposure_payments import NOTES as PAY_NOTES
from ics_model.metrics.gp_exposure_payments import pcn_payments
from ics_model.metrics.gp_exposures import GP_EXPOSURES, NOTES, gp_exposures, memberships_at

# --------------------------------------------------------------------------- ePCN reader

EPCN_HEADER = [
    "Partner\nOrganisation\nCode", "Partner\nName", "Practice\nParent\nSub ICB Loc Code",
    "Practice\nParent\nSub ICB Loc Name", "PCN Code", "PCN Name", "PCN Parent\nSub ICB Loc Code",
    "PCN Parent\nSub ICB Loc Name", "Practice to PCN\nRelationship\nStart Date",
    "Practice to PCN\nRelationship\nEnd Date", "Practice Sub ICB Loc and PCN Sub ICB Loc Match ",
]  # fmt: skip


def _spell_row(code, pcn, start, end="", sub="01A", pcn_sub="01A", match="true"):
    return [code, f"Practice {code}", sub, "SUB", pcn, f"PCN {pcn}", pcn_sub, "SUB", start, end,
            match]  # fmt: skip


def _write_epcn_xlsx(path, rows):
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("PCNDetails").write_row(0, 0, ["PCN Code", "PCN Name"])
    ws = wb.add_worksheet("PCN Core Partner Details")
    for i, row in enumerate([EPCN_HEADER, *rows]):
        ws.write_row(i, 0, row)
    wb.close()
    return path


def _write_epcn_csv(path, rows):
    header = [" ".join(h.split()) for h in EPCN_HEADER]
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def test_epcn_reader_reads_the_ods_workbook_layout(tmp_path):
    rows = [
        _spell_row("A81001", "U00001", "20191001"),
        _spell_row("A81002", "U00001", "20191001", "20210331"),
        _spell_row("A81002", "U00002", "20210401", sub="02B", match="false"),
    ]
    ld = read_epcn(_write_epcn_xlsx(tmp_path / "ePCN.xlsx", rows))
    assert ld.frame.columns == EPCN_MEMBERSHIPS.column_names
    assert ld.frame["source_row"].to_list() == [2, 3, 4]  # spreadsheet rows, header 1
    assert ld.frame["start_date"].to_list() == [date(2019, 10, 1)] * 2 + [date(2021, 4, 1)]
    assert ld.frame["end_date"].to_list() == [None, date(2021, 3, 31), None]
    assert ld.frame["sub_icb_match"].to_list() == [True, True, False]
    assert ld.n_input_rows == 3 and ld.quarantine.is_empty()
    assert "3 spells: 2 practices, 2 PCNs, 2 spells still open" in ld.notes


def test_epcn_reader_reports_every_bad_value_with_its_row(tmp_path):
    rows = [
        _spell_row("A81001", "U00001", "20191001"),  # row 2: good
        _spell_row("A81002", "U00001", "2019-13-45"),  # row 3: not a date
        _spell_row("A81003", "U00001", "20200401", "20200301"),  # row 4: ends before start
        _spell_row("A8100X", "U00001", "20191001"),  # row 5: not a practice code
        _spell_row("A81004", "00L", "20191001"),  # row 6: not a PCN code
        _spell_row("A81005", "U00001", "20191001", sub="02B"),  # row 7: Match flag wrong
        _spell_row("A81006", "U00001", "20191001", match="perhaps"),  # row 8: not a flag
        _spell_row("A81001", "U00001", "20191001"),  # row 9: the spell of row 2 again
    ]
    path = _write_epcn_csv(tmp_path / "epcn.csv", rows)
    with pytest.raises(DataContractError) as err:
        read_epcn(path)
    v = err.value.violations
    found = {(r["row"], r["column"]) for r in v.iter_rows(named=True)}
    assert {
        (3, "start_date"),
        (4, "end_date"),
        (5, "practice_code"),
        (6, "pcn_code"),
        (7, "sub_icb_match"),
        (8, "sub_icb_match"),
        (2, "practice_code+pcn_code+start_date"),
        (9, "practice_code+pcn_code+start_date"),
    } <= found
    problems = dict(zip(v["row"], v["problem"], strict=False))
    assert problems[3] == "not a date (expected YYYYMMDD)"
    assert problems[4] == "end date before the start date"
    ld = read_epcn(path, mode="lenient")
    assert ld.frame["source_row"].to_list() == []  # rows 2 and 9 are duplicates of each other
    assert sorted(ld.quarantine["source_row"].to_list()) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert ld.n_input_rows == ld.frame.height + ld.quarantine.height


def test_epcn_reader_names_a_missing_column_and_a_bad_vintage(tmp_path):
    path = tmp_path / "epcn.csv"
    path.write_text("Partner Organisation Code,PCN Code\nA81001,U00001\n")
    with pytest.raises(DataContractError, match="Practice to PCN Relationship Start Date"):
        read_epcn(path)
    with pytest.raises(ValueError, match="vintage must be one of"):
        read_epcn(vintage="2019-12")


# --------------------------------------------------------------------------- list sizes

LIST_HEADER = (
    "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS"
)


def _list_row(code, n="5000", sex="ALL", when="01May2022", ccg="00L"):
    return f"GP_PRAC_PAT_LIST,{when},GP,{ccg},E38000130,{code},NE65 7UW,{sex},ALL,{n}"


def test_list_reader_reads_practice_totals(tmp_path):
    path = tmp_path / "lists.csv"
    header = LIST_HEADER.replace("CCG_CODE", "SUB_ICB_LOCATION_CODE")  # sub-ICB-era header
    path.write_text("\n".join([header, _list_row("A84002"), _list_row("A84005", '"1,234"')]))
    ld = read_gp_list_sizes(path)
    assert ld.frame.columns == GP_LIST_SIZES.column_names
    assert ld.frame.rows() == [
        ("A84002", "00L", "NE65 7UW", date(2022, 5, 1), 5000, 2),
        ("A84005", "00L", "NE65 7UW", date(2022, 5, 1), 1234, 3),
    ]


def test_list_reader_reports_every_bad_value_with_its_row(tmp_path):
    rows = [
        _list_row("A84001"),  # row 2: good
        _list_row("A84002", "12.5"),  # row 3: not a whole number
        _list_row("A84003", sex="MALE"),  # row 4: a breakdown, not a total
        _list_row("A84004", when="01Jun2022"),  # row 5: another extract date
        _list_row("A84005", "-3"),  # row 6: negative
        _list_row("A84001", "7000"),  # row 7: practice listed twice (with row 2)
    ]
    path = tmp_path / "lists.csv"
    path.write_text("\n".join([LIST_HEADER, *rows]))
    with pytest.raises(DataContractError) as err:
        read_gp_list_sizes(path)
    v = {(r["row"], r["column"], r["problem"]) for r in err.value.violations.iter_rows(named=True)}
    assert (3, "patients", "not a whole number") in v
    assert (4, "sex", "not a practice total (SEX should be ALL)") in v
    assert (5, "extract_date", "extract date differs from the file's (2022-05-01)") in v
    assert (6, "patients", "below the minimum 0") in v
    assert (2, "practice_code", "duplicate key") in v and (7, "practice_code", "duplicate key") in v
    ld = read_gp_list_sizes(path, mode="lenient")
    assert ld.frame.is_empty()
    assert ld.quarantine["source_row"].to_list() == [2, 3, 4, 5, 6, 7]


# --------------------------------------------------------------------------- payments

PAY_HEADER = [
    "NHS England (Region) code", "CCG Code", "Sub ICB NAME", "Code", "CCG NAME", "Practice Code",
    "Practice Name", "Practice Open Date", "Practice Close Date", "Contract Type",
    "Dispensing Practice", "Practice type", "Practice Rurality", "Atypical characteristics",
    "Number of Registered Patients (Last Known Figure)",
    "Number of Weighted Patients (Last Known Figure)", "Global Sum", "PCN Participation",
    "PCN Leadership", "PCN Support", "PCN Extended Hours Access", "PCN Workforce",
    "PCN Investment and impact Fund", "PCN Care Home Premium", "PCN Enhanced Access",
    "Total NHS Payments to General Practice",
]  # fmt: skip


def _pay_row(code, pcn="U00001", patients="6000", open_="01/04/1974", close="", disp="No",
             support="0", workforce="0", iif="0", participation="1000"):  # fmt: skip
    name = "Unknown or no PCN" if pcn == "Unknown or no PCN" else f"PCN {pcn}"
    return ["Y63", "16C", "SUB", pcn, name, code, f"P {code}", open_, close, "GMS", disp,
            "GP practice", "Urban", "", patients, patients, "100", participation, "0", support,
            "0", workforce, iif, "0", "0", "5000"]  # fmt: skip


def _write_payments(path, rows, gz=False):
    text = "\ufeff" + "\n".join(",".join(r) for r in [PAY_HEADER, *rows]) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_payments_reader_undoes_the_heec_renames(tmp_path):
    rows = [_pay_row("A81001", support="1500.5"), _pay_row("A81002", "Unknown or no PCN")]
    ld = read_gp_payments(_write_payments(tmp_path / "22-23.csv.gz", rows, gz=True))
    assert ld.frame.columns == GP_PAYMENTS.column_names
    a, b = ld.frame.to_dicts()
    assert (a["sub_icb_code"], a["pcn_code"], a["pcn_name"]) == ("16C", "U00001", "PCN U00001")
    assert (b["pcn_code"], b["pcn_name"]) == (None, None)
    assert a["pcn_support"] == 1500.5 and a["open_date"] == date(1974, 4, 1)
    assert a["dispensing"] is False and a["close_date"] is None


def test_payments_reader_reports_every_bad_value_with_its_row(tmp_path):
    rows = [
        _pay_row("A81001"),  # row 2: good
        _pay_row("A81002", pcn="00L"),  # row 3: 'Code' holds something else than a PCN
        _pay_row("A81003", workforce="n/a"),  # row 4: not a number
        _pay_row("A81004", open_="1974-13-01"),  # row 5: not a date
        _pay_row("A81005", disp="Maybe"),  # row 6: not a dispensing flag
        _pay_row("A81006", patients="-5"),  # row 7: negative list
    ]
    path = _write_payments(tmp_path / "pay.csv", rows)
    with pytest.raises(DataContractError) as err:
        read_gp_payments(path)
    v = {(r["row"], r["column"]) for r in err.value.violations.iter_rows(named=True)}
    assert v == {
        (3, "pcn_code"),
        (4, "pcn_workforce"),
        (5, "open_date"),
        (6, "dispensing"),
        (7, "registered_patients"),
        (7, "weighted_patients"),
    }
    ld = read_gp_payments(path, mode="lenient")
    assert ld.frame["practice_code"].to_list() == ["A81001"]
    assert ld.quarantine["source_row"].to_list() == [3, 4, 5, 6, 7]


# --------------------------------------------------------------------------- the builder

D = date
S01, S02 = "01A", "02B"


def _spells(rows):
    """Spells from (practice, pcn, start, end, practice sub-ICB, PCN sub-ICB)."""
    cols = ["practice_code", "pcn_code", "start_date", "end_date", "practice_sub_icb_code",
            "pcn_sub_icb_code"]  # fmt: skip
    f = pl.DataFrame(rows, schema=dict(zip(cols, [pl.String, pl.String, pl.Date, pl.Date,
                     pl.String, pl.String], strict=True)), orient="row")  # fmt: skip
    return f.with_columns(
        pl.format("PCN {}", "pcn_code").alias("pcn_name"),
        (pl.col("practice_sub_icb_code") == pl.col("pcn_sub_icb_code")).alias("sub_icb_match"),
        pl.int_range(2, pl.len() + 2).alias("source_row"),
    )


SPELLS = _spells(
    [
        ("A00001", "U00001", D(2019, 10, 1), None, S01, S01),
        ("A00007", "U00001", D(2020, 4, 1), None, S01, S01),
        ("A00002", "U00001", D(2019, 10, 1), D(2021, 3, 31), S01, S01),
        ("A00002", "U00002", D(2021, 4, 1), None, S01, S01),
        ("A00003", "U00002", D(2019, 10, 1), None, S02, S01),
        ("A00004", "U00001", D(2019, 10, 1), D(2020, 12, 31), S01, S01),
    ]
)
LISTS = pl.DataFrame(
    {
        "practice_code": ["A00001", "A00007", "A00002", "A00003", "A00005"],
        "patients": [6000, 4000, 3000, 1000, 2000],
    }
)
SUB_ICBS = pl.DataFrame({"org_code": [S01, S02], "icb_code": ["QAA", "QBB"]})


def _payments(rows):
    """Payments from (practice, pcn, patients, support, workforce, iif, participation)."""
    f = pl.DataFrame(
        rows,
        schema=["practice_code", "pcn_code", "registered_patients", "pcn_support",
                "pcn_workforce", "pcn_investment_impact_fund", "pcn_participation"],
        orient="row",
    )  # fmt: skip
    others = [c for c in PCN_NETWORK_COLUMNS if c not in f.columns]
    return f.with_columns(
        *(pl.lit(0.0).alias(c) for c in others),
        pl.col("registered_patients", "pcn_support", "pcn_workforce").cast(pl.Float64),
        pl.col("pcn_investment_impact_fund", "pcn_participation").cast(pl.Float64),
        pl.lit(D(1974, 4, 1)).alias("open_date"),
        pl.lit(None, pl.Date).alias("close_date"),
        pl.lit("GMS").alias("contract_type"),
        pl.lit("Urban").alias("rurality"),
    )


PAYMENTS = _payments(
    [
        ("A00001", "U00001", 6000, 15000, 50000, 0, 1000),
        ("A00007", "U00001", 4000, 0, 0, 0, 800),
        ("A00002", "U00002", 3000, 0, 0, 0, 500),
        ("A00003", "U00002", 1000, 0, 0, 0, 200),
        ("A00005", None, 2000, 0, 0, 0, 0),
    ]
)
CODES = ["A00001", "A00002", "A00003", "A00004", "A00005", "A00006", "A00007", "1-10001", None]
PRACTICES = pl.DataFrame(
    {
        "practice_code": CODES,
        "publication_year": [2019, 2021, 2023, 2017, 2024, 2023, 2022, 2023, 2018],
    },
    schema_overrides={"publication_year": pl.Int32},
)


JULY_2022 = D(2022, 7, 1)


def _exposures(as_of=JULY_2022):
    out = gp_exposures(PRACTICES, SPELLS, LISTS, PAYMENTS, SUB_ICBS, as_of=as_of)
    return {r["practice_code"]: r for r in out.iter_rows(named=True)}


def test_membership_size_tenure_and_borders_on_a_fixed_date():
    e = _exposures()
    assert sorted(e) == sorted(c for c in CODES if c)  # one row per practice code
    a1, a2, a3, a7 = e["A00001"], e["A00002"], e["A00003"], e["A00007"]
    # U00001 on 1 July 2022: A00001 and A00007 (A00002 moved, A00004 left)
    assert (a1["in_pcn"], a1["pcn_code"], a1["pcn_n_practices"]) == (True, "U00001", 2)
    assert (a1["pcn_patients"], a1["pcn_list_share"]) == (10000, 0.6)
    assert (a1["months_in_pcn"], a7["months_in_pcn"]) == (33.0, 27.0)
    # A00002 moved on 1 April 2021: 15 months in U00002, 33 in a PCN without a break
    assert (a2["pcn_code"], a2["months_in_pcn"], a2["months_in_any_pcn"]) == ("U00002", 15.0, 33.0)
    # U00002 = A00002 (01A) + A00003 (02B, outside its PCN's 01A): two sub-ICBs, two ICBs
    assert (a2["pcn_patients"], a2["pcn_list_share"], a3["pcn_list_share"]) == (4000, 0.75, 0.25)
    assert (a3["outside_pcn_sub_icb"], a2["outside_pcn_sub_icb"]) == (True, False)
    assert a2["pcn_spans_sub_icbs"] and a2["pcn_spans_icbs"]
    assert not a1["pcn_spans_sub_icbs"] and not a1["pcn_spans_icbs"]
    assert a1["pcn_note"] is None and a1["list_note"] is None


def test_practices_outside_a_pcn_get_false_or_null_with_the_reason():
    e = _exposures()
    left, no_pcn, unknown, site = e["A00004"], e["A00005"], e["A00006"], e["1-10001"]
    assert (left["in_pcn"], left["pcn_note"]) == (None, NOTES["left"])  # closed in 2020
    assert (no_pcn["in_pcn"], no_pcn["pcn_note"]) == (False, NOTES["open_no_pcn"])
    assert no_pcn["pcn_n_practices"] is None and no_pcn["practice_patients"] == 2000
    assert (unknown["in_pcn"], unknown["pcn_note"]) == (None, NOTES["unknown"])
    assert unknown["list_note"] == NOTES["no_list"]
    assert site["pcn_note"] == site["list_note"] == site["payments_note"]
    assert site["pcn_note"] == NOTES["not_practice_code"]


def test_payment_exposures_by_hand():
    e = _exposures()
    a1, a7, a2, a5 = e["A00001"], e["A00007"], e["A00002"], e["A00005"]
    # U00001: A00001 receives core support (the payee); ARRS 50,000 / (6,000 + 4,000)
    assert (a1["pcn_payee"], a7["pcn_payee"], a1["pcn_payee_other_body"]) == (True, False, False)
    assert a1["pcn_arrs_per_patient"] == a7["pcn_arrs_per_patient"] == 5.0
    assert a1["pcn_iif_per_patient"] is None  # no member received IIF
    # U00002: no member receives a payee line: paid through another body
    assert (a2["pcn_payee"], a2["pcn_payee_other_body"], a2["pcn_arrs_per_patient"]) == (
        False,
        True,
        None,
    )
    assert a2["in_network_des"] and a2["payments_note"] is None
    # A00005: in no PCN in 2022/23, no participation payment
    assert (a5["in_network_des"], a5["pcn_payee"]) == (False, None)
    assert a5["payments_note"] == PAY_NOTES["no_payments_pcn"]
    assert e["A00004"]["payments_note"] == PAY_NOTES["no_payments"]


def test_rating_year_reference_dates():
    e = _exposures(as_of="rating_year")
    # A00001 rated in 2019: 1 January 2019 is before ODS records PCNs
    assert (e["A00001"]["as_of"], e["A00001"]["in_pcn"]) == (D(2019, 1, 1), None)
    assert e["A00001"]["pcn_note"] == NOTES["before_pcns"]
    # A00002 rated in 2021: on 1 January 2021 still in U00001, with A00001 and A00007
    # (A00004's last day was 31 December 2020)
    a2 = e["A00002"]
    assert (a2["pcn_code"], a2["pcn_n_practices"], a2["months_in_pcn"]) == ("U00001", 2 + 1, 15.0)
    assert a2["pcn_patients"] == 6000 + 4000 + 3000
    # A00007 rated in 2022: 1 January 2022
    assert e["A00007"]["months_in_pcn"] == 21.0


def test_overlapping_spells_and_chained_tenure():
    spells = _spells(
        [  # a re-coding glitch like K81656's in the October 2024 file
            ("K00001", "U00001", D(2019, 10, 1), D(2022, 6, 30), S01, S01),
            ("K00001", "U00009", D(2022, 7, 1), D(2022, 7, 1), S01, S01),
            ("K00001", "U00001", D(2022, 7, 1), None, S01, S01),
            # a later start wins on a shared day
            ("F00001", "U00003", D(2019, 10, 1), D(2022, 7, 1), S01, S01),
            ("F00001", "U00004", D(2022, 7, 1), None, S01, S01),
            # a gap of a month breaks the chain
            ("G00001", "U00005", D(2019, 10, 1), D(2020, 3, 31), S01, S01),
            ("G00001", "U00005", D(2020, 5, 1), None, S01, S01),
        ]
    )
    m = memberships_at(spells, [D(2022, 7, 1)])
    got = {r[0]: r[1:] for r in m.select("practice_code", "pcn_code", "months_in_pcn",
                                          "months_in_any_pcn").rows()}  # fmt: skip
    assert got == {
        "K00001": ("U00001", 33.0, 33.0),
        "F00001": ("U00004", 0.0, 33.0),
        "G00001": ("U00005", 26.0, 26.0),
    }


def test_coverage_counts_every_rated_practice_with_a_reason():
    out = gp_exposures(PRACTICES, SPELLS, LISTS, PAYMENTS, SUB_ICBS)
    cov = gp_exposure_coverage(out, PRACTICES)
    assert set(cov["exposure"]) == set(EXPOSURES)
    totals = cov.group_by("exposure").agg(pl.col("n_practices").sum())
    assert set(totals["n_practices"]) == {PRACTICES.height}  # 9 rows, one without a code
    in_pcn = {r["reason"]: r["n_practices"] for r in cov.filter(exposure="in_pcn").to_dicts()}
    assert in_pcn == {
        None: 5,  # A00001, A00002, A00003, A00007 members; A00005 not (False)
        NOTES["left"]: 1,
        NOTES["unknown"]: 1,
        NOTES["not_practice_code"]: 1,
        NO_CODE: 1,
    }
    arrs = {r["reason"]: r["n_practices"] for r in cov.filter(exposure="pcn_arrs_per_patient")
            .to_dicts()}  # fmt: skip
    assert arrs[PAY_NOTES["arrs_elsewhere"]] == 2 and arrs[None] == 2
    assert NO_REASON not in cov["reason"].to_list()


def test_builder_rejects_two_rows_for_a_practice_and_a_bad_as_of():
    twice = pl.DataFrame({"practice_code": ["A00001", "A00001"], "publication_year": [2020, 2021]})
    with pytest.raises(ValueError, match=r"more than one .* A00001"):
        gp_exposures(twice, SPELLS, LISTS, PAYMENTS, SUB_ICBS)
    with pytest.raises(ValueError, match="as_of must be a date or 'rating_year'"):
        gp_exposures(PRACTICES, SPELLS, LISTS, PAYMENTS, SUB_ICBS, as_of="2022-07-01")


def test_pcn_payments_lower_bound_and_other_body():
    p = _payments([("A1", "U1", 0, 0, 0, 300, 0), ("A2", "U1", 0, 0, 0, 0, 0)])
    row = pcn_payments(p).row(0, named=True)
    assert row["pcn_payee_other_body"] and row["pcn_iif_per_patient"] is None  # no patients


_DAY = st.integers(0, 2000).map(lambda d: D(2019, 10, 1) + timedelta(days=d))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["U00001", "U00002"]), _DAY, st.integers(0, 900) | st.none()),
        min_size=1,
        max_size=5,
    ),
    _DAY,
)
def test_membership_invariants(spells, when):
    rows = [
        ("P00001", pcn, start, None if days is None else start + timedelta(days=days), S01, S01)
        for pcn, start, days in spells
    ]
    f = _spells(rows).unique(["practice_code", "pcn_code", "start_date"])
    m = memberships_at(f, [when])
    covering = f.filter(
        (pl.col("start_date") <= when) & (pl.col("end_date").fill_null(D(9999, 1, 1)) >= when)
    )
    assert m.height == (1 if covering.height else 0)
    if m.height:
        r = m.row(0, named=True)
        assert r["pcn_code"] in covering["pcn_code"].to_list()
        assert 0 <= r["months_in_pcn"] <= r["months_in_any_pcn"]


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real():
    gp = read_gp_practices(SOURCES["cqc_gp_practices_2024"].path).frame
    frames = (
        read_epcn().frame,
        read_gp_list_sizes().frame,
        read_gp_payments().frame,
        read_ods_sub_icbs().frame,
    )
    return gp, frames


def test_real_sources_read_clean_with_known_counts():
    epcn, old = read_epcn(), read_epcn(vintage="2023-01")
    lists, pay = read_gp_list_sizes(), read_gp_payments()
    for ld in (epcn, old, lists, pay):
        assert ld.quarantine.is_empty() and ld.n_input_rows == ld.frame.height
    f = epcn.frame
    assert (f.height, f["practice_code"].n_unique(), f["pcn_code"].n_unique()) == (7705, 6813, 1363)
    assert f["end_date"].null_count() == 6224 and (~f["sub_icb_match"]).sum() == 136
    assert old.frame.height == 7455
    assert (lists.frame.height, lists.frame["patients"].sum()) == (6506, 61654788)
    p = pay.frame
    assert (p.height, p["pcn_code"].null_count(), (p["pcn_participation"] > 0).sum()) == (
        6669,
        178,
        6429,  # 6,431 non-zero, of which 2 negative (recoveries)
    )


def test_embedded_payments_decompress_to_the_original_bytes():
    raw = gzip.decompress(SOURCES["gp_payments_2022_23"].path.read_bytes())
    assert len(raw) == 3784538
    digest = hashlib.sha256(raw).hexdigest()
    assert digest == "f0b637ea5e606616911ce58a95d1e4e2aeea26c0768694976499df85ebf771de"


def test_the_october_2024_epcn_keeps_every_january_2023_spell():
    new, old = read_epcn().frame, read_epcn(vintage="2023-01").frame
    key = ["practice_code", "pcn_code", "start_date"]
    assert old.join(new, on=key, how="anti").is_empty()
    both = old.join(new.select(*key, pl.col("end_date").alias("later")), on=key)
    ended = both.filter(pl.col("end_date").is_not_null())
    assert ended.height == 1064 and (ended["end_date"] == ended["later"]).all()
    assert both.filter(pl.col("end_date").is_null() & pl.col("later").is_not_null()).height == 398
    on_day = [memberships_at(f, [D(2023, 1, 1)]).height for f in (old, new)]
    assert on_day == [6392, 6390]  # ODS ended two spells retrospectively


def test_real_exposures_and_coverage_on_1_july_2022(real):
    gp, frames = real
    e = gp_exposures(gp, *frames)
    assert e.columns == GP_EXPOSURES.column_names and e.height == 6185
    assert e["in_pcn"].value_counts().sort("in_pcn").rows() == [
        (None, 31),
        (False, 39),
        (True, 6115),
    ]
    members = e.filter("in_pcn")
    assert members["pcn_code"].n_unique() == 1261
    assert (members["pcn_n_practices"].median(), members["pcn_n_practices"].max()) == (6.0, 32)
    assert members["months_in_pcn"].median() == 33.0
    assert members.select(pl.col("pcn_spans_sub_icbs", "pcn_spans_icbs").sum()).row(0) == (53, 12)
    assert e["pcn_payee_other_body"].sum() == 2023 and e["pcn_payee"].sum() == 947
    assert e["pcn_arrs_per_patient"].is_not_null().sum() == 4272
    assert round(e["pcn_arrs_per_patient"].median(), 2) == 9.77
    cov = gp_exposure_coverage(e, gp)
    totals = cov.group_by("exposure").agg(pl.col("n_practices").sum())["n_practices"]
    assert set(totals) == {6227}  # every Overall row of the ratings file, 42 without a code
    with_value = dict(cov.filter("has_value").select("exposure", "n_practices").rows())
    assert with_value == {
        "in_pcn": 6154,
        "pcn_n_practices": 6115,
        "pcn_patients": 6115,
        "pcn_list_share": 6111,
        "months_in_pcn": 6115,
        "months_in_any_pcn": 6115,
        "outside_pcn_sub_icb": 6115,
        "pcn_spans_sub_icbs": 6115,
        "pcn_spans_icbs": 6115,
        "in_network_des": 6153,
        "pcn_payee": 6073,
        "pcn_payee_other_body": 6073,
        "pcn_arrs_per_patient": 4272,
        "pcn_iif_per_patient": 3851,
        "practice_patients": 6150,
        "contract_type": 6153,
        "rurality": 6153,
    }
    assert NO_REASON not in cov["reason"].to_list()


def test_real_exposures_at_the_rating_year(real):
    gp, frames = real
    e = gp_exposures(gp, *frames, as_of="rating_year")
    assert e["in_pcn"].sum() == 1832
    before = e.filter(pl.col("pcn_note") == NOTES["before_pcns"])
    assert before.height == 4314 and before["publication_year"].max() == 2019


def test_catalogue_documents_every_model_ready_column():
    cat = exposure_catalogue()
    assert cat["name"].to_list() == list(EXPOSURES)
    assert set(EXPOSURES) <= set(GP_EXPOSURES.column_names)
    assert cat.filter(pl.col("role") == "exposure").height == 14
    assert all(all(v for v in row.values()) for row in cat.to_dicts())  # nothing left blank
    by = {r["name"]: r["construct"] for r in cat.to_dicts()}
    for name in ("in_pcn", "pcn_n_practices", "pcn_list_share", "pcn_arrs_per_patient"):
        assert "not collaboration itself" in by[name]
    assert "closer to an outcome" in by["pcn_iif_per_patient"]
