import os
import pickle
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


def _fresh_python(code: str) -> str:
    """Stdout of ``code`` run by a new interpreter that imports this checkout's ics_model."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def test_cli_import_leaves_the_heavy_libraries_for_later():
    """``ics-model --help`` and the config need none of the statistics or drawing stack."""
    heavy = ["statsmodels", "scipy", "mapclassify", "numba", "matplotlib", "geopandas"]
    code = (
        "import sys, ics_model.cli, ics_model.config; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    assert _fresh_python(code).split() == []


def test_loading_a_stored_run_leaves_the_statistics_libraries_for_later(report_result, tmp_path):
    """Unpickling a Result (what ``ics-model report`` does with a stored run) needs none of
    statsmodels, scipy, pandas or formulaic, although its effect records come from them."""
    assert report_result.effect is not None and report_result.effect.curve is not None
    assert report_result.effect.power is not None and report_result.scenarios
    path = tmp_path / "result.pkl"
    path.write_bytes(pickle.dumps(report_result))
    heavy = ["statsmodels", "scipy", "pandas", "formulaic", "matplotlib", "geopandas"]
    code = (
        "import pickle, sys; "
        f"r = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"print(type(r).__name__, *(m for m in {heavy!r} if m in sys.modules))"
    )
    assert _fresh_python(code).split() == ["Result"]
