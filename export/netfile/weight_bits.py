"""netx's dense weight-bit optimisation, reproduced (lava-dl 0.6, ``netx/utils.py``).

Kept as a copy instead of imported, because neither installed function can be reused:

* ``lava.lib.dl.netx.utils.optimize_weight_bits`` is the function itself, but importing it
  runs ``lava/lib/dl/netx/__init__.py``, which imports ``netx.hdf5`` and ``netx.blocks``
  and with them lava.magma and torch (about 30 s on 2 cores, against under 1 s for this
  package, and only with razor_neuro._compat's patches on Python 3.11); it also prints
  ``[WARNING]`` lines to stdout for weights it clips, which would enter the CLI's output.
* ``lava.utils.weightutils.optimize_weight_bits`` (lava-nc 0.10) is a different algorithm:
  it raises instead of clipping weights beyond 8 bits, calls a non-positive matrix with
  zeros INHIBITORY where netx says MIXED, and rounds the exponent of inhibitory matrices
  differently, e.g. ``[[-3, 0], [-5, -1]]`` gives num_weight_bits 3 there and 4 in netx.

``tests/test_reference.py::test_optimize_weight_bits_matches_netx`` checks this copy
against netx's.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["optimize_weight_bits", "SIGN_MIXED", "SIGN_EXCITATORY", "SIGN_INHIBITORY"]

# netx.utils.SYNAPSE_SIGN_MODE values
SIGN_MIXED, SIGN_EXCITATORY, SIGN_INHIBITORY = 1, 2, 3


def optimize_weight_bits(weight: np.ndarray) -> Tuple[np.ndarray, int, int, int]:
    """``lava.lib.dl.netx.utils.optimize_weight_bits`` (lava-dl 0.6), without prints.

    Args:
        weight: integer weight matrix (8-bit slayer weights, shape (n_out, n_in)).

    Returns:
        (weight << scale_bits as int, num_weight_bits, weight_exponent, sign_mode)
    """
    max_weight = np.max(weight)
    min_weight = np.min(weight)
    if max_weight > 254 and min_weight < 0:
        weight = np.clip(weight, -256, 254)
        max_weight = np.max(weight)
    if min_weight < -256 and max_weight > 0:
        weight = np.clip(weight, -256, 254)
        min_weight = np.min(weight)

    if max_weight < 0:
        sign_mode, is_signed = SIGN_INHIBITORY, 0
    elif min_weight >= 0:
        sign_mode, is_signed = SIGN_EXCITATORY, 0
    else:
        sign_mode, is_signed = SIGN_MIXED, 1

    with np.errstate(divide="ignore"):
        if sign_mode == SIGN_MIXED:
            pos_scale = 127 / max_weight
            neg_scale = -128 / min_weight
            scale = np.min([pos_scale, neg_scale])
        elif sign_mode == SIGN_INHIBITORY:
            scale = -256 / min_weight
        else:
            scale = 255 / max_weight
        scale_bits = np.floor(np.log2(scale)) + is_signed
    if not np.isfinite(scale_bits):
        raise ValueError("all-zero weight matrix (netx's optimize_weight_bits "
                         "cannot handle it)")

    precision_found = False
    n = 8
    while (precision_found is False) and (n > 0):
        rounding_error = np.sum(np.abs(weight / (2**n) - np.round(weight / (2**n))))
        if rounding_error == 0:
            precision_found = True
        else:
            n -= 1
    n -= is_signed

    num_weight_bits = 8 - scale_bits - n
    weight_exponent = -scale_bits
    weight = np.left_shift(weight.astype(np.int32), int(scale_bits))
    return weight.astype(int), int(num_weight_bits), int(weight_exponent), sign_mode
