"""DistributedDataParallel helpers: the process group under ``torchrun``, this process's
rank, the model wrapper and the sum over ranks."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """Whether a process group is running."""
    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)``: ``(0, 1)`` without a process group."""
    if is_distributed():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed() -> torch.device:
    """Start the process group when ``torchrun`` asks for one (``WORLD_SIZE`` > 1): nccl on
    CUDA, gloo on CPU.  Returns this process's device (its ``LOCAL_RANK`` GPU under nccl)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in DistributedDataParallel under a process group of several ranks, else
    ``model`` itself."""
    if rank_and_world()[1] == 1:
        return model
    # the EPM scorers get no gradient once the attention is annealed away
    return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)


def sum_over_ranks(*tensors: torch.Tensor) -> int:
    """Replace each tensor by its sum over the ranks (in place; nothing without a process
    group).  Returns the world size."""
    if not is_distributed():
        return 1
    for t in tensors:
        dist.all_reduce(t)
    return dist.get_world_size()
