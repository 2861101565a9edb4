import os
import subprocess
import sys
from pathlib import Path

import pytest

import ics_model


def test_every_public_name_resolves():
    for name in ics_model.__all__:
        assert getattr(ics_model, name) is not None, name


def test_package_api_reaches_the_functions():
    assert ics_model.combine_ratings(["Outstanding", "Outstanding", "Good", "Good", "Good"]) == (
        "Outstanding"
    )
    assert ics_model.saf_rating([4, 4, 3, 3]) == "Outstanding"
    assert ics_model.__version__


def test_effects_api_is_loaded_on_first_use():
    import ics_model.effects as effects

    assert set(effects.__all__) == set(effects._PUBLIC)
    for name in effects.__all__:
        assert getattr(effects, name) is not None, name
    from ics_model.effects import EffectCurveConfig, collaboration_effect  # noqa: F401

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        effects.nope  # noqa: B018


def test_cli_import_leaves_the_heavy_libraries_for_later():
    """``ics-model --help`` and the config need none of the statistics or drawing stack."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    heavy = ["statsmodels", "scipy", "mapclassify", "numba", "matplotlib", "geopandas"]
    code = (
        "import sys, ics_model.cli, ics_model.config; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == []
