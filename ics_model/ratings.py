"""Rating and key-question vocabularies, their numeric coding, and Wilson intervals.

CQC ratings are ordinal: Outstanding > Good > Requires improvement > Inadequate.
They are held as a polars ``Enum`` whose category order runs from worst to best,
so that ``pl.col("rating") > "Good"`` and ``max`` behave as the ordering says.
Every label that means "no rating" -- "Insufficient evidence to rate", "Not rated",
"Inspected but not rated", "No published rating", the pre-2014 compliance outcomes
"No action" and "Compliance action" where they stand in a rating field, and blanks --
becomes a null rating with a ``rating_status`` saying why, and never a score.
"""

from __future__ import annotations

import math
import re
from typing import Final, Literal, get_args

import polars as pl

#: A CQC rating label (the four ratings; "Not rated" and the like are not ratings).
Rating = Literal["Outstanding", "Good", "Requires improvement", "Inadequate"]
#: Ratings from worst to best (the Enum's physical order).
RATING_LABELS: Final[tuple[str, ...]] = tuple(reversed(get_args(Rating)))
#: Ratings from best to worst (the order tables and charts show).
RATINGS_BEST_FIRST: Final[tuple[str, ...]] = get_args(Rating)
RatingEnum: Final = pl.Enum(list(RATING_LABELS))

#: Numeric coding used for ``mean_score``: Outstanding 4 ... Inadequate 1.
RATING_SCORES: Final[dict[str, int]] = {label: i + 1 for i, label in enumerate(RATING_LABELS)}

#: Count column of each rating in the frames that count ratings, best first
#: (``n_outstanding``, ``n_good``, ``n_requires_improvement``, ``n_inadequate``).
RATING_COUNT_COLUMNS: Final[dict[str, str]] = {
    label: "n_" + label.lower().replace(" ", "_") for label in RATINGS_BEST_FIRST
}

#: One of CQC's five key questions (domains), each rated on its own.
Domain = Literal["Safe", "Effective", "Caring", "Responsive", "Well-led"]
#: A key question of a rating row: the five domains or the Overall rating.
KeyQuestion = Literal[Domain, "Overall"]
#: The five domains, in CQC's order.
DOMAINS: Final[tuple[str, ...]] = get_args(Domain)
#: Every key question of a rating row, Overall last.
KEY_QUESTIONS: Final[tuple[str, ...]] = get_args(KeyQuestion)
KeyQuestionEnum: Final = pl.Enum(list(KEY_QUESTIONS))

#: Why a rating cell holds no rating ("rated" when it holds one). New statuses are
#: appended so that the existing ones keep their place in the Enum.
RatingStatus = Literal[
    "rated",
    "insufficient_evidence",
    "not_rated",
    "missing",
    "inspected_not_rated",
    "no_published_rating",
    "no_action",
    "compliance_action",
]
RATING_STATUSES: Final[tuple[str, ...]] = get_args(RatingStatus)
RatingStatusEnum: Final = pl.Enum(list(RATING_STATUSES))

#: Whether a location had a rating in force at an "as of" date (rating history): a
#: rating published on or before it; none yet although registered (or registration date
#: unknown); or not registered yet (and no predecessor's rating in force).
InForceStatus = Literal["rated", "not_yet_rated", "not_registered"]
IN_FORCE_STATUSES: Final[tuple[str, ...]] = get_args(InForceStatus)
InForceStatusEnum: Final = pl.Enum(list(IN_FORCE_STATUSES))

#: A change between two consecutive ratings: to a better, a worse or the same rating.
TransitionDirection = Literal["upgrade", "downgrade", "unchanged"]
TRANSITION_DIRECTIONS: Final[tuple[str, ...]] = get_args(TransitionDirection)
TransitionDirectionEnum: Final = pl.Enum(list(TRANSITION_DIRECTIONS))

