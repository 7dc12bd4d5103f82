"""Benchmark 4: training speed and peak memory of the Razor SNN preset vs. an snntorch twin.

All variants train on the same batch (the synthetic preset: conv 2→8 k3 s2 p1, conv 8→16
k3 s2 p1, flatten, dense 1024→64, dense 64→6; 2×32×32 input, T = 16), with the same
loss (the training's default, ``razor_neuro.training.loop.make_loss``: the cross-entropy
of the output spike counts, summed) and optimiser (Adam, lr 3e-3).  One training step =
forward, loss, backward, optimiser step.  Each round times ``probe_every`` steps of every
variant (the full step's probed batch and the unprobed ones after it), variant after
variant, so each round's ratios compare steps taken side by side in one process.

Variants
  razor, EPM on, full training step  the mean step of ``razor_neuro.training.loop``'s epoch
                                     while the schedule is being learned, at keep ratio 0.5
                                     and attention re-weighting 0.5 (mid-anneal): the gated,
                                     re-weighted forward/backward with frame dropout, and on
                                     one batch in ``probe_every`` two extra no-grad forward
                                     passes that probe random frame drops
                                     (``FrameProbe.measure``) and the embedding regression
                                     (``FrameProbe.learn``)
  razor, EPM on, no probes           the gated, re-weighted forward/backward only
  razor, EPM off                     the same slayer blocks without any EPM
  slayer blocks, slayer's CPU loop   the EPM-off step with slayer's own Python loop for
                                     the leaky-integrator dynamics instead of the compiled
                                     one (``razor_neuro.li_dynamics``, the same integers)
  snntorch twin, per-step loop       ``nn.Conv2d``/``nn.Linear`` + ``snn.Synaptic`` called
                                     once per time step (the usual snntorch idiom)
  snntorch twin, synapses over all T the twin with each layer's synapse applied to all T
                                     frames at once (as slayer does), then the neuron loop

The twin: the same layer shapes, the same initial weights (slayer's effective weights:
weight-normed and 8-bit quantised), ``snn.Synaptic(alpha = 1 - current_decay,
beta = 1 - voltage_decay)`` with slayer's decays *after* its 12-bit quantisation,
threshold 1.25, ``reset_mechanism="zero", reset_delay=False`` (so that v = 0 right after a
spike and v = u on the next step, as slayer's CUBA), and slayer's surrogate gradient
(``scale/2/tau · exp(-|v - θ|/tau)`` with slayer's tau and scale) through
``snntorch.surrogate.custom_surrogate``.  Remaining differences: slayer keeps u and v in
fixed point (1/4096 steps, truncated toward zero every step) and quantises weights to 8
bits in every forward, the twin is float32 and trains plain weights (no weight norm, no
quantisation); slayer spikes at v ≥ θ + 0.01/4096, snntorch at v > θ; slayer's backward
ignores the reset, snntorch back-propagates through it.  The forward agreement table
measures what these differences amount to.

Peak memory (CPU): peak RSS increase of one training step, from ``getrusage(RUSAGE_SELF)
.ru_maxrss`` before and after the step in a child process forked just before it (a fresh
high-water mark per measurement), with glibc told to ``mmap`` every allocation of 64 KiB
or more and to trim freed memory first, so that the step's tensors show up in RSS.
tracemalloc is not used: it sees only Python's allocator, not torch's tensor memory.
On CUDA: ``torch.cuda.max_memory_allocated`` above the memory allocated before the step.
"""
from __future__ import annotations

import ctypes
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, ratio, table  # noqa: E402


