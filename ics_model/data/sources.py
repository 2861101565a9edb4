"""The registry of embedded raw sources: where each file came from and on what terms.

One entry per raw file in ``datasets/raw``. The registry feeds the dataset
build (sha256 and row counts), ``datasets/README.md`` and run manifests, so a
source's publisher, URL, licence and vintage are written down once.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ics_model.data.bundled import raw_path

OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/)."
)
OS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right 2023."
)


@dataclass(frozen=True)
class RawSource:
    """One embedded raw file and its provenance."""

    name: str
    relpath: tuple[str, ...]
    title: str
    publisher: str
    url: str
    licence: str
    attribution: str
    vintage: str
    copied_from: str
    caveats: str

    @property
    def path(self) -> Path:
        """Return the raw file's path in the embedded ``datasets/raw``."""
        return raw_path(*self.relpath)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_OGL = "Open Government Licence v3.0"


@dataclass(frozen=True)
class _Publisher:
    """What the raw files of one publisher share; :meth:`file` adds one file's own fields."""

    publisher: str
    url: str
    licence: str
    attribution: str
    copied_from: str = ""

    def file(self, name: str, relpath: tuple[str, ...], title: str, **own: str) -> RawSource:
        """Return the :class:`RawSource` of one file; ``own`` (vintage, caveats, ...) wins."""
        return RawSource(name=name, relpath=relpath, title=title, **{**asdict(self), **own})


_ODS_FILES = "https://digital.nhs.uk/services/organisation-data-service/export-data-files/"
_ODS = _Publisher(
    "NHS England Organisation Data Service",
    _ODS_FILES + "csv-downloads/other-nhs-organisations",
    _OGL,
    OGL_ATTRIBUTION + " © NHS England.",
)
_ONS_GEOPORTAL = "https://geoportal.statistics.gov.uk/"
_BOUNDARIES = _Publisher(
    "Office for National Statistics (via DHSC FingertipsNext)",
    _ONS_GEOPORTAL,
    _OGL + " (repository MIT, © Crown copyright DHSC)",
    OS_ATTRIBUTION,
    "github.com/dhsc-govuk/FingertipsNext@d1600f4a frontend/fingertips-frontend/public/maps/",
)
_IOD = _Publisher(
    "Ministry of Housing, Communities & Local Government",
    "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
    _OGL + " (repository MIT)",
    OGL_ATTRIBUTION + " © Crown copyright MHCLG.",
    "github.com/anetobradley/energy_flex@709f2f8b "
    "02-EnergyModel/Energy_Intensity_Analysis/data/imd/",
)
_CQC_URL = "https://www.cqc.org.uk/about-us/transparency/using-cqc-data"

