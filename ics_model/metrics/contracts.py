"""Contract of ``gp_quintiles.csv``: rated GP practices per ICS x deprivation quintile.

The other metric outputs have their contracts beside their builders
(:data:`~ics_model.metrics.system.ICS_METRICS`,
:data:`~ics_model.metrics.partnership.PROVIDER_PARTNERSHIP`,
:data:`~ics_model.metrics.partnership.ICS_FLOW_MATRIX`). Deprivation direction: quintile
1 = most deprived (IoD convention).
"""

from __future__ import annotations

from typing import Final

from ics_model.contracts import Column, Contract
from ics_model.data.deprivation import IMD_QUINTILE
from ics_model.data.ods import ICB_CODE_PATTERN

_WILSON_LOWER: Final = "95% Wilson lower limit"
_WILSON_UPPER: Final = "95% Wilson upper limit"


def _share(name: str, description: str) -> Column:
    """Return a non-nullable share column in [0, 1]."""
    return Column.share(name, description, nullable=False)


def _se(name: str) -> Column:
    """Return the standard error column of a share."""
    return Column.number(
        name, "(upper - lower) / (2 x 1.96), the SE used by the SII", nullable=False, min_value=0.0
    )


GP_QUINTILES: Final = Contract.closed(
    "gp_quintiles",
    (
        Column.icb_code(ICB_CODE_PATTERN),
        IMD_QUINTILE,
        Column.count("n_rated", "rated practices", min_value=1),
        Column.count("n_go", "practices rated Good or Outstanding"),
        Column.count("n_o", "practices rated Outstanding"),
        _share("share_go", "n_go / n_rated"),
        _share("share_o", "n_o / n_rated"),
        _share("share_go_lower", _WILSON_LOWER),
        _share("share_go_upper", _WILSON_UPPER),
        _share("share_o_lower", _WILSON_LOWER),
        _share("share_o_upper", _WILSON_UPPER),
        _se("share_go_se"),
        _se("share_o_se"),
    ),
    key=("icb_code", "imd_quintile"),
    description=(
        "Rated GP practices per ICS x IMD quintile (1 = most deprived): counts, "
        "shares Good-or-Outstanding and Outstanding with 95% Wilson intervals and their SEs."
    ),
)

__all__ = ["GP_QUINTILES"]