def build_twin(razor, folded: bool):
    """The snntorch twin of ``razor``'s slayer blocks (see the module docstring)."""
    import snntorch as snn
    import torch
    from snntorch import surrogate
    from torch import nn
    from lava.lib.dl.slayer.neuron.cuba import SCALE_RHO_MULT, TAU_RHO_MULT
    from lava.lib.dl.slayer.utils import quantize

    class Twin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.folded = folded
            self.kinds: list[str] = []
            self.synapses = nn.ModuleList()
            self.neurons = nn.ModuleList()
            for block, layer in zip(razor.blocks, razor.config.layers):
                if layer.kind == "flatten":
                    self.kinds.append("flatten")
                    continue
                with torch.no_grad():
                    w = block.synapse.pre_hook_fx(block.synapse.weight).detach().clone()
                if layer.kind == "conv":
                    syn = nn.Conv2d(w.shape[1], w.shape[0], layer.kernel, layer.stride,
                                    layer.padding, bias=False)
                    syn.weight.data.copy_(w[..., 0])
                else:
                    syn = nn.Linear(w.shape[1], w.shape[0], bias=False)
                    syn.weight.data.copy_(w.reshape(w.shape[0], w.shape[1]))
                neuron = block.neuron
                p = float(neuron.p_scale)
                alpha = 1.0 - float(quantize(neuron.current_decay)) / p
                beta = 1.0 - float(quantize(neuron.voltage_decay)) / p
                tau = float(neuron.tau_rho * TAU_RHO_MULT)
                scale = float(neuron.scale_rho * SCALE_RHO_MULT)

                def grad(input_, grad_input, spikes, tau=tau, scale=scale):
                    return grad_input * (scale / 2 / tau) * torch.exp(-input_.abs() / tau)

                self.kinds.append(layer.kind)
                self.synapses.append(syn)
                self.neurons.append(snn.Synaptic(
                    alpha=alpha, beta=beta, threshold=float(neuron.threshold),
                    spike_grad=surrogate.custom_surrogate(grad), reset_mechanism="zero",
                    reset_delay=False))

        def forward(self, x, record: bool = False):
            """``x`` [N, C, H, W, T] -> output spikes [N, classes, T] (and per-layer spikes)."""
            for neuron in self.neurons:
                neuron.reset_mem()
            return self._folded(x, record) if self.folded else self._stepped(x, record)

        def _stepped(self, x, record):
            outs, layers = [], [[] for _ in self.synapses]
            for t in range(x.shape[-1]):
                h, j = x[..., t], 0
                for kind in self.kinds:
                    if kind == "flatten":
                        h = h.flatten(1)
                        continue
                    h, _, _ = self.neurons[j](self.synapses[j](h))
                    if record:
                        layers[j].append(h)
                    j += 1
                outs.append(h)
            out = torch.stack(outs, -1)
            return (out, [torch.stack(s, -1) for s in layers]) if record else out

        def _folded(self, h, record):
            layers, j = [], 0
            for kind in self.kinds:
                if kind == "flatten":
                    h = h.flatten(1, -2)
                    continue
                n, T = h.shape[0], h.shape[-1]
                frames = h.movedim(-1, 1).reshape(n * T, *h.shape[1:-1])
                z = self.synapses[j](frames)
                z = z.reshape(n, T, *z.shape[1:]).movedim(1, -1)
                h = torch.stack([self.neurons[j](z[..., t])[0] for t in range(T)], -1)
                layers.append(h)
                j += 1
            return (h, layers) if record else h

    return Twin()


FULL = "razor, EPM on, full training step"
PLAIN = "slayer blocks, slayer's CPU loop"


