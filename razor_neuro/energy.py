"""Hardware energy profiles and the per-layer energy model (no lava, no slayer imports).

Profiles are TOML files.  Shipped ones live in ``hw_profiles/`` (package
``razor_neuro.hw_profiles``) and load by bare name (``load_profile("loihi1")``); any other
argument containing a path separator or ending in ``.toml`` is read as a user file.

Layout::

    name = "..."; description = "..."; kind = "neuromorphic" | "ann-baseline"
    caveat = "..."            # optional; every report must print it
    [energy.<key>]  value = <number >= 0>, unit = "pJ", source = "<paper + table>"
    [limits.<key>]  value = <number >= 0>, unit = "<count unit>", source = "..."

Required energy keys: neuromorphic -> ``synop``, ``neuron_update_inactive``,
``neuron_update_active``, ``spike_within_tile``; ann-baseline -> ``mac``, ``ac``.
Required limits for neuromorphic: ``neurons_per_core``, ``cores_per_chip``.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Optional, Sequence

from razor_neuro.counting import LayerCounts

__all__ = [
    "ProfileError",
    "Constant",
    "HardwareProfile",
    "load_profile",
    "shipped_profiles",
    "LayerEnergy",
    "EnergyReport",
    "layer_energy",
    "ann_energy_pj",
    "energy_report",
    "estimate_cores",
]

PROFILE_PACKAGE = "razor_neuro.hw_profiles"
KINDS = ("neuromorphic", "ann-baseline")
REQUIRED_ENERGY = {
    "neuromorphic": ("synop", "neuron_update_inactive", "neuron_update_active", "spike_within_tile"),
    "ann-baseline": ("mac", "ac"),
}
REQUIRED_LIMITS = {"neuromorphic": ("neurons_per_core", "cores_per_chip"), "ann-baseline": ()}
ENERGY_UNIT = "pJ"


class ProfileError(ValueError):
    """A hardware profile is malformed; the message is one line naming the file and field."""


@dataclass(frozen=True)
class Constant:
    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class HardwareProfile:
    name: str
    description: str
    kind: str
    energy: Mapping[str, Constant]
    limits: Mapping[str, Constant] = field(default_factory=lambda: MappingProxyType({}))
    caveat: Optional[str] = None
    path: str = ""

    def e(self, key: str) -> float:
        """Energy constant ``key`` in pJ."""
        return self.energy[key].value

    def limit(self, key: str) -> float:
        return self.limits[key].value


def shipped_profiles() -> list[str]:
    """Names of the TOML profiles shipped in ``razor_neuro.hw_profiles``."""
    root = resources.files(PROFILE_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _fail(where: str, fieldname: str, msg: str) -> ProfileError:
    return ProfileError(f"{where}: field '{fieldname}': {msg}")


def _parse_constant(where: str, fq: str, raw, is_energy: bool) -> Constant:
    if not isinstance(raw, dict):
        raise _fail(where, fq, "must be a table with value, unit, source")
    for k in ("value", "unit", "source"):
        if k not in raw:
            raise _fail(where, f"{fq}.{k}", "missing required field")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"{fq}.value", f"must be a finite number, got {value!r}")
    if value < 0:
        raise _fail(where, f"{fq}.value", f"must not be negative, got {value!r}")
    unit = raw["unit"]
    if not isinstance(unit, str) or not unit.strip():
        raise _fail(where, f"{fq}.unit", "must be a non-empty string")
    if is_energy and unit != ENERGY_UNIT:
        raise _fail(where, f"{fq}.unit", f"energies must be in '{ENERGY_UNIT}', got {unit!r}")
    source = raw["source"]
    if not isinstance(source, str) or not source.strip():
        raise _fail(where, f"{fq}.source", "must be a non-empty string citing paper and table")
    return Constant(float(value), unit, source.strip())


def _parse(where: str, data: dict) -> HardwareProfile:
    for k in ("name", "description", "kind"):
        if k not in data:
            raise _fail(where, k, "missing required field")
        if not isinstance(data[k], str) or not data[k].strip():
            raise _fail(where, k, "must be a non-empty string")
    kind = data["kind"]
    if kind not in KINDS:
        raise _fail(where, "kind", f"must be one of {KINDS}, got {kind!r}")
    caveat = data.get("caveat")
    if caveat is not None and (not isinstance(caveat, str) or not caveat.strip()):
        raise _fail(where, "caveat", "must be a non-empty string when present")
    tables = {}
    for section in ("energy", "limits"):
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            raise _fail(where, section, "must be a table")
        tables[section] = {
            key: _parse_constant(where, f"{section}.{key}", val, section == "energy")
            for key, val in raw.items()
        }
    for key in REQUIRED_ENERGY[kind]:
        if key not in tables["energy"]:
            raise _fail(where, f"energy.{key}", f"missing required field for kind '{kind}'")
    for key in REQUIRED_LIMITS[kind]:
        if key not in tables["limits"]:
            raise _fail(where, f"limits.{key}", f"missing required field for kind '{kind}'")
    return HardwareProfile(
        name=data["name"], description=data["description"], kind=kind,
        energy=MappingProxyType(tables["energy"]), limits=MappingProxyType(tables["limits"]),
        caveat=caveat.strip() if caveat else None, path=where,
    )


def load_profile(name_or_path: str) -> HardwareProfile:
    """Load and validate a profile: a bare shipped name, or a path to a user TOML file.

    Raises :class:`ProfileError` (a ``ValueError``) with a one-line message naming the file and
    the offending field.
    """
    s = str(name_or_path)
    if "/" in s or "\\" in s or s.endswith(".toml"):
        path = Path(s)
        where = str(path)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ProfileError(f"{where}: cannot read profile ({exc.strerror or exc})") from None
    else:
        res = resources.files(PROFILE_PACKAGE).joinpath(f"{s}.toml")
        where = f"{PROFILE_PACKAGE}/{s}.toml"
        if not res.is_file():
            raise ProfileError(f"{where}: no shipped profile named {s!r}; shipped: {', '.join(shipped_profiles())}")
        text = res.read_bytes()
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: invalid TOML: {str(exc).splitlines()[0]}") from None
    return _parse(where, data)


# --------------------------------------------------------------------------- energy model

@dataclass(frozen=True)
class LayerEnergy:
    """Energy of one layer in pJ, by operation kind (same scope as the counts: batch or sample)."""

    name: str
    synops_pj: float
    neuron_inactive_pj: float
    neuron_active_pj: float
    spikes_routed_pj: float
    ann_equivalent_pj: Optional[float] = None

    @property
    def total_pj(self) -> float:
        return self.synops_pj + self.neuron_inactive_pj + self.neuron_active_pj + self.spikes_routed_pj


def layer_energy(counts: LayerCounts, profile: HardwareProfile,
                 ann_profile: Optional[HardwareProfile] = None) -> LayerEnergy:
    """Energy of one layer from its counts.

    * ``synops_pj = counts.synops * energy.synop``
    * ``neuron_inactive_pj = (neuron_updates - active_neuron_updates) * energy.neuron_update_inactive``
    * ``neuron_active_pj = active_neuron_updates * energy.neuron_update_active``
    * ``spikes_routed_pj = output_spikes * energy.spike_within_tile`` (each emitted spike is
      routed once within a tile; mesh hops between tiles need a placement and are not modelled)
    * ``ann_equivalent_pj = dense_macs * ann_profile.energy.mac`` (``None`` without an ANN profile)
    """
    if profile.kind != "neuromorphic":
        raise ValueError(f"profile {profile.name!r} is kind {profile.kind!r}; layer_energy needs a neuromorphic profile")
    ann = None
    if ann_profile is not None:
        ann = ann_energy_pj(counts, ann_profile)
    return LayerEnergy(
        name=counts.name,
        synops_pj=counts.synops * profile.e("synop"),
        neuron_inactive_pj=counts.inactive_neuron_updates * profile.e("neuron_update_inactive"),
        neuron_active_pj=counts.active_neuron_updates * profile.e("neuron_update_active"),
        spikes_routed_pj=counts.output_spikes * profile.e("spike_within_tile"),
        ann_equivalent_pj=ann,
    )


def ann_energy_pj(counts: LayerCounts, ann_profile: HardwareProfile) -> float:
    """ANN-equivalent energy: ``counts.dense_macs * ann_profile.energy.mac`` (pJ)."""
    if ann_profile.kind != "ann-baseline":
        raise ValueError(f"profile {ann_profile.name!r} is kind {ann_profile.kind!r}; need 'ann-baseline'")
    return counts.dense_macs * ann_profile.e("mac")


@dataclass(frozen=True)
class EnergyReport:
    """Per-layer and total energy, both per batch and per sample (pJ)."""

    profile: str
    caveat: Optional[str]
    n_samples: int
    layers: tuple  # LayerEnergy per layer, per batch
    total_pj: float
    total_per_sample_pj: float
    ann_profile: Optional[str] = None
    ann_total_pj: Optional[float] = None
    ann_total_per_sample_pj: Optional[float] = None

    def lines(self) -> list[str]:
        """Human-readable lines; the profile caveat (if any) is always the first line."""
        out = [f"CAVEAT: {self.caveat}"] if self.caveat else []
        out.append(f"profile {self.profile}, {self.n_samples} samples")
        for le in self.layers:
            out.append(f"  {le.name}: {le.total_pj / self.n_samples:.6g} pJ/sample")
        out.append(f"  total: {self.total_per_sample_pj:.6g} pJ/sample")
        if self.ann_total_per_sample_pj is not None:
            out.append(f"  ANN-equivalent ({self.ann_profile}): {self.ann_total_per_sample_pj:.6g} pJ/sample")
        return out


def energy_report(counts: Sequence[LayerCounts], profile: HardwareProfile,
                  ann_profile: Optional[HardwareProfile] = None) -> EnergyReport:
    """Apply :func:`layer_energy` to every layer's batch counts and total them.

    Per-sample totals divide the batch totals by ``n_samples`` (all layers must share it).
    """
    counts = list(counts)
    if not counts:
        raise ValueError("energy_report needs at least one layer")
    n = counts[0].n_samples
    if any(c.n_samples != n for c in counts):
        raise ValueError("energy_report: layers disagree on n_samples")
    layers = tuple(layer_energy(c, profile, ann_profile) for c in counts)
    total = sum(le.total_pj for le in layers)
    ann_total = sum(le.ann_equivalent_pj for le in layers) if ann_profile is not None else None
    return EnergyReport(
        profile=profile.name, caveat=profile.caveat, n_samples=n, layers=layers,
        total_pj=total, total_per_sample_pj=total / n,
        ann_profile=ann_profile.name if ann_profile else None,
        ann_total_pj=ann_total, ann_total_per_sample_pj=None if ann_total is None else ann_total / n,
    )


def estimate_cores(out_neurons: Sequence[int], profile: HardwareProfile) -> dict:
    """Lower-bound core/chip count: each layer gets ``ceil(neurons / neurons_per_core)`` cores.

    Only the neuron limit is applied (synaptic memory and fan-in limits can need more cores).
    """
    per_core = int(profile.limit("neurons_per_core"))
    cores = sum(math.ceil(int(n) / per_core) for n in out_neurons)
    chips = math.ceil(cores / int(profile.limit("cores_per_chip")))
    return {"cores": cores, "chips": chips}
