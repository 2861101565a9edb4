r"""The composite kernel: normalised values and weights to pillar and composite scores.

One code path for the deterministic composite (:func:`~ics_model.composite.composite`,
one draw) and the Monte Carlo uncertainty analysis (:mod:`ics_model.uncertainty`, many
draws). Aggregation is two-level. For draw :math:`d`, ICS :math:`c` and pillar :math:`q`
with indicators :math:`i \in q` observed for :math:`c` (:math:`o_{ci} = 1`):

.. math::

    P_{dcq} = M_q\big(\{y_{ci}\}; \{w_{di}\, o_{ci}\}\big), \qquad
    S_{dc} = M\big(\{P_{dcq}\}; \{W_{dq}\, o_{cq}\}\big)

with :math:`y` the normalised values (``n_ics x k``, shared by every draw, or ``draws x
n_ics x k``), :math:`M_q`, :math:`M` weighted means from
:data:`~ics_model.composite.methods.AGGREGATORS` (each divides by its weight total, so
the weights of the indicators an ICS has are renormalised: ``skip_reweight``) and
:math:`w`, :math:`W` the indicator and pillar weights of the draw. JRC/OECD *Handbook on
Constructing Composite Indicators* (2008), steps 6-7; Saisana, Saltelli & Tarantola
(2005), *J. R. Stat. Soc. A* 168(2), 307-323.

Two weightings give the same means (to rounding):

``renormalise=False`` (draw weights)
    The draw's weight row enters each mean directly, :math:`\sum_i w_{di} o_{ci} f(y_{ci})
    / \sum_i w_{di} o_{ci}`: a matrix product per pillar for all draws at once (the Monte
    Carlo). With arithmetic means at both levels and nothing missing, the two levels
    collapse into one product with the composite weights :math:`W_{dq(i)} w_{di} /
    \sum_{j \in q(i)} w_{dj}` (normalised). A single pillar's score is the composite.
``renormalise=True`` (effective weights)
    Each ICS's weights are first renormalised over what it has,
    :math:`w'_{dci} = w_{di} o_{ci} / \sum_j w_{dj} o_{cj}`
    (:func:`~ics_model.composite.methods.reweighted_mean`), and returned: the composite
    reports them (``weight_in_pillar``, ``weight_in_composite``).

Floating point: the two weightings round differently (:math:`(w / T) y` is not
:math:`w y / T` to the last bit), so each caller keeps the one its published outputs
were produced with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ics_model.composite.methods import (
    AGGREGATORS,
    CompositeError,
    domain_violations,
    reweighted_mean,
)


class Aggregated(NamedTuple):
    """The kernel's result; arrays have a leading draw axis.

    Attributes
    ----------
    score : ``draws x n_ics`` composite scores :math:`S_{dc}` (NaN = nothing to score).
    pillar : ``draws x n_ics x n_pillars`` pillar scores :math:`P_{dcq}`, or None when the
        arithmetic levels were collapsed into one product.
    w_pillar, w_in_pillar : ``draws x n_ics x n_pillars`` and ``draws x n_ics x k``
        effective weights (``renormalise=True`` only, else None).
    """

    score: np.ndarray
    pillar: np.ndarray | None
    w_pillar: np.ndarray | None
    w_in_pillar: np.ndarray | None


def resolve_methods(
    method: str, pillar_methods: Sequence[str | None] | None, n_pillars: int
) -> list[str]:
    """Return the aggregation of each pillar (``None`` entries = ``method``), names checked.

    Raises :class:`~ics_model.composite.methods.CompositeError` on an unknown name or a
    wrong number of entries.
    """
    methods = [m or method for m in (pillar_methods or [None] * n_pillars)]
    if len(methods) != n_pillars:
        raise CompositeError(f"pillar_methods needs {n_pillars} entries, got {len(methods)}")
    for m in [method, *methods]:
        if m not in AGGREGATORS:
            raise CompositeError(f"unknown aggregation {m!r} (allowed: {', '.join(AGGREGATORS)})")
    return methods


def draw_weights(
    w: np.ndarray | Sequence[float], k: int, what: str, error: type[ValueError] = CompositeError
) -> np.ndarray:
    """Return weights as ``draws x k`` (one vector = one draw), checked finite and non-negative.

    Raises ``error`` naming ``what`` (indicator / pillar) otherwise.
    """
    w = np.asarray(w, dtype=float)
    w = w[None, :] if w.ndim == 1 else w
    if w.ndim != 2 or w.shape[1] != k:
        raise error(f"{what} weights must have shape (draws, {k}), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise error(f"{what} weights must be finite and non-negative")
    return w


def domain_problem(values: np.ndarray, method: str, p: float) -> str | None:
    """Return why ``method`` cannot take ``values`` (its domain, examples), or None."""
    domain = AGGREGATORS[method].domain(p)
    bad = domain_violations(values, domain)
    if not bad.any():
        return None
    shown = np.asarray(values)[bad].ravel()[:3].tolist()
    return f"{method} aggregation needs {domain} normalised values, got {shown}"


def group_sums(w: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    r"""Return each entry's group total :math:`\sum_{j: g(j) = g(i)} w_j`, row by row.

    ``w``: rows x members; ``group``: the group index of each member. One matrix product
    with the members x groups indicator matrix.
    """
    onehot = np.zeros((group.size, n_groups))
    onehot[np.arange(group.size), group] = 1.0
    return (w @ onehot)[..., group]


def level_mean(
    values: np.ndarray, weights: np.ndarray, method: str, p: float = 1.0, *, renormalise: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Return one level's weighted means over the last axis, for every draw.

    Parameters
    ----------
    values : ``n_ics x k`` (shared by the draws) or ``draws x n_ics x k``; NaN = missing
        (dropped, the weights renormalised per ICS).
    weights : ``draws x k`` non-negative weights.
    method, p : the :data:`~ics_model.composite.methods.AGGREGATORS` mean and exponent.
    renormalise : renormalise each ICS's weights first and return them (module docstring).

    Returns
    -------
    tuple
        ``draws x n_ics`` means :math:`M(y_c; w_d o_c)` (NaN where no weight is observed)
        and the ``draws x n_ics x k`` effective weights (None unless ``renormalise``).
    """
    obs = ~np.isnan(values)
    if renormalise:
        w = weights[:, None, :] * obs
        v = np.broadcast_to(np.where(obs, values, 1.0), w.shape)
        return reweighted_mean(v, w, method, p)
    full = bool(obs.all())  # nothing missing: the denominators are the weight sums
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # where no weight is observed the mean is 0/0 = NaN
        return AGGREGATORS[method].func(values, weights[:, None, :], p, None if full else obs), None


