"""NIR in and out (issue #14): snntorch semantics, quantisation, refusals, Razor round trip,
the snntorch example."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nir
import numpy as np
import pytest
import torch

from razor_neuro.cli import main
from razor_neuro.export.netfile import read_network
from razor_neuro.export.nir.exporter import SCHEDULE_MEANING
from razor_neuro.export.nir.importer import import_nir
from razor_neuro.export.nir.quantise import quantise_chain
from razor_neuro.export.nir.read import read_chain
from razor_neuro.export.nir.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def _snntorch_net() -> torch.nn.Sequential:
    """Conv2d -> Synaptic -> Flatten -> Linear -> Synaptic -> Linear(bias) -> Leaky, NIR's
    reset semantics (zero, no delay), weights strong enough that every layer spikes."""
    import snntorch as snn

    torch.manual_seed(0)

    def common(shape: tuple[int, ...], output: bool = False) -> dict:
        return dict(threshold=torch.ones(shape), init_hidden=True, output=output,
                    reset_mechanism="zero", reset_delay=False)

    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False),
        snn.Synaptic(alpha=torch.full((4, 8, 8), 0.7), beta=torch.full((4, 8, 8), 0.9),
                     **common((4, 8, 8))),
        torch.nn.Flatten(),
        torch.nn.Linear(256, 24, bias=False),
        snn.Synaptic(alpha=torch.full((24,), 0.8), beta=torch.full((24,), 0.9), **common((24,))),
        torch.nn.Linear(24, 5),
        snn.Leaky(beta=torch.full((5,), 0.9), **common((5,), output=True)))
    with torch.no_grad():
        for m in net:
            if hasattr(m, "weight"):
                m.weight.mul_(3)
    return net


def _snntorch_forward(net: torch.nn.Sequential, x: np.ndarray) -> list[np.ndarray]:
    """Spikes of each snntorch neuron layer, [N, *shape, T]."""
    from snntorch import utils

    utils.reset(net)
    neurons = [m for m in net if hasattr(m, "reset_mechanism")]
    records: list[list[np.ndarray]] = [[] for _ in neurons]
    with torch.no_grad():
        for t in range(x.shape[-1]):
            s = torch.from_numpy(x[..., t].astype(np.float32))
            for m in net:
                s = m(s)
                if isinstance(s, tuple):
                    s = s[0]
                if m in neurons:
                    records[neurons.index(m)].append(s.numpy() > 0)
    return [np.stack(r, -1) for r in records]


@pytest.fixture(scope="module")
def snn_graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Sequential,
                                                                  np.ndarray]:
    from snntorch.export_nir import export_to_nir

    net = _snntorch_net()
    path = tmp_path_factory.mktemp("nir") / "snn.nir"
    nir.write(path, export_to_nir(net, torch.zeros(1, 2, 16, 16), ignore_dims=[0]))
    x = (np.random.RandomState(1).rand(6, 2, 16, 16, 12) < 0.2).astype(np.uint8)
    return path, net, x


def test_float_simulation_is_snntorch_forward(snn_graph: tuple) -> None:
    path, net, x = snn_graph
    chain = read_chain(path)
    assert [type(s.neuron).__name__ for s in chain.stages] == ["CubaLIF", "CubaLIF", "LIF"]
    assert [s.flatten_before for s in chain.stages] == [False, True, False]
    ours = simulate(chain, x, 1e-4)
    theirs = _snntorch_forward(net, x)
    for a, b in zip(ours, theirs):
        assert a.sum() > 0
        assert a.shape == b.shape and np.array_equal(a, b)
    # a different dt is a different network: the check depends on the step
    assert not all(np.array_equal(a, b) for a, b in zip(simulate(chain, x, 2e-4), theirs))


def test_import_quantises_in_one_place_and_lava_equals_reference(snn_graph: tuple,
                                                                 tmp_path: Path) -> None:
    path, _, x = snn_graph
    np.save(tmp_path / "x.npy", x)
    res = import_nir(path, tmp_path / "imp", check_input=tmp_path / "x.npy")
    assert json.loads((tmp_path / "imp" / "import.json").read_text())["layers"] == res["layers"]
    chain = read_chain(path)
    net = read_network(tmp_path / "imp" / "network.net")
    assert [layer.kind for layer in net.layers] == ["conv", "dense", "dense"]
    assert net.input_shape == (16, 16, 2)                      # netx order of (2, 16, 16)
    assert res["dt"] == 1e-4 and res["dt_from"].startswith("default")
    # Euler decays: alpha 0.7 -> dt/tau_syn 0.3, alpha 0.8 -> 0.2, beta 0.9 -> 0.1; LIF: 4096
    assert [(r["iDecay"], r["vDecay"]) for r in res["layers"]] == [
        (1229, 410), (819, 410), (4096, 410)]
    # weights: gain (1 for snntorch's r, w_in) / threshold (1) x scale, even, max 254
    dense = quantise_chain(chain, 1e-4)[1]
    scale = res["layers"][1]["vThMant"]
    w = chain.stages[1].weight
    assert scale == int(np.floor(254 / np.abs(w).max() * (1 + 1e-9)))
    assert np.array_equal(dense.weight, 2 * np.round(w * scale / 2))
    assert np.abs(dense.weight).max() == 254 and not np.any(dense.weight % 2)
    for r in res["layers"]:
        q = r["quantisation"]
        assert not q["exact"] and 0 < q["weight_rel_rms_error"] < 0.01
        assert q["weight_max_abs_error_thresholds"] <= 1.0 / r["vThMant"] + 1e-12
    assert res["layers"][2]["quantisation"]["bias_max_abs_error_thresholds"] > 0   # Affine bias
    chk = res["check"]
    assert chk["samples"] == 6 and chk["steps"] == 12
    assert chk["lava_reference_mismatches"] == 0
    for row in chk["layers"]:
        assert row["lava_spikes"] == row["reference_spikes"] > 0
        both = (row["nir_spikes"] + row["lava_spikes"] - row["nir_lava_mismatches"]) / 2
        assert row["spike_agreement"] == pytest.approx(both / (both + row["nir_lava_mismatches"]))
    # quantisation: close, not identical (measured 0.98, 0.88, 0.78: timing shifts compound
    # through this random, strongly driven network); the first layer sees the same input
    assert chk["layers"][0]["spike_agreement"] > 0.95
    assert 0.5 < min(row["spike_agreement"] for row in chk["layers"]) < 1.0
    assert 0.0 <= chk["class_agreement"] <= 1.0 and len(chk["lava_classes"]) == 6


def _graph(**change: object) -> nir.NIRGraph:
    """Input(4) -> Linear -> CubaLIF -> Output, with ``change`` applied to the neuron."""
    p = dict(tau_syn=np.full(3, 5e-4), tau_mem=np.full(3, 1e-3), r=np.full(3, 10.0),
             v_leak=np.zeros(3), v_threshold=np.ones(3), w_in=np.full(3, 5.0))
    p.update(change)
    nodes = {"input": nir.Input(input_type={"input": np.array([4])}),
             "fc": nir.Linear(weight=np.arange(12.0).reshape(3, 4) - 5),
             "lif": nir.CubaLIF(**p), "output": nir.Output(output_type={"output": np.array([3])})}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])


def _bad_graphs() -> dict[str, tuple[nir.NIRGraph, str]]:
    g = _graph()
    pool = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
        "pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])),
        "output": nir.Output(output_type={"output": np.array([1, 2, 2])})},
        edges=[("input", "pool"), ("pool", "output")], type_check=False)
    rec = nir.NIRGraph(nodes=dict(g.nodes) | {"rec": nir.Linear(weight=np.eye(3))},
                       edges=g.edges + [("lif", "rec"), ("rec", "lif")], type_check=False)
    affine = nir.NIRGraph(nodes=dict(g.nodes) | {"fc": nir.Affine(
        weight=np.ones((3, 4)), bias=np.ones(3))}, edges=g.edges)
    return {
        "pooling": (pool, "node 'pool' (AvgPool2d) is not supported: netx 0.6 has no pooling"),
        "recurrent": (rec, "recurrent edge 'lif' -> 'rec' (a cycle)"),
        "v_leak": (_graph(v_leak=np.full(3, 0.1)), "node 'lif' (CubaLIF) after 'fc': v_leak"),
        "v_reset": (_graph(v_reset=np.full(3, -0.2)), "v_reset [-0.2] is not 0"),
        "taus": (_graph(tau_mem=np.array([1e-3, 1e-3, 2e-3])), "heterogeneous time constants"),
        "bias": (affine, "Loihi adds its bias to the voltage, not the current"),
        "dt": (_graph(tau_syn=np.full(3, 5e-5)), "forward Euler needs it in [0, 1]"),
    }


@pytest.mark.parametrize("case", list(_bad_graphs()))
def test_unsupported_graph_is_one_line_and_writes_nothing(case: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    graph, expected = _bad_graphs()[case]
    nir.write(tmp_path / "bad.nir", graph)
    assert main(["import", str(tmp_path / "bad.nir"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"razor-neuro import: error: {tmp_path / 'bad.nir'}: ") and expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nir"]


def test_not_a_nir_file_and_bad_check_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "junk.nir").write_bytes(b"not hdf5")
    assert main(["import", str(tmp_path / "junk.nir"), "--out", str(tmp_path / "a")]) == 2
    assert "junk.nir: not a readable NIR graph" in capsys.readouterr().err
    nir.write(tmp_path / "ok.nir", _graph())
    np.save(tmp_path / "x.npy", np.full((2, 5, 8), 2, np.uint8))
    assert main(["import", str(tmp_path / "ok.nir"), "--out", str(tmp_path / "b"),
                 "--check", str(tmp_path / "x.npy")]) == 2
    assert "shape (2, 5, 8); expected [N, 4, T]" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_graph_of_loihi_integers_is_kept_exactly(tmp_path: Path) -> None:
    graph = _graph(v_threshold=np.full(3, 40.0))  # gain (dt w_in/tau_syn)(dt r/tau_mem) = 1
    nir.write(tmp_path / "int.nir", graph)
    res = import_nir(tmp_path / "int.nir", tmp_path / "imp", dt=1e-4)
    layer = read_network(tmp_path / "imp" / "network.net").layers[0]
    assert res["dt_from"] == "--dt"
    assert res["layers"][0]["quantisation"]["exact"] and res["layers"][0]["vThMant"] == 40
    assert (layer.neuron.current_decay, layer.neuron.voltage_decay) == (819, 410)
    assert np.array_equal(layer.weight * 2.0 ** layer.weight_exp,
                          np.arange(12.0).reshape(3, 4) - 5)   # odd weights too: no rounding
    assert res["layers"][0]["quantisation"]["weight_rel_rms_error"] < 1e-12   # float noise


def _bias(layer: object) -> np.ndarray:
    """A layer's bias mantissas, zeros where the file has none."""
    return np.zeros(layer.output_shape, np.int64) if layer.bias is None else layer.bias


