"""razor_neuro.export.netfile / reference against Lava's own simulation of netx networks.

Ground truths:
* Intel's Oxford tutorial network (/work/shared/external/lava-dl-oxford), run with plain
  ``netx.hdf5.Network`` on ``Loihi2SimCfg(select_tag='fixed_pt')`` for 2000 steps.
* Small slayer-exported nets (conv/stride/padding/groups + flatten + dense; Input block
  with neuron; dense with axonal delays) and one hand-written netx file that drives the
  24-bit current wrap, voltage clipping, int16 bias and netx/Lava sign-mode differences,
  each run in Lava with ``reset_interval=T`` over several samples streamed back to back
  in ONE run and compared with the reference window by window.

Lava alignment used (see reference.py): with ``reset_offset = s0`` (1 when layer 0 has
a synapse, 0 for an Input block driven into its neurons) sample k's frame tau sits at
source index ``k*T + tau`` and layer i's window k is sink indices
``k*T + tau + i + s0``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import h5py
import numpy as np
import pytest
import torch

from razor_neuro._compat import netx, patch_lava, slayer
from razor_neuro.export.netfile import (NetFileError, Network, optimize_weight_bits,
                                        read_network, read_spikes)
from razor_neuro.export.neuron import cuba_run
from razor_neuro.export.reference import Reference
from razor_neuro.export.weights import float_parameters
from razor_neuro.timebase import lava_latency, lava_reset_offset, lava_stream, lava_windows

from lava_netx import lava_run as _lava_run, lava_windows_run as _lava_windows
from lava_netx import mismatches as _mismatches
from netgen import write_netx as _write_netx
NEURON = dict(threshold=1.0, current_decay=0.25, voltage_decay=0.05)


def _np(tensors) -> List[np.ndarray]:
    return [t.cpu().numpy() for t in tensors]


def _continuous(ref: Reference, x: np.ndarray) -> List[torch.Tensor]:
    """One sample ``[*input_shape, T]`` run without resets (netx without
    ``reset_interval``): per layer its output spikes ``[*output_shape, T]``."""
    return [out[0] for out in ref.simulate(np.asarray(x)[None], reset=False).outputs]


# ----------------------------------------------------------------------------------
# small networks
# ----------------------------------------------------------------------------------

def _forward(blocks, x):
    with torch.no_grad():
        for block in blocks:
            x = block(x)


def _export(blocks, path: Path, x) -> Path:
    _forward(blocks, x)  # sets the neuron shapes
    with h5py.File(path, "w") as handle:
        group = handle.create_group("layer")
        for i, block in enumerate(blocks):
            block.export_hdf5(group.create_group(f"{i}"))
    return path


def _randomize(blocks, scales, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for block, scale in zip(blocks, scales):
            if scale is not None:
                weight = block.synapse.weight
                weight.copy_(torch.randn(weight.shape, generator=gen) * scale)


def _conv_net(path: Path) -> Path:
    """Input (x=12, y=10, f=2) -> Conv 3x3 s2 p1 (6,5,4) -> Conv (3,2) p(1,0) groups 2
    (5,5,6) -> Flatten -> Dense 16 -> Dense 8."""
    cuba = slayer().block.cuba
    blocks = torch.nn.ModuleList([
        cuba.Conv(NEURON, 2, 4, 3, stride=2, padding=1),
        cuba.Conv(NEURON, 4, 6, (3, 2), stride=1, padding=(1, 0), groups=2),
        cuba.Flatten(),
        cuba.Dense(NEURON, 6 * 5 * 5, 16),
        cuba.Dense(NEURON, 16, 8)])
    _randomize([blocks[0], blocks[1], blocks[3], blocks[4]], (1.0, 1.0, 0.6, 0.8), seed=0)
    return _export(blocks, path, torch.zeros(1, 2, 10, 12, 4))


def _input_net(path: Path) -> Path:
    """Input block with neuron (20) -> Dense 16 -> Dense 8."""
    cuba = slayer().block.cuba
    blocks = torch.nn.ModuleList([
        cuba.Input(NEURON, weight=1.5, bias=0.0),
        cuba.Dense(NEURON, 20, 16),
        cuba.Dense(NEURON, 16, 8)])
    _randomize(blocks, (None, 1.0, 1.0), seed=1)
    return _export(blocks, path, torch.zeros(1, 20, 4))


def _delay_net(path: Path) -> Path:
    """Dense 20 -> 16 -> 8, both with axonal delays 0..5."""
    cuba = slayer().block.cuba
    blocks = torch.nn.ModuleList([
        cuba.Dense(NEURON, 20, 16, delay=True),
        cuba.Dense(NEURON, 16, 8, delay=True)])
    _randomize(blocks, (1.0, 1.2), seed=2)
    _forward(blocks, torch.zeros(1, 20, 4))  # initialises the delay parameters
    gen = torch.Generator().manual_seed(102)
    with torch.no_grad():
        for block in blocks:
            delay = block.delay.delay
            delay.copy_(torch.randint(0, 6, delay.shape, generator=gen).float())
    return _export(blocks, path, torch.zeros(1, 20, 4))


def _cuba(threshold: int, i_decay: int, v_decay: int, kind: str = "CUBA") -> dict:
    return {"type": kind, "vThMant": threshold, "iDecay": i_decay, "vDecay": v_decay,
            "refDelay": 1, "gradedSpike": False}


def _edge_net(path: Path) -> Path:
    """Dense 40 -> 10 -> 6 -> 4 exercising the 24-bit current wrap (no current decay,
    strong excitatory weights), voltage clipping, int16 bias wrap, odd weights (netx
    shifts them left and sets weight_exp = -1), inhibitory weights with zeros (netx
    calls them MIXED, Lava INHIBITORY) and a scalar synaptic delay."""
    rng = np.random.RandomState(7)
    w1 = np.full((10, 40), 254.0)
    w1[rng.rand(10, 40) < 0.3] = 100.0
    bias1 = np.arange(10) * 7 - 30
    bias1[3] = 40000  # Lava keeps bias_mant as int16 -> wraps to -25536
    w2 = rng.randint(-101, 100, size=(6, 10)).astype(float)
    w3 = -rng.randint(0, 121, size=(4, 6)).astype(float)
    w3[0, 0] = 0.0
    return _write_netx(path, [
        {"type": "input", "shape": np.array([40])},
        {"type": "dense", "shape": np.array([10]), "weight": w1, "bias": bias1,
         "neuron": _cuba((1 << 17) - 1, 0, 0)},
        {"type": "dense", "shape": np.array([6]), "weight": w2,
         "neuron": _cuba(20, 410, 4096)},
        {"type": "dense", "shape": np.array([4]), "weight": w3, "bias": np.full(4, 60),
         "delay": 2.0, "neuron": _cuba(40, 1024, 300)},
    ])


@pytest.fixture(scope="module")
def nets(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("nets")
    return {
        "conv": read_network(_conv_net(root / "conv.net"), input_shape=(12, 10, 2)),
        "input": read_network(_input_net(root / "input.net")),
        "delay": read_network(_delay_net(root / "delay.net")),
        "edge": read_network(_edge_net(root / "edge.net")),
    }


def _spikes(shape, p: float, seed: int) -> np.ndarray:
    return (np.random.RandomState(seed).rand(*shape) < p).astype(np.uint8)


# ----------------------------------------------------------------------------------
# Oxford: external ground truth
# ----------------------------------------------------------------------------------

def test_oxford_matches_plain_netx_fixed_pt(oxford):
    network = read_network(oxford / "network.net")
    assert network.input_shape == (200,)
    assert [(l.kind, l.input_shape, l.output_shape) for l in network.layers] == [
        ("dense", (200,), (256,)), ("dense", (256,), (200,))]
    steps = 2000
    x = read_spikes(oxford / "input.npy", network.input_shape, num_steps=steps)
    event = slayer().io.read_np_spikes(str(oxford / "input.npy"))
    assert np.array_equal(x, event.to_tensor(dim=(1, 200, steps)).squeeze(0))
    assert x.shape == (200, steps) and x.sum() == 1881

    # plain netx: no reset, source frame tau at index tau -> layer i at sink tau + i + 1
    records = _lava_run(network, x.astype(np.int32), steps)
    assert records[-1].sum() == 9565

    outputs = _np(_continuous(Reference(network, device="cpu"), x))
    for i, (out, rec) in enumerate(zip(outputs, records)):
        lat = lava_latency(network, i)
        assert lat == i + 1
        assert not rec[:, :lat].any()
        mism = (out[:, :steps - lat] != rec[:, lat:].astype(bool)).sum()
        assert mism == 0, f"layer {i}: {mism} mismatches"
    assert outputs[-1].sum() == 9565 and outputs[0].sum() == records[0].sum()

    # slayer's ground_truth.npy comes from an older slayer and is known to differ
    truth = read_spikes(oxford / "ground_truth.npy", (200,), num_steps=steps)
    assert truth.sum() == 10178
    assert (truth.astype(bool) != records[-1].astype(bool)).sum() == 4009


# ----------------------------------------------------------------------------------
# netfile vs netx
# ----------------------------------------------------------------------------------

def test_optimize_weight_bits_matches_netx(capsys):
    netx_optimize = netx().utils.optimize_weight_bits

    rng = np.random.RandomState(3)
    cases = [rng.randint(-64, 64, (5, 7)) * 2, rng.randint(0, 128, (4, 3)),
             -rng.randint(1, 100, (3, 3)), rng.randint(-101, 100, (6, 6)),
             rng.randint(-30, 30, (4, 4)) * 8, np.array([[254, -256], [3, 0]]),
             np.array([[300, -2]]), -rng.randint(0, 120, (3, 5))]
    for weight in cases:
        mine = optimize_weight_bits(weight.copy())
        theirs = netx_optimize(weight.copy())
        assert np.array_equal(mine[0], theirs[0])
        assert mine[1:] == (theirs[1], theirs[2], int(theirs[3]))
    capsys.readouterr()


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_netfile_matches_what_netx_hands_to_lava(nets):
    nx = netx()
    for name in ("conv", "delay", "edge"):
        network = nets[name]
        lava_net = nx.hdf5.Network(net_config=network.path, input_shape=(
            network.input_shape if network.layers[0].kind == "conv" else None))
        assert len(lava_net.layers) == len(network.layers)
        for mine, block in zip(network.layers, lava_net.layers):
            synapse, neuron = block.synapse, block.neuron
            assert tuple(block.out.shape) == mine.output_shape
            assert tuple(block.inp.shape) == mine.input_shape or mine.flatten_before
            params = synapse.proc_params
            if mine.kind == "conv":
                assert np.array_equal(synapse.weight.init, mine.weight)
                assert tuple(synapse.stride.init) == mine.stride
                assert tuple(synapse.padding.init) == mine.padding
                assert tuple(synapse.dilation.init) == mine.dilation
                assert int(synapse.groups.init) == mine.groups
            else:
                assert np.array_equal(synapse.weights.init, mine.weight)
                assert params["weight_exp"] == mine.weight_exp
                assert params["num_weight_bits"] == mine.num_weight_bits
                if mine.delay is not None:
                    assert np.array_equal(synapse.delays.init, mine.delay)
                else:
                    assert "delays" not in synapse.vars.member_names
            assert int(neuron.vth.init) == mine.neuron.threshold
            assert int(neuron.du.init) == mine.neuron.du
            assert int(neuron.dv.init) == mine.neuron.dv
            if mine.bias is not None:
                assert np.array_equal(neuron.bias_mant.init, mine.bias)
    conv = nets["conv"]
    assert [l.kind for l in conv.layers] == ["conv", "conv", "dense", "dense"]
    assert [l.flatten_before for l in conv.layers] == [False, False, True, False]
    assert [l.output_shape for l in conv.layers] == [(6, 5, 4), (5, 5, 6), (16,), (8,)]
    assert conv.layers[2].input_shape == (150,)
    assert conv.layers[0].stride == (2, 2) and conv.layers[0].padding == (1, 1)
    assert conv.layers[1].padding == (0, 1) and conv.layers[1].groups == 2
    assert conv.layers[1].weight.shape == (6, 2, 3, 2)  # (C_out, W, H, C_in/groups)
    edge = nets["edge"]
    assert edge.input_shape == (40,) and edge.layers[2].delay.max() == 2
    assert edge.layers[2].sign_mode == 1  # netx: MIXED although no weight is > 0
    assert nets["input"].layers[0].kind == "input"
    assert nets["input"].layers[0].input_weight == 96


# ----------------------------------------------------------------------------------
# small nets vs Lava, windows streamed back to back
# ----------------------------------------------------------------------------------

def test_conv_net_windows_and_layer0_gate(nets):
    network = nets["conv"]
    k, t = 3, 12
    x = _spikes((k, *network.input_shape, t), 0.3, seed=5)
    gate = np.ones(t, bool)
    gate[[1, 2, 5, 8, 9]] = False
    # samples 0..2 ungated, samples 3..5 = the same samples with layer 0 gated
    x_all = np.concatenate([x, x])
    gates = np.ones((2 * k, t), bool)
    gates[k:] = gate
    ref = Reference(network, device="cpu")
    result = ref.simulate(x_all, gates={0: torch.from_numpy(gates)})
    outputs = _np(result.outputs)
    # Lava: gating layer 0 = zeroing the source frames
    lava = _lava_windows(network, x_all * gates[:, None, None, None, :])
    assert _mismatches(outputs, lava) == [0, 0, 0, 0]
    counts = [int(o[:k].sum()) for o in outputs]
    assert all(c > 0.05 * o[:k].size for c, o in zip(counts, outputs)), counts
    # the gate mattered, and the reported inputs are what each layer received
    assert all((o[:k] != o[k:]).any() for o in outputs)
    inputs = _np(result.inputs)
    assert np.array_equal(inputs[0], (x_all * gates[:, None, None, None, :]).astype(bool))
    assert np.array_equal(inputs[1], outputs[0])
    assert np.array_equal(inputs[2], outputs[1].transpose(0, 3, 2, 1, 4).reshape(2 * k, -1, t))
    assert np.array_equal(inputs[3], outputs[2])
    # the ungated samples alone give the same
    plain = ref.simulate(x)
    assert _mismatches(_np(plain.outputs), [o[:k] for o in lava]) == [0, 0, 0, 0]
    assert all(np.array_equal(a, b) for a, b in zip(_np(plain.inputs), [i[:k] for i in inputs]))


def test_input_block_net(nets):
    network = nets["input"]
    assert lava_reset_offset(network) == 0 and lava_latency(network, 2) == 2
    k, t = 4, 10
    x = _spikes((k, 20, t), 0.4, seed=6)
    lava = _lava_windows(network, x)
    outputs = _np(Reference(network, device="cpu").simulate(x).outputs)
    assert _mismatches(outputs, lava) == [0, 0, 0]
    assert all(o.sum() > 0.05 * o.size for o in outputs)


def test_axonal_delays_stream(nets):
    network = nets["delay"]
    assert all(l.max_delay >= 4 for l in network.layers)
    k, t = 4, 12
    x = _spikes((k, 20, t), 0.35, seed=7)
    lava = _lava_windows(network, x)
    ref = Reference(network, device="cpu")
    outputs = _np(ref.simulate(x, stream=True).outputs)
    assert _mismatches(outputs, lava) == [0, 0]
    assert all(o.sum() > 0.05 * o.size for o in outputs)
    # delayed spikes spill into the next window in Lava; independent samples drop them
    assert sum(_mismatches(_np(ref.simulate(x).outputs), lava)) > 0
    # ...which is exactly Lava's behaviour for the first sample
    assert _mismatches([o[:1] for o in _np(ref.simulate(x).outputs)], [l[:1] for l in lava]) == [0, 0]


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_fixed_point_edges_wrap_clip_bias_signmode(nets, monkeypatch):
    network = nets["edge"]
    k, t = 2, 60
    x = _spikes((k, 40, t), 0.5, seed=8)
    lava = _lava_windows(network, x)
    ref = Reference(network, device="cpu")
    outputs = _np(ref.simulate(x, stream=True).outputs)
    assert _mismatches(outputs, lava) == [0, 0, 0]
    assert all(o.sum() > 0 for o in outputs)
    # the 24-bit current wrap happens here: without it the result differs
    unwrapped = Reference(network, device="cpu")
    for p in unwrapped._layers:
        p.neuron = dataclasses.replace(p.neuron, wrap=False)
    assert sum(_mismatches(_np(unwrapped.simulate(x, stream=True).outputs), lava)) > 0


def test_floating_pt_vs_lava(nets):
    """razor-neuro's floating_pt graph (netx blocks with the float parameters of
    ``float_parameters``) against the reference's float mode: 0 mismatches, streamed."""
    from razor_neuro.export.lava_graph import LavaGraph
    network = nets["input"]
    k, t = 3, 40
    x = _spikes((k, 20, t), 0.4, seed=9)
    lava = LavaGraph(network, t).run(x, "floating_pt").outputs
    outputs = _np(Reference(network, mode="floating_pt", device="cpu").simulate(x, stream=True).outputs)
    assert _mismatches(outputs, lava) == [0, 0, 0]
    assert all(o.sum() > 0 for o in outputs)


