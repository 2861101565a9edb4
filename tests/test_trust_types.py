"""Trust types: from CQC's inspection category, NHS England's classification, or core services."""

from datetime import date

import polars as pl
import pytest

from ics_model.config import RunConfig, with_overrides
from ics_model.data.trust_reference import read_ambulance_areas, read_nhs_trust_types
from ics_model.mapping.trust_types import classify_trusts, location_types
from ics_model.pipeline import run
from ics_model.ratings import (
    CORE_SERVICE_FRAMEWORK,
    TRUST_TYPE_BY_CATEGORY,
    TRUST_TYPE_BY_NHS_SUBTYPE,
    TRUST_TYPES,
)
from tests.conftest import load_fixture_module

MH = [s for s, f in CORE_SERVICE_FRAMEWORK.items() if f == "mental_health"]
COMMUNITY = [s for s, f in CORE_SERVICE_FRAMEWORK.items() if f == "community"]


def _ratings(rows):
    """CQC rows (provider_id, service, category or None)."""
    return pl.DataFrame(
        rows,
        schema=["provider_id", "service", "provider_primary_inspection_category"],
        orient="row",
    ).with_columns(pl.lit(date(2018, 1, 1)).alias("publication_date"))


def test_every_mapping_points_into_the_vocabulary():
    for table in (TRUST_TYPE_BY_CATEGORY, TRUST_TYPE_BY_NHS_SUBTYPE):
        assert set(table.values()) <= set(TRUST_TYPES)
    assert set(CORE_SERVICE_FRAMEWORK.values()) == {"mental_health", "community", "ambulance"}


def test_each_source_in_order_by_hand():
    ratings = _ratings(
        [
            ("CAT", "Overall", "Acute hospital - NHS specialist"),
            # the file's category wins over NHS England's subtype
            ("BOTH", "Overall", "Ambulance service"),
            ("ODD", "Overall", "Space station"),
            *[("MHT", s, None) for s in MH[:3]],
            ("MHT", COMMUNITY[0], None),
            *[("MIX", s, None) for s in MH[:3]],
            *[("MIX", s, None) for s in COMMUNITY[:3]],  # 3 MH, 3 community: no type
            ("PRED", "Overall", "Mental health - community & residential - NHS"),
        ]
    )
    units = pl.DataFrame(
        {
            "provider_id": ["CAT", "BOTH", "ODD", "NHS", "AMB", "MHT", "MIX", "SUCC", "NEW"],
            "rated_as": ["CAT", "BOTH", "ODD", "NHS", "AMB", "MHT", "MIX", "PRED", None],
        }
    )
    nhs = pl.DataFrame(
        {"org_code": ["BOTH", "NHS"], "nhs_trust_subtype": ["acute - teaching", "community"]}
    )
    out = classify_trusts(units, ratings, nhs_types=nhs, ambulance_trusts={"AMB"})
    got = dict(zip(out["provider_id"], out["trust_type"], strict=True))
    assert got == {
        "AMB": "ambulance",
        "BOTH": "ambulance",
        "CAT": "specialist",
        "MHT": "mental_health",
        "MIX": "unknown",
        "NEW": "unknown",
        "NHS": "community",
        "ODD": "unknown",
        "SUCC": "mental_health",
    }
    basis = dict(zip(out["provider_id"], out["trust_type_basis"], strict=True))
    assert basis["CAT"] == "inspection category: 'Acute hospital - NHS specialist'"
    assert basis["SUCC"] == (
        "inspection category: 'Mental health - community & residential - NHS' "
        "(of PRED, whose rating it holds)"
    )
    assert basis["ODD"] == "unknown: unrecognised CQC inspection category 'Space station'"
    assert basis["NHS"].startswith("NHS England subtype: 'community'")
    assert basis["AMB"].startswith("ambulance areas:")
    assert basis["MHT"] == (
        "core services: 3 of the 4 provider-level core services of MHT are CQC mental "
        "health core services"
    )
    assert basis["MIX"].startswith("unknown: no inspection category in the ratings file")
    assert "6 provider-level core services of MIX do not identify a type" in basis["MIX"]
    assert basis["NEW"].startswith("unknown: the ratings file has no inspection category")


def test_location_types_from_the_locations_sheet():
    ratings = pl.DataFrame(
        {
            "location_id": ["L1", "L1", "L2", "L3"],
            "location_primary_inspection_category": [
                "Ambulance service",
                "Ambulance service",
                "GP Practices",
                "Moon base",
            ],
        }
    )
    out = location_types(ratings).sort("provider_id")
    assert out["trust_type"].to_list() == ["ambulance", "other", "unknown"]
    assert out["trust_type_basis"][2] == "unknown: unrecognised CQC inspection category 'Moon base'"
    assert location_types(pl.DataFrame({"location_id": ["L1"]})).is_empty()


# --------------------------------------------------------------------------- real data


