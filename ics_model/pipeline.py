"""The main job: load -> place -> view, once; writing outputs is a separate, atomic step.

``run(config) -> Result`` holds the validated config and every frame;
``write_outputs(result, out)`` writes ``ics_view.csv``/``.parquet``, ``providers.csv``
(every placed provider x key question with its ICB and mapping method), ``unmapped.csv``,
``quarantine.csv``, ``superseded.csv``, ``conservation.csv`` and ``manifest.json``
into a temporary folder beside ``out`` and moves them into place only when all are
written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ics_model.checks import check_references
from ics_model.config import RunConfig, load_config
from ics_model.contracts import empty_quarantine
from ics_model.data import cqc, geography, ods, population
from ics_model.data.base import Loaded
from ics_model.data.sources import SOURCES, sha256_file
from ics_model.mapping import (
    SUPERSEDED_SCHEMA,
    Placed,
    conservation,
    icb_table,
    loader_accounts,
    place_gp_practices,
    place_locations,
    place_trusts,
)
from ics_model.outputs import MODELLED_NOTE, OutputError
from ics_model.rules import ics_modelled_ratings
from ics_model.views import ics_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputFile:
    """One file a run read."""

    role: str
    path: str
    sha256: str
    vintage: str


@dataclass(frozen=True)
class Result:
    """Everything a run produced, with the validated config that produced it."""

    config: RunConfig
    mapped: pl.DataFrame
    ics_view: pl.DataFrame
    unmapped: pl.DataFrame
    quarantine: pl.DataFrame
    superseded: pl.DataFrame
    conservation: pl.DataFrame
    icbs: pl.DataFrame
    ics_modelled: pl.DataFrame
    ics_metrics: pl.DataFrame
    provider_partnership: pl.DataFrame
    flow_matrix: pl.DataFrame
    inputs: tuple[InputFile, ...]
    vintages: dict[str, str] = field(default_factory=dict)
    extra_outputs: dict[str, pl.DataFrame | dict] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _input(role: str, path: Path, vintage: str) -> InputFile:
    return InputFile(role, str(path), sha256_file(path), vintage)


def _superseded_rows(loaded, source: str) -> pl.DataFrame:
    """A loader's superseded rows in the superseded report's layout (one row each)."""
    sup = loaded.superseded
    if sup is None or sup.is_empty():
        return pl.DataFrame(schema=SUPERSEDED_SCHEMA)
    id_col = "provider_id" if "provider_id" in sup.columns else "practice_code"
    return sup.select(
        pl.lit(source).alias("source"),
        pl.col("source_row").cast(pl.Int64),
        pl.col(id_col).cast(pl.String).alias("provider_id"),
        pl.lit(1, pl.Int64).alias("n_rows"),
        pl.col("reason").cast(pl.String),
    )


@dataclass(frozen=True)
class _Sector:
    """One sector's loaded source, its placement, and where it came from."""

    sector: str
    source: str
    loaded: Loaded
    placed: Placed
    vintage: str
    inputs: tuple[InputFile, ...]


def _n(frame: pl.DataFrame | None) -> int:
    return 0 if frame is None else frame.height