def make_variants(batch: int, device: str, smoke: bool):
    """``(name, step function)`` per variant, and the shared batch and a forward check."""
    import torch
    from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec
    from razor_neuro.model import RazorSNN
    from razor_neuro.presets import PRESETS
    from razor_neuro.training.config import TrainConfig
    from razor_neuro.training.loop import make_loss
    from razor_neuro.training.policies import frame_dropout
    from razor_neuro.schedule import layer_name
    from razor_neuro.training.probe import FrameProbe

    cfg = TrainConfig(keep_ratio=0.5)
    mcfg = PRESETS["synthetic"]
    data = SyntheticEvents(SyntheticSpec(n_samples=max(batch, 8) * 2, frames=mcfg.frames), train=True)
    xs, ys = zip(*(data[i] for i in range(batch)))
    x, y = torch.stack(xs).to(device), torch.tensor(ys).to(device)
    loss_fn = make_loss(cfg)
    reweight = 0.5

    def razor():
        torch.manual_seed(0)
        return RazorSNN(mcfg, seed=0).to(device)

    def adam(params):
        return torch.optim.Adam([p for p in params if p.requires_grad], lr=cfg.lr)

    def sgd_step(opt, loss):
        opt.zero_grad()
        loss.backward()
        opt.step()

    full, gated, off = razor(), razor(), razor()
    opt_full, opt_gated, opt_off = adam(full.parameters()), adam(gated.parameters()), adam(off.blocks.parameters())
    probe, probe_gen = FrameProbe(cfg, len(full.epms), mcfg.frames, torch.device(device)), \
        torch.Generator().manual_seed(1)

    masks_full, masks_gated = full.masks(cfg.keep_ratio), gated.masks(cfg.keep_ratio)

    def step_full():
        """``cfg.probe_every`` batches of ``razor_neuro.training.loop``'s epoch while the
        schedule is learned: each a train step with frame dropout, the first also probing
        random frame drops (two no-grad forwards) and the embedding regression."""
        for i in range(cfg.probe_every):
            batch = probe.measure(full, x, y, reweight, probe_gen) if i == 0 else None
            train_masks = frame_dropout(masks_full, len(y), cfg.frame_dropout, probe_gen)
            sgd_step(opt_full, loss_fn(full(x, train_masks, reweight), y))
            if batch is not None:
                probe.learn(full, batch)

    def step_gated():
        sgd_step(opt_gated, loss_fn(gated(x, masks_gated, reweight), y))

    def blocks_forward(model, inp):
        for block in model.blocks:
            inp = block(inp)
        return inp

    def step_off():
        sgd_step(opt_off, loss_fn(blocks_forward(off, x), y))

    from lava.lib.dl.slayer.neuron.dynamics import leaky_integrator
    plain = razor()
    opt_plain = adam(plain.blocks.parameters())

    def step_plain():
        """The EPM-off step with slayer's own CPU leaky-integrator loop (what
        ``razor_neuro.li_dynamics`` replaces; on CUDA both are slayer's kernel)."""
        compiled = leaky_integrator.dynamics
        leaky_integrator.dynamics = compiled.original
        try:
            sgd_step(opt_plain, loss_fn(blocks_forward(plain, x), y))
        finally:
            leaky_integrator.dynamics = compiled

    # twins start from the EPM-off model's initial weights (built before it trains)
    twin_src = razor()
    with torch.no_grad():
        blocks_forward(twin_src, x[:1])  # sets Flatten shapes, as before export
    twin, twin_f = build_twin(twin_src, False).to(device), build_twin(twin_src, True).to(device)
    opt_twin, opt_twin_f = adam(twin.parameters()), adam(twin_f.parameters())

    def step_twin():
        sgd_step(opt_twin, loss_fn(twin(x), y))

    def step_twin_f():
        sgd_step(opt_twin_f, loss_fn(twin_f(x), y))

    def agreement():
        """Per-layer forward spikes of slayer (EPM off) vs the twin, same initial weights."""
        with torch.no_grad():
            ref, rec = x, []
            for block in twin_src.blocks:
                ref = block(ref)
                if hasattr(block, "synapse"):
                    rec.append(ref)
            _, tw = build_twin(twin_src, False).to(device)(x, record=True)
        return [(layer_name(i), int(a.sum()), int(b.sum()), int((a.bool() != b.bool()).sum()),
                 a.numel()) for i, (a, b) in enumerate(zip(rec, tw))]

    variants = [(FULL, step_full),
                ("razor, EPM on, no probes", step_gated),
                ("razor, EPM off (slayer blocks)", step_off),
                (PLAIN, step_plain),
                ("snntorch twin, per-step loop", step_twin),
                ("snntorch twin, synapses over all T", step_twin_f)]
    return variants, agreement, cfg.probe_every


def _glibc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018
        return libc
    except (OSError, AttributeError):
        return None


def rss_peak_mib(step, libc) -> float | None:
    """Peak RSS increase (MiB) of one call of ``step`` in a forked child (Linux/glibc)."""
    if libc is None or not hasattr(os, "fork"):
        return None
    libc.malloc_trim(0)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: one step, report the high-water-mark increase
        code = 0
        try:
            os.close(r)
            import torch
            torch.set_num_threads(1)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            step()
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            os.write(w, str((after - before) / 1024).encode())  # ru_maxrss is KiB on Linux
        except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    _, status = os.waitpid(pid, 0)
    return float(text) if status == 0 and text else None


