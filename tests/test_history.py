"""Ratings in force at a date and rating transitions: hand-made histories, the real file.

Hand-made frames: one location per record, its current ratings (``currentRatings``) and
its historic reports (``historicRatings``), each small enough to check by hand.
"""

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.contracts import validate
from ics_model.data.bundled import raw_path
from ics_model.data.cqc_api import read_cqc_api
from ics_model.mapping.history import RATINGS_IN_FORCE, ratings_in_force
from ics_model.mapping.transitions import (
    ICS_RATING_TRANSITIONS,
    ICS_TRANSITION_SUMMARY,
    RATING_TRANSITIONS,
    ics_rating_transitions,
    ics_transition_summary,
    rating_transitions,
)
from ics_model.ratings import RATING_LABELS

GOOD, RI, INADEQUATE, OUTSTANDING = "Good", "Requires improvement", "Inadequate", "Outstanding"


def _current(rows: list[tuple], registration: dict[str, date] | None = None) -> pl.DataFrame:
    """(source_row, location, key question, rating or None, status, date, org) rows."""
    registration = registration or {}
    return pl.DataFrame(
        [
            {
                "provider_id": "P-" + loc,
                "location_id": loc,
                "level": "location",
                "service": "Overall",
                "key_question": kq,
                "rating": rating,
                "rating_status": status,
                "publication_date": when,
                "report_type": "Location",
                "inherited": org is not None and org != loc,
                "location_name": "Home " + loc,
                "registration_date": registration.get(loc),
                "report_link_id": f"cur-{loc}",
                "rating_organisation_id": org,
                "source_row": row,
            }
            for row, loc, kq, rating, status, when, org in rows
        ],
        schema_overrides={
            "registration_date": pl.Date,
            "publication_date": pl.Date,
            "rating": pl.String,
            "rating_organisation_id": pl.String,
        },
    )


_HISTORY_SCHEMA = {
    "provider_id": pl.String,
    "location_id": pl.String,
    "level": pl.String,
    "report_date": pl.Date,
    "report_link_id": pl.String,
    "key_question": pl.String,
    "rating": pl.String,
    "rating_status": pl.String,
    "rating_organisation_id": pl.String,
    "history_entry": pl.Int64,
    "source_row": pl.Int64,
}


def _history(rows: list[tuple]) -> pl.DataFrame:
    """(source_row, location, entry, date, key question, rating or None, status, org) rows."""
    if not rows:
        return pl.DataFrame(schema=_HISTORY_SCHEMA)
    return pl.DataFrame(
        [
            {
                "provider_id": "P-" + loc,
                "location_id": loc,
                "level": "location",
                "report_date": when,
                "report_link_id": f"{loc}-r{entry}",
                "key_question": kq,
                "rating": rating,
                "rating_status": status,
                "rating_organisation_id": org,
                "history_entry": entry,
                "source_row": row,
            }
            for row, loc, entry, when, kq, rating, status, org in rows
        ],
        schema_overrides={"rating_organisation_id": pl.String, "rating": pl.String},
    )


# Location A: rated RI (2015-04-20), Good (2017-07-20, Safe RI), then an inspection that
# gave no rating (2020-12-18); current rating Outstanding published 2020-05-06.
A_CURRENT = [
    (2, "A", "Overall", OUTSTANDING, "rated", date(2020, 5, 6), None),
    (2, "A", "Safe", GOOD, "rated", date(2020, 5, 6), None),
]
A_HISTORY = [
    (2, "A", 1, date(2020, 12, 18), "Overall", None, "inspected_not_rated", None),
    (2, "A", 2, date(2017, 7, 20), "Overall", GOOD, "rated", None),
    (2, "A", 2, date(2017, 7, 20), "Safe", RI, "rated", None),
    (2, "A", 3, date(2015, 4, 20), "Overall", RI, "rated", None),
    (2, "A", 3, date(2015, 4, 20), "Safe", INADEQUATE, "rated", None),
]


def _in_force(as_of, current=A_CURRENT, history=A_HISTORY, registration=None):
    f = ratings_in_force(_current(current, registration), _history(history), as_of)
    return {
        (r["location_id"], r["key_question"]): r
        for r in f.with_columns(pl.col(pl.Enum).cast(pl.String)).to_dicts()
    }


def _rating(rows, loc="A", kq="Overall"):
    r = rows[(loc, kq)]
    return r["rating"], r["publication_date"], r["in_force_status"]