#: A sector whose units are rated providers: NHS trusts and GP practices, the
#: populations the scenarios and the collaboration effect run on.
ProviderSector = Literal["nhs_trust", "gp_practice"]
#: A sector the toolkit places in ICSs: the provider sectors, CQC locations (a user's
#: Locations sheet) and independent-sector hospitals and clinics (CQC locations of the
#: Hospitals directorate run by independent healthcare organisations, placed by their
#: coordinates). New sectors are appended so that the existing ones keep their place.
Sector = Literal[ProviderSector, "location", "independent_healthcare"]
PROVIDER_SECTORS: Final[tuple[str, ...]] = get_args(ProviderSector)
SECTORS: Final[tuple[str, ...]] = get_args(Sector)
SectorEnum: Final = pl.Enum(list(SECTORS))
#: The sectors a run places by default (``views.sectors``): those with embedded data.
DEFAULT_SECTORS: Final[tuple[str, ...]] = (*PROVIDER_SECTORS, "independent_healthcare")

#: Display name of each sector (tables, charts, reports).
SECTOR_LABELS: Final[dict[str, str]] = {
    "nhs_trust": "NHS trusts",
    "gp_practice": "GP practices",
    "location": "CQC locations",
    "independent_healthcare": "Independent-sector hospitals and clinics",
}

#: Key questions an ICS view reports per sector, Overall first: the key questions the
#: sector's ratings file holds (the GP practice file holds Overall ratings only).
VIEW_KEY_QUESTIONS: Final[dict[str, tuple[str, ...]]] = {
    "nhs_trust": ("Overall", *DOMAINS),
    "gp_practice": ("Overall",),
    "location": ("Overall", *DOMAINS),
    "independent_healthcare": ("Overall",),
}

#: Key questions a scenario's key-question gate may cap per provider sector: the domains
#: the sector's ratings file holds (none for GP practices).
GATEABLE_KEY_QUESTIONS: Final[dict[str, tuple[str, ...]]] = {
    sector: tuple(k for k in VIEW_KEY_QUESTIONS[sector] if k != "Overall")
    for sector in PROVIDER_SECTORS
}

#: Which way an indicator of a composite is "better": higher or lower (no neutral).
IndicatorDirection = Literal["higher_is_better", "lower_is_better"]
#: Which way a metric is "better" (a value judgement the user may override); a
#: ``neutral`` metric is reported without a reading.
Direction = Literal[IndicatorDirection, "neutral"]
INDICATOR_DIRECTIONS: Final[tuple[str, ...]] = get_args(IndicatorDirection)
DIRECTIONS: Final[tuple[str, ...]] = get_args(Direction)

# --------------------------------------------------------------------------- trust types
#: What kind of NHS trust a provider is, from CQC's primary inspection category
#: (:data:`TRUST_TYPE_BY_CATEGORY`); ``other`` for a category outside the five,
#: ``unknown`` when no source says (the row's ``trust_type_basis`` gives the reason).
TrustType = Literal[
    "acute", "specialist", "mental_health", "community", "ambulance", "other", "unknown"
]
TRUST_TYPES: Final[tuple[str, ...]] = get_args(TrustType)
#: The ``trust_type`` of the rows of a view by trust type that sum over every type.
TRUST_TYPE_ALL: Final = "all"

#: CQC's primary inspection categories (the ratings file's "Provider Primary Inspection
#: Category" / "Location Primary Inspection Category"; the CQC API's
#: ``inspectionCategories`` H1-H12, P1-P9, S1-S3), normalised by :func:`normalise_label`,
#: mapped to a trust type. Categories of services no NHS trust is classed under
#: (GP practices, dentists, care homes ...) are ``other``.
TRUST_TYPE_BY_CATEGORY: Final[dict[str, str]] = {
    "acute hospital - nhs non-specialist": "acute",  # H1
    "acute hospital - nhs specialist": "specialist",  # H2
    "acute hospital - independent non-specialist": "acute",  # H3
    "acute hospital - independent specialist": "specialist",  # H4
    "ambulance service": "ambulance",  # H5
    "community health - nhs & independent": "community",  # H6
    "community substance misuse": "other",  # H7
    "mental health - community & hospital - independent": "mental_health",  # H8
    "mental health - community & residential - nhs": "mental_health",  # H9
    "residential substance misuse": "other",  # H10
    "acute services - non hospital": "other",  # H11
    "acute services - non-hospital": "other",
    "hospice services": "other",  # H12, S3
    "community based services for people with mental health needs": "mental_health",
    "dentists": "other",  # P1
    "gp practices": "other",  # P2
    "out of hours": "other",  # P3
    "prison healthcare": "other",  # P4
    "remote clinical advice": "other",  # P5
    "urgent care services & mobile doctors": "other",  # P6
    "independent consulting doctors": "other",  # P7
    "slimming clinics": "other",  # P8
    "residential social care": "other",  # S1
    "community based adult social care services": "other",  # S2
}

