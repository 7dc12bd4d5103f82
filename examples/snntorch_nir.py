"""From snntorch to Lava through NIR: train, from_snntorch, import, verify, report.

    .venv/bin/python examples/snntorch_nir.py [--neuron synaptic|leaky] [--epochs N]
                                              [--out DIR] [--test-samples 64]

1. An snntorch network (``Flatten -> Linear -> snn.Synaptic -> Linear -> snn.Synaptic``, or
   ``snn.Leaky`` with biases) is trained on razor-neuro's synthetic default (2 x 32 x 32,
   16 frames, 6 classes) with snntorch's own loss.
2. ``razor_neuro.export.nir.from_snntorch`` reads the live model (each neuron's reset
   settings, the bias into each ``Synaptic``), refuses in one line what Loihi cannot run,
   and writes ``DIR/model.nir`` through ``snntorch.export_to_nir`` (CubaLIF or LIF nodes).
3. ``razor-neuro import`` turns it into ``DIR/import/network.net`` and checks it on the first
   test samples: the float NIR graph next to Lava ``fixed_pt`` and the bit-exact reference.
4. The output class of snntorch's own forward pass is compared with Lava's.
5. ``verify --net`` and ``report --net`` run on the imported network (first 8 test samples
   back to back).

The one snntorch setting to choose is Loihi's reset: ``reset_mechanism="zero"`` and
``reset_delay=False`` (snntorch's defaults subtract the threshold and reset a step late;
``from_snntorch`` refuses them, naming the layer).  Scalar parameters and the batch
dimension are handled by ``from_snntorch``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def build(neuron: str, hidden: int = 64, inputs: int = 2 * 32 * 32, classes: int = 6,
          alpha: float = 0.8, beta: float = 0.9) -> torch.nn.Sequential:
    """The snntorch network, with Loihi's reset (to 0, in the step of the spike)."""
    import snntorch as snn

    def lif(output: bool = False) -> torch.nn.Module:
        common = dict(init_hidden=True, output=output, reset_mechanism="zero",
                      reset_delay=False)
        if neuron == "synaptic":
            return snn.Synaptic(alpha=alpha, beta=beta, **common)
        return snn.Leaky(beta=beta, **common)

    bias = neuron == "leaky"  # a bias into Synaptic's persistent current is refused
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(inputs, hidden, bias=bias),
                               lif(), torch.nn.Linear(hidden, classes, bias=bias),
                               lif(output=True))


def forward(net: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """snntorch's forward pass over time: ``x`` [N, C, H, W, T] -> output spikes [N, classes, T]."""
    from snntorch import utils

    utils.reset(net)
    out = []
    for t in range(x.shape[-1]):
        result = net(x[..., t])
        out.append(result[0])
    return torch.stack(out, -1)


def predict(spikes: np.ndarray) -> np.ndarray:
    """Most output spikes wins, ties to the lowest index (as razor-neuro's ``predict``)."""
    return np.asarray(spikes).sum(-1).argmax(-1)


def run(out: str | Path, neuron: str = "synaptic", epochs: int = 8, train_samples: int = 720,
        test_samples: int = 64, seed: int = 0) -> dict:
    """The whole path; returns the numbers it prints (also in ``OUT/summary.json``)."""
    import snntorch.functional as SF

    from razor_neuro.data.synthetic import SyntheticEvents
    from razor_neuro.export.nir import from_snntorch
    from razor_neuro.export.nir.importer import import_nir, nir_to_netx
    from razor_neuro.export.nir.read import read_chain
    from razor_neuro.export.verify import verify_net
    from razor_neuro.export.report.make import report_net

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    train = SyntheticEvents(train=True)
    test = SyntheticEvents(train=False)
    xs = torch.stack([train[i][0] for i in range(min(train_samples, len(train)))])
    ys = torch.tensor([train[i][1] for i in range(len(xs))])
    net = build(neuron)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = SF.ce_count_loss()
    for _ in range(epochs):
        for idx in torch.randperm(len(xs)).split(32):
            spikes = forward(net, xs[idx])
            loss = loss_fn(spikes.permute(2, 0, 1), ys[idx])  # snntorch wants [T, N, classes]
            opt.zero_grad()
            loss.backward()
            opt.step()

    from_snntorch(net, xs[0, ..., 0], out / "model.nir", overwrite=True)
    xt = torch.stack([test[i][0] for i in range(test_samples)])
    yt = np.array([test[i][1] for i in range(test_samples)])
    np.save(out / "test_input.npy", xt.numpy().astype(np.uint8))
    with torch.no_grad():
        snn_cls = predict(forward(net, xt).numpy())
    res = import_nir(out / "model.nir", out / "import", check_input=out / "test_input.npy",
                     overwrite=True)
    chk = res["check"]
    lava_cls = np.array(chk["lava_classes"])

    chain = read_chain(out / "model.nir")  # 8 samples back to back for verify/report --net
    stream = nir_to_netx(xt[:8].numpy().astype(np.uint8), chain)
    np.save(out / "stream.npy", np.concatenate(list(stream), axis=-1))
    verified = verify_net(out / "import" / "network.net", out / "stream.npy")
    report = report_net(out / "report", out / "import" / "network.net", out / "stream.npy",
                        overwrite=True)
    summary = {
        "neuron": neuron, "epochs": epochs, "train_samples": len(xs), "test_samples": test_samples,
        "snntorch_accuracy": float((snn_cls == yt).mean()),
        "lava_accuracy": float((lava_cls == yt).mean()),
        "class_agreement_snntorch_lava": float((snn_cls == lava_cls).mean()),
        "class_agreement_nir_lava": chk["class_agreement"],
        "class_agreement_snntorch_nir": float((snn_cls == np.array(chk["nir_classes"])).mean()),
        "lava_reference_mismatches_check": chk["lava_reference_mismatches"],
        "verify_net_mismatches": verified["mismatches"],
        "layers": [{k: r[k] for k in ("name", "nir_spikes", "lava_spikes", "nir_lava_mismatches",
                                      "spike_agreement")} for r in chk["layers"]],
        "quantisation": [{"name": r["name"], "vThMant": r["vThMant"], "iDecay": r["iDecay"],
                          "vDecay": r["vDecay"],
                          "weight_rel_rms_error": r["quantisation"]["weight_rel_rms_error"],
                          "weight_max_abs_error_thresholds":
                              r["quantisation"]["weight_max_abs_error_thresholds"]}
                         for r in res["layers"]],
        "report": str(report.path),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neuron", choices=["synaptic", "leaky"], default="synaptic")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--test-samples", type=int, default=64)
    p.add_argument("--out", default=None, help="default runs/snntorch-nir-<neuron>")
    a = p.parse_args()
    print(json.dumps(run(a.out or f"runs/snntorch-nir-{a.neuron}", a.neuron, a.epochs,
                         test_samples=a.test_samples), indent=1))
