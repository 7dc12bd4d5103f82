"""Hand-derived counts for razor_neuro.counting, plus an exact cross-check against NeuroBench."""
import types

import pytest
import torch

from razor_neuro.counting import LayerSpec, count_layer, dense_macs_per_step, fan_out, per_sample, sum_counts


def _zeros(*shape):
    return torch.zeros(*shape)


# ----------------------------------------------------------------------------- dense

def test_dense_counts():
    # Dense 3 -> 2, N=2, T=4.  Input events: sample0 (c0,t0) (c2,t1) (c2,t3); sample1 (c1,t0) (c1,t2)
    # -> 5 input spikes, each reaches 2 outputs -> synops = 10.
    # Output events: sample0 (o0,t1) (o1,t2); sample1 (o0,t3) -> 3 spikes.
    # neuron_updates = 2 neurons * 4 steps * 2 samples = 16; active = 3.
    # dense_macs = 3*2 per step per sample * 4 steps * 2 samples = 48.
    # activation_sparsity = 1 - 3/16 = 13/16.
    spec = LayerSpec("fc", "dense", in_shape=(3,), out_shape=(2,))
    x = _zeros(2, 3, 4)
    for n, c, t in [(0, 0, 0), (0, 2, 1), (0, 2, 3), (1, 1, 0), (1, 1, 2)]:
        x[n, c, t] = 1
    y = _zeros(2, 2, 4)
    for n, c, t in [(0, 0, 1), (0, 1, 2), (1, 0, 3)]:
        y[n, c, t] = 1
    c = count_layer(spec, x, y)
    assert (c.input_spikes, c.output_spikes, c.synops) == (5, 3, 10)
    assert (c.neuron_updates, c.active_neuron_updates, c.inactive_neuron_updates) == (16, 3, 13)
    assert c.dense_macs == 48
    assert c.pruned_frames == 0 and c.synops_saved == 0
    assert c.activation_sparsity == pytest.approx(13 / 16)
    s = per_sample(c)
    assert (s.synops, s.dense_macs, s.input_spikes, s.neuron_updates) == (5, 24, 2.5, 8)
    assert s.activation_sparsity == c.activation_sparsity


def test_dense_accepts_flattened_conv_input():
    # [N, C, H, W, T] = [1, 2, 2, 2, 1] -> 8 features; Dense 8 -> 5; 3 spikes -> 15 synops.
    spec = LayerSpec("fc", "dense", in_shape=(2, 2, 2), out_shape=(5,))
    x = _zeros(1, 2, 2, 2, 1)
    x[0, 0, 0, 0, 0] = x[0, 1, 1, 0, 0] = x[0, 1, 1, 1, 0] = 1
    c = count_layer(spec, x, _zeros(1, 5, 1))
    assert c.synops == 15 and c.dense_macs == 40


# ----------------------------------------------------------------------------- conv

def test_conv_stride2_padding1_border_fanout():
    # Conv 1 -> 2 channels, 3x3, stride 2, padding 1 on 4x4 -> out 2x2 ((4+2-3)//2+1 = 2).
    # Output row 0 reads input rows {0,1} (row -1 is padding), output row 1 reads rows {1,2,3}.
    # Per-row fan-out r = [1, 2, 1, 1], same for columns; spatial fan-out = r[h]*r[w]:
    #   1 2 1 1 / 2 4 2 2 / 1 2 1 1 / 1 2 1 1   (x 2 output channels)
    # Spikes (h,w,t): (0,0,0) (1,1,1) (3,3,2) (1,0,3) -> (1 + 4 + 1 + 2) * 2 = 16 synops.
    # Dense fan-in per output: (0,0) 2x2=4, (0,1) 2x3=6, (1,0) 6, (1,1) 9 -> 25 per channel,
    # x 2 channels x T=4 x N=1 = 200.  (Also = sum of fan-out 25*2 per step.)
    spec = LayerSpec("c1", "conv", in_shape=(1, 4, 4), out_shape=(2, 2, 2), kernel=3, stride=2, padding=1)
    fo = fan_out(spec)
    assert fo[0].tolist() == [[2, 4, 2, 2], [4, 8, 4, 4], [2, 4, 2, 2], [2, 4, 2, 2]]
    assert dense_macs_per_step(spec) == 50
    x = _zeros(1, 1, 4, 4, 4)
    for h, w, t in [(0, 0, 0), (1, 1, 1), (3, 3, 2), (1, 0, 3)]:
        x[0, 0, h, w, t] = 1
    y = _zeros(1, 2, 2, 2, 4)
    y[0, 1, 1, 1, 2] = 1
    c = count_layer(spec, x, y)
    assert (c.input_spikes, c.synops, c.dense_macs) == (4, 16, 200)
    assert (c.neuron_updates, c.active_neuron_updates) == (32, 1)