#: NHS England's trust classification (the "Trust subtype" of the NHS Oversight
#: Framework and ERIC returns), normalised, mapped to a trust type: used where the
#: ratings file has no inspection category.
#: the five domains of the NHS Oversight Framework 2025/26 (column suffixes of its data)
NOF_DOMAINS: Final[tuple[str, ...]] = (
    "access",
    "effectiveness_experience",
    "finance_productivity",
    "patient_safety",
    "people_workforce",
)
#: NHS England's NOF trust type of the trusts on the acute league table (``nhs_trust_type``)
NOF_ACUTE_TRUST_TYPE: Final = "Acute trust"

TRUST_TYPE_BY_NHS_SUBTYPE: Final[dict[str, str]] = {
    "acute - teaching": "acute",
    "acute - large": "acute",
    "acute - medium": "acute",
    "acute - small": "acute",
    "acute - multi-service": "acute",
    "acute - specialist": "specialist",
    "ambulance": "ambulance",
    "community": "community",
    "mental health and learning disability": "mental_health",
}

#: CQC core services of NHS trusts (the ratings file's "Service / Population Group" on
#: core-service rows), normalised, by the inspection framework they belong to. A trust
#: whose provider-level core services are mostly mental health ones was inspected as a
#: mental health trust (:func:`ics_model.mapping.trust_types.classify_trusts`).
CORE_SERVICE_FRAMEWORK: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "acute wards for adults of working age and psychiatric intensive care units",
            "long stay/rehabilitation mental health wards for working age adults",
            "forensic inpatient/secure wards",
            "child and adolescent mental health wards",
            "wards for older people with mental health problems",
            "wards for people with learning disabilities or autism",
            "community-based mental health services for adults of working age",
            "community-based mental health services for adults",
            "mental health crisis services and health-based places of safety",
            "specialist community mental health services for children and young people",
            "community-based mental health services for older people",
            "community mental health services for people with learning disabilities or autism",
            "substance misuse",
            "specialist eating disorders services",
            "high secure services",
            "perinatal services",
            "psychiatric intensive care units and health-based places of safety",
            "community-based crisis services",
            "child and adolescent mental health services",
            "long stay/forensic/secure services",
            "services for people with learning disabilities or autism",
            "specialist psychological therapy services",
            "community forensic mental health team",
            "rapid response liaison psychiatry",
            "learning disability services",
            "acute admission wards",
        ),
        "mental_health",
    ),
    **dict.fromkeys(
        (
            "community health services for adults",
            "community health services for children, young people and families",
            "community health inpatient services",
            "community inpatient services",
            "community end of life care",
            "community dental services",
            "community health (sexual health services)",
            "urgent care services",
            "minor injuries unit",
            "adult long term conditions",
        ),
        "community",
    ),
    **dict.fromkeys(
        (
            "emergency and urgent care",
            "emergency operations centre (eoc)",
            "patient transport services",
            "nhs 111",
            "resilience",
        ),
        "ambulance",
    ),
}

#: How an ambulance trust, which serves several ICBs, counts in the ICS views
#: (``mapping.ambulance``): ``shared`` among the ICBs it serves with population weights,
#: left out (``exclude``), or counted whole in its ODS ``host`` ICB.
AmbulancePolicy = Literal["shared", "exclude", "host"]
AMBULANCE_POLICIES: Final[tuple[str, ...]] = get_args(AmbulancePolicy)