def test_as_of_exactly_on_a_publication_date_takes_that_rating():
    assert _rating(_in_force(date(2017, 7, 20))) == (GOOD, date(2017, 7, 20), "rated")
    assert _rating(_in_force(date(2017, 7, 19))) == (RI, date(2015, 4, 20), "rated")
    # the current rating is in force from its own publication date
    assert _rating(_in_force(date(2020, 5, 6))) == (OUTSTANDING, date(2020, 5, 6), "rated")


def test_between_two_ratings_the_earlier_one_is_in_force():
    rows = _in_force(date(2019, 1, 1))
    assert _rating(rows) == (GOOD, date(2017, 7, 20), "rated")
    assert _rating(rows, kq="Safe") == (RI, date(2017, 7, 20), "rated")
    assert rows[("A", "Overall")]["rating_from"] == "history"
    assert rows[("A", "Overall")]["report_link_id"] == "A-r2"
    assert rows[("A", "Overall")]["ratings_as_of"] == date(2019, 1, 1)


def test_before_any_rating_the_location_is_not_yet_rated_and_still_reported():
    rows = _in_force(date(2015, 4, 19))
    assert set(rows) == {("A", "Overall"), ("A", "Safe")}  # every key question it ever had
    r = rows[("A", "Overall")]
    assert (r["rating"], r["in_force_status"], r["rating_status"]) == (
        None,
        "not_yet_rated",
        "not_rated",
    )
    assert r["rating_from"] is None and r["publication_date"] is None


def test_a_report_without_a_rating_leaves_the_previous_rating_in_force():
    # 2020-12-18 "Inspected but not rated" does not end the current Outstanding
    assert _rating(_in_force(date(2021, 1, 1))) == (OUTSTANDING, date(2020, 5, 6), "rated")


def test_a_location_whose_only_report_gave_no_rating_says_which_report():
    history = [(2, "B", 1, date(2020, 10, 14), "Overall", None, "inspected_not_rated", None)]
    current = [(2, "B", "Overall", None, "inspected_not_rated", date(2020, 10, 14), None)]
    r = _in_force(date(2021, 1, 1), current, history)[("B", "Overall")]
    assert (r["in_force_status"], r["rating_status"], r["publication_date"]) == (
        "not_yet_rated",
        "inspected_not_rated",
        date(2020, 10, 14),
    )


def test_key_questions_are_in_force_independently():
    # a focused inspection on 2018-03-01 re-rated Safe only: Overall stays from 2017
    history = [*A_HISTORY, (2, "A", 0, date(2018, 3, 1), "Safe", GOOD, "rated", None)]
    rows = _in_force(date(2019, 1, 1), history=history)
    assert _rating(rows, kq="Safe") == (GOOD, date(2018, 3, 1), "rated")
    assert _rating(rows) == (GOOD, date(2017, 7, 20), "rated")


def test_registration_after_as_of_is_not_registered_unknown_is_not_yet_rated():
    current = [(3, "N", "Overall", GOOD, "rated", date(2020, 2, 8), None)]
    late = _in_force(date(2019, 1, 1), current, [], registration={"N": date(2019, 1, 11)})
    assert _rating(late, "N") == (None, None, "not_registered")
    assert late[("N", "Overall")]["registered"] is False
    unknown = _in_force(date(2019, 1, 1), current, [])
    assert _rating(unknown, "N") == (None, None, "not_yet_rated")
    assert unknown[("N", "Overall")]["registered"] is None
    on_the_day = _in_force(date(2019, 1, 11), current, [], registration={"N": date(2019, 1, 11)})
    assert _rating(on_the_day, "N") == (None, None, "not_yet_rated")
    assert on_the_day[("N", "Overall")]["registered"] is True


def test_a_predecessors_rating_is_in_force_before_the_new_registration():
    # a change of provider: the predecessor X's ratings carry its organisationId
    current = [(4, "S", "Overall", GOOD, "rated", date(2018, 11, 29), "X")]
    history = [(4, "S", 1, date(2017, 10, 31), "Overall", RI, "rated", "X")]
    reg = {"S": date(2019, 4, 23)}
    r = _in_force(date(2019, 1, 1), current, history, reg)[("S", "Overall")]
    assert (r["rating"], r["in_force_status"], r["registered"]) == (GOOD, "rated", False)
    assert (r["inherited"], r["inherited_from"]) == (True, "X")
    # when the predecessor is itself a record of the input, it reports the rating
    current += [(5, "X", "Overall", GOOD, "rated", date(2018, 11, 29), None)]
    both = _in_force(date(2019, 1, 1), current, history, reg)
    assert _rating(both, "S") == (None, None, "not_registered")
    assert _rating(both, "X") == (GOOD, date(2018, 11, 29), "rated")


