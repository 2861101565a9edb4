"""Config checks that need the catalogue: names of metrics, view columns and rule sets.

Run before any work (``ics-model validate`` and every run): a config that names an
indicator, metric or rule set no run can provide fails with the key path, the reason and
the names available.
"""

from __future__ import annotations

import polars as pl

from ics_model.config import ConfigError, RunConfig


def check_references(cfg: RunConfig) -> None:
    """Fail early, with key paths, when a config names an indicator or metric that no run
    can produce (composite sources, the effect's exposure).

    Raises
    ------
    ConfigError
        listing every unknown name with its key path and the names available.
    """
    from ics_model.composite.spec import parse_source
    from ics_model.metrics.system import METRIC_CATALOGUE
    from ics_model.views import ICS_VIEW

    known = {e["metric"] for e in METRIC_CATALOGUE}
    if cfg.metrics.user_indicators is not None:
        try:
            from ics_model.metrics.user_indicators import read_user_indicators

            user = read_user_indicators(cfg.metrics.user_indicators, mode="lenient").frame
            known |= set(user.filter(pl.col("level") == "icb")["indicator"])
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metrics.user_indicators: {exc}") from None
    view_cols = set(ICS_VIEW.column_names)
    problems = []
    pillars = cfg.composite.pillars.items() if cfg.composite is not None else ()
    for pname, pillar in pillars:
        for i, ind in enumerate(pillar.indicators):
            kind, *rest = parse_source(ind.source)
            path = f"composite.pillars.{pname}.indicators.{i}.source"
            if kind == "metric" and rest[0] not in known:
                problems.append(f"{path}: unknown metric {rest[0]!r}; given: {ind.source!r}")
            if kind == "view" and rest[0] not in cfg.views.sectors:
                problems.append(
                    f"{path}: sector {rest[0]!r} is not in views.sectors "
                    f"{list(cfg.views.sectors)} (add it, or set composite: null); "
                    f"given: {ind.source!r}"
                )
            if kind == "view" and rest[-1] not in view_cols:
                problems.append(
                    f"{path}: unknown ICS view column {rest[-1]!r}; given: {ind.source!r}"
                )
    if cfg.effect.enabled and cfg.effect.exposure not in known:
        problems.append(f"effect.exposure: unknown metric; given: {cfg.effect.exposure!r}")
    for name in cfg.metrics.directions:
        if name not in known:
            problems.append(f"metrics.directions.{name}: unknown metric; given: {name!r}")
    problems.extend(_rule_set_problems(cfg))
    if problems:
        raise ConfigError(
            "invalid config references:\n  "
            + "\n  ".join(problems)
            + f"\n  (metrics available: {', '.join(sorted(known))})"
        )


def _rule_set_problems(cfg: RunConfig) -> list[str]:
    """Rule-set names a config uses: they must exist and be of the right kind."""
    from ics_model.rules.rulesets import (
        PrinciplesRuleSet,
        SegmentationRuleSet,
        ShareThresholdsRuleSet,
        available_rule_sets,
        get_rule_set,
    )

    names = ", ".join(available_rule_sets())
    wanted = [
        (
            f"rules.ics_rule_sets.{i}",
            n,
            (ShareThresholdsRuleSet, SegmentationRuleSet),
            "share_thresholds or segmentation",
        )
        for i, n in enumerate(cfg.rules.ics_rule_sets)
    ]
    if cfg.mapping.combine_predecessors is not None:
        wanted.append(
            (
                "mapping.combine_predecessors",
                cfg.mapping.combine_predecessors,
                (PrinciplesRuleSet,),
                "principles",
            )
        )
    problems = []
    for path, name, kinds, kind_text in wanted:
        try:
            rs = get_rule_set(name)
        except (KeyError, ConfigError):
            problems.append(f"{path}: unknown rule set (allowed: {names}); given: {name!r}")
            continue
        if not isinstance(rs, kinds):
            problems.append(
                f"{path}: rule set {name!r} is of kind {rs.kind!r}; a "
                f"{kind_text} rule set is needed; given: {name!r}"
            )
    return problems
