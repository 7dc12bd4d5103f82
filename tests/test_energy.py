"""Energy model and hardware profile validation for razor_neuro.energy."""
import subprocess
import sys

import pytest
import torch

from razor_neuro.counting import LayerCounts, LayerSpec, count_layer
from razor_neuro.energy import (
    HardwareProfile, ProfileError, ann_energy_pj, energy_report, estimate_cores, layer_energy,
    load_profile, shipped_profiles,
)

SHIPPED = ["cmos45nm", "loihi1", "loihi2-estimate"]


def test_shipped_profiles_load():
    assert shipped_profiles() == SHIPPED
    for name in SHIPPED:
        p = load_profile(name)
        assert isinstance(p, HardwareProfile) and p.name == name
        for const in list(p.energy.values()) + list(p.limits.values()):
            assert const.source and const.value >= 0
        assert all(c.unit == "pJ" for c in p.energy.values())


def test_profile_values():
    l1 = load_profile("loihi1")
    assert l1.kind == "neuromorphic" and l1.caveat is None
    assert (l1.e("synop"), l1.e("neuron_update_inactive"), l1.e("neuron_update_active")) == (23.6, 52.0, 81.0)
    assert (l1.e("spike_within_tile"), l1.e("tile_hop_ew"), l1.e("tile_hop_ns")) == (1.7, 3.0, 4.0)
    assert (l1.limit("neurons_per_core"), l1.limit("cores_per_chip")) == (1024, 128)
    l2 = load_profile("loihi2-estimate")
    assert l2.caveat and "ESTIMATE" in l2.caveat
    assert l2.limit("neurons_per_core") == 8192 and l2.e("synop") == 23.6
    cm = load_profile("cmos45nm")
    assert cm.kind == "ann-baseline"
    assert cm.e("mac") == pytest.approx(cm.e("fp32_mult") + cm.e("fp32_add")) == pytest.approx(4.6)
    assert cm.e("ac") == 0.9


def test_profile_is_frozen():
    p = load_profile("loihi1")
    with pytest.raises(Exception):
        p.name = "x"
    with pytest.raises(TypeError):
        p.energy["synop"] = None


def test_load_by_path(tmp_path):
    src = load_profile("loihi1").path
    from importlib import resources
    text = resources.files("razor_neuro.hw_profiles").joinpath("loihi1.toml").read_text()
    f = tmp_path / "mine.toml"
    f.write_text(text)
    assert load_profile(str(f)).e("synop") == 23.6
    assert src.endswith("loihi1.toml")


GOOD = """
name = "t"
description = "test"
kind = "neuromorphic"
[energy.synop]
value = 1.0
unit = "pJ"
source = "paper, Table 1"
[energy.neuron_update_inactive]
value = 2.0
unit = "pJ"
source = "paper, Table 1"
[energy.neuron_update_active]
value = 3.0
unit = "pJ"
source = "paper, Table 1"
[energy.spike_within_tile]
value = 0.5
unit = "pJ"
source = "paper, Table 1"
[limits.neurons_per_core]
value = 1024
unit = "neurons"
source = "paper, text"
[limits.cores_per_chip]
value = 128
unit = "cores"
source = "paper, text"
"""


def _write(tmp_path, text):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    return str(f)


def test_good_user_profile(tmp_path):
    assert load_profile(_write(tmp_path, GOOD)).e("spike_within_tile") == 0.5


@pytest.mark.parametrize("text, field", [
    (GOOD.replace('name = "t"\n', ""), "'name'"),
    (GOOD.replace('kind = "neuromorphic"\n', ""), "'kind'"),
    (GOOD.replace('[energy.synop]\nvalue = 1.0\nunit = "pJ"\nsource = "paper, Table 1"\n', ""), "'energy.synop'"),
    (GOOD.replace('[energy.synop]\nvalue = 1.0\n', '[energy.synop]\n'), "'energy.synop.value'"),
    (GOOD.replace("value = 1.0", "value = -1.0"), "'energy.synop.value'"),
    (GOOD.replace("value = 1.0", 'value = "1.0"'), "'energy.synop.value'"),
    (GOOD.replace('value = 1.0\nunit = "pJ"', 'value = 1.0\nunit = "nJ"'), "'energy.synop.unit'"),
    (GOOD.replace('value = 1.0\nunit = "pJ"\nsource = "paper, Table 1"\n', 'value = 1.0\nunit = "pJ"\n'),
     "'energy.synop.source'"),
    (GOOD.replace('value = 1.0\nunit = "pJ"\nsource = "paper, Table 1"', 'value = 1.0\nunit = "pJ"\nsource = ""'),
     "'energy.synop.source'"),
    (GOOD.replace("value = 1024", "value = -4"), "'limits.neurons_per_core.value'"),
])
def test_bad_profiles(tmp_path, text, field):
    path = _write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert path in msg and field in msg
    assert isinstance(info.value, ValueError)