@pytest.mark.parametrize("mode", ["fixed_pt", "floating_pt"])
def test_neuron_dynamics_match_lava_model_code(tmp_path, mode):
    """Drive Lava's own LIF model code (no runtime) and the reference's neuron loop with
    the same large signed synaptic inputs (24-bit wrap, clipping, rounding of negative
    decays, int16 bias) and compare spikes, u and v every step."""
    patch_lava()
    from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat

    n, steps = 64, 150
    bias = np.arange(n) * 37 - 1000
    bias[5] = 40000
    path = _write_netx(tmp_path / "lif.net", [
        {"type": "dense", "shape": np.array([n]), "weight": np.eye(n) * 2, "bias": bias,
         "neuron": _cuba(300, 410, 1237)}])
    network = read_network(path)
    layer = network.layers[0]
    ref = Reference(network, mode=mode, device="cpu")
    rng = np.random.RandomState(13)
    a_in = rng.randint(-30000, 30000, (steps, n)).astype(np.int32)
    a_in[:, :8] = np.abs(a_in[:, :8])  # these keep growing until the current wraps

    model = (PyLifModelBitAcc if mode == "fixed_pt" else PyLifModelFloat)({})
    dtype = np.int32 if mode == "fixed_pt" else float
    model.u, model.v = np.zeros(n, dtype), np.zeros(n, dtype)
    if mode == "fixed_pt":
        model.du, model.dv, model.vth = layer.neuron.du, layer.neuron.dv, layer.neuron.threshold
    else:
        params = float_parameters(layer)
        model.du, model.dv, model.vth = params["du"][0], params["dv"][0], params["vth"][0]
    model.bias_mant = layer.bias.astype(np.int16 if mode == "fixed_pt" else float)
    model.bias_exp = np.full(n, 6, np.int16)
    lava_spikes, lava_u, lava_v = [], [], []
    for t in range(steps):
        if mode == "fixed_pt":
            model.scale_bias()
            model.scale_threshold()
        with np.errstate(all="ignore"):
            model.subthr_dynamics(activation_in=a_in[t])
            spikes = model.spiking_activation()
        model.reset_voltage(spikes)
        lava_spikes.append(spikes.copy())
        lava_u.append(np.array(model.u, np.float64))
        lava_v.append(np.array(model.v, np.float64))
    lava_spikes = np.stack(lava_spikes)

    spikes, u, v = cuba_run(ref._layers[0].neuron, a_in.T[None].astype(np.float64),
                            states=True)
    assert np.array_equal(spikes[0].T, lava_spikes)
    assert np.array_equal(u[0].T, np.stack(lava_u), equal_nan=True)
    assert np.array_equal(v[0].T, np.stack(lava_v), equal_nan=True)
    assert 0 < lava_spikes.sum() < lava_spikes.size
    if mode == "fixed_pt":
        assert (np.abs(model.v) == (1 << 23) - 1).any() or (model.u < 0).any()