def run(config: RunConfig | str | Path | None = None) -> Result:
    """Run the main job on the embedded data (or the files the config names).

    Parameters
    ----------
    config : a validated :class:`RunConfig`, a YAML path, or None for ``configs/default.yaml``.
    """
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    check_references(cfg)
    mode = cfg.data.validation
    m = cfg.mapping
    inputs: list[InputFile] = []

    trust_src = SOURCES[f"ods_etr_{m.trust_vintage}"]
    trusts = ods.read_ods_trusts(trust_src.path, vintage=m.trust_vintage, mode=mode)
    succ = ods.read_ods_successors(SOURCES["ods_succ"].path, mode=mode)
    icb_src = SOURCES["icb_codes_2024"]
    icb_codes = geography.read_icb_codes(icb_src.path, mode=mode)
    for role, src in (
        ("ods_trusts", trust_src),
        ("ods_successors", SOURCES["ods_succ"]),
        ("icb_codes", icb_src),
    ):
        inputs.append(_input(role, src.path, src.vintage))
    icbs, _ = icb_table(icb_codes.frame, succ.frame, m.icb_vintage)

    reference_quarantine = [trusts.quarantine, succ.quarantine, icb_codes.quarantine]
    sectors: list[_Sector] = []

    if "nhs_trust" in cfg.views.sectors:
        src = SOURCES["cqc_trust_ratings_2018"]
        path = Path(cfg.data.trust_ratings or src.path)
        vintage = src.vintage if cfg.data.trust_ratings is None else f"user file {path.name}"
        loaded = cqc.read_cqc_ratings(path, sheet=cqc.sheet_named(path, "Providers"), mode=mode)
        placed = place_trusts(
            loaded.frame,
            trusts.frame,
            succ.frame,
            icb_codes.frame,
            source="trust_ratings",
            icb_vintage=m.icb_vintage,
            inherit=m.inherit_predecessor_rating,
            combine_predecessors=m.combine_predecessors,
        )
        sectors.append(
            _Sector(
                "nhs_trust",
                "trust_ratings",
                loaded,
                placed,
                f"CQC ratings {vintage}; trusts ODS etr {m.trust_vintage}",
                (_input("trust_ratings", path, vintage),),
            )
        )

    if "gp_practice" in cfg.views.sectors:
        src = SOURCES["cqc_gp_practices_2024"]
        path = Path(cfg.data.gp_practices or src.path)
        vintage = src.vintage if cfg.data.gp_practices is None else f"user file {path.name}"
        loaded = cqc.read_gp_practices(path, mode=mode)
        placed = place_gp_practices(
            loaded.frame,
            icb_codes.frame,
            source="gp_practices",
            successors=succ.frame,
            icb_vintage=m.icb_vintage,
        )
        sectors.append(
            _Sector(
                "gp_practice",
                "gp_practices",
                loaded,
                placed,
                f"CQC GP ratings {vintage}",
                (_input("gp_practices", path, vintage),),
            )
        )

    if "location" in cfg.views.sectors or cfg.data.locations is not None:
        if cfg.data.locations is None:
            raise ValueError("views.sectors includes 'location' but data.locations is not set")
        path = Path(cfg.data.locations)
        loaded = cqc.read_cqc_ratings(path, sheet=cqc.sheet_named(path, "Locations"), mode=mode)
        pop_src = SOURCES["sub_icb_population_2022"]
        subs = population.read_sub_icb_population(pop_src.path, mode=mode)
        placed = place_locations(
            loaded.frame,
            subs.frame,
            trusts.frame,
            icb_codes.frame,
            source="locations",
            successors=succ.frame,
            icb_vintage=m.icb_vintage,
        )
        sectors.append(
            _Sector(
                "location",
                "locations",
                loaded,
                placed,
                f"CQC locations, user file {path.name}",
                (
                    _input("locations", path, "user file"),
                    _input("sub_icb_lookup", pop_src.path, pop_src.vintage),
                ),
            )
        )

    vintages = {s.sector: s.vintage for s in sectors}
    for s in sectors:
        inputs.extend(s.inputs)
    accounts = pl.concat(
        [
            pl.concat(
                [
                    s.placed.accounts,
                    loader_accounts(s.source, s.loaded.quarantine.height, _n(s.loaded.superseded)),
                ]
            )
            for s in sectors
        ]
    )
    # reference sources: every row is used (the frame) or quarantined
    reference = {"ods_trusts": trusts, "ods_successors": succ, "icb_codes": icb_codes}
    ref_accounts = pl.DataFrame(
        [
            (name, outcome, n)
            for name, ld in reference.items()
            for outcome, n in (("used", ld.frame.height), ("quarantined", ld.quarantine.height))
        ],
        schema={"source": pl.String, "outcome": pl.String, "n_rows": pl.Int64},
        orient="row",
    )
    accounts = pl.concat([accounts, ref_accounts])
    cons = conservation(
        accounts,
        {
            **{s.source: s.loaded.n_input_rows for s in sectors},
            **{name: ld.n_input_rows for name, ld in reference.items()},
        },
    )
    if not cons["balanced"].all():
        raise AssertionError(f"row conservation failed:\n{cons}")
    placed = [s.placed for s in sectors]
    quarantines = reference_quarantine + [s.loaded.quarantine for s in sectors]
    superseded = [_superseded_rows(s.loaded, s.source) for s in sectors]
    mapped = pl.concat([p.ratings for p in placed])
    view = ics_view(
        mapped,
        icbs,
        vintages=vintages,
        confidence=cfg.views.confidence,
        sectors=tuple(vintages),
    )
    quarantine = pl.concat([q for q in quarantines if q.height] or [empty_quarantine()])
    view, modelled = _add_modelled_ratings(view, cfg.rules.ics_rule_sets)
    gp = next((s for s in sectors if s.sector == "gp_practice"), None)
    metrics, provider_partnership, matrix, metric_inputs, metric_extra = _metrics(
        cfg, view, mapped, gp.loaded.frame if gp else None, icb_codes.frame
    )
    inputs.extend(metric_inputs)
    extra: dict[str, pl.DataFrame | dict] = dict(metric_extra)
    if metrics.height:
        if cfg.composite is not None:
            extra.update(_composite_outputs(cfg, view, metrics, mapped))
        if cfg.effect.enabled:
            extra["collaboration_effect.json"] = _effect(cfg, mapped, gp, metrics)
        extra.update(_scenario_outputs(cfg, mapped, provider_partnership, metrics))
    return Result(
        config=cfg,
        mapped=mapped,
        ics_view=view,
        unmapped=pl.concat([p.unmapped for p in placed]),
        quarantine=quarantine,
        superseded=pl.concat([*superseded, *(p.superseded for p in placed)]),
        conservation=cons,
        icbs=icbs,
        ics_modelled=modelled,
        ics_metrics=metrics,
        provider_partnership=provider_partnership,
        flow_matrix=matrix,
        extra_outputs=extra,
        inputs=tuple(inputs),
        vintages=vintages,
        notes=(MODELLED_NOTE,),
    )