def compare_with_bundle(import_dir: Path, bundle_dir: Path, n_samples: int) -> dict:
    """Run an imported network (with the schedule from its graph) and a bundle (with its
    own) on Lava ``fixed_pt`` over the bundle's first ``n_samples`` test samples.

    Returns:
        ``mismatches`` (total (sample, neuron, step) positions where the two Lava runs'
        spikes differ, every layer), ``layers`` (per layer, as
        :class:`razor_neuro.export.backend.LayerCheck`), ``same_integers`` (every weight,
        bias, threshold and decay of the two network files is equal) and ``samples``.
    """
    import dataclasses

    from razor_neuro.export.backend import Deployment, Lava, compare
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import load_test_samples

    bundle = load_bundle(bundle_dir)
    imported = read_network(Path(import_dir) / "network.net")
    record = json.loads((Path(import_dir) / "import.json").read_text())
    sched = record.get("schedule") or {"layers": []}
    gates = {int(e["stage"]): np.asarray(e["keep_mask"]).astype(bool) for e in sched["layers"]}
    samples = load_test_samples(bundle, n_samples)
    own = Deployment.of_bundle(bundle, samples.x)
    checks = compare(Lava().run(own),
                     Lava().run(dataclasses.replace(own, network=imported, gates=gates))).outputs
    same = len(bundle.network.layers) == len(imported.layers) and all(
        p.kind == q.kind and p.neuron.threshold == q.neuron.threshold
        and p.neuron.current_decay == q.neuron.current_decay
        and p.neuron.voltage_decay == q.neuron.voltage_decay
        and np.array_equal(p.weight, q.weight) and p.weight_exp == q.weight_exp
        and np.array_equal(_bias(p), _bias(q))
        for p, q in zip(bundle.network.layers, imported.layers))
    return {"samples": n_samples, "mismatches": sum(c.mismatches for c in checks),
            "same_integers": bool(same), "layers": [dataclasses.asdict(c) for c in checks]}


