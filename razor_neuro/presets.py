"""The model presets, one per dataset family: ``PRESETS[name]`` is a :class:`ModelConfig`.

Pooling is expressed as strided convolutions: netx 0.6 cannot build a Pool block
(``NotImplementedError: pool``), and a strided conv is a pooling that netx runs.
"""
from __future__ import annotations

from razor_neuro.model_config import LayerConfig, ModelConfig


def _conv(out: int, k: int, s: int, p: int) -> LayerConfig:
    return LayerConfig("conv", out, k, s, p)


PRESETS: dict[str, ModelConfig] = {
    # small and fast: the built-in default
    "synthetic": ModelConfig((2, 32, 32), 6, 16, (
        _conv(8, 3, 2, 1), _conv(16, 3, 2, 1), LayerConfig("flatten"),
        LayerConfig("dense", 64), LayerConfig("dense", 6))),
    # sized after the paper's DVS networks (pooling as strided conv)
    "dvs_gesture": ModelConfig((2, 128, 128), 11, 16, (
        _conv(16, 5, 4, 2), _conv(32, 3, 1, 1), _conv(32, 3, 2, 1), _conv(64, 3, 1, 1),
        _conv(64, 3, 2, 1), LayerConfig("flatten"), LayerConfig("dense", 512), LayerConfig("dense", 11))),
    "ncaltech101": ModelConfig((2, 180, 240), 101, 10, (
        _conv(16, 5, 4, 2), _conv(32, 3, 1, 1), _conv(64, 3, 2, 1), _conv(64, 3, 2, 1),
        LayerConfig("flatten"), LayerConfig("dense", 512), LayerConfig("dense", 101))),
    "cifar10_dvs": ModelConfig((2, 128, 128), 10, 10, (
        _conv(16, 5, 4, 2), _conv(32, 3, 1, 1), _conv(64, 3, 2, 1), _conv(64, 3, 2, 1),
        LayerConfig("flatten"), LayerConfig("dense", 512), LayerConfig("dense", 10))),
    "shd": ModelConfig((700,), 20, 100, (
        LayerConfig("dense", 256), LayerConfig("dense", 256), LayerConfig("dense", 20))),
    # T = 20 frames of ~15 ms: the saccades' silent gaps are frames the schedule can prune
    # (why this network and T: docs/design.md, "The N-MNIST preset")
    "nmnist": ModelConfig((2, 34, 34), 10, 20, (
        _conv(16, 4, 4, 1), _conv(32, 3, 2, 1), LayerConfig("flatten"), LayerConfig("dense", 10))),
}