def test_grouped_conv():
    # Conv 2 -> 4 channels, groups=2, 3x3, stride 1, padding 1 on 3x3 (out 3x3).
    # Each input channel feeds only its group's 2 output channels.
    # Per-row fan-out with padding 1: r = [2, 3, 2]; fan-out = 2 * r[h] * r[w]:
    #   corner 8, edge 12, centre 18.  (groups=1 would double these.)
    # Spikes: (c0, centre, t0), (c1, corner (0,0), t0), (c1, edge (0,1), t1) -> 18 + 8 + 12 = 38.
    # Dense per step: 4 out channels x (1 input channel per group) x spatial taps sum (2+3+2)^2 = 49
    #   -> 196; x T=2 -> 392.
    spec = LayerSpec("g", "conv", in_shape=(2, 3, 3), out_shape=(4, 3, 3), kernel=3, padding=1, groups=2)
    assert fan_out(spec)[0].tolist() == [[8, 12, 8], [12, 18, 12], [8, 12, 8]]
    x = _zeros(1, 2, 3, 3, 2)
    x[0, 0, 1, 1, 0] = x[0, 1, 0, 0, 0] = x[0, 1, 0, 1, 1] = 1
    c = count_layer(spec, x, _zeros(1, 4, 3, 3, 2))
    assert (c.synops, c.dense_macs) == (38, 392)
    ungrouped = LayerSpec("u", "conv", in_shape=(2, 3, 3), out_shape=(4, 3, 3), kernel=3, padding=1)
    assert count_layer(ungrouped, x, _zeros(1, 4, 3, 3, 2)).synops == 76


def test_pool_fanout_and_truncated_border():
    # Pool window 2 (stride defaults to 2) on 2 channels of 5x5 -> 2x2 (floor).  Per channel:
    # rows/cols 0..3 are each read by exactly one window, row/col 4 by none.
    # Spikes: (c0,0,0,t0) (c0,3,3,t0) (c1,2,1,t1) (c1,4,4,t1) (c1,0,4,t1) -> 1+1+1+0+0 = 3 synops.
    # Dense per step = 2 channels x 4 windows x 4 taps = 32; T=2 -> 64.
    spec = LayerSpec("p", "pool", in_shape=(2, 5, 5), out_shape=(2, 2, 2), kernel=2)
    assert spec.stride == (2, 2)
    fo = fan_out(spec)
    assert fo[0, :4, :4].eq(1).all() and fo[:, 4, :].eq(0).all() and fo[:, :, 4].eq(0).all()
    x = _zeros(1, 2, 5, 5, 2)
    for ch, h, w, t in [(0, 0, 0, 0), (0, 3, 3, 0), (1, 2, 1, 1), (1, 4, 4, 1), (1, 0, 4, 1)]:
        x[0, ch, h, w, t] = 1
    c = count_layer(spec, x, _zeros(1, 2, 2, 2, 2))
    assert (c.input_spikes, c.synops, c.dense_macs) == (5, 3, 64)


