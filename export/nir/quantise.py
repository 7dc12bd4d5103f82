"""The one place where a NIR chain becomes Loihi integers: ``dt`` -> decays, float
weights, biases and thresholds -> integer weights, bias mantissas and ``vThMant``.

Discretisation (forward Euler with step ``dt``, the convention snntorch's
``export_to_nir`` and :mod:`.simulate` use).  For neuron ``i`` driven by the synapse's
output ``a_i[t] = sum_j W_ij s_j[t] + b_i``::

    CubaLIF  I[t] = I[t-1] + dt/tau_syn * (-I[t-1] + w_in * a[t])
             v[t] = v[t-1] + dt/tau_mem * (v_leak - v[t-1] + r * I[t])
    LIF      v[t] = v[t-1] + dt/tau * (v_leak - v[t-1] + r * a[t])
    IF       v[t] = v[t-1] + dt * r * a[t]
    all      spike z[t] = v[t] > v_threshold, then v[t] = v_reset where z[t]

Loihi's CUBA neuron (Lava ``fixed_pt``) computes ``u = trunc(u (4096 - iDecay) / 4096) +
(a_L << 6)``, ``v = trunc(v (4096 - vDecay) / 4096) + u + (bias << 6)``, spike ``v >
vThMant << 6``, then ``v = 0``.  With ``v_leak = v_reset = 0`` the two agree up to rounding
when, per layer:

* ``iDecay = round(4096 dt / tau_syn)`` (CubaLIF) or 4096 (LIF, IF: a current that does not
  persist, ``u = a_L << 6``); ``vDecay = round(4096 dt / tau_mem)`` (``tau`` for LIF) or 0
  (IF).  ``dt / tau`` must lie in [0, 1], and every neuron of a layer must give the same
  integer decays (netx takes one per layer).
* Each neuron is normalised to threshold 1: its input gain ``g_i`` (CubaLIF ``(dt w_in /
  tau_syn)(dt r / tau_mem)``, LIF ``dt r / tau``, IF ``dt r``) and threshold
  ``v_threshold_i`` fold into its weights, ``W~_ij = W_ij g_i / v_threshold_i`` (a Conv2d
  needs ``g / v_threshold`` constant within each output channel: its kernel is shared).
* One integer scale ``K`` per layer becomes the threshold, ``vThMant = K``, and the weights
  ``W_L = 2 round(K W~ / 2)`` (even integers, |W_L| <= 254: Loihi's 8-bit signed weight
  mantissa with slayer's step of 2), ``bias_L = round(K b~)`` (Loihi's 13-bit bias mantissa,
  ``bias_exp`` 6).  ``K = floor(254 / max|W~|)``, lowered if needed so the bias fits and
  capped at Loihi's 17-bit ``vThMant``: the largest weight uses the full 8 bits.
* A layer that already holds Loihi's numbers (one integer ``v_threshold`` for all neurons,
  ``W g`` integers in [-256, 254], integer ``b g``) is kept as it is: ``K = v_threshold``,
  no rounding (what ``razor-neuro export --target nir`` writes comes back bit for bit).

Refused with one line naming the node: ``v_leak`` or ``v_reset`` other than 0 (Loihi has
neither), non-positive thresholds, ``dt / tau`` outside [0, 1], per-neuron decays that
differ within a layer, a gain that is 0 or not finite, an Affine/Conv2d bias into a
CubaLIF whose current persists (Loihi adds its bias to the voltage, not the current),
all-zero weights or weights that all round to 0 at this ``dt`` (netx cannot load them), a
layer whose largest weight moves the voltage by more than 254 thresholds.

Errors are stored per layer (:attr:`LoihiLayer.errors`): weight and bias errors in units
of the threshold (what one input spike's error does to a neuron), the weights' relative
RMS error, and each decay's Euler value next to Loihi's ``decay / 4096``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from razor_neuro.export.nir.read import Chain, NirError, Stage

__all__ = ["LoihiLayer", "quantise_chain", "neuron_terms", "FULL_DECAY", "WEIGHT_MAX",
           "THRESHOLD_MAX", "BIAS_MAX"]

FULL_DECAY = 4096               # Loihi's 12-bit decays: 4096 = the state does not persist
WEIGHT_MAX = 254                # 8-bit signed mantissa x 2 (slayer's quantize_8bit grid)
WEIGHT_STEP = 2
THRESHOLD_MAX = (1 << 17) - 1   # vThMant: 17 bits
BIAS_MAX = (1 << 12) - 1        # 13-bit signed bias mantissa
_TOL = 1e-6                     # "already an integer" tolerance of the exact path


@dataclass(frozen=True, eq=False)
class LoihiLayer:
    """One stage in Loihi integers.

    Attributes:
        stage: the NIR stage it came from.
        weight: int64 weights in the stage's layout (dense (n_out, n_in), conv
            (C_out, C_in/g, kH, kW)).
        bias: int64 bias mantissas ((n_out,) dense, (C_out,) conv), or None.
        threshold: ``vThMant``.
        current_decay, voltage_decay: ``iDecay``, ``vDecay`` (0..4096).
        exact: the layer already held Loihi's integers (no rounding).
        errors: quantisation errors (see the module docstring).
    """
    stage: Stage
    weight: np.ndarray
    bias: np.ndarray | None
    threshold: int
    current_decay: int
    voltage_decay: int
    exact: bool
    errors: dict[str, Any] = field(default_factory=dict)


def _param(stage: Stage, key: str, where: str) -> np.ndarray:
    value = np.asarray(getattr(stage.neuron, key), dtype=np.float64)
    try:
        return np.broadcast_to(value, stage.output_shape)
    except ValueError:
        raise NirError(f"{where}: {key} of shape {value.shape} does not fit the "
                       f"{stage.output_shape} neurons of '{stage.synapse_name}'") from None


def neuron_terms(stage: Stage, dt: float, where: str) -> dict[str, np.ndarray]:
    """Per-neuron Euler terms of a stage's neuron, each of ``stage.output_shape``.

    Returns:
        ``du`` (current decay per step, ``dt / tau_syn``; 1 for LIF/IF), ``dv`` (voltage
        decay per step), ``gain`` (input gain ``g``) and ``threshold``.

    Raises:
        NirError: ``v_leak``/``v_reset`` not 0, a non-positive threshold, ``dt / tau``
            outside [0, 1], or a gain that is 0 or not finite.
    """
    kind = type(stage.neuron).__name__
    for key in ("v_leak", "v_reset"):
        if hasattr(stage.neuron, key) and np.any(_param(stage, key, where) != 0):
            what = "leak target" if key == "v_leak" else "reset potential"
            raise NirError(f"{where}: {key} {np.unique(_param(stage, key, where))[:3]} is "
                           f"not 0; Loihi's neuron has no {what} other than 0")
    threshold = _param(stage, "v_threshold", where)
    if not np.all(np.isfinite(threshold)) or np.any(threshold <= 0):
        raise NirError(f"{where}: v_threshold must be positive and finite (min "
                       f"{threshold.min():g}); Loihi spikes when v > vThMant >= 0")
    ones = np.ones(stage.output_shape)

    def rate(key: str) -> np.ndarray:
        tau = _param(stage, key, where)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = dt / tau
        if not np.all(np.isfinite(r)) or np.any(r < 0) or np.any(r > 1):
            bad = tau.reshape(-1)[np.argmax(~(np.isfinite(r) & (r >= 0) & (r <= 1)).reshape(-1))]
            raise NirError(f"{where}: {key} {bad:g} with dt {dt:g} gives dt/{key} "
                           f"{dt / bad if bad else float('inf'):g}; forward Euler needs it in "
                           f"[0, 1] (Loihi's decays 0..4096); pass the graph's --dt")
        return r

    r = _param(stage, "r", where)
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "CubaLIF":
            du, dv = rate("tau_syn"), rate("tau_mem")
            gain = du * _param(stage, "w_in", where) * dv * r
        elif kind == "LIF":
            du, dv = ones, rate("tau")
            gain = dv * r
        else:  # IF
            du, dv = ones, 0 * ones
            gain = dt * r
    if not np.all(np.isfinite(gain)) or np.any(gain == 0):
        raise NirError(f"{where}: input gain (dt, r, w_in, tau) is 0 or not finite for some "
                       f"neurons: they would never receive their input")
    return {"du": du, "dv": dv, "gain": gain, "threshold": threshold}


def _decay(rate: np.ndarray, where: str, name: str) -> int:
    values = np.unique(np.round(FULL_DECAY * rate).astype(np.int64))
    if len(values) != 1:
        raise NirError(f"{where}: heterogeneous time constants give {name} "
                       f"{values.min()}..{values.max()} across neurons; netx takes one "
                       f"{name} per layer")
    return int(values[0])


def _is_int(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) <= _TOL * np.maximum(1.0, np.abs(x))))


def _quantise_stage(stage: Stage, dt: float, path: str, dt_from: str) -> LoihiLayer:
    where = (f"{path}: node '{stage.neuron_name}' ({type(stage.neuron).__name__}) after "
             f"'{stage.synapse_name}'")
    terms = neuron_terms(stage, dt, where)
    i_decay = _decay(terms["du"], where, "iDecay")
    v_decay = _decay(terms["dv"], where, "vDecay")
    factor = terms["gain"] / terms["threshold"]          # per neuron, of output_shape
    w = stage.weight
    if stage.kind == "conv":
        per_channel = factor.reshape(factor.shape[0], -1)
        if np.any(np.abs(per_channel - per_channel[:, :1]) > 1e-9 * np.abs(per_channel[:, :1])):
            raise NirError(f"{where}: gain / v_threshold varies within a Conv2d output "
                           f"channel; a shared kernel cannot carry per-neuron scales")
        factor = per_channel[:, 0]
        w_norm = w * factor[:, None, None, None]
    else:
        w_norm = w * factor[:, None]
    bias = stage.bias
    b_norm = None if bias is None or not np.any(bias) else bias * factor
    if b_norm is not None and i_decay != FULL_DECAY:
        raise NirError(f"{where}: the bias of '{stage.synapse_name}' feeds a current that "
                       f"persists (iDecay {i_decay} < 4096); Loihi adds its bias to the "
                       f"voltage, not the current (use a synapse without bias, or LIF/IF)")
    if not np.any(w_norm):
        raise NirError(f"{where}: all weights of '{stage.synapse_name}' are 0 (netx's "
                       f"optimize_weight_bits cannot load them)")

    thresholds = np.unique(terms["threshold"])
    exact_scale = float(thresholds[0]) if len(thresholds) == 1 else None
    exact = (exact_scale is not None and exact_scale == round(exact_scale)
             and 1 <= exact_scale <= THRESHOLD_MAX and _is_int(w_norm * exact_scale)
             and -256 <= np.round(w_norm * exact_scale).min()
             and np.round(w_norm * exact_scale).max() <= WEIGHT_MAX
             and (b_norm is None or (_is_int(b_norm * exact_scale)
                                     and np.abs(b_norm * exact_scale).max() <= BIAS_MAX)))
    if exact:
        scale = int(exact_scale)
        w_int = np.round(w_norm * scale).astype(np.int64)
    else:
        peak = float(np.abs(w_norm).max())
        scale = int(min(np.floor(WEIGHT_MAX / peak), THRESHOLD_MAX))
        if b_norm is not None:
            scale = min(scale, int(np.floor(BIAS_MAX / np.abs(b_norm).max())))
        if scale < 1:
            raise NirError(f"{where}: one input spike moves the voltage by up to "
                           f"{peak:.4g} thresholds (bias up to "
                           f"{0 if b_norm is None else np.abs(b_norm).max():.4g}); Loihi's "
                           f"8-bit weights and 13-bit bias reach {WEIGHT_MAX} and {BIAS_MAX}")
        w_int = (WEIGHT_STEP * np.round(w_norm * scale / WEIGHT_STEP)).astype(np.int64)
    if not np.any(w_int):
        raise NirError(f"{where}: dt {dt:g} s ({dt_from}) makes every weight of "
                       f"'{stage.synapse_name}' round to 0 (one input spike moves the voltage "
                       f"by at most {np.abs(w_norm).max():.3g} thresholds); expected the step "
                       f"the graph was made for")
    b_int = None if b_norm is None else np.round(b_norm * scale).astype(np.int64)
    target = w_norm * scale
    errors: dict[str, Any] = {
        "scale": scale,
        "exact": bool(exact),
        "weight_max_abs_error_thresholds": float(np.abs(w_int - target).max() / scale),
        "weight_rel_rms_error": float(np.linalg.norm(w_int - target) / np.linalg.norm(target)),
        "bias_max_abs_error_thresholds": 0.0 if b_int is None else
        float(np.abs(b_int - b_norm * scale).max() / scale),
        "current_decay": {"euler": float(terms["du"].mean()), "loihi": i_decay / FULL_DECAY,
                          "abs_error": float(np.abs(terms["du"] - i_decay / FULL_DECAY).max())},
        "voltage_decay": {"euler": float(terms["dv"].mean()), "loihi": v_decay / FULL_DECAY,
                          "abs_error": float(np.abs(terms["dv"] - v_decay / FULL_DECAY).max())},
    }
    return LoihiLayer(stage, w_int, b_int, scale, i_decay, v_decay, bool(exact), errors)


def quantise_chain(chain: Chain, dt: float, dt_from: str = "--dt") -> list[LoihiLayer]:
    """Quantise every stage of ``chain`` for step ``dt`` (seconds); ``dt_from`` says where
    ``dt`` came from, for the messages.

    Raises:
        NirError: ``dt`` not positive, or a stage Loihi cannot represent (one line naming
            the node and the reason).
    """
    if not np.isfinite(dt) or dt <= 0:
        raise NirError(f"{dt_from} {dt}: expected a positive number of seconds")
    return [_quantise_stage(stage, dt, chain.path, dt_from) for stage in chain.stages]
