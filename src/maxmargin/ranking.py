"""CS224d's max-margin ranking loss and its gradients: the public function.

`ranking_hinge` validates its arguments (`maxmargin._validation`), allocates
its outputs (large ones from the cache of `maxmargin._memory`) and calls
one compiled kernel (`maxmargin._ranking`, kernels/ranking/), which releases
the GIL for the whole computation. `maxmargin.reference` states the same
mathematics in NumPy.
"""

from . import _memory
from . import _ranking
from ._dispatch import by_dtype
from . import _validation as check
from ._validation import denominator

REDUCTIONS = ("mean", "sum", "none")

_RANKING_HINGE = by_dtype(_ranking.ranking_hinge_kernel)


def ranking_hinge(s, s_c, *, delta=1.0, p=1, sample_weight=None, reduction="mean",
                  ds_out=None, ds_c_out=None, accumulate=False, n_threads=None):
    """CS224d's max-margin ranking loss of true scores against corrupted ones,
    and its gradients, in one pass.

    For each true score ``s_i`` and its K corrupted scores ``s_c[i, k]``::

        J_i = sum_k max(0, s_c[i, k] - s_i + delta)^p

    An add gate per pair: for p = 1, ``dJ_i/ds_c[i, k] = +1`` on every
    violated pair and 0 elsewhere, and ``dJ_i/ds_i = -(number of violated
    pairs)``; for p = 2 the slopes are ``2 max(0, m)``. Everything is scaled
    by ``w_i / N`` (``"mean"``) or ``w_i`` (``"sum"``, ``"none"``).

    Parameters
    ----------
    s : ndarray of shape (N,), float32 or float64
        Scores of the true samples (windows, triples, ...).
    s_c : ndarray of shape (N,) or (N, K), s's dtype
        Scores of the corrupted samples: one per true sample, or K of them.
        The shapes must match exactly; nothing is broadcast. K = 0 (no
        corrupted samples) gives loss 0. Any strides are read in place.
    delta : float, default 1.0
        The margin, finite and >= 0.
    p : {1, 2}, default 1
    sample_weight : array of shape (N,), optional
        Non-negative weights multiplying J_i.
    reduction : {"mean", "sum", "none"}
    ds_out : ndarray of shape (N,), optional
        C-contiguous buffer of s's dtype for ds.
    ds_c_out : ndarray of s_c's shape, optional
        C-contiguous buffer of s's dtype for ds_c.
    accumulate : bool, default False
        Add the gradients into the buffers given (`ds_out`, `ds_c_out`)
        instead of overwriting them; a gradient without a buffer comes back
        fresh. The returned loss is this call's alone.
    n_threads : int, optional
        Threads for the pass; None uses all usable cores. Results are
        identical for every value.

    Returns
    -------
    loss : float, or ndarray of shape (N,) in s's dtype for "none"
    ds : ndarray of shape (N,)
        Gradient of the reduced loss (for "none", of the sum of the J_i).
    ds_c : ndarray of s_c's shape
    """
    func = "ranking_hinge"
    s = check.element_strided(check.float_array(s, func, "s", 1))
    s_c = check.float_array(s_c, func, "s_c", (1, 2))
    check.same_dtype(func, "s", s, "s_c", s_c)
    n_samples = s.shape[0]
    if s_c.shape[0] != n_samples:
        check.fail(func, "s_c", f"of shape ({n_samples},) or ({n_samples}, K) "
                   "(a row per true score; nothing is broadcast)", f"shape {s_c.shape}")
    s_c = check.element_strided(s_c)
    delta = check.non_negative(delta, func, "delta")
    p = check.power(p, func)
    reduction = check.choice(reduction, REDUCTIONS, func, "reduction")
    if sample_weight is not None:
        sample_weight = check.weights(sample_weight, n_samples, func, "sample_weight",
                                      "per-sample weights")
    accumulate = check.flag(accumulate, func, "accumulate")
    threads = check.n_threads(n_threads, func)

    dtype = s.dtype
    if accumulate and ds_out is None and ds_c_out is None:
        check.fail(func, "accumulate", "False when no out buffer is given (nothing to "
                   "add into)", "True")
    inputs = (("s", s), ("s_c", s_c), ("sample_weight", sample_weight))
    if ds_out is None:
        ds = _memory.empty(n_samples, dtype)
    else:
        ds = check.output(ds_out, (n_samples,), dtype, func, "ds_out", inputs)
    if ds_c_out is None:
        ds_c = _memory.empty(s_c.shape, dtype)
    else:
        ds_c = check.output(ds_c_out, s_c.shape, dtype, func, "ds_c_out",
                            inputs + (("ds_out", ds),))
    row_loss = _memory.empty(n_samples, dtype) if reduction == "none" else None

    # (N,) is K = 1: seen as an (N, 1) view, no copy.
    one_per_row = s_c.ndim == 1
    total = _RANKING_HINGE[dtype](
        s, s_c[:, None] if one_per_row else s_c, delta, p, sample_weight,
        denominator(reduction, n_samples), ds, ds_c[:, None] if one_per_row else ds_c,
        row_loss, accumulate and ds_out is not None, accumulate and ds_c_out is not None,
        threads)
    if reduction == "none":
        return row_loss, ds, ds_c
    return total, ds, ds_c


ranking_hinge.__doc__ += """
    Conventions
    -----------
    * The subgradient at the kink is 0: a pair counts as violated only when
      its margin is strictly > 0.
    * ``sample_weight[i]`` multiplies J_i after the power.
    * ``reduction="mean"`` divides the weighted sum by N (not by K, not by the
      sum of weights). N = 0 gives loss 0 and empty gradients.
    * Margins ``(s_c[i, k] - s_i) + delta`` are evaluated in the data's dtype;
      powers, sums, weights and reductions in float64; gradient coefficients
      in float64, rounded once to the data's dtype.
    * NaN or inf in the scores propagates to the loss (and the gradient of
      a NaN margin is NaN), exactly as NumPy arithmetic would.
    * Results are identical, bit for bit, for every ``n_threads``. Between
      SIMD paths (``MAXMARGIN_SIMD``) the gradients are too; the loss adds
      its float64 terms in a path's own order and may differ in the last
      bits.
"""