# ----------------------------------------------------------------------------------
# semantics without Lava
# ----------------------------------------------------------------------------------

def test_gate_on_hidden_layer_means_no_input_spikes(nets):
    network = nets["conv"]
    n, t = 3, 10
    x = _spikes((n, *network.input_shape, t), 0.3, seed=10)
    gate = torch.ones(t, dtype=torch.bool)
    gate[[0, 3, 4, 7]] = False
    ref = Reference(network, device="cpu")
    plain = _np(ref.simulate(x).outputs)
    gated = ref.simulate(x, gates={1: gate})
    out, inp = _np(gated.outputs), _np(gated.inputs)
    assert np.array_equal(out[0], plain[0])
    assert not inp[1][..., ~gate.numpy()].any()
    assert np.array_equal(inp[1][..., gate.numpy()], plain[0][..., gate.numpy()])
    # = the rest of the network fed with the zeroed spikes, neurons decaying meanwhile
    rest = dataclasses.replace(network, layers=tuple(
        dataclasses.replace(l, index=l.index - 1) for l in network.layers[1:]),
        input_shape=network.layers[1].input_shape)
    tail = _np(Reference(rest, device="cpu").simulate(inp[1]).outputs)
    assert all(np.array_equal(a, b) for a, b in zip(tail, out[1:]))
    assert (out[1] != plain[1]).any()
    # a layer gated at every step and everything after it stays silent
    silent = _np(ref.simulate(x, gates={2: torch.zeros(t, dtype=torch.bool)}).outputs)
    assert silent[0].any() and not silent[2].any() and not silent[3].any()