def cuda_peak_mib(step) -> float:
    import torch
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2 ** 20


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0], repeats=5)
    p.add_argument("--batch", type=int, default=None, help="batch size (default 32; 4 with --smoke)")
    args = common.parse(p, argv)
    batch = args.batch or (4 if args.smoke else 32)
    common.header("4. Training speed: Razor SNN (slayer) vs. snntorch twin, EPM on vs. off", args)
    variants, agreement, probe_every = make_variants(batch, args.device, args.smoke)
    for _, step in variants:  # warm-up: first-call allocations, lazy shapes
        step()
    times = {name: [] for name, _ in variants}
    def steps(name, step):
        """``probe_every`` training steps of variant ``name`` (one call of the full step)."""
        if name == FULL:
            return step
        return lambda: [step() for _ in range(probe_every)]

    for _ in range(args.repeats):
        for name, step in variants:
            seconds, _ = common.timed(steps(name, step), args.device)
            times[name].append(seconds / probe_every)
    stats = {name: Stat.of(v) for name, v in times.items()}

    mem: dict[str, Stat | None] = {}
    mem_repeats = min(args.repeats, 3)
    cuda = args.device.startswith("cuda")
    libc = None if cuda else _glibc()
    if libc is not None:  # after the timing: affects allocation speed
        libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD: mmap (and unmap on free) >= 64 KiB
        libc.mallopt(-1, 0)          # M_TRIM_THRESHOLD: give freed heap tops back at once
    for name, step in variants:
        vals = [cuda_peak_mib(step) if cuda else rss_peak_mib(step, libc)
                for _ in range(mem_repeats)]
        mem[name] = Stat.of(vals) if all(v is not None for v in vals) else None

    base = "razor, EPM off (slayer blocks)"
    twin = "snntorch twin, per-step loop"
    rows = []
    for name, _ in variants:
        s, m = stats[name], mem[name]
        rows.append([name, s.fmt(scale=1e3), s.inverse().scaled(batch).fmt(),
                     ratio(stats[name], stats[base]).fmt(suffix="×"),
                     ratio(stats[name], stats[twin]).fmt(suffix="×"),
                     "n/a" if m is None else m.fmt(), "n/a" if m is None or mem[base] is None
                     else ratio(m, mem[base]).fmt(suffix="×") if mem[base].median > 0 else "—"])
    mem_how = ("CUDA max_memory_allocated above the step's start" if cuda else
               "peak RSS increase of one step, getrusage ru_maxrss in a forked child")
    emit(table(["variant", "ms per step", "samples/s", "vs razor EPM off", "vs snntorch per-step",
                "peak memory MiB", "memory vs razor EPM off"], rows,
               f"Training step, batch {batch} × 2×32×32 × T=16, {args.device} "
               f"(median [min–max]: time per step over {args.repeats} interleaved rounds of "
               f"{probe_every} steps each, memory over "
               f"{mem_repeats})",
               [f"Ratios are per round (the variants' steps of one round run back to back in one "
                f"process). Peak memory: {mem_how}."]))
    full, gated = stats["razor, EPM on, full training step"], stats["razor, EPM on, no probes"]
    emit(f"- EPM on vs off: the full training step takes {ratio(full, stats[base]).fmt(suffix='×')} "
         f"the EPM-off step, the gated/re-weighted step alone "
         f"{ratio(gated, stats[base]).fmt(suffix='×')}.")
    emit(f"- The compiled leaky integrator: the EPM-off step takes "
         f"{ratio(stats[base], stats[PLAIN]).fmt(suffix='×')} the same step with slayer's own "
         f"CPU loop; the full Razor step {ratio(full, stats[PLAIN]).fmt(suffix='×')}.")
    emit(f"- slayer vs snntorch: the EPM-off Razor step takes "
         f"{ratio(stats[base], stats[twin]).fmt(suffix='×')} the snntorch per-step twin's, "
         f"{ratio(stats[base], stats['snntorch twin, synapses over all T']).fmt(suffix='×')} "
         f"the time-folded twin's.")
    emit()
    rows = [[name, a, b, f"{d:,} ({100 * d / max(a, 1):.1f}% of slayer's spikes)",
             f"{100 * (1 - d / n):.2f}%"] for name, a, b, d, n in agreement()]
    emit(table(["layer", "slayer spikes", "twin spikes", "positions that differ",
                "agreement over all positions"], rows,
               f"Forward agreement of the twin with slayer (same initial weights, the same batch "
               f"of {batch}, before training)",
               ["What fixed-point vs float state, the ≥ vs > threshold test and rounding of the "
                "decays amount to; differences compound layer by layer."]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
