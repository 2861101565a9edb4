"""Quasi-separation in a logistic design: find the perfectly predicted providers.

A binary outcome is (quasi-)separated by the design ``X`` when some direction ``b != 0``
has ``s_i x_i' b >= 0`` for every provider (``s_i = 2 y_i - 1``), with ``> 0`` for some:
the likelihood then grows without bound along ``b`` and the maximum likelihood estimate
does not exist (Albert & Anderson 1984). The usual case here is a control level without
a single event (e.g. a rating year without an Outstanding practice). :func:`separated`
finds such directions by Konis's (2007) linear program

``maximise sum_i s_i x_i' b  subject to  s_i x_i' b >= 0,  -1 <= b_j <= 1``

(HiGHS, scipy ``linprog``), whose optimum is 0 exactly when there is no separation, and
repeats it on the providers left until none is found. The providers with
``s_i x_i' b > 0`` are perfectly predicted: their fitted probabilities tend to 0 or 1
and they carry no information on the other coefficients, whose estimates are the
maximum likelihood estimates on the remaining providers after dropping the columns that
no longer vary there (what Stata's ``logit`` does when it reports "predicts failure
perfectly"). If a separating direction involves an exposure column, the exposure's own
odds ratio is infinite (or zero).

References
----------
Albert & Anderson (1984) Biometrika 71:1-10. Konis (2007) Linear programming algorithms
for detecting separated data in binary logistic regression models, DPhil thesis,
University of Oxford (R package safeBinaryRegression).

A specification curve fits several models to one design (the same outcome, exposure and
controls), so the last results are kept, keyed by a digest of the arrays
(:data:`_CACHE_SIZE` of them); a cached :class:`Separation` is read-only.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

import numpy as np

# scipy is imported where it is used (in _separated), so that importing this module does
# not load it

_TOL: Final = 1e-7
_PASSES: Final = 10
_CACHE_SIZE: Final = 32
_cache: OrderedDict[bytes, Separation] = OrderedDict()


@dataclass(frozen=True)
class Separation:
    """Providers kept (``keep``), control columns kept (``z_columns``, of ``Z``)."""

    keep: np.ndarray
    z_columns: tuple[int, ...]
    exposure_separated: bool

    @property
    def n_set_aside(self) -> int:
        """Providers whose outcome the design predicts perfectly."""
        return int(np.size(self.keep) - np.count_nonzero(self.keep))


def _independent(M: np.ndarray) -> tuple[int, ...]:
    """Columns of ``M``, in order, that add to the rank of the columns kept before them."""
    kept: list[int] = []
    rank = 0
    for j in range(M.shape[1]):
        r = np.linalg.matrix_rank(M[:, [*kept, j]])
        if r > rank:
            kept.append(j)
            rank = r
    return tuple(kept)


def _digest(*arrays: np.ndarray) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=float)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.digest()


def separated(y: np.ndarray, E: np.ndarray, Z: np.ndarray) -> Separation:
    """Set aside the providers that ``[E, Z]`` predicts perfectly (module docstring).

    Parameters
    ----------
    y : binary outcome 0/1.
    E : exposure columns (``n x q``).
    Z : intercept and controls (``n x m``).

    Returns
    -------
    Separation
        ``keep`` marks the providers left; ``z_columns`` the columns of ``Z`` that still
        vary (and are not collinear) among them; ``exposure_separated`` whether a
        separating direction involves an exposure column (then its odds ratio is not
        finite).

    Examples
    --------
    >>> y = np.array([0, 0, 0, 1, 0, 1, 0, 1.0])
    >>> year = np.array([1, 1, 1, 0, 0, 0, 0, 0.0])  # no event in that year
    >>> x = np.array([0.5, -1, 1, 1, -1, 0.2, 0.3, -0.4])
    >>> s = separated(y, x[:, None], np.column_stack([np.ones(8), year]))
    >>> s.n_set_aside, s.z_columns, s.exposure_separated
    (3, (0,), False)
    """
    key = _digest(y, E, Z)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    out = _separated(y, E, Z)
    out.keep.setflags(write=False)
    _cache[key] = out
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return out


def _separated(y: np.ndarray, E: np.ndarray, Z: np.ndarray) -> Separation:
    """Compute :func:`separated` (no cache)."""
    from scipy.optimize import linprog

    n, q = E.shape
    X = np.column_stack([E, Z])
    A = (2 * y - 1)[:, None] * X
    keep = np.ones(n, dtype=bool)
    exposure = False
    for _ in range(_PASSES):
        rows = A[keep]
        res = linprog(
            -rows.sum(axis=0),
            A_ub=-rows,
            b_ub=np.zeros(len(rows)),
            bounds=[(-1.0, 1.0)] * X.shape[1],
            method="highs",
        )
        if res.status != 0 or -res.fun <= _TOL * max(1.0, len(rows)):
            break
        hit = keep & (A @ res.x > _TOL)
        if not hit.any():
            break
        exposure |= bool(np.any(np.abs(res.x[:q]) > _TOL))
        keep &= ~hit
    if keep.all():
        return Separation(keep, tuple(range(Z.shape[1])), False)
    cols = _independent(Z[keep])
    full = np.column_stack([E[keep], Z[keep][:, list(cols)]])
    exposure |= bool(np.linalg.matrix_rank(full) < full.shape[1])
    return Separation(keep, cols, exposure)