def _add_modelled_ratings(
    view: pl.DataFrame, rule_sets: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Modelled ICS ratings per rule set, long, and as ``modelled_<name>`` view columns."""
    frames = []
    for name in rule_sets:
        m = ics_modelled_ratings(view, name)
        value = (
            "modelled_ics_rating"
            if "modelled_ics_rating" in m.columns
            else ("modelled_ics_segment")
        )
        frames.append(
            m.select(
                "icb_code",
                "sector",
                "key_question",
                "rule_set",
                pl.col(value).cast(pl.String).alias("modelled_value"),
                pl.lit(value).alias("kind"),
                "n_rated",
                "note",
                "label",
            )
        )
        overall = m.filter(pl.col("key_question") == "Overall").select(
            "icb_code",
            "sector",
            "key_question",
            pl.col(value).cast(pl.String).alias(f"modelled_{name}"),
        )
        view = view.join(overall, on=["icb_code", "sector", "key_question"], how="left")
    long = pl.concat(frames) if frames else pl.DataFrame()
    return view, long


def uncertainty_outputs(
    matrix: pl.DataFrame, cfg: RunConfig, mapped: pl.DataFrame, *, executor=None, progress=None
) -> dict[str, pl.DataFrame]:
    """Monte Carlo ranks (``uncertainty.csv``), Sobol indices (``sensitivity.csv``) and the
    assumptions varied (``uncertainty_assumptions.csv``)."""
    from ics_model.uncertainty import run_uncertainty

    res = run_uncertainty(
        matrix,
        cfg.uncertainty,
        cfg.composite,
        providers=mapped,
        executor=executor,
        progress=progress,
    )
    out = {"uncertainty.csv": res.per_ics, "uncertainty_assumptions.csv": res.draws_summary}
    if res.sobol is not None:
        out["sensitivity.csv"] = res.sobol
    return out


def _composite_outputs(
    cfg: RunConfig, view: pl.DataFrame, metrics: pl.DataFrame, mapped: pl.DataFrame
) -> dict[str, pl.DataFrame | dict]:
    """The composite (scores, indicators, weights), the JRC correlation report and, when
    configured, its uncertainty and sensitivity analysis."""
    from ics_model.composite import composite, correlations, indicator_matrix

    matrix = indicator_matrix(view, metrics, cfg.composite)
    built = composite(matrix, cfg.composite)
    out: dict[str, pl.DataFrame | dict] = {}
    if cfg.uncertainty is not None:
        out.update(uncertainty_outputs(matrix, cfg, mapped))
    return out | {
        "composite.csv": built.scores,
        "composite.parquet": built.scores,
        "composite_indicators.csv": built.indicators,
        "composite_weights.csv": built.weights,
        "correlations.csv": correlations(matrix, cfg.composite),
    }


def _scenario_outputs(
    cfg: RunConfig,
    mapped: pl.DataFrame,
    provider_partnership: pl.DataFrame,
    metrics: pl.DataFrame,
) -> dict[str, pl.DataFrame | dict]:
    """Each configured collaboration-gate scenario: providers, per ICS, sweep, notes."""
    from ics_model.scenarios import (
        get_scenario,
        indicator_frames,
        run_scenario,
        threshold_sweep,
        threshold_uncertainty,
    )

    out: dict[str, pl.DataFrame | dict] = {}
    if not cfg.scenarios:
        return out
    prov_ind, icb_ind = indicator_frames(provider_partnership, metrics)
    sectors = set(mapped["sector"].cast(pl.String).unique())
    for name in cfg.scenarios:
        spec = get_scenario(name)
        if spec.sector not in sectors:
            log.warning("scenario %s skipped: sector %s is not in this run", spec.name, spec.sector)
            continue
        res = run_scenario(mapped, spec, provider_indicators=prov_ind, icb_indicators=icb_ind)
        out[f"scenario_{spec.name}.csv"] = res.providers
        out[f"scenario_{spec.name}_by_ics.csv"] = res.by_ics
        if spec.sweep is not None:
            out[f"scenario_{spec.name}_sweep.csv"] = threshold_sweep(
                mapped, spec, provider_indicators=prov_ind, icb_indicators=icb_ind
            )
        u = cfg.uncertainty
        if u is not None and u.gate_threshold_spread is not None:
            out[f"scenario_{spec.name}_threshold_uncertainty.csv"] = threshold_uncertainty(
                mapped,
                spec,
                spread=u.gate_threshold_spread,
                draws=u.draws,
                seed=u.seed,
                provider_indicators=prov_ind,
                icb_indicators=icb_ind,
            )
        out[f"scenario_{spec.name}.json"] = {
            "scenario": spec.model_dump(mode="json"),
            "national": res.national.to_dicts(),
            "notes": list(res.notes),
            "label": "modelled scenario: a rule CQC has not adopted, applied to published ratings",
        }
    return out


def _effect(
    cfg: RunConfig, mapped: pl.DataFrame, gp: _Sector | None, metrics: pl.DataFrame
) -> dict:
    """The collaboration -> Outstanding association, as a JSON-able dict."""
    from ics_model.effects import collaboration_effect, default_population

    e = cfg.effect
    sector = "nhs_trust" if e.population == "nhs_trusts" else "gp_practice"
    if sector == "gp_practice" and gp is None:
        return {"skipped": "the GP practice sector is not in this run"}
    pop = default_population(
        mapped,
        gp.loaded.frame if gp else None,
        sector=sector,
        since=None if e.population == "gp_all_years" else "2022-07-01",
    )
    exposure = metrics.filter(pl.col("metric") == e.exposure).select(
        "icb_code", pl.col("value").alias(e.exposure)
    )
    result = collaboration_effect(
        pop.frame,
        exposure,
        outcome=e.outcome,
        controls=pop.controls if e.controls is None else e.controls,
        permutations=e.permutations,
        seed=e.seed,
    ).with_caveats(pop.caveats)
    out = result.to_dict()
    outcome_share = {"Outstanding": "share_outstanding", "Good": "share_good_or_outstanding"}.get(
        e.outcome
    )
    overlap = [
        ind.name
        for _, ind in (cfg.composite.indicators if cfg.composite is not None else ())
        if outcome_share and ind.source.endswith(f":{outcome_share}")
    ]
    if overlap:
        out["warning"] = (
            f"the composite includes indicators built on the effect's outcome ({e.outcome}): "
            f"{', '.join(overlap)}; do not read the composite and the association together "
            "as independent evidence"
        )
    out["population"] = e.population
    return out


def _metrics(
    cfg: RunConfig,
    view: pl.DataFrame,
    mapped: pl.DataFrame,
    gp_loaded: pl.DataFrame | None,
    icb_codes: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[InputFile], dict[str, pl.DataFrame]]:
    """Partnership, inequality and context metrics for the 42 ICBs of 2023 (+ extra tables)."""
    from ics_model.data.build import load_processed
    from ics_model.metrics import partnership, system
    from ics_model.metrics.user_indicators import join_user_indicators, read_user_indicators

    empty = (system.ICS_METRICS.empty(), pl.DataFrame(), pl.DataFrame(), [], {})
    mc = cfg.metrics
    if not mc.enabled:
        return empty
    if cfg.mapping.icb_vintage != "2023":
        log.warning(
            "ics_metrics are defined on the 42 ICBs of 2023; skipped for vintage %s",
            cfg.mapping.icb_vintage,
        )
        return empty
    extra: dict[str, pl.DataFrame] = {}
    sources = [
        "rtt_2026_04",
        "ods_eccg_2025",
        "imd2019",
        "iod2019_population",
        "lsoa11_icb23",
        "sub_icb_population_2022",
    ]
    inputs = [_input(n, SOURCES[n].path, SOURCES[n].vintage) for n in sources]
    table = partnership.flow_table(
        load_processed("rtt_flows"),
        load_processed("ods_trusts_2025"),
        load_processed("ods_sub_icbs"),
        part=mc.rtt_part,
    )
    ics_p = partnership.ics_partnership_metrics(
        table, icb_codes, partner_threshold=mc.partner_threshold
    )
    prov_p = partnership.provider_partnership_metrics(table, threshold=mc.partner_threshold)
    parts = [
        system.partnership_rows(ics_p),
        system.dispersion_rows(view),
        system.access_rows(
            table
            if mc.rtt_part == "incomplete"
            else partnership.flow_table(
                load_processed("rtt_flows"),
                load_processed("ods_trusts_2025"),
                load_processed("ods_sub_icbs"),
                part="incomplete",
            ),
            icb_codes,
        ),
        system.deprivation_rows(
            load_processed("imd2019_lsoa"),
            load_processed("lsoa11_icb23"),
            icb_codes,
            load_processed("sub_icb_population"),
        ),
    ]
    if gp_loaded is not None:
        practices = (
            mapped.filter(
                (pl.col("sector") == "gp_practice") & (pl.col("key_question") == "Overall")
            )
            .select("provider_id", "icb_code", "rating")
            .join(
                gp_loaded.select(pl.col("practice_code").alias("provider_id"), "imd_quintile"),
                on="provider_id",
                how="left",
            )
        )
        parts.append(
            system.gp_inequality_rows(practices, repetitions=mc.sii_repetitions, seed=mc.seed)
        )
        extra["gp_quintiles.csv"] = system.gp_quintile_table(practices)
    if mc.user_indicators is not None:
        user = read_user_indicators(mc.user_indicators, mode=cfg.data.validation)
        parts.append(
            system.user_indicator_rows(user.frame, mc.directions, Path(mc.user_indicators).name)
        )
        inputs.append(_input("user_indicators", Path(mc.user_indicators), "user file"))
        prov_p = join_user_indicators(prov_p, user.frame, "provider")
    metrics = system.ics_metrics(parts, directions=mc.directions)
    return metrics, prov_p, partnership.ics_flow_matrix(table), inputs, extra


# writing is a separate step, kept in its own module
from ics_model.outputs import manifest, write_outputs  # noqa: E402

__all__ = ["OutputError", "Result", "manifest", "run", "write_outputs"]
