"""The compiled leaky-integrator dynamics equal slayer's own CPU loop bit for bit."""
from __future__ import annotations

import pytest
import torch

from razor_neuro import _compat

_compat.slayer()
from lava.lib.dl.slayer.neuron.dynamics import leaky_integrator  # noqa: E402


def _case(g: torch.Generator, trial: int):
    shape = tuple(int(torch.randint(1, hi, (1,), generator=g)) for hi in (5, 40, 30))
    x = (torch.randn(shape, generator=g) * float(torch.rand(1, generator=g) * 40))
    decay = torch.tensor([float(torch.randint(0, 4097, (1,), generator=g))])
    state = torch.randn(shape[:-1], generator=g) * 3 if trial % 2 else torch.zeros(1)
    threshold = None if trial % 3 == 0 else float(torch.rand(1, generator=g) * 3)
    w_scale = 1 << int(torch.randint(0, 13, (1,), generator=g))
    return x, decay, state, w_scale, threshold


def test_installed_by_compat():
    assert hasattr(leaky_integrator.dynamics, "original")


@pytest.mark.parametrize("seed", range(4))
def test_forward_and_backward_equal_slayers_loop(seed):
    g = torch.Generator().manual_seed(seed)
    for trial in range(50):
        x, decay, state, w_scale, threshold = _case(g, trial)
        grad = torch.randn(x.shape, generator=g)
        ours_x, theirs_x = x.clone().requires_grad_(), x.clone().requires_grad_()
        ours = leaky_integrator.dynamics(ours_x, decay, state, w_scale, threshold)
        theirs = leaky_integrator.dynamics.original(theirs_x, decay, state, w_scale, threshold)
        assert torch.equal(ours, theirs), (seed, trial)
        (ours * grad).sum().backward()
        (theirs * grad).sum().backward()
        assert torch.equal(ours_x.grad, theirs_x.grad), (seed, trial)


def test_cuba_block_unchanged():
    """A whole slayer CUBA conv block (weights, both dynamics, spikes) with and without the
    compiled path: identical spikes and weight gradients."""
    slayer = _compat.slayer()
    torch.manual_seed(3)
    neuron = dict(threshold=1.25, current_decay=0.25, voltage_decay=0.03, requires_grad=False)
    block = slayer.block.cuba.Conv(neuron, 2, 4, 3, padding=1, weight_scale=2, delay_shift=False)
    x = (torch.rand(3, 2, 8, 8, 12) < 0.3).float()
    compiled = leaky_integrator.dynamics
    outs, grads = [], []
    for dynamics in (compiled, compiled.original):
        leaky_integrator.dynamics = dynamics
        try:
            block.zero_grad()
            out = block(x)
            out.sum().backward()
        finally:
            leaky_integrator.dynamics = compiled
        outs.append(out.detach())
        grads.append(block.synapse.weight.grad.clone())
    assert outs[0].sum() > 0
    assert torch.equal(outs[0], outs[1])
    assert torch.equal(grads[0], grads[1])