def test_overlapping_pool():
    # Pool window 3, stride 1 on 1x4x4 -> 2x2; per-row fan-out [1, 2, 2, 1]; (1,1) -> 4, (0,3) -> 1.
    spec = LayerSpec("p", "pool", in_shape=(1, 4, 4), out_shape=(1, 2, 2), kernel=3, stride=1)
    x = _zeros(1, 1, 4, 4, 1)
    x[0, 0, 1, 1, 0] = x[0, 0, 0, 3, 0] = 1
    assert count_layer(spec, x, _zeros(1, 1, 2, 2, 1)).synops == 5


def test_spec_rejects_wrong_geometry():
    with pytest.raises(ValueError, match="geometry"):
        LayerSpec("c", "conv", in_shape=(1, 4, 4), out_shape=(1, 4, 4), kernel=3, stride=2, padding=1)


# ----------------------------------------------------------------------------- pruning

def test_pruned_frames():
    # Dense 3 -> 2, N=1, T=4, keep_mask = [T, F, T, F] (frames 1 and 3 pruned).
    # Unpruned input events: (c0,t0) (c1,t1) (c2,t1) (c0,t2) (c1,t3).  The pruned input the network
    # actually ran has frames 1 and 3 zeroed: events (c0,t0) (c0,t2) -> 2 spikes, synops 2*2 = 4.
    # synops_saved = events in pruned frames of the unpruned input: 3 spikes * 2 = 6.
    # neuron_updates = 2 neurons * 2 kept frames = 4; an output spike at a pruned frame (t3) is ignored.
    spec = LayerSpec("fc", "dense", in_shape=(3,), out_shape=(2,))
    unpruned = _zeros(1, 3, 4)
    for ch, t in [(0, 0), (1, 1), (2, 1), (0, 2), (1, 3)]:
        unpruned[0, ch, t] = 1
    keep = torch.tensor([True, False, True, False])
    pruned = unpruned * keep
    y = _zeros(1, 2, 4)
    y[0, 0, 0] = y[0, 1, 3] = 1
    c = count_layer(spec, pruned, y, keep_mask=keep, unpruned_input_spikes=unpruned)
    assert (c.pruned_frames, c.input_spikes, c.synops, c.synops_saved) == (2, 2, 4, 6)
    assert (c.neuron_updates, c.output_spikes, c.dense_macs) == (4, 1, 24)
    assert c.activation_sparsity == pytest.approx(1 - 1 / 4)
    # without the unpruned input the saving is unknown, not zero
    assert count_layer(spec, pruned, y, keep_mask=keep).synops_saved is None
    # a [T] mask is shared by all samples: per batch pruned_frames = N * 2, per sample = 2
    c2 = count_layer(spec, torch.cat([pruned, pruned]), torch.cat([y, y]), keep_mask=keep,
                     unpruned_input_spikes=torch.cat([unpruned, unpruned]))
    assert c2.pruned_frames == 4 and per_sample(c2).pruned_frames == 2 and per_sample(c2).synops_saved == 6


def test_sum_counts():
    spec = LayerSpec("fc", "dense", in_shape=(3,), out_shape=(2,))
    x = torch.ones(1, 3, 2)
    y = torch.ones(1, 2, 2)
    tot = sum_counts([count_layer(spec, x, y), count_layer(spec, x, _zeros(1, 2, 2))])
    # each layer: 6 spikes * 2 = 12 synops, 4 neuron updates; outputs 4 + 0
    assert (tot.synops, tot.neuron_updates, tot.output_spikes) == (24, 8, 4)
    assert tot.activation_sparsity == pytest.approx(0.5)


# ----------------------------------------------------------------------------- NeuroBench

def _neurobench():
    try:
        from neurobench.hooks.layer import LayerHook
        from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    except Exception as exc:  # pragma: no cover - must not be skipped silently
        pytest.fail(f"neurobench cannot be imported: {type(exc).__name__}: {exc}")
    return LayerHook, SynapticOperations, ActivationSparsity