SOURCES: dict[str, RawSource] = {
    s.name: s
    for s in (
        RawSource(
            name="cqc_trust_ratings_2018",
            relpath=(
                "cqc",
                "providers_2018-09_miqdadasaria",
                "CQC score 3 September 2018 Latest ratings.xlsx",
            ),
            title="CQC Latest ratings, Providers sheet (6 columns), 3 September 2018 edition",
            publisher="Care Quality Commission",
            url=_CQC_URL,
            licence=_OGL,
            attribution=OGL_ATTRIBUTION + " © Care Quality Commission.",
            vintage="2018-09-03 (ratings published 2013-12-18 to 2018-08-31)",
            copied_from="github.com/miqdadasaria/hospital_management@29a376fa "
            "data/csv/CQC score 3 September 2018 Latest ratings.xlsx",
            caveats="Ratings are 2014-2018 vintage: pre-ICB, pre-merger; many trusts were "
            "re-inspected since. Trimmed by its uploader to 6 columns (no names, no Locations "
            "sheet). RXE repeats 12 core-service keys with two publication dates; RA2 and RN7 "
            "carry core-service rows under Report Type 'Provider'.",
        ),
        RawSource(
            name="cqc_gp_practices_2024",
            relpath=("cqc", "gp_practices_2024-04_HEEC", "cqc.csv"),
            title="GP practice Overall CQC ratings with practice IMD 2019 score and ICB name",
            publisher="Care Quality Commission; OHID Fingertips (IMD); compiled by the "
            "Health Equity Evidence Centre",
            url=_CQC_URL,
            licence=_OGL + " (underlying data); compilation by HEEC, unlicensed: attribute HEEC",
            attribution=OGL_ATTRIBUTION + " © Care Quality Commission; OHID. Compiled by HEEC.",
            vintage="2024-04 (ratings published 2015-2024)",
            copied_from="github.com/HealthEquityEvidenceCentre/HEEC@7c150b32 data/CQC/cqc.csv",
            caveats="IMD_quintile runs 1 = least deprived (opposite of the IoD); recoded to "
            "1 = most deprived. 'NA' is missing. 42 rows have no practice code and no ICB. "
            "Some practices appear twice with different years (the later is current). "
            "Overall rating only.",
        ),
        RawSource(
            name="cqc_care_homes_sw_api_2021",
            relpath=("cqc", "carehomes_sw_api_2021-04", "cqc_care_homes.csv"),
            title="CQC API location records with rating history: care homes in NHS Devon and "
            "NHS Somerset CCGs (REGIONAL, not national)",
            publisher="Care Quality Commission",
            url="https://api.cqc.org.uk/public/v1",
            licence=_OGL + " (CQC API data); extracting code MIT",
            attribution=OGL_ATTRIBUTION + " © Care Quality Commission.",
            vintage="2021-04 (committed 2021-04-08; ratings published 2014-10-10 to 2021-01-19)",
            copied_from="github.com/PhilPearson83/CQC_carehome_data_extraction@8d7f85d6 "
            "cqc_care_homes.csv",
            caveats="Two CCGs only (Devon 506, Somerset 222 care homes), registered locations "
            "only (deregistered homes and their ratings are absent). Nested fields are "
            "Python-literal dicts, not JSON. 1,289 historic ratings; reportDate is the "
            "publication date. 23 homes carry a predecessor's ratings (a change of provider, "
            "organisationId); two homes have two reports with different ratings on one day.",
        ),
        RawSource(
            name="cqc_independent_healthcare_2025",
            relpath=(
                "cqc",
                "independent_hospitals_2025-11_api",
                "uk_private_hospitals_all_2025-11-01.csv",
            ),
            title="CQC API dump: independent-sector hospitals and clinics (Hospitals "
            "directorate, Independent Healthcare Org), England, flat CSV",
            publisher="Care Quality Commission (public API)",
            url="https://api.service.cqc.org.uk/public/v1",
            licence=_OGL,
            attribution=OGL_ATTRIBUTION + " © Care Quality Commission.",
            vintage="2025-11-01 (API dump; ratings published 2014-04-17 to 2024-05-20)",
            copied_from="github.com/mytribeinsuranceexperts/mytribe-workspace@b5dc6a06 "
            "APIs/CQC/uk_private_hospitals_all_2025-11-01.csv",
            caveats="No rating published after 2024-05-20 although the dump is of "
            "2025-11-01: ratings under CQC's newer assessment approach (from May 2024) may be "
            "missing. Overall rating only. No ICB or sub-ICB code: placed by coordinates. "
            "1,245 'Not rated', 113 'Inspected but not rated', 37 'No published rating'.",
        ),
        _ODS.file(
            "ods_etr_2025",
            ("ods_trusts", "etr_2025_jhau-nhs-spend", "etr.csv"),
            "ODS NHS Trusts (etr), 42-ICB geography",
            vintage="2025 (between Jan 2025 and April 2026; exact publication date unknown)",
            copied_from="github.com/jhau/nhs-spend@e602ea98 data/etr.csv",
            caveats="Headerless, 27 columns. Care trusts (TAD, TAF, TAH, TAJ) are not in etr.",
        ),
        _ODS.file(
            "ods_etr_2026",
            ("ods_trusts", "etr_2026-07_riyaburman", "etr.csv"),
            "ODS NHS Trusts (etr), April-2026 36-ICB codes",
            vintage="2026-07",
            copied_from="github.com/Riyaburman-analytics/UK-healthcare-analysis@be5d9213 etr.csv",
            caveats="Uses the April 2026 ICB codes (36 ICBs), for which no boundaries are "
            "embedded.",
        ),
        _ODS.file(
            "ods_eccg_2025",
            ("ods_trusts", "etr_2025_jhau-nhs-spend", "eccg.csv"),
            "ODS CCGs and sub-ICB locations (eccg)",
            vintage="2025",
            copied_from="github.com/jhau/nhs-spend@e602ea98 data/eccg.csv",
            caveats="Headerless. Mixes sub-ICB locations, commissioning hubs, reporting "
            "entities and closed CCGs.",
        ),
        _ODS.file(
            "ods_succ",
            ("ods_trusts", "succ.csv"),
            "ODS successor organisations (succ)",
            url=_ODS_FILES + "csv-downloads/miscellaneous",
            vintage="2026 (latest effective date 2026-04-01)",
            copied_from="github.com/Maglehoj/42578-Project@c0ee0545 data/succ.csv",
            caveats="Headerless, 5 columns. Has no D4U1Y -> U2G6B row (Frimley sub-ICB).",
        ),
        RawSource(
            name="icb_codes_2024",
            relpath=("icb_lookups", "icb_names_codes_dec_2024.csv"),
            title="Integrated Care Boards (December 2024) Names and Codes in EN",
            publisher="Office for National Statistics",
            url=_ONS_GEOPORTAL,
            licence=_OGL,
            attribution=OS_ATTRIBUTION,
            vintage="2024-12 (same 42 codes as April 2023)",
            copied_from="github.com/jhau/nhs-spend@e602ea98 data/icb_names_codes_dec_2024.csv",
            caveats="42 ICBs of the 2022-2026 structure; not the April 2026 mergers.",
        ),
        RawSource(
            name="lsoa11_icb23",
            relpath=("icb_lookups", "LSOA2011_to_ICB2023.csv"),
            title="LSOA (2011) to Sub-ICB Locations to ICB (April 2023), reduced to LSOA and ICB",
            publisher="Office for National Statistics (reduced by The Strategy Unit)",
            url=_ONS_GEOPORTAL,
            licence=_OGL + " (repository CC0 1.0)",
            attribution=OS_ATTRIBUTION,
            vintage="2023-04",
            copied_from="github.com/The-Strategy-Unit/cqc_soc@7aa427f5 "
            "data/LSOA2011_to_ICB2023.csv",
            caveats="Sub-ICB columns were dropped by the uploader.",
        ),
        _BOUNDARIES.file(
            "icb_boundaries_2023",
            (
                "icb_boundaries",
                "Integrated_Care_Boards_April_2023_EN_BSC_-187828753279616787.geo.json",
            ),
            "Integrated Care Boards (April 2023) boundaries, BSC",
            vintage="2023-04",
            caveats="Super-generalised (200 m), clipped to the coastline; 42 ICBs; not the "
            "April 2026 mergers.",
        ),
        _BOUNDARIES.file(
            "sub_icb_boundaries_2023",
            ("icb_boundaries", "NHS_SubICB_April_2023_EN_BSC_8040841744469859785.geo.json"),
            "Sub-ICB Locations (April 2023) boundaries, BSC",
            vintage="2023-04",
            caveats="106 sub-ICB locations, super-generalised.",
        ),
        _BOUNDARIES.file(
            "region_boundaries_2024",
            (
                "icb_boundaries",
                "NHS_England_Regions_January_2024_EN_BSC_7500404208533377417.geo.json",
            ),
            "NHS England Regions (January 2024) boundaries, BSC",
            vintage="2024-01",
            caveats="7 regions, super-generalised.",
        ),
        _IOD.file(
            "imd2019",
            ("deprivation", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
            "English indices of deprivation 2019, File 1 (IMD rank and decile by LSOA 2011)",
            vintage="2019 (IoD2019; IoD2025 on 2021 LSOAs exists but is not embedded)",
            caveats="UTF-8 with BOM; ranks have thousands separators. Rank 1 / decile 1 = most "
            "deprived. Scores (File 5) not included.",
        ),
        _IOD.file(
            "iod2019_domains",
            ("deprivation", "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"),
            "English indices of deprivation 2019, File 2 (domains of deprivation)",
            vintage="2019",
            caveats="UTF-8 with BOM. Kept for domain-level inequality work.",
        ),
        _IOD.file(
            "iod2019_population",
            ("deprivation", "File_6_-_IoD2019_Population_Denominators.csv.gz"),
            "English indices of deprivation 2019, File 6 (population denominators)",
            vintage="2019 (populations mid-2015, excluding prisoners)",
            caveats="UTF-8 with BOM; thousands separators ('1,296').",
        ),
        RawSource(
            name="sub_icb_population_2022",
            relpath=("population", "ICB Population estimates 2022.csv"),
            title="Mid-2022 population estimates by sub-ICB location, ICB 2023 geography",
            publisher="Office for National Statistics",
            url="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
            "populationestimates",
            licence=_OGL,
            attribution=OGL_ATTRIBUTION + " © Crown copyright ONS.",
            vintage="mid-2022",
            copied_from="github.com/The-Strategy-Unit/paediatric_fracture_management@aa827642 "
            "Data/ICB Population estimates 2022.csv",
            caveats="UTF-8 with BOM; the source column 'NSHER 2023 Name' is misspelt in the file.",
        ),
        RawSource(
            name="rtt_2026_04",
            relpath=(
                "indicators",
                "rtt_2026-04",
                "20260430-RTT-April-2026-full-extract.csv.zip",
            ),
            title="Consultant-led Referral to Treatment waiting times, April 2026 full extract",
            publisher="NHS England",
            url="https://www.england.nhs.uk/statistics/statistical-work-areas/rtt-waiting-times/",
            licence=_OGL,
            attribution=OGL_ATTRIBUTION + " © NHS England.",
            vintage="2026-04",
            copied_from="github.com/Riyaburman-analytics/UK-healthcare-analysis@7ae87aca "
            "20260430-RTT-April-2026-full-extract.csv.zip",
            caveats="Commissioner parent codes are the April 2026 ICB codes. Part_2 counts are "
            "in 'Total All' (Total is 0); Part_2A is a subset of Part_2. Commissioning hubs and "
            "non-geographic commissioners belong to no ICS. Some trusts submitted no data "
            "(e.g. RHQ, RA9). Frimley's sub-ICB D4U1Y is absent.",
        ),
        RawSource(
            name="nhs_trust_types_2026",
            relpath=("nof", "nof_2025-26_q3_trustpulse", "trust_profiles.csv"),
            title="NHS Oversight Framework 2025/26 Q3 trust profiles (trust type and subtype)",
            publisher="NHS England (compiled by the trustpulse repository)",
            url="https://www.england.nhs.uk/nhs-oversight-framework/",
            licence=_OGL + " (underlying data); compilation unlicensed: attribute the compiler",
            attribution=OGL_ATTRIBUTION + " © NHS England.",
            vintage="2026-03 (NOF 2025/26 Q3)",
            copied_from="github.com/larsen-analyst/trustpulse@04a0235c "
            "data/processed/trust_profiles.csv",
            caveats="Read for NHS England's trust classification (Trust_type, Trust_subtype) "
            "and, by ics_model.data.nof.read_nof_segments, for the NOF segments, average "
            "metric scores, league table and domain scores (lower is better). 150 of its 221 "
            "organisations are classified and segmented; most mental health, community and "
            "ambulance trusts are missing. Its rating_* columns are one hospital site's "
            "rating, not the trust's, and are never read.",
        ),
        RawSource(
            name="ambulance_areas_2023",
            relpath=("ambulance", "ambulance_areas_2023", "ambulance_trust_sub_icbs.csv"),
            title="Ambulance trust serving each sub-ICB location (April 2023 geography)",
            publisher="ics_model (compiled from the ambulance trusts' published operating areas)",
            url="https://www.england.nhs.uk/urgent-emergency-care/improving-ambulance-services/",
            licence="compiled by the ics_model authors (project terms)",
            attribution="Compiled for ics_model; see datasets/raw/ambulance/PROVENANCE.md.",
            vintage="2023-04 sub-ICB geography",
            copied_from="compiled for this project (not a copy)",
            caveats="A whole sub-ICB goes to one trust: Milton Keynes (M1J4Y, RYE), Glossop "
            "(15M, RX7), Surrey Heath and Farnham (D4U1Y, RYD) and the Isle of Wight (D9Y0V, "
            "its own trust's service) are counted with the trust serving the rest of the "
            "sub-ICB.",
        ),
        _ODS.file(
            "ods_epcn_2024_10",
            ("pcn", "epcn_2024-10_efejiroe", "ePCN.xlsx"),
            "ODS ePCN: GP practice membership of Primary Care Networks, with history "
            "(sheet 'PCN Core Partner Details')",
            url=_ODS_FILES + "csv-downloads/gp-and-gp-practice-related-data",
            vintage="2024-10 (extract of about 25 Oct 2024; memberships from 2019-10-01)",
            copied_from="github.com/efejiroe/r-tutorials@ad9f875a data/ePCN.xlsx",
            caveats="Re-saved in Excel by its uploader (no edits found: every row of the "
            "untouched January 2023 copy reappears unchanged). Sub-ICB codes are those of the "
            "extract date. A PCN merger or re-coding ends the members' spells. End dates are "
            "the last day of membership. 11 practices have overlapping spells of a day or two.",
        ),
        _ODS.file(
            "ods_epcn_2023_01",
            ("pcn", "epcn_2023-01_blackwellrd", "ePCN.xlsx"),
            "ODS ePCN: GP practice membership of Primary Care Networks (untouched earlier copy)",
            url=_ODS_FILES + "csv-downloads/gp-and-gp-practice-related-data",
            vintage="2023-01 (extract of about 26 Jan 2023)",
            copied_from="github.com/blackwellrd/practice_pcn_imd@99f57a72 data/ePCN.xlsx",
            caveats="Kept to cross-check the October 2024 file, which holds its full history; "
            "the exposures read the October 2024 file.",
        ),
        RawSource(
            name="gp_list_sizes_2022_05",
            relpath=(
                "gp_list_size",
                "gp_reg_pat_prac_all_2022-05_mattia-ficarelli",
                "gp_pop_data.csv",
            ),
            title="Patients Registered at a GP Practice, May 2022: totals per practice "
            "(gp-reg-pat-prac-all.csv)",
            publisher="NHS Digital",
            url="https://digital.nhs.uk/data-and-information/publications/statistical/"
            "patients-registered-at-a-gp-practice",
            licence=_OGL + " (repository MIT)",
            attribution=OGL_ATTRIBUTION + " © NHS England (NHS Digital).",
            vintage="2022-05-01 (extract date)",
            copied_from="github.com/mattia-ficarelli/gp_mapping@3fb4718f "
            "assets/data/gp_pop_data.csv",
            caveats="Registered lists exceed the resident population (patients who moved or "
            "died and are still listed). CCG codes of May 2022 (= the July 2022 sub-ICB "
            "codes). Two years before the April 2024 GP ratings file.",
        ),
        RawSource(
            name="gp_payments_2022_23",
            relpath=("gp_payments", "nhs_payments_2022-23_HEEC", "22-23.csv.gz"),
            title="NHS Payments to General Practice, England, 2022-23, practice level "
            "(HEEC copy, gzip-compressed)",
            publisher="NHS Digital; compiled by the Health Equity Evidence Centre",
            url="https://digital.nhs.uk/data-and-information/publications/statistical/"
            "nhs-payments-to-general-practice",
            licence=_OGL + " (underlying data); compilation by HEEC, unlicensed: attribute HEEC",
            attribution=OGL_ATTRIBUTION + " © NHS England (NHS Digital). Compiled by HEEC.",
            vintage="2022-23 (financial year 1 Apr 2022 - 31 Mar 2023)",
            copied_from="github.com/HealthEquityEvidenceCentre/HEEC@179bce7a "
            "data/payments/raw/22-23.csv (gzip -9 -n; decompresses to the original bytes)",
            caveats="HEEC renamed four columns: 'CCG Code' holds the sub-ICB code, 'Code' the "
            "PCN code, 'CCG NAME' the PCN name. PCN network payments sit on the row of the "
            "PCN's payee practice, or on no row when the payee is another body. List sizes "
            "are the year's last known figure (often a quarterly average).",
        ),
        RawSource(
            name="icb_2026_crosswalk",
            relpath=("crosswalks", "icb_2026", "icb_2026_crosswalk.csv"),
            title="ICB crosswalk to April 2026: new ICB names, the RTT code U2G6B, and the "
            "sub-ICBs and districts of the three split ICBs (QJG, QM7, QNQ)",
            publisher="ics_model (compiled from ODS succ and eccg, the NHS England RTT "
            "April 2026 extract and the IoD 2019 LSOA districts; each row cites its evidence)",
            url="datasets/raw/crosswalks/icb_2026/PROVENANCE.md",
            licence=_OGL + " (the facts it records come from OGL sources)",
            attribution=OGL_ATTRIBUTION + " © NHS England; © Crown copyright ONS, MHCLG.",
            vintage="2026-04 (ICB changes effective 2026-04-01)",
            copied_from="hand-made for this project (not a copy)",
            caveats="Frimley (QNQ) split below sub-ICB level: its districts are assigned by "
            "county, and the Guildford and Runnymede LSOAs inside QNQ by the county rule only. "
            "District parts are whole 2011 LSOAs (IoD 2019 district of each LSOA).",
        ),
    )
}


def source(name: str) -> RawSource:
    """Look up a registered raw source by name (the error lists the names)."""
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None