def test_same_day_reports_current_first_then_the_first_listed_and_flagged():
    current = [(2, "D", "Overall", GOOD, "rated", date(2019, 3, 5), None)]
    history = [
        (2, "D", 1, date(2019, 3, 5), "Overall", None, "missing", None),  # same report
        (2, "D", 2, date(2018, 3, 7), "Overall", INADEQUATE, "rated", None),
        (2, "D", 3, date(2018, 3, 7), "Overall", RI, "rated", None),
    ]
    rows = _in_force(date(2018, 12, 31), current, history)
    assert _rating(rows, "D") == (INADEQUATE, date(2018, 3, 7), "rated")
    assert rows[("D", "Overall")]["same_day_conflict"] is True
    later = _in_force(date(2019, 3, 5), current, history)[("D", "Overall")]
    assert (later["rating"], later["rating_from"], later["same_day_conflict"]) == (
        GOOD,
        "current",
        False,
    )


def test_without_history_entry_the_rows_order_decides():
    history = _history(
        [
            (2, "D", 9, date(2018, 3, 7), "Overall", RI, "rated", None),
            (2, "D", 9, date(2018, 3, 7), "Overall", INADEQUATE, "rated", None),
        ]
    ).drop("history_entry")
    history = history.with_columns(pl.Series("report_link_id", ["first", "second"]))
    current = _current([(2, "D", "Overall", None, "missing", None, None)])
    f = ratings_in_force(current, history, date(2019, 1, 1))
    assert f["rating"].cast(pl.String).to_list() == [RI]
    assert f["report_link_id"].to_list() == ["first"]


def test_as_of_none_gives_the_current_ratings_and_ignores_history():
    rows = _in_force(None)
    assert _rating(rows) == (OUTSTANDING, date(2020, 5, 6), "rated")
    assert rows[("A", "Overall")]["ratings_as_of"] is None
    assert rows[("A", "Overall")]["rating_from"] == "current"


def test_record_columns_are_carried_and_the_contract_holds():
    f = ratings_in_force(_current(A_CURRENT), _history(A_HISTORY), date(2019, 1, 1))
    validate(f, RATINGS_IN_FORCE)
    assert f["location_name"].to_list() == ["Home A", "Home A"]
    assert f["service"].unique().to_list() == ["Overall"]


# --------------------------------------------------------------------------- property

_DAYS = st.integers(min_value=0, max_value=3000)
_RATING = st.sampled_from([*RATING_LABELS, None])


@given(
    reports=st.lists(st.tuples(_DAYS, _RATING), min_size=0, max_size=6),
    as_of_day=_DAYS,
)
def test_the_rating_in_force_is_the_latest_rated_on_or_before_as_of(reports, as_of_day):
    base = date(2014, 10, 1)
    day = [base.fromordinal(base.toordinal() + d) for d, _ in reports]
    history = [
        (2, "H", i + 1, day[i], "Overall", r, "rated" if r else "inspected_not_rated", None)
        for i, (_, r) in enumerate(reports)
    ]
    current = [(2, "H", "Overall", None, "missing", None, None)]
    as_of = base.fromordinal(base.toordinal() + as_of_day)
    f = ratings_in_force(_current(current), _history(history), as_of)
    assert f.height == 1  # every record reported, once per key question
    rated = [(day[i], -i, r) for i, (_, r) in enumerate(reports) if r and day[i] <= as_of]
    expected = max(rated)[2] if rated else None  # latest date; ties: the first listed
    got = f["rating"].cast(pl.String)[0]
    assert got == expected
    assert f["in_force_status"].cast(pl.String)[0] == ("rated" if rated else "not_yet_rated")


# --------------------------------------------------------------------------- transitions


def test_transitions_skip_non_ratings_and_say_which_way():
    t = rating_transitions(_current(A_CURRENT), _history(A_HISTORY))
    validate(t, RATING_TRANSITIONS)
    assert t.select(
        pl.col("from_rating").cast(pl.String),
        pl.col("to_rating").cast(pl.String),
        pl.col("direction").cast(pl.String),
        "years_between",
    ).rows() == [
        (RI, GOOD, "upgrade", 2.251),  # 822 days / 365.25
        (GOOD, OUTSTANDING, "upgrade", 2.795),  # 1021 days
    ]
    assert t["sequence"].to_list() == [1, 2]
    assert t["icb_code"].null_count() == 2  # no placement given
    until = rating_transitions(_current(A_CURRENT), _history(A_HISTORY), until=date(2019, 1, 1))
    assert until.height == 1


