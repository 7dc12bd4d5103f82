"""Where the external ground-truth artifacts (``shared/external/``) are.

They sit beside the project checkout (``../shared/external``); a clone elsewhere can
point ``RAZOR_NEURO_EXTERNAL`` at that folder.
"""
from __future__ import annotations

import os
from pathlib import Path


def external_dir() -> Path:
    """The ``shared/external`` folder: ``$RAZOR_NEURO_EXTERNAL``, else the first
    ``shared/external`` found beside the checkout or one of its parents."""
    if os.environ.get("RAZOR_NEURO_EXTERNAL"):
        return Path(os.environ["RAZOR_NEURO_EXTERNAL"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "external"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/external")


OXFORD = external_dir() / "lava-dl-oxford"