def _neurobench_synops(layer, x_slayer):
    """Run ``layer`` on every time step of a slayer-layout tensor and apply NeuroBench's
    SynapticOperations the way its workload manager does (one forward per step, one metric call
    per batch).  Returns the per-sample dict {Effective_MACs, Effective_ACs, Dense}."""
    LayerHook, SynapticOperations, _ = _neurobench()
    hook = LayerHook(layer)
    model = types.SimpleNamespace(connection_hooks=[hook])
    with torch.no_grad():
        for t in range(x_slayer.shape[-1]):
            layer(x_slayer[..., t])
    metric = SynapticOperations()
    out = metric(model, None, (x_slayer, None))
    hook.close()
    return out


@pytest.mark.parametrize("case", ["linear", "conv_s2p1", "conv_groups"])
def test_synops_match_neurobench(case):
    torch.manual_seed(0)
    N, T = 3, 5
    if case == "linear":
        layer = torch.nn.Linear(7, 4)
        spec = LayerSpec("fc", "dense", in_shape=(7,), out_shape=(4,))
        x = (torch.rand(N, 7, T) < 0.3).float()
    elif case == "conv_s2p1":
        layer = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1)
        spec = LayerSpec("c", "conv", in_shape=(2, 5, 5), out_shape=(3, 3, 3), kernel=3, stride=2, padding=1)
        x = (torch.rand(N, 2, 5, 5, T) < 0.3).float()
    else:
        layer = torch.nn.Conv2d(4, 6, 3, stride=1, padding=1, groups=2)
        spec = LayerSpec("g", "conv", in_shape=(4, 4, 4), out_shape=(6, 4, 4), kernel=3, padding=1, groups=2)
        x = (torch.rand(N, 4, 4, 4, T) < 0.3).float()
    assert (layer.weight != 0).all()
    nb = _neurobench_synops(layer, x)
    ours = per_sample(count_layer(spec, x, torch.zeros(N, *spec.out_shape, T)))
    assert nb["Effective_MACs"] == 0  # binary inputs are classified as spiking -> ACs
    assert nb["Effective_ACs"] == ours.synops
    assert nb["Dense"] == ours.dense_macs


def test_zero_weight_difference_with_neurobench():
    # Documented difference: NeuroBench skips synapses whose weight is exactly 0, we count the
    # structural synapse.  Zeroing weight[o=1, i=2] of a Linear removes exactly one synop per
    # input event on input 2, so NeuroBench = ours - (events on input 2) / N.
    torch.manual_seed(1)
    N, T = 2, 6
    layer = torch.nn.Linear(5, 3)
    with torch.no_grad():
        layer.weight[1, 2] = 0.0
    x = (torch.rand(N, 5, T) < 0.5).float()
    nb = _neurobench_synops(layer, x)
    ours = per_sample(count_layer(LayerSpec("fc", "dense", (5,), (3,)), x, torch.zeros(N, 3, T)))
    assert nb["Effective_ACs"] == ours.synops - x[:, 2, :].sum().item() / N
    assert nb["Dense"] == ours.dense_macs  # Dense uses all-ones weights: no difference


def test_activation_sparsity_matches_neurobench_single_layer():
    _, _, ActivationSparsity = _neurobench()
    torch.manual_seed(2)
    N, T = 2, 4
    y = (torch.rand(N, 6, T) < 0.25).float()
    hook = types.SimpleNamespace(activation_outputs=[y[..., t] for t in range(T)])
    nb = ActivationSparsity()(types.SimpleNamespace(activation_hooks=[hook]), None, (y, None))
    c = count_layer(LayerSpec("fc", "dense", (3,), (6,)), torch.zeros(N, 3, T), y)
    assert nb == pytest.approx(c.activation_sparsity, abs=0, rel=1e-12)