def test_transitions_flag_a_change_of_provider_and_one_rating_a_day():
    current = [(4, "S", "Overall", RI, "rated", date(2020, 1, 9), None)]  # the new provider's
    history = [
        (4, "S", 1, date(2018, 3, 7), "Overall", INADEQUATE, "rated", "X"),
        (4, "S", 2, date(2018, 3, 7), "Overall", RI, "rated", "X"),
        (4, "S", 3, date(2017, 1, 5), "Overall", RI, "rated", "X"),
    ]
    t = rating_transitions(_current(current), _history(history))
    assert t.select(
        pl.col("from_rating").cast(pl.String),
        pl.col("to_rating").cast(pl.String),
        "change_of_provider",
        "same_day_conflict",
    ).rows() == [
        (RI, INADEQUATE, False, True),  # 2018-03-07 keeps the first listed report
        (INADEQUATE, RI, True, True),
    ]
    assert t["direction"].cast(pl.String).to_list() == ["downgrade", "upgrade"]


def _two_ics_transitions():
    current = _current(
        [
            *A_CURRENT,
            (3, "B", "Overall", GOOD, "rated", date(2019, 6, 1), None),
            (4, "C", "Overall", GOOD, "rated", date(2016, 6, 1), None),
        ]
    )
    history = _history([*A_HISTORY, (3, "B", 1, date(2016, 2, 1), "Overall", GOOD, "rated", None)])
    placement = pl.DataFrame(
        {
            "provider_id": ["A", "A", "B", "C"],
            "icb_code": ["Q1", "Q1", "Q1", "Q2"],
            "icb_name": ["One", "One", "One", "Two"],
        }
    )
    return rating_transitions(current, history, placement), placement


def test_ics_transitions_count_every_pair_of_each_ics():
    t, placement = _two_ics_transitions()
    assert t["icb_code"].to_list() == ["Q1", "Q1", "Q1"]
    pairs = ics_rating_transitions(t, placement, until=date(2021, 1, 1))
    validate(pairs, ICS_RATING_TRANSITIONS)
    assert pairs.height == 2 * 16  # C has no transition, but Q2 has a placed unit
    seen = pairs.filter(pl.col("n_transitions") > 0).select(
        "icb_code",
        pl.col("from_rating").cast(pl.String),
        pl.col("to_rating").cast(pl.String),
        "n_transitions",
        "share_of_from",
    )
    assert seen.rows() == [
        ("Q1", RI, GOOD, 1, 1.0),
        ("Q1", GOOD, GOOD, 1, 0.5),  # from Good: one stays Good, one goes Outstanding
        ("Q1", GOOD, OUTSTANDING, 1, 0.5),
    ]
    assert pairs.filter(pl.col("icb_code") == "Q2")["share_of_from"].null_count() == 16
    assert pairs["history_until"].unique().to_list() == [date(2021, 1, 1)]


def test_ics_summary_counts_upgrades_downgrades_unchanged():
    t, placement = _two_ics_transitions()
    s = ics_transition_summary(t, placement)
    validate(s, ICS_TRANSITION_SUMMARY)
    assert s.select(
        "icb_code",
        "n_units",
        "n_units_with_transitions",
        "n_transitions",
        "n_upgrades",
        "n_downgrades",
        "n_unchanged",
        "share_unchanged",
    ).rows() == [("Q1", 2, 2, 3, 2, 0, 1, pytest.approx(1 / 3)), ("Q2", 1, 0, 0, 0, 0, 0, None)]


# --------------------------------------------------------------------------- real file

CARE_HOMES = raw_path("cqc", "carehomes_sw_api_2021-04", "cqc_care_homes.csv")
AS_OF = date(2019, 1, 1)


@pytest.fixture(scope="module")
def care_homes():
    loaded = read_cqc_api(CARE_HOMES)
    return loaded.frame, loaded.history


def _overall(frame: pl.DataFrame, location: str) -> dict:
    rows = frame.filter((pl.col("location_id") == location) & (pl.col("key_question") == "Overall"))
    return rows.with_columns(pl.col(pl.Enum).cast(pl.String)).to_dicts()[0]