# Labels seen in CQC files mapped to (rating, status). Matching is case- and
# whitespace-insensitive; anything else is an unknown label (an error).
_NON_RATINGS: Final[dict[str, str]] = {
    "insufficient evidence to rate": "insufficient_evidence",
    "insufficient evidence": "insufficient_evidence",
    "not rated": "not_rated",
    "not yet rated": "not_rated",
    "inspected but not rated": "inspected_not_rated",
    "no published rating": "no_published_rating",
    "no action": "no_action",
    "compliance action": "compliance_action",
    "": "missing",
    "na": "missing",
    "n/a": "missing",
    "-": "missing",
}
#: CQC's labels that mean "no rating", as CQC writes them (each parses to a null
#: rating with its own status; blanks and "NA" parse to ``missing``).
NO_RATING_LABELS: Final[tuple[str, ...]] = (
    "Not rated",
    "Not yet rated",
    "Inspected but not rated",
    "No published rating",
    "Insufficient evidence to rate",
    "Insufficient evidence",
    "No action",
    "Compliance action",
)
_RATING_ALIASES: Final[dict[str, str]] = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires improvement": "Requires improvement",
    "requires improvements": "Requires improvement",
    "inadequate": "Inadequate",
}
_KEY_QUESTION_ALIASES: Final[dict[str, str]] = {
    "safe": "Safe",
    "effective": "Effective",
    "caring": "Caring",
    "responsive": "Responsive",
    "well-led": "Well-led",
    "well led": "Well-led",
    "wellled": "Well-led",
    "overall": "Overall",
}


def normalise_label(value: str | None) -> str:
    """Lower-case, trim and collapse internal whitespace of a label.

    >>> normalise_label("  Requires   Improvement ")
    'requires improvement'
    >>> normalise_label(None)
    ''
    """
    if value is None:
        return ""
    return " ".join(str(value).split()).lower()


def parse_rating(value: str | None) -> tuple[str | None, str | None]:
    """Parse one rating cell.

    Returns
    -------
    (rating, status)
        ``rating`` is a canonical label or None; ``status`` is one of
        :data:`RATING_STATUSES`, or None when the label is unknown.

    Examples
    --------
    >>> parse_rating(" good ")
    ('Good', 'rated')
    >>> parse_rating("Not yet rated")
    (None, 'not_rated')
    >>> parse_rating("Inspected but not rated")
    (None, 'inspected_not_rated')
    >>> parse_rating("No published rating")
    (None, 'no_published_rating')
    >>> parse_rating("")
    (None, 'missing')
    >>> parse_rating("Excellent")  # unknown: callers report it
    (None, None)
    """
    key = normalise_label(value)
    if key in _RATING_ALIASES:
        return _RATING_ALIASES[key], "rated"
    if key in _NON_RATINGS:
        return None, _NON_RATINGS[key]
    return None, None


def parse_key_question(value: str | None) -> str | None:
    """Canonical key question for a label, or None when unknown.

    >>> parse_key_question("well led")
    'Well-led'
    >>> parse_key_question("Kind") is None
    True
    """
    return _KEY_QUESTION_ALIASES.get(normalise_label(value))


def _normalised_text(column: str) -> pl.Expr:
    """Expression form of :func:`normalise_label` over a text column (null becomes "")."""
    return (
        pl.col(column)
        .cast(pl.String)
        .fill_null("")
        .str.strip_chars()
        .str.replace_all(r"\s+", " ")
        .str.to_lowercase()
    )