@pytest.fixture(scope="module")
def razor(trained_bundle) -> tuple[Path, Path]:
    return trained_bundle((0.5, 0.75, 0.75, 0.75))


@pytest.mark.slow
def test_razor_checkpoint_to_nir_and_back_agrees_with_its_bundle(
        razor: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt, bundle = razor
    model = tmp_path / "razor.nir"
    assert main(["export", str(ckpt), "--target", "nir", "--out", str(model)]) == 0
    graph = nir.read(model)
    schedule = json.loads(graph.metadata["razor_schedule"])
    assert graph.metadata["razor_schedule_meaning"] == SCHEDULE_MEANING
    assert schedule["frames"] == 16 and len(schedule["layers"]) == 4
    assert [e["keep_ratio"] for e in schedule["layers"]] == [0.5, 0.75, 0.75, 0.75]
    assert main(["import", str(model), "--out", str(tmp_path / "imp")]) == 0
    assert "dt 0.001 s (graph metadata 'dt')" in capsys.readouterr().out
    res = json.loads((tmp_path / "imp" / "import.json").read_text())
    assert all(r["quantisation"]["exact"] for r in res["layers"])
    cmp = compare_with_bundle(tmp_path / "imp", bundle, 6)
    assert cmp["same_integers"]
    assert cmp["mismatches"] == 0 and sum(r["lava_spikes"] for r in cmp["layers"]) > 0
    # without the schedule the same network differs: the gates are carried, not ignored
    res["schedule"] = None
    (tmp_path / "imp" / "import.json").write_text(json.dumps(res))
    assert compare_with_bundle(tmp_path / "imp", bundle, 6)["mismatches"] > 0
    # an existing file is not replaced without --overwrite, and --overwrite only replaces NIR
    assert main(["export", str(ckpt), "--target", "nir", "--out", str(model)]) == 4
    assert main(["export", str(ckpt), "--target", "nir", "--out", str(ckpt), "--overwrite"]) == 4
    assert main(["export", str(ckpt), "--target", "nir", "--out", str(model), "--overwrite"]) == 0


def _example() -> object:
    spec = importlib.util.spec_from_file_location("snntorch_nir", ROOT / "examples" /
                                                  "snntorch_nir.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("neuron", ["synaptic", "leaky"])
def test_snntorch_example_short(neuron: str, tmp_path: Path) -> None:
    s = _example().run(tmp_path, neuron, epochs=1, train_samples=96, test_samples=8)
    assert s["verify_net_mismatches"] == 0 and s["lava_reference_mismatches_check"] == 0
    assert s["class_agreement_snntorch_nir"] == 1.0        # the float graph is snntorch's model
    assert 0.0 <= s["class_agreement_snntorch_lava"] <= 1.0
    assert (tmp_path / "report" / "report.md").is_file()
    assert json.loads((tmp_path / "summary.json").read_text()) == s


# ---- issue #26: refusals through the CLI, one line, nothing changed

def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _refused(argv: list[str], root: Path, capsys: pytest.CaptureFixture, code: int) -> str:
    """Run the CLI; it must exit ``code`` with one stderr line, no traceback, and leave
    every file under ``root`` as it was (nothing new, nothing missing).  Returns the line."""
    capsys.readouterr()
    before = _tree(root)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's refusals
        rc = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "Warning" not in err
    assert rc == code, err
    assert len(err.splitlines()) == 1, err
    assert _tree(root) == before
    return err.strip()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """``tmp_path/good.nir`` (:func:`_graph`) and ``tmp_path/chk.npy`` (2 samples x 8 steps)."""
    nir.write(tmp_path / "good.nir", _graph())
    np.save(tmp_path / "chk.npy", np.random.default_rng(0).integers(0, 2, (2, 4, 8), np.uint8))
    return tmp_path / "good.nir"


def test_import_overwrite_keeps_the_check_input(good: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """Item 1: ``--overwrite`` must not delete a ``--check`` file that sits in ``--out``."""
    out = tmp_path / "out" / "x"
    assert main(["import", str(good), "--out", str(out)]) == 0
    (out / "myinput.npy").write_bytes((tmp_path / "chk.npy").read_bytes())
    line = _refused(["import", str(good), "--out", str(out), "--check",
                     str(out / "myinput.npy"), "--overwrite"], tmp_path, capsys, 4)
    assert f"--out {out}: holds the input {out / 'myinput.npy'}" in line


def test_report_overwrite_keeps_a_profile_it_reads(good: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """Item 1, every command: a ``--profile`` TOML inside the report being replaced."""
    assert main(["import", str(good), "--out", str(tmp_path / "imp")]) == 0
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "report.json").write_text('{"format": "razor-neuro-report/1"}')
    (rep / "mine.toml").write_bytes((ROOT / "hw_profiles" / "loihi1.toml").read_bytes())
    line = _refused(["report", "--net", str(tmp_path / "imp" / "network.net"), "--input",
                     str(tmp_path / "chk.npy"), "--profile", str(rep / "mine.toml"), "--out",
                     str(rep), "--overwrite"], tmp_path, capsys, 4)
    assert "holds the input" in line and "mine.toml" in line


@pytest.fixture
def imported(good: Path, tmp_path: Path) -> Path:
    """:func:`_graph` imported: ``tmp_path/imp/network.net`` (4 inputs, 3 neurons), and
    ``tmp_path/x.npy``, a dense netx input [4, 8]."""
    assert main(["import", str(good), "--out", str(tmp_path / "imp")]) == 0
    np.save(tmp_path / "x.npy", np.random.default_rng(1).integers(0, 2, (4, 8), np.uint8))
    return tmp_path / "imp" / "network.net"


@pytest.mark.parametrize("command", ["verify", "report"])
def test_huge_steps_are_bad_input_before_any_allocation(
        command: str, imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Item 6: ``--steps 1e12`` was an ``_ArrayMemoryError`` traceback and exit 1
    ("mismatch"); now exit 2, one line, before the input is padded."""
    line = _refused([command, "--net", str(imported), "--input", str(tmp_path / "x.npy"),
                     "--steps", "1000000000000", "--out", str(tmp_path / "o")], tmp_path,
                    capsys, 2)
    need = 7 * 10**12 * 8 / 2**30  # (4 inputs + 3 neurons) x steps x one float64
    assert f"razor-neuro {command}: error: --steps 1000000000000: a run of 1000000000000 " \
           f"steps over 7 neurons needs at least {need:,.1f} GiB" in line


def _scheduled(tmp_path: Path, record: dict) -> Path:
    """:func:`_graph` with ``record`` as its ``razor_schedule`` metadata."""
    graph = _graph()
    graph.metadata = {"razor_schedule": json.dumps(record)}
    nir.write(tmp_path / "sched.nir", graph)
    return tmp_path / "sched.nir"


def _entry(mask: list[int]) -> dict:
    return {"stage": 0, "synapse": "fc", "neuron": "lif", "keep_mask": mask,
            "keep_ratio": float(np.mean(mask)) if mask else 0.0}


@pytest.mark.parametrize("record, text", [
    # item 3: the last entry won, so the stage ran unpruned while import.json listed the first
    ({"frames": 4, "layers": [_entry([1, 0, 1, 0]), _entry([1, 1, 1, 1])]},
     "stage 0 is listed twice"),
    ({"frames": 0, "layers": [_entry([])]}, "frames 0; expected an integer >= 1"),   # item 4
    ({"frames": 0, "layers": []}, "frames 0; expected an integer >= 1"),
    ({"frames": 4, "layers": [dict(_entry([1, 0, 1, 0]), stage=-1)]},
     "stage -1; the graph has stages 0..0"),
])
def test_schedule_metadata_edited_by_hand_is_refused(record: dict, text: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    path = _scheduled(tmp_path, record)
    line = _refused(["import", str(path), "--out", str(tmp_path / "imp")], tmp_path, capsys, 2)
    assert f"{path}: metadata 'razor_schedule': {text}" in line


def _empty_layer() -> nir.NIRGraph:
    """Item 7: a 0 x 4 Linear into a 0-neuron CubaLIF."""
    z = np.zeros(0)
    nodes = {"input": nir.Input(input_type={"input": np.array([4])}),
             "fc": nir.Linear(weight=np.zeros((0, 4))),
             "lif": nir.CubaLIF(tau_syn=z + 5e-4, tau_mem=z + 1e-3, r=z + 10, v_leak=z,
                                v_threshold=z + 1, w_in=z + 5),
             "output": nir.Output(output_type={"output": np.array([0])})}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
                        type_check=False)


def _with_dt(dt: float) -> nir.NIRGraph:
    graph = _graph()
    graph.metadata = {"dt": dt}
    return graph


@pytest.mark.parametrize("graph, options, text", [
    (_empty_layer, [], "node 'fc' (Linear): weight of shape (0, 4) has no output"),   # item 7
    # item 8: the NIR node and --dt, not a temporary file that no longer exists
    (_graph, ["--dt", "1e-9"], "node 'lif' (CubaLIF) after 'fc': dt 1e-09 s (--dt) makes "
                               "every weight of 'fc' round to 0"),
    # item 9: the metadata field, not --dt the user never passed
    (lambda: _with_dt(-1.0), [], "metadata 'dt' -1.0; expected a positive number of seconds"),
    (lambda: _with_dt(0.0), [], "metadata 'dt' 0.0; expected a positive number of seconds"),
])
def test_import_messages_name_the_node_or_field(graph: object, options: list[str], text: str,
                                                tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    nir.write(tmp_path / "g.nir", graph())
    line = _refused(["import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "imp"),
                     *options], tmp_path, capsys, 2)
    assert line.startswith(f"razor-neuro import: error: {tmp_path / 'g.nir'}: ") and text in line
    assert "--dt" in text or "--dt" not in line.split("(or pass --dt)")[0]


def test_negative_dt_reaches_the_range_check(good: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    """Item 10: ``--dt -1e-4`` was argparse's "expected one argument"."""
    line = _refused(["import", str(good), "--out", str(tmp_path / "imp"), "--dt", "-1e-4"],
                    tmp_path, capsys, 2)
    assert line == "razor-neuro import: error: --dt -0.0001: expected a positive number of seconds"


def test_check_input_of_complex_numbers_is_refused(good: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """Item 11: a complex ``--check`` array was cast with a ComplexWarning."""
    np.save(tmp_path / "c.npy", np.ones((2, 4, 8), np.complex64))
    line = _refused(["import", str(good), "--out", str(tmp_path / "imp"), "--check",
                     str(tmp_path / "c.npy")], tmp_path, capsys, 2)
    assert f"--check {tmp_path / 'c.npy'}: dtype complex64; expected [N, 4, T]" in line


def test_single_sample_check_keeps_stderr_clean(good: Path, tmp_path: Path) -> None:
    """Item 11: one sample ``[4, T]`` passed but printed torch's 2-line UserWarning (a
    read-only broadcast handed to torch); a fresh process, as the warning shows once."""
    import subprocess
    import sys

    np.save(tmp_path / "one.npy", np.load(tmp_path / "chk.npy")[0])
    done = subprocess.run([sys.executable, "-m", "razor_neuro.cli", "import", str(good),
                           "--out", str(tmp_path / "imp"), "--check", str(tmp_path / "one.npy"),
                           "--threads", "1"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads((tmp_path / "imp" / "import.json").read_text())["check"]["samples"] == 1


def test_verify_json_is_the_log_of_the_latest_run(imported: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """Item 13, as documented (README, ``verify --help``): each verify replaces
    ``verify.json`` whole with its own record; nothing else is left in ``--out``."""
    out = tmp_path / "v"
    np.save(tmp_path / "y.npy", np.ones((4, 5), np.uint8))
    assert main(["verify", "--net", str(imported), "--input", str(tmp_path / "x.npy"),
                 "--out", str(out)]) == 0
    assert json.loads((out / "verify.json").read_text())["steps"] == 8
    assert main(["verify", "--net", str(imported), "--input", str(tmp_path / "y.npy"),
                 "--out", str(out)]) == 0
    record = json.loads((out / "verify.json").read_text())
    assert record["steps"] == 5 and record["input"] == str(tmp_path / "y.npy")
    assert [p.name for p in out.iterdir()] == ["verify.json"]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "each run replaces it whole" in " ".join(capsys.readouterr().out.split())


# ---- issue #26: from_snntorch reads the model, not the lossy file

def _scalar_net(**neuron: object) -> torch.nn.Sequential:
    """:func:`_snntorch_net` with scalar parameters and ``neuron`` settings for every
    neuron (Loihi's reset unless overridden)."""
    import snntorch as snn

    torch.manual_seed(0)
    common = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False) | neuron
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False),
        snn.Synaptic(alpha=0.7, beta=0.9, **common),
        torch.nn.Flatten(),
        torch.nn.Linear(256, 24, bias=False),
        snn.Synaptic(alpha=0.8, beta=0.9, **common),
        torch.nn.Linear(24, 5),
        snn.Leaky(beta=0.9, output=True, **common))
    with torch.no_grad():
        for m in net:
            if hasattr(m, "weight"):
                m.weight.mul_(3)
    return net


@pytest.mark.parametrize("sample", [torch.zeros(2, 16, 16), torch.zeros(1, 2, 16, 16)])
def test_from_snntorch_vectorises_scalars_and_keeps_snntorch_dynamics(
        sample: torch.Tensor, tmp_path: Path) -> None:
    from razor_neuro.export.nir import from_snntorch

    net = _scalar_net()
    net(torch.ones(3, 2, 16, 16))  # hidden states of a training step: not graph leaves
    path = from_snntorch(net, sample, tmp_path / "net.nir")
    assert net[1].alpha.shape == ()  # the user's network is not modified
    chain = read_chain(path)
    assert [type(s.neuron).__name__ for s in chain.stages] == ["CubaLIF", "CubaLIF", "LIF"]
    assert chain.input_shape == (2, 16, 16) and chain.metadata["dt"] == 1e-4
    assert np.asarray(chain.stages[0].neuron.tau_syn).shape == (4, 8, 8)
    x = (np.random.RandomState(1).rand(4, 2, 16, 16, 12) < 0.2).astype(np.uint8)
    for ours, theirs in zip(simulate(chain, x, 1e-4), _snntorch_forward(net, x)):
        assert ours.sum() > 0 and np.array_equal(ours, theirs)
    assert [p.name for p in tmp_path.iterdir()] == ["net.nir"]


def _biased_synaptic() -> torch.nn.Sequential:
    import snntorch as snn
    return torch.nn.Sequential(torch.nn.Linear(8, 5), snn.Synaptic(
        alpha=0.8, beta=0.9, init_hidden=True, output=True, reset_mechanism="zero",
        reset_delay=False))


@pytest.mark.parametrize("make, sample, text", [
    # snntorch's defaults: subtract reset, reset delay; refused, never imported as other dynamics
    (lambda: _default_leaky(), torch.zeros(8),
     "module '1' (snn.Leaky): reset_mechanism='subtract' subtracts the threshold from the "
     "voltage after a spike; Loihi sets it to 0: set reset_mechanism='zero'"),
    (lambda: _scalar_net(reset_delay=True), torch.zeros(2, 16, 16),
     "module '1' (snn.Synaptic): reset_delay=True resets the voltage one step after the "
     "spike; Loihi resets in the same step: set reset_delay=False"),
    (_biased_synaptic, torch.zeros(8),
     "module '0' (Linear): its bias feeds the current of '1' (snn.Synaptic), which persists; "
     "Loihi adds a bias to the voltage: set bias=False on '0'"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(8, 5), torch.nn.ReLU()), torch.zeros(8),
     "module '1' (ReLU): export_to_nir has no NIR node for it and would drop it"),
])
def test_from_snntorch_refuses_what_loihi_cannot_run(make: object, sample: torch.Tensor,
                                                      text: str, tmp_path: Path) -> None:
    from razor_neuro.export.nir import from_snntorch
    from razor_neuro.export.nir.read import NirError

    with pytest.raises(NirError) as info:
        from_snntorch(make(), sample, tmp_path / "net.nir")
    assert "\n" not in str(info.value) and text in str(info.value)
    assert list(tmp_path.iterdir()) == []


def _default_leaky() -> torch.nn.Sequential:
    """snntorch's README network: every setting at its default."""
    import snntorch as snn
    return torch.nn.Sequential(torch.nn.Linear(8, 5), snn.Leaky(beta=0.9, init_hidden=True),
                               torch.nn.Linear(5, 3), snn.Leaky(beta=0.9, init_hidden=True,
                                                                output=True))
