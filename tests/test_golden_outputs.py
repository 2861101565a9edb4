"""Every output of ``ics-model run`` for the golden configs is byte-identical to the record.

A change that alters any result must re-record (``python tests/golden/record.py``) and say
why in its commit; only ``manifest.json`` (which holds the time) is not pinned.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_record", HERE / "record.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

RECORDED = json.loads(golden.RECORD.read_text(encoding="utf-8"))


def test_record_covers_the_golden_configs():
    assert sorted(RECORDED) == sorted(golden.CONFIGS)
    assert all(len(files) >= 20 for files in RECORDED.values())


@pytest.mark.slow
@pytest.mark.parametrize("config", golden.CONFIGS)
def test_outputs_match_the_recorded_sha256(config, tmp_path):
    got = golden.output_hashes(config, tmp_path)
    expected = RECORDED[config]
    assert sorted(got) == sorted(expected), "the set of output files changed"
    changed = sorted(name for name in expected if got[name] != expected[name])
    assert not changed, f"{config}: outputs differ from the record: {changed}"