def test_unknown_shipped_name():
    with pytest.raises(ProfileError, match="no shipped profile"):
        load_profile("loihi9")


# ----------------------------------------------------------------------------- energy

def _counts(**kw):
    base = dict(name="L", n_samples=2, time_steps=4, out_neurons=2, input_spikes=5, output_spikes=3,
                synops=10, neuron_updates=16, active_neuron_updates=3, pruned_frames=0, synops_saved=0,
                dense_macs=48, activation_sparsity=13 / 16)
    base.update(kw)
    return LayerCounts(**base)


def test_layer_energy_by_hand():
    # Counts of tests/test_counting.py::test_dense_counts (batch of N=2):
    # synops 10 * 23.6 = 236;  inactive (16-3)=13 * 52 = 676;  active 3 * 81 = 243;
    # spikes routed 3 * 1.7 = 5.1;  total 1160.1 pJ per batch -> 580.05 pJ per sample.
    # ANN: 48 dense MACs * 4.6 = 220.8 pJ per batch -> 110.4 per sample.
    l1, cm = load_profile("loihi1"), load_profile("cmos45nm")
    e = layer_energy(_counts(), l1, cm)
    assert e.synops_pj == pytest.approx(236.0)
    assert e.neuron_inactive_pj == pytest.approx(676.0)
    assert e.neuron_active_pj == pytest.approx(243.0)
    assert e.spikes_routed_pj == pytest.approx(5.1)
    assert e.total_pj == pytest.approx(1160.1)
    assert e.ann_equivalent_pj == pytest.approx(220.8)
    assert ann_energy_pj(_counts(), cm) == pytest.approx(220.8)
    r = energy_report([_counts(), _counts(name="L2", synops=0)], l1, cm)
    assert r.total_pj == pytest.approx(1160.1 * 2 - 236.0)
    assert r.total_per_sample_pj == pytest.approx((1160.1 * 2 - 236.0) / 2)
    assert r.ann_total_per_sample_pj == pytest.approx(220.8)
    assert r.caveat is None


def test_energy_from_real_counts():
    spec = LayerSpec("fc", "dense", in_shape=(3,), out_shape=(2,))
    x = torch.zeros(1, 3, 2)
    x[0, 0, 0] = x[0, 1, 1] = 1  # 2 spikes -> 4 synops
    y = torch.zeros(1, 2, 2)
    y[0, 1, 1] = 1  # 1 of 4 neuron-steps active
    c = count_layer(spec, x, y)
    e = layer_energy(c, load_profile("loihi1"))
    # 4*23.6 + 3*52 + 1*81 + 1*1.7 = 94.4 + 156 + 81 + 1.7 = 333.1
    assert e.total_pj == pytest.approx(333.1)


def test_caveat_is_reported():
    r = energy_report([_counts()], load_profile("loihi2-estimate"))
    assert r.caveat and r.lines()[0] == f"CAVEAT: {r.caveat}"


def test_kind_checks():
    with pytest.raises(ValueError):
        layer_energy(_counts(), load_profile("cmos45nm"))
    with pytest.raises(ValueError):
        ann_energy_pj(_counts(), load_profile("loihi1"))


def test_estimate_cores():
    # loihi1: 1024/core -> 2048 -> 2 cores, 1025 -> 2 cores, 10 -> 1 core: 5 cores, 1 chip.
    assert estimate_cores([2048, 1025, 10], load_profile("loihi1")) == {"cores": 5, "chips": 1}
    assert estimate_cores([8192 * 129], load_profile("loihi2-estimate")) == {"cores": 129, "chips": 2}


def test_no_lava_or_slayer_imports():
    code = ("import sys, razor_neuro.energy, razor_neuro.counting; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('lava', 'slayer')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
