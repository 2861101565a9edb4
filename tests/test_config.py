import pytest

from ics_model.config import ConfigError, RunConfig, config_from_dict, load_config, with_overrides


def test_default_config_loads_and_is_frozen():
    cfg = load_config()
    assert isinstance(cfg, RunConfig)
    assert cfg.mapping.icb_vintage == "2023"
    assert cfg.views.sectors == ("nhs_trust", "gp_practice", "independent_healthcare")
    assert cfg.views.sectors == RunConfig().views.sectors
    assert cfg.mapping.nearest_icb_within_m == RunConfig().mapping.nearest_icb_within_m == 500
    with pytest.raises(Exception, match="frozen"):
        cfg.name = "x"


def test_empty_file_means_defaults(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("")
    assert load_config(p) == RunConfig()


def test_unknown_key_names_the_key_path(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("mapping:\n  icb_vintag: '2023'\n")
    with pytest.raises(ConfigError, match=r"mapping\.icb_vintag: unknown key"):
        load_config(p)


def test_bad_value_names_path_allowed_and_given():
    with pytest.raises(ConfigError) as err:
        config_from_dict({"mapping": {"icb_vintage": "2019"}, "views": {"confidence": 2}})
    msg = str(err.value)
    assert "mapping.icb_vintage" in msg and "'2023'" in msg and "'2026'" in msg
    assert "given: '2019'" in msg
    assert "views.confidence" in msg and "given: 2" in msg


def test_relative_data_paths_resolve_against_the_config(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("data:\n  locations: my/locs.csv\n")
    (tmp_path / "my").mkdir()
    (tmp_path / "my" / "locs.csv").write_text("Location ID\n")
    assert load_config(p).data.locations == (tmp_path / "my" / "locs.csv").resolve()


def test_every_reference_is_checked_at_load_with_its_key_path(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        "data:\n  gp_practices: nowhere.csv\n"
        "views:\n  sectors: [nhs_trust, location]\n"
        "scenarios: [no_such_scenario]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(p)
    text = str(err.value)
    assert "data.gp_practices: no such file" in text
    assert "views.sectors: 'location' needs data.locations" in text
    assert "scenarios.0: unknown scenario" in text and "no_such_scenario" in text


def test_seeds_and_counts_are_bounded_at_load():
    with pytest.raises(ConfigError, match=r"metrics\.seed"):
        config_from_dict({"metrics": {"seed": -1}})
    with pytest.raises(ConfigError, match=r"effect\.seed"):
        config_from_dict({"effect": {"seed": -5}})


def test_overrides_go_through_the_config_models():
    cfg = with_overrides(RunConfig(), {"uncertainty.draws": 123, "effect.enabled": False})
    assert cfg.uncertainty.draws == 123 and not cfg.effect.enabled
    with pytest.raises(ConfigError, match=r"uncertainty.draws: .*greater than or equal to 1"):
        with_overrides(cfg, {"uncertainty.draws": 0})
    with pytest.raises(ConfigError, match=r"uncertainty.chunk_size"):
        with_overrides(cfg, {"uncertainty.chunk_size": -3})


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("mapping: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text("- a list\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(p)


def test_effect_controls_must_be_population_columns():
    from ics_model.config import check_config

    cfg = config_from_dict({"effect": {"population": "nhs_trusts", "controls": ["imd_score"]}})
    with pytest.raises(ConfigError, match=r"effect\.controls\.0: not a column of the nhs_trusts"):
        check_config(cfg)
    check_config(config_from_dict({"effect": {"controls": ["imd_score", "rating_year"]}}))


def test_population_columns_are_what_the_populations_hold():
    import polars as pl

    from ics_model.effects.population import POPULATION_COLUMNS, trust_population

    mapped = pl.DataFrame(
        {
            "provider_id": ["R1"],
            "icb_code": ["QE1"],
            "rating": ["Good"],
            "sector": ["nhs_trust"],
            "key_question": ["Overall"],
            "publication_date": [None],
            "rating_source": ["own"],
            "inherited_from": [None],
        },
        schema_overrides={"publication_date": pl.Date, "inherited_from": pl.String},
    )
    cols = trust_population(mapped).columns
    assert cols == ["provider_id", "icb_code", "rating", *POPULATION_COLUMNS["nhs_trust"]]


def test_nearest_icb_distance_is_bounded_and_named():
    assert (
        config_from_dict({"mapping": {"nearest_icb_within_m": 0}}).mapping.nearest_icb_within_m == 0
    )
    with pytest.raises(ConfigError, match=r"mapping\.nearest_icb_within_m: .*; given: -1"):
        config_from_dict({"mapping": {"nearest_icb_within_m": -1}})


def test_missing_independent_healthcare_file_names_the_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("data:\n  independent_healthcare: no_such.csv\n")
    with pytest.raises(ConfigError, match=r"data\.independent_healthcare: no such file"):
        load_config(p)


# ----------------------------------------------------------------------------- with_updates


def test_with_updates_merges_nested_keys_and_keeps_the_rest():
    from ics_model.config import RunConfig

    cfg = RunConfig()
    new = cfg.with_updates({"composite": {"pillars": {"quality": {"weight": 2}}}})
    assert new.composite.pillars["quality"].weight == 2
    assert (
        new.composite.pillars["quality"].indicators == cfg.composite.pillars["quality"].indicators
    )
    assert new.composite.pillars["partnership"] == cfg.composite.pillars["partnership"]
    assert cfg.composite.pillars["quality"].weight == 1  # the original is untouched
    assert new.with_updates({"scenarios": []}).scenarios == ()  # a list replaces


def test_with_updates_errors_name_the_key_path_and_setting_a_field_says_what_to_do():
    from ics_model.config import RunConfig
    from ics_model.spec import ConfigError

    cfg = RunConfig()
    with pytest.raises(ConfigError, match=r"composite\.aggregation: .*allowed: arithmetic"):
        cfg.with_updates({"composite": {"aggregation": "mean"}})
    with pytest.raises(ConfigError, match=r"uncertainty\.draws: .*given: 0"):
        cfg.with_updates({"uncertainty": {"draws": 0}})
    with pytest.raises(ConfigError, match=r"with_updates\(\{'name': \.\.\.\}\)"):
        cfg.name = "mine"
    with pytest.raises(ConfigError, match="takes a mapping"):
        cfg.with_updates([("name", "x")])
