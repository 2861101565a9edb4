"""Contract of ``gp_quintiles.csv``: rated GP practices per ICS x deprivation quintile.

The other metric outputs have their contracts beside their builders
(:data:`~ics_model.metrics.system.ICS_METRICS`,
:data:`~ics_model.metrics.partnership.PROVIDER_PARTNERSHIP`,
:data:`~ics_model.metrics.partnership.ICS_FLOW_MATRIX`). Deprivation direction: quintile
1 = most deprived (IoD convention).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.data.ods import ICB_CODE_PATTERN

_REQ = {"nullable": False}
_SHARE = {"nullable": False, "min_value": 0.0, "max_value": 1.0}

GP_QUINTILES: Final = Contract(
    name="gp_quintiles",
    description="Rated GP practices per ICS x IMD quintile (1 = most deprived): counts, "
    "shares Good-or-Outstanding and Outstanding with 95% Wilson intervals and their SEs.",
    key=("icb_code", "imd_quintile"),
    extra_columns=False,
    columns=(
        Column("icb_code", pl.String, **_REQ, pattern=ICB_CODE_PATTERN, description="ICB ODS code"),
        Column(
            "imd_quintile",
            pl.Int8,
            **_REQ,
            min_value=1,
            max_value=5,
            description="IMD 2019 quintile of the practice, 1 = most deprived",
        ),
        Column("n_rated", pl.Int64, **_REQ, min_value=1, description="rated practices"),
        Column(
            "n_go", pl.Int64, **_REQ, min_value=0, description="practices rated Good or Outstanding"
        ),
        Column("n_o", pl.Int64, **_REQ, min_value=0, description="practices rated Outstanding"),
        Column("share_go", pl.Float64, **_SHARE, description="n_go / n_rated"),
        Column("share_o", pl.Float64, **_SHARE, description="n_o / n_rated"),
        Column("share_go_lower", pl.Float64, **_SHARE, description="95% Wilson lower limit"),
        Column("share_go_upper", pl.Float64, **_SHARE, description="95% Wilson upper limit"),
        Column("share_o_lower", pl.Float64, **_SHARE, description="95% Wilson lower limit"),
        Column("share_o_upper", pl.Float64, **_SHARE, description="95% Wilson upper limit"),
        Column(
            "share_go_se",
            pl.Float64,
            **_REQ,
            min_value=0.0,
            description="(upper - lower) / (2 x 1.96), the SE used by the SII",
        ),
        Column(
            "share_o_se",
            pl.Float64,
            **_REQ,
            min_value=0.0,
            description="(upper - lower) / (2 x 1.96), the SE used by the SII",
        ),
    ),
)

__all__ = ["GP_QUINTILES"]
