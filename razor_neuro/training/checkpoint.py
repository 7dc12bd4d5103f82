"""``checkpoint.pt``: the training state after an epoch, saved by the loop and read back by
``--resume`` and by export (which rebuilds the trained model and its frame schedule).

Imports no part of the training loop: export reads checkpoints without it.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from razor_neuro.atomic import write_file
from razor_neuro.errors import ArtefactError
from razor_neuro.model import RazorSNN
from razor_neuro.model_config import ModelConfig
from razor_neuro.schedule import MODES, FrameSchedule
from razor_neuro.training.config import TrainConfig, TrainError, with_later_fields


class CheckpointError(ArtefactError):
    """A file that is not a usable razor-neuro checkpoint."""


_KEYS = ("model", "model_config", "train_config", "dataset", "epoch", "history")


@dataclass
class Checkpoint:
    """The content of ``checkpoint.pt``.

    Attributes:
        model: the model's ``state_dict`` (weights, EPM embeddings, neuron parameters).
        model_config: :meth:`ModelConfig.to_dict`.
        train_config: the :class:`TrainConfig` as a dict.
        dataset: the dataset spec (:func:`razor_neuro.data.dataset_from_spec`).
        epoch: the last epoch trained, counted from 0.
        history: one record per epoch trained (``epoch``, ``keep_ratio``, ``reweight``,
            ``deploy_accuracy``, ``train_path_accuracy``).
        keep_ratios: that epoch's keep ratio per gated layer, export's schedule (None in
            checkpoints written before keep ratios were per layer).
        optimizer: the optimiser's ``state_dict``.
        rng: torch's global random state after the epoch.
        probe: :meth:`razor_neuro.training.probe.FrameProbe.state_dict`.
    """

    model: dict[str, torch.Tensor]
    model_config: dict[str, Any]
    train_config: dict[str, Any]
    dataset: dict[str, Any]
    epoch: int
    history: list[dict[str, Any]]
    keep_ratios: list[float] | None = None
    optimizer: dict[str, Any] | None = None
    rng: torch.Tensor | None = None
    probe: dict[str, torch.Tensor] | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """:attr:`train_config` with the defaults of the fields added after it was written
        (:func:`~razor_neuro.training.config.with_later_fields`)."""
        return with_later_fields(self.train_config)

    def save(self, path: Path) -> None:
        """Write the checkpoint to ``path`` atomically."""
        buffer = io.BytesIO()
        torch.save({"model": self.model, "optimizer": self.optimizer,
                    "model_config": self.model_config, "train_config": self.train_config,
                    "keep_ratios": self.keep_ratios, "dataset": self.dataset,
                    "epoch": self.epoch, "history": self.history, "rng": self.rng,
                    "probe": self.probe}, buffer)
        write_file(path, buffer.getvalue())

    @classmethod
    def read(cls, path: str | Path, device: str | torch.device = "cpu") -> "Checkpoint":
        """Read ``checkpoint.pt``, tensors on ``device``.  A checkpoint written while the
        probe's state was part of the model (``probe_gram``/``probe_rhs`` in ``model``)
        reads with that state as :attr:`probe`.

        Raises:
            CheckpointError: missing, truncated, not a torch file (random bytes, text), or a
                torch file that is not a razor-neuro checkpoint.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file (razor-neuro train writes "
                                  "OUT/checkpoint.pt)")
        try:
            raw = torch.load(path, map_location=device, weights_only=False)
        except Exception as exc:  # unpickling arbitrary bytes can raise almost anything
            raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}); expected "
                                  "OUT/checkpoint.pt of razor-neuro train") from exc
        missing = [k for k in _KEYS if not isinstance(raw, dict) or k not in raw]
        if missing:
            raise CheckpointError(f"{path}: not a razor-neuro checkpoint (missing {missing}); "
                                  "expected OUT/checkpoint.pt of razor-neuro train")
        probe = raw.get("probe")
        if probe is None and isinstance(raw["model"], dict) and \
                {"probe_gram", "probe_rhs"} <= raw["model"].keys():
            probe = {"gram": raw["model"].pop("probe_gram"), "rhs": raw["model"].pop("probe_rhs")}
        return cls(raw["model"], raw["model_config"], raw["train_config"], raw["dataset"],
                   raw["epoch"], raw["history"], raw.get("keep_ratios"), raw.get("optimizer"),
                   raw.get("rng"), probe)

    def require(self, field: str) -> Any:
        """The value of ``field``; :class:`KeyError` naming it where this checkpoint has none."""
        value = getattr(self, field)
        if value is None:
            raise KeyError(field)
        return value