def test_reference_files_read_with_real_numbers():
    nhs = read_nhs_trust_types().frame
    assert nhs.height == 221
    assert (
        nhs["nhs_trust_subtype"]
        .value_counts(sort=True)
        .filter(pl.col("nhs_trust_subtype").is_not_null())["count"]
        .sum()
        == 150
    )
    areas = read_ambulance_areas().frame
    assert areas.height == 106 and areas["ambulance_trust_code"].n_unique() == 10


@pytest.fixture(scope="module")
def trusts():
    cfg = with_overrides(
        RunConfig(),
        {
            "mapping.ambulance": "host",
            "views.sectors": ["nhs_trust"],
            "metrics.enabled": False,
            "composite": None,
            "uncertainty": None,
            "scenarios": [],
            "effect.enabled": False,
        },
    )
    m = run(cfg).views.mapped
    return m.filter(pl.col("key_question") == "Overall")


def test_every_trust_row_has_a_type_on_the_2018_file(trusts):
    assert trusts.height == 202 and trusts["trust_type"].is_not_null().all()
    counts = dict(trusts.group_by("trust_type").len().iter_rows())
    # the 2018 file has no inspection category: NHS England's classification types 150,
    # the ambulance areas 9 more, core services 32 mental health trusts; 11 stay unknown
    assert counts == {
        "acute": 118,
        "specialist": 11,
        "mental_health": 43,
        "community": 9,
        "ambulance": 10,
        "unknown": 11,
    }
    source = trusts["trust_type_basis"].str.extract(r"^([^:]+):")
    assert dict(source.value_counts().iter_rows()) == {
        "NHS England subtype": 150,
        "ambulance areas": 9,
        "core services": 32,
        "unknown": 11,
    }
    by = dict(zip(trusts["provider_id"], trusts["trust_type"], strict=True))
    assert by["RRU"] == by["RYF"] == "ambulance"
    assert by["RJ1"] == "acute" and by["RP6"] == "specialist"  # Guy's; Moorfields
    assert by["RV5"] == "mental_health"  # South London and Maudsley, by its core services
    assert by["G6V2S"] == "unknown"  # new in 2024, unrated
    unknown = trusts.filter(pl.col("trust_type") == "unknown")
    assert unknown["trust_type_basis"].str.starts_with("unknown: ").all()


def test_a_user_file_with_the_inspection_category_types_from_it(tmp_path):
    fx = load_fixture_module()
    gstt = next(r for r in fx.PROVIDERS_2021_ROWS if r[0] == "RJ1")[:12]
    las = ["RRU", "London Ambulance Service NHS Trust", "NHS Healthcare Organisation"]
    las += ["Ambulance service", *gstt[4:12]]
    rows = [
        [*gstt, "Overall", "Overall", "Good", date(2019, 8, 7), "Provider"],
        [*las, "Overall", "Overall", "Good", date(2019, 11, 1), "Provider"],
    ]
    path = fx.write_csv(tmp_path / "providers.csv", fx.PROVIDERS_2021_HEADER, rows)
    cfg = with_overrides(
        RunConfig(),
        {
            "data.trust_ratings": str(path),
            "mapping.ambulance": "host",
            "views.sectors": ["nhs_trust"],
            "metrics.enabled": False,
            "composite": None,
            "uncertainty": None,
            "scenarios": [],
            "effect.enabled": False,
        },
    )
    m = run(cfg).views.mapped.filter(pl.col("key_question") == "Overall")
    basis = dict(zip(m["provider_id"], m["trust_type_basis"], strict=True))
    assert basis["RJ1"] == "inspection category: 'Acute hospital - NHS non-specialist'"
    assert basis["RRU"] == "inspection category: 'Ambulance service'"


def test_a_locations_file_gives_its_rows_their_category(cqc_fixtures):
    cfg = with_overrides(
        RunConfig(),
        {
            "data.locations": str(cqc_fixtures["locations_csv"]),
            "views.sectors": ["nhs_trust", "location"],
            "metrics.enabled": False,
            "composite": None,
            "uncertainty": None,
            "scenarios": [],
            "effect.enabled": False,
        },
    )
    views = run(cfg).views
    loc = views.mapped.filter(pl.col("sector") == "location").unique("provider_id")
    got = dict(zip(loc["provider_id"], loc["trust_type"], strict=True))
    # St Thomas' Hospital is an NHS acute hospital; the two care homes are residential care
    assert got == {"RJ122": "acute", "1-1000000001": "other", "1-1000000002": "other"}
    by = views.by_trust_type.filter(pl.col("sector") == "location")
    assert set(by["trust_type"]) == {"acute", "other", "all"}
    rows = views.mapped.filter(pl.col("sector") == "location")
    for (kq,), part in rows.group_by("key_question"):
        cell = by.filter((pl.col("key_question") == kq) & (pl.col("trust_type") == "all"))
        assert cell["n_providers"].sum() == part.height  # each placed location once
