"""Training a Razor SNN: :mod:`.loop` (``train``), :mod:`.policies` (per-epoch keep ratio,
re-weighting, learning rate, frame dropout), :mod:`.probe` (frame importance),
:mod:`.checkpoint` (``checkpoint.pt``), :mod:`.config` (``TrainConfig``), :mod:`.datasets`,
:mod:`.evaluate` and :mod:`.distributed`.

Imports nothing itself, so ``razor_neuro.training.config`` stays free of torch and
``razor_neuro.training.checkpoint`` free of the loop.
"""
