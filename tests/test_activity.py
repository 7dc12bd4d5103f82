"""``train --synops-cost``: the loss term of the synaptic operations the hidden layers' spikes
cause (razor_neuro/training/activity.py) counts what the reports count, and lowers them."""
import pytest
import torch

from razor_neuro.counting import count_layer, dense_macs_per_step
from razor_neuro.model import RazorSNN
from razor_neuro.model_config import LayerConfig, ModelConfig
from razor_neuro.presets import PRESETS
from razor_neuro.training.activity import SynopsCost, synapse_specs
from razor_neuro.training.config import TrainConfig, TrainError
from razor_neuro.training.loop import train

CPU = torch.device("cpu")


def hidden_synops(model: RazorSNN, x: torch.Tensor) -> float:
    """The synaptic operations per sample the hidden spikes of ``model`` cause on ``x``, as
    the report counts them (razor_neuro.counting.count_layer on each synapse's input)."""
    with torch.no_grad():
        _, outputs = model(x, torch.ones(len(model.epms), x.shape[-1], dtype=torch.bool),
                           record=True)
    specs = synapse_specs(model.config)
    total = 0
    for spec, spikes in zip(specs, outputs):
        spikes = spikes.flatten(1, -2) if spec.kind == "dense" else spikes
        out = torch.zeros(len(x), *spec.out_shape, x.shape[-1])
        total += count_layer(spec, spikes, out).synops
    return total / len(x)


def test_cost_is_the_reports_synops_over_the_dense_work():
    """C x S / D with S the count every report makes and D the same synapses' dense MACs
    over T frames; the first block's input (the data) and the last block's output (no
    synapse) are not counted."""
    mcfg = PRESETS["nmnist"]
    specs = synapse_specs(mcfg)
    assert [s.name for s in specs] == ["layer1", "layer3"]
    g = torch.Generator().manual_seed(0)
    T = mcfg.frames
    outputs = [(torch.rand(3, 16, 9, 9, T, generator=g) < 0.1).float(),
               (torch.rand(3, 32, 5, 5, T, generator=g) < 0.1).float(),
               torch.ones(3, 10, T)]
    reported = sum(count_layer(spec, spikes.flatten(1, -2) if spec.kind == "dense" else spikes,
                               torch.zeros(3, *spec.out_shape, T)).synops
                   for spec, spikes in zip(specs, outputs))
    dense = sum(dense_macs_per_step(s) for s in specs) * T
    cost = SynopsCost(mcfg, 2.5, CPU)
    assert float(cost(outputs)) == pytest.approx(2.5 * reported / dense, rel=1e-6)


def test_cost_lowers_the_hidden_firing_through_the_surrogate_gradient():
    """Minimising the term alone moves every weight block and lowers the synaptic
    operations the report would count."""
    mcfg = PRESETS["synthetic"]
    torch.manual_seed(0)
    model = RazorSNN(mcfg, seed=0)
    x = (torch.rand(4, *mcfg.input_shape, mcfg.frames) < 0.3).float()
    before = hidden_synops(model, x)
    assert before > 0
    cost = SynopsCost(mcfg, 1.0, CPU)
    opt = torch.optim.Adam(model.blocks.parameters(), lr=1e-2)
    masks = torch.ones(len(model.epms), mcfg.frames, dtype=torch.bool)
    for step in range(10):
        _, outputs = model(x, masks, record=True)
        loss = cost(outputs)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            # every weight block but the last (whose spikes drive no synapse)
            moved = [sum(float(p.grad.abs().sum()) for p in b.synapse.parameters()
                         if p.grad is not None)
                     for b in model.blocks if hasattr(b, "synapse")]
            assert all(m > 0 for m in moved[:-1]) and moved[-1] == 0
        opt.step()
    assert hidden_synops(model, x) < 0.8 * before


def test_skip_mode_records_no_spike_after_a_samples_last_step():
    """With per-sample masks (frame dropout) a skip model packs each sample's kept frames
    to the longest sample's count; the steps after a sample's own last run nowhere, so the
    recorded spikes, and the cost, hold none there."""
    mcfg = PRESETS["nmnist"]
    model = RazorSNN(mcfg, seed=0, prune_mode="skip")
    T = mcfg.frames
    x = (torch.rand(3, *mcfg.input_shape, T, generator=torch.Generator().manual_seed(0))
         < 0.3).float()
    kept = [T, 12, 4]
    masks = torch.zeros(len(model.epms), 3, T, dtype=torch.bool)
    for n, k in enumerate(kept):
        masks[:, n, :k] = True
    with torch.no_grad():
        out, outputs = model(x, masks, record=True)
    assert all(o.shape[-1] == T for o in outputs)
    for n, k in enumerate(kept):
        assert float(outputs[0][n, ..., :k].sum()) > 0  # it fires while it runs
        assert all(float(o[n, ..., k:].sum()) == 0 for o in outputs), n
    assert torch.equal(out, outputs[-1])


def test_a_negative_or_infinite_cost_is_refused(tmp_path):
    for cost in (-1.0, float("nan"), float("inf")):
        with pytest.raises(TrainError, match="--synops-cost: expected a finite number >= 0"):
            train(TrainConfig(synops_cost=cost, epochs=1, n_samples=48), tmp_path / "run",
                  progress=False, threads=1)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.slow
def test_training_with_the_cost_fires_less(tmp_path):
    tiny = dict(epochs=2, n_samples=48, batch_size=8, seed=0)
    x = torch.stack([(torch.rand(*PRESETS["synthetic"].input_shape, 16,
                                 generator=torch.Generator().manual_seed(i)) < 0.2).float()
                     for i in range(8)])
    plain, _ = train(TrainConfig(**tiny), tmp_path / "plain", progress=False, threads=1)
    costly, _ = train(TrainConfig(**tiny, synops_cost=5.0), tmp_path / "cost", progress=False,
                      threads=1)
    assert hidden_synops(costly, x) < 0.9 * hidden_synops(plain, x)


def test_a_network_without_hidden_synapses_is_refused():
    one = ModelConfig((2, 8, 8), 3, 4, (LayerConfig("flatten"), LayerConfig("dense", 3)))
    with pytest.raises(TrainError, match="--synops-cost: the model has one weight block"):
        SynopsCost(one, 1.0, CPU)
