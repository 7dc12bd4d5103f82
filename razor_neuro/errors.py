"""The error class shared by every razor-neuro file format, for the CLI's exit codes.

Kept free of heavy imports so that ``razor_neuro.cli`` can map an error to its exit code
without importing torch or Lava.
"""
from __future__ import annotations


class ArtefactError(ValueError):
    """A razor-neuro file (checkpoint, bundle, schedule) that is unreadable, foreign,
    tampered with or holds broken numbers."""