def read_resumable(path: Path, cfg: TrainConfig, mcfg: ModelConfig,
                   device: torch.device) -> Checkpoint:
    """The checkpoint ``--resume`` continues: a razor-neuro checkpoint of the same model and
    settings (only ``--epochs`` may grow), with fewer epochs than ``cfg.epochs``.

    Raises:
        CheckpointError: unreadable or from another model or settings.
        TrainError: ``cfg.epochs`` not above the epochs already trained.
    """
    ckpt = Checkpoint.read(path, device)
    done = int(ckpt.epoch) + 1
    if cfg.epochs <= done:
        raise TrainError(f"--epochs {cfg.epochs}: {path} has already trained {done} epoch(s); "
                         f"expected more than {done} to continue training")
    if ckpt.model_config != mcfg.to_dict():
        theirs, ours = ckpt.model_config, mcfg.to_dict()
        fields = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
        raise CheckpointError(f"{path}: trained with another model configuration (differs in "
                              f"{', '.join(fields)}); resume with the same "
                              "--dataset/--config/--frames")
    if ckpt.settings != asdict(cfg) | {"epochs": ckpt.train_config["epochs"]}:
        raise CheckpointError(f"{path}: checkpoint was trained with other settings; "
                              "resume with the same arguments (only --epochs may grow)")
    return ckpt


def check_finite(model: torch.nn.Module, source: str) -> None:
    """Raise :class:`CheckpointError` naming the first parameter or buffer (weights,
    biases, EPM embeddings, neuron parameters) that holds NaN or infinity."""
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CheckpointError(f"{source}: '{name}' holds {bad} NaN/infinite value(s); "
                                  "expected finite numbers (the training run diverged)")


def load_checkpoint(path: str | Path) -> tuple[RazorSNN, Checkpoint]:
    """Rebuild the trained model from ``checkpoint.pt``; returns ``(model, checkpoint)``.

    The model is in eval mode on CPU; every weight, bias, embedding and neuron parameter
    is finite (:func:`check_finite`).
    """
    ckpt = Checkpoint.read(path)
    mode = ckpt.settings["prune_mode"]
    if mode not in MODES:
        raise CheckpointError(f"{path}: train_config.prune_mode is {mode!r:.40}; expected one "
                              f"of {', '.join(MODES)}")
    try:
        model = RazorSNN(ModelConfig.from_dict(ckpt.model_config, f"{path}: model_config"),
                         seed=ckpt.train_config["seed"], prune_mode=mode,
                         readout_steps=ckpt.settings["readout_steps"])
        model.load_state_dict(ckpt.model)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a razor-neuro checkpoint "
                              f"({str(exc).splitlines()[0]})") from exc
    check_finite(model, str(path))
    model.eval()
    return model, ckpt


def schedule_from_model(model: RazorSNN, masks: torch.Tensor) -> FrameSchedule:
    """The static frame schedule of a trained model for the given masks ``[L, T]``.

    Gated layers are named ``layer<i>`` after their block (the group ``export_hdf5`` writes
    them to); each records its pipeline delay (:meth:`RazorSNN.pipeline_delay`), which a
    bundle checks against its network."""
    gated = sorted(int(k) for k in model.epms)
    return FrameSchedule(masks.cpu().numpy(), tuple(model.gated_names),
                         tuple(model.pipeline_delay(i) for i in gated), mode=model.prune_mode,
                         readout=model.readout_steps)
