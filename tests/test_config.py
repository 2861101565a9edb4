import pytest

from ics_model.config import ConfigError, RunConfig, config_from_dict, load_config


def test_default_config_loads_and_is_frozen():
    cfg = load_config()
    assert isinstance(cfg, RunConfig)
    assert cfg.mapping.icb_vintage == "2023"
    assert cfg.views.sectors == ("nhs_trust", "gp_practice")
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
    assert load_config(p).data.locations == (tmp_path / "my" / "locs.csv").resolve()


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
