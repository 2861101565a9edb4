"""Record the sha256 of every output of ``ics-model run`` for the golden configs.

Run from the repository root after a deliberate change of results::

    python tests/golden/record.py

and say in the commit why the outputs changed. ``tests/test_golden_outputs.py`` compares
fresh runs against ``outputs_sha256.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORD = HERE / "outputs_sha256.json"
#: configs whose every output is pinned, and the outputs that are not: the manifest (it holds
#: the time) and the charts (PNG bytes depend on the platform's font rendering; their data
#: are pinned as CSV).
CONFIGS = ("default", "partnership_heavy", "quality_only")
UNPINNED = frozenset({"manifest.json"})
UNPINNED_SUFFIXES = (".png",)


def output_hashes(config: str, out: Path) -> dict[str, str]:
    """Run ``configs/<config>.yaml``, write its outputs to ``out``, hash each file."""
    from ics_model.data.bundled import configs_dir
    from ics_model.data.sources import sha256_file
    from ics_model.outputs import write_outputs
    from ics_model.pipeline import run

    written = write_outputs(run(configs_dir() / f"{config}.yaml"), out)
    return {
        p.name: sha256_file(p)
        for p in sorted(written)
        if p.name not in UNPINNED and p.suffix not in UNPINNED_SUFFIXES
    }


def main() -> None:
    """Write :data:`RECORD` afresh."""
    record = {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in CONFIGS:
            record[config] = output_hashes(config, Path(tmp) / config)
    RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {RECORD} ({sum(map(len, record.values()))} files)", file=sys.stderr)


if __name__ == "__main__":
    main()
