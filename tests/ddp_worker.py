"""Run under torchrun by tests/test_train.py: a tiny DDP training (with a pruning phase),
then save this rank's weights and embeddings."""
import os
import sys

import torch

from razor_neuro.training.config import TrainConfig
from razor_neuro.training.loop import train

out = sys.argv[1]
model, _ = train(TrainConfig(epochs=4, n_samples=64, batch_size=8), out, progress=False)
torch.save(model.state_dict(), os.path.join(out, f"rank{os.environ['RANK']}.pt"))