def pillar_level(
    values: np.ndarray,
    w_ind: np.ndarray,
    pillar_of: np.ndarray,
    methods: Sequence[str],
    p: float = 1.0,
    *,
    renormalise: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Return the pillar scores :math:`P_{dcq}` of every draw (module formula).

    Arguments as :func:`aggregate`. Returns the ``draws x n_ics x n_pillars`` pillar scores
    and the ``draws x n_ics x k`` effective weights within pillars (None unless
    ``renormalise``).
    """
    pillar_of = np.asarray(pillar_of, dtype=np.intp)
    d, n = w_ind.shape[0], values.shape[-2]
    pillar = np.empty((d, n, len(methods)))
    w_in = np.zeros((d, n, values.shape[-1])) if renormalise else None
    for q, method in enumerate(methods):
        cols = np.flatnonzero(pillar_of == q)
        pillar[..., q], eff = level_mean(
            values[..., cols], w_ind[:, cols], method, p, renormalise=renormalise
        )
        if w_in is not None:
            w_in[..., cols] = eff
    return pillar, w_in


def _is_arithmetic(method: str, p: float) -> bool:
    return method == "arithmetic" or (method == "generalised" and p == 1)


def _collapsed(
    values: np.ndarray, w_ind: np.ndarray, w_pil: np.ndarray, pillar_of: np.ndarray
) -> np.ndarray | None:
    r"""Return :math:`S_{dc} = \sum_i \tilde W_{dq(i)} \tilde w_{di} y_{ci}`, or None.

    :math:`\tilde w`, :math:`\tilde W`: the weights normalised within each pillar and
    across pillars. Only for arithmetic means at both levels (the caller checks), and None
    when anything is missing or a weight total is 0: the two-level arithmetic mean is then
    this one product (JRC/OECD Handbook 2008, step 6).
    """
    if np.isnan(values).any():
        return None
    within = group_sums(w_ind, pillar_of, w_pil.shape[1])
    total = w_pil.sum(axis=1, keepdims=True)
    if not ((within > 0).all() and (total > 0).all()):
        return None
    eff = w_ind / within * (w_pil / total)[:, pillar_of]
    if values.ndim == 2:
        return eff @ values.T
    return np.einsum("dk,dnk->dn", eff, values)


def aggregate(
    values: np.ndarray,
    w_ind: np.ndarray,
    w_pil: np.ndarray,
    pillar_of: np.ndarray,
    methods: Sequence[str],
    overall: str,
    p: float = 1.0,
    *,
    renormalise: bool = False,
) -> Aggregated:
    r"""Return pillar and composite scores for every weight draw (module formula).

    Parameters
    ----------
    values : normalised ``n_ics x k`` (one matrix for every draw) or ``draws x n_ics x
        k``; NaN = missing (dropped, the weights renormalised per ICS).
    w_ind, w_pil : ``draws x k`` indicator and ``draws x n_pillars`` pillar weights
        (non-negative, any scale: every mean divides by its weight total).
    pillar_of : pillar index of each indicator.
    methods : aggregation within each pillar; ``overall`` across pillars (names in
        :data:`~ics_model.composite.methods.AGGREGATORS`).
    p : exponent of the generalised mean.
    renormalise : the weighting (module docstring): False for draw weights (the Monte
        Carlo), True for effective weights, which are returned (the composite).

    Values (and the pillar scores) must be in each mean's domain: the callers check them
    (:func:`~ics_model.composite.methods.domain_violations`), so that they can name the
    indicator or pillar.
    """
    pillar_of = np.asarray(pillar_of, dtype=np.intp)
    arithmetic = _is_arithmetic(overall, p) and all(_is_arithmetic(m, p) for m in methods)
    if not renormalise and arithmetic:
        score = _collapsed(values, w_ind, w_pil, pillar_of)
        if score is not None:
            return Aggregated(score, None, None, None)
    pillar, w_in = pillar_level(values, w_ind, pillar_of, methods, p, renormalise=renormalise)
    if not renormalise and pillar.shape[-1] == 1 and (w_pil > 0).all():
        return Aggregated(pillar[..., 0], pillar, None, None)  # one pillar: M(P; W) = P
    score, w_p = level_mean(pillar, w_pil, overall, p, renormalise=renormalise)
    return Aggregated(score, pillar, w_p, w_in)


__all__ = [
    "Aggregated",
    "aggregate",
    "domain_problem",
    "draw_weights",
    "group_sums",
    "level_mean",
    "pillar_level",
    "resolve_methods",
]