def test_three_care_homes_checked_by_hand_on_2019_01_01(care_homes):
    f = ratings_in_force(*care_homes, AS_OF)
    # 1-1000587219 Highlands Borders Care Home (registered 04/11/2013). Raw cells:
    #   currentRatings {'overall': {'rating': 'Good', 'reportDate': '2020-05-06', ...
    #   historicRatings [{'reportLinkId': 'db9f96b2-...', 'reportDate': '2020-12-18',
    #     'overall': {'rating': 'Inspected but not rated', ...}},
    #    {'reportLinkId': '98c936dd-59ab-48f4-bb1d-5e53e02c14fa', 'reportDate': '2017-07-20',
    #     'overall': {'rating': 'Good', ...}}, {... 'reportDate': '2015-04-20', 'Good' ...}]
    # On 2019-01-01 the 2020 reports were not published: the 2017-07-20 Good is in force.
    r = _overall(f, "1-1000587219")
    assert (r["rating"], r["publication_date"], r["rating_from"]) == (
        "Good",
        date(2017, 7, 20),
        "history",
    )
    assert r["report_link_id"] == "98c936dd-59ab-48f4-bb1d-5e53e02c14fa"
    # 1-154834379 Magnolia House Care Home (registered 14/12/2010). Raw cells:
    #   currentRatings {'overall': {'rating': 'Good', 'reportDate': '2019-01-01',
    #     'reportLinkId': '1b6437f6-280e-4eb6-8494-d6845e9c8648', ...
    #   historicRatings [{'reportLinkId': '10e03497-...', 'reportDate': '2016-06-30',
    #     'overall': {'rating': 'Good', ...}}]
    # Published on the as-of day itself: the current report is in force (inclusive).
    r = _overall(f, "1-154834379")
    assert (r["rating"], r["publication_date"], r["rating_from"]) == (
        "Good",
        date(2019, 1, 1),
        "current",
    )
    day_before = _overall(ratings_in_force(*care_homes, date(2018, 12, 31)), "1-154834379")
    assert day_before["publication_date"] == date(2016, 6, 30)
    # 1-6958525854 Westmead Care Home Physical Disabilities, registered 06/08/2019 (a new
    # provider). Raw cells: currentRatings {'overall': {'rating': 'Good', 'reportDate':
    #   '2018-07-24', ..., 'organisationId': '1-120089248', ...
    #   historicRatings [{'organisationId': '1-120089248', ..., 'reportDate': '2017-11-08',
    #     'overall': {'rating': 'Requires improvement', ...}}, ...]
    # Not yet registered on 2019-01-01, but its predecessor 1-120089248 was rated Good on
    # 2018-07-24: that rating was in force, inherited.
    r = _overall(f, "1-6958525854")
    assert (r["rating"], r["publication_date"], r["in_force_status"]) == (
        "Good",
        date(2018, 7, 24),
        "rated",
    )
    assert (r["registered"], r["inherited"], r["inherited_from"]) == (False, True, "1-120089248")


def test_care_homes_on_2019_01_01_counts(care_homes):
    f = ratings_in_force(*care_homes, AS_OF)
    validate(f, RATINGS_IN_FORCE)
    assert f.height == 4298  # 728 records x their key questions
    overall = f.filter(pl.col("key_question") == "Overall")
    assert overall.height == 728
    counts = dict(overall["in_force_status"].cast(pl.String).value_counts().rows())
    # 45 homes registered after 2019-01-01: 23 carry a predecessor's rating, 22 do not
    assert counts == {"rated": 681, "not_yet_rated": 25, "not_registered": 22}
    ratings = dict(overall["rating"].cast(pl.String).value_counts().rows())
    assert ratings == {"Good": 547, "Requires improvement": 80, "Outstanding": 50,
                       "Inadequate": 4, None: 47}  # fmt: skip
    assert overall["inherited"].sum() == 23
    # Holly Tree Cottage registered 11/01/2019, ten days after: no rating, not registered
    assert _overall(f, "1-6174827128")["in_force_status"] == "not_registered"
    # two reports published on 2018-03-07 (Inadequate listed first, RI second)
    conflict = overall.filter(pl.col("same_day_conflict"))
    assert conflict["location_id"].to_list() == ["1-6958182040"]
    assert conflict["rating"].cast(pl.String).to_list() == ["Inadequate"]


def test_care_homes_in_force_at_the_file_date_are_the_current_ratings(care_homes):
    current = ratings_in_force(*care_homes, None)
    latest = ratings_in_force(*care_homes, date(2021, 4, 8))
    cols = ["source_row", "key_question", "rating", "publication_date"]
    assert current.select(cols).equals(latest.select(cols))


def test_care_homes_transitions(care_homes):
    t = rating_transitions(*care_homes)
    assert t.height == 1191
    ways = dict(t["direction"].cast(pl.String).value_counts().rows())
    assert ways == {"unchanged": 702, "upgrade": 310, "downgrade": 179}
    assert t["change_of_provider"].sum() == 0  # predecessors' ratings all carry their id
    assert t["same_day_conflict"].sum() == 2  # 1-6958182040: into and out of 2018-03-07
    until = rating_transitions(*care_homes, until=AS_OF)
    assert until.height == 701
    assert until["to_date"].max() == AS_OF  # Magnolia House's report of 2019-01-01