def test_windows_equal_single_sample_runs(nets):
    network = nets["conv"]
    x = _spikes((3, *network.input_shape, 8), 0.3, seed=11)
    ref = Reference(network, device="cpu")
    batch = _np(ref.simulate(x).outputs)
    for i in range(3):
        single = _np(_continuous(ref, x[i]))
        assert all(np.array_equal(b[i], s) for b, s in zip(batch, single))


# ----------------------------------------------------------------------------------
# errors and spike files
# ----------------------------------------------------------------------------------

def _assert_one_line(err: pytest.ExceptionInfo, *needles: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_unsupported_and_broken_files(tmp_path, nets):
    pool = _write_netx(tmp_path / "pool.net", [
        {"type": "input", "shape": np.array([2, 8, 8])},
        {"type": "pool", "shape": np.array([2, 4, 4]), "weight": np.ones((2, 1, 2, 2, 1))}])
    with pytest.raises(NetFileError) as err:
        read_network(pool)
    _assert_one_line(err, "pool.net", "layer 1", "'pool'", "supported")

    sdnn = _write_netx(tmp_path / "sdnn.net", [
        {"type": "dense", "shape": np.array([3]), "weight": np.ones((3, 4)),
         "neuron": _cuba(10, 0, 0, kind="SDNN")}])
    with pytest.raises(NetFileError) as err:
        read_network(sdnn)
    _assert_one_line(err, "sdnn.net", "layer 0", "SDNN", "CUBA")

    unknown = _write_netx(tmp_path / "unknown.net", [
        {"type": "dense", "shape": np.array([3]), "weight": np.ones((3, 4)),
         "neuron": _cuba(10, 0, 0, kind="ALIF")}])
    with pytest.raises(NetFileError) as err:
        read_network(unknown)
    _assert_one_line(err, "unknown.net", "layer 0", "'ALIF'", "not supported")

    dense = {"type": "dense", "shape": np.array([3]), "weight": np.ones((3, 4))}
    for name, spec, needles in [
            ("average", {"type": "average", "shape": np.array([3])}, ("'average'",)),
            ("concat", {"type": "concat", "shape": np.array([3])}, ("'concat'",)),
            ("convT", {"type": "convT", "shape": np.array([3])}, ("'convT'",)),
            ("rec", {**dense, "weight_rec": np.ones((3, 3)), "neuron": _cuba(10, 0, 0)},
             ("dense_rec",)),
            ("comp", {"type": "dense", "shape": np.array([3]),
                      "weight/real": np.ones((3, 4)), "weight/imag": np.ones((3, 4)),
                      "neuron": _cuba(10, 0, 0)}, ("dense_comp",)),
            ("graded", {**dense, "neuron": {**_cuba(10, 0, 0), "gradedSpike": True}},
             ("gradedSpike",)),
            ("bits", {**dense, "neuron": {**_cuba(10, 0, 0), "messageBits": 3}},
             ("messageBits 3",)),
            ("decay", {**dense, "neuron": _cuba(10, 5000, 0)}, ("iDecay 5000", "0..4096")),
            ("wide", {**dense, "weight": np.full((3, 4), 256.0), "neuron": _cuba(10, 0, 0)},
             ("[256, 256]", "8-bit")),
            # odd inhibitory weights with a zero: netx calls them MIXED, Lava INHIBITORY
            ("inhibitory", {**dense, "weight": -np.array([[0, 255, 3, 1], [5, 7, 9, 11],
                                                          [13, 15, 17, 19]], float),
                            "neuron": _cuba(10, 0, 0)}, ("num_weight_bits 9",))]:
        path = _write_netx(tmp_path / f"{name}.net", [{"type": "input", "shape": np.array([4])},
                                                      spec])
        with pytest.raises(NetFileError) as err:
            read_network(path)
        _assert_one_line(err, f"{name}.net", "layer 1", *needles)

    corrupt = tmp_path / "corrupt.net"
    corrupt.write_bytes(b"\x89HDF\r\n garbage" * 40)
    with pytest.raises(NetFileError) as err:
        read_network(corrupt)
    _assert_one_line(err, "corrupt.net")

    with pytest.raises(NetFileError) as err:
        read_network(tmp_path / "missing.net")
    _assert_one_line(err, "missing.net")

    with pytest.raises(NetFileError) as err:  # conv first, no input shape anywhere
        read_network(nets["conv"].path)
    _assert_one_line(err, "conv.net", "input_shape")

    ref = Reference(nets["conv"], device="cpu")
    with pytest.raises(NetFileError) as err:
        ref.simulate(np.zeros((2, 10, 12, 2, 5)))  # (y, x, f) instead of (x, y, f)
    _assert_one_line(err, "conv.net", "12, 10, 2")


def test_read_spikes_formats(tmp_path, nets):
    shape = nets["conv"].input_shape  # (12, 10, 2)
    dense = _spikes((*shape, 7), 0.2, seed=12)
    np.save(tmp_path / "dense.npy", dense)
    assert np.array_equal(read_spikes(tmp_path / "dense.npy", shape), dense)

    # slayer 2-D events (x, y, c, t[ms]) -> netx (W, H, C, T)
    xs, ys, cs, ts = np.nonzero(dense)
    np.save(tmp_path / "events.npy", np.stack([xs, ys, cs, ts], 1).astype(float))
    assert np.array_equal(read_spikes(tmp_path / "events.npy", shape, num_steps=7), dense)

    with pytest.raises(NetFileError) as err:
        read_spikes(tmp_path / "dense.npy", (10, 12, 2))
    _assert_one_line(err, "dense.npy", "(10, 12, 2, 'T')")
    with pytest.raises(NetFileError) as err:
        read_spikes(tmp_path / "events.npy", (5, 10, 2))
    _assert_one_line(err, "events.npy", "(5, 10, 2, 'T')")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(NetFileError) as err:
        read_spikes(tmp_path / "bad.npy", shape)
    _assert_one_line(err, "bad.npy")