def rating_expr_from_text(column: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Expressions turning a text column of rating labels into canonical columns.

    Returns ``(rating, rating_status, known)`` where ``known`` is False for a
    label that is neither a rating nor a recognised non-rating.
    """
    norm = _normalised_text(column)
    rating = norm.replace_strict(_RATING_ALIASES, default=None, return_dtype=pl.String).cast(
        RatingEnum
    )
    status = (
        pl.when(norm.is_in(list(_RATING_ALIASES)))
        .then(pl.lit("rated"))
        .otherwise(norm.replace_strict(_NON_RATINGS, default=None, return_dtype=pl.String))
    )
    known = status.is_not_null()
    return rating, status.cast(RatingStatusEnum), known


def key_question_expr_from_text(column: str) -> pl.Expr:
    """Expression mapping a text column of key-question labels to :data:`KeyQuestionEnum`.

    Unknown labels become null (callers report them).
    """
    norm = _normalised_text(column)
    return norm.replace_strict(_KEY_QUESTION_ALIASES, default=None, return_dtype=pl.String).cast(
        KeyQuestionEnum
    )


def score_expr(column: str = "rating") -> pl.Expr:
    """Rating code: Outstanding 4, Good 3, RI 2, Inadequate 1; null stays null."""
    return (
        pl.col(column)
        .cast(pl.String)
        .replace_strict(RATING_SCORES, default=None, return_dtype=pl.Int8)
    )


def ratings_above(cap: str) -> tuple[str, ...]:
    """Return the ratings better than ``cap``, best first (above "Good": Outstanding)."""
    return RATINGS_BEST_FIRST[: RATINGS_BEST_FIRST.index(cap)]


#: the ratings counted as "Good or Outstanding", best first.
GOOD_OR_OUTSTANDING: Final[tuple[str, ...]] = ratings_above("Requires improvement")


def rating_count_exprs(column: str = "rating") -> list[pl.Expr]:
    """Return aggregations counting each rating of ``column``, as :data:`RATING_COUNT_COLUMNS`."""
    r = pl.col(column).cast(pl.String)
    return [
        (r == label).sum().cast(pl.Int64).alias(name)
        for label, name in RATING_COUNT_COLUMNS.items()
    ]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    r"""Wilson score interval for a binomial proportion.

    .. math::

        \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}
             {1 + \frac{z^2}{n}}

    with :math:`\hat p = x/n` and :math:`z` the standard normal quantile at
    :math:`1-(1-c)/2`. Returns ``(nan, nan)`` when ``n == 0``.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22(158), 209-212. Newcombe, R. G. (1998). Two-sided confidence
    intervals for the single proportion. *Statistics in Medicine* 17, 857-872.

    Examples
    --------
    >>> lower, upper = wilson_interval(8, 10)
    >>> round(lower, 3), round(upper, 3)
    (0.49, 0.943)
    >>> lower, upper = wilson_interval(0, 10)  # the bound at 0 is exact
    >>> lower, round(upper, 4)
    (0.0, 0.2775)
    >>> wilson_interval(0, 0)
    (nan, nan)
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return math.nan, math.nan
    z = _normal_quantile(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return lower, upper


def wilson_exprs(successes: str, n: str, prefix: str, confidence: float = 0.95) -> list[pl.Expr]:
    """Vectorised :func:`wilson_interval` as ``{prefix}_lower`` and ``{prefix}_upper`` columns."""
    z = _normal_quantile(1 - (1 - confidence) / 2)
    x = pl.col(successes).cast(pl.Float64)
    m = pl.col(n).cast(pl.Float64)
    p = x / m
    denom = 1 + z * z / m
    centre = (p + z * z / (2 * m)) / denom
    half = z * (p * (1 - p) / m + z * z / (4 * m * m)).sqrt() / denom
    ok = pl.col(n) > 0
    return [
        pl.when(ok & (x == 0))
        .then(0.0)
        .when(ok)
        .then((centre - half).clip(lower_bound=0.0))
        .alias(f"{prefix}_lower"),
        pl.when(ok & (x == m))
        .then(1.0)
        .when(ok)
        .then((centre + half).clip(upper_bound=1.0))
        .alias(f"{prefix}_upper"),
    ]


def _normal_quantile(p: float) -> float:
    """Return the standard normal quantile (inverse CDF) via :class:`statistics.NormalDist`."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def short_icb_name(name: str | None) -> str:
    """Return an ICB's name without "NHS" and "Integrated Care Board" ("" for None).

    The one shortening used by tables, charts, the report, the CLI and the logs.

    Examples
    --------
    >>> short_icb_name("NHS Lancashire and South Cumbria Integrated Care Board")
    'Lancashire and South Cumbria'
    >>> short_icb_name("NHS Frimley ICB"), short_icb_name(None)
    ('Frimley', '')
    """
    text = re.sub(r"^NHS\s+", "", str(name or "").strip())
    return re.sub(r"\s+(Integrated Care Board|ICB)$", "", text)
