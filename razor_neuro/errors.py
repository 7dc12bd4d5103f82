"""The error class shared by every razor-neuro file format, and the CLI's exit codes.

Kept free of heavy imports so that ``razor_neuro.cli`` can map an error to its exit code
without importing torch or Lava.
"""
from __future__ import annotations


class ArtefactError(ValueError):
    """A razor-neuro file (checkpoint, bundle, schedule) that is unreadable, foreign,
    tampered with or holds broken numbers."""


EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_BAD_ARTEFACT = 3
EXIT_REFUSED = 4
EXIT_IO = 5
EXIT_INTERRUPTED = 130

EXIT_CODES = f"""exit codes:
  0    success
  {EXIT_MISMATCH}    verify/report: Lava and the reference disagree beyond --tolerance
  {EXIT_BAD_INPUT}    bad input: an argument, config file, dataset or spike file (one line
       names the option, file or field and what was expected)
  {EXIT_BAD_ARTEFACT}    an unreadable, foreign or tampered checkpoint or bundle, or one holding
       NaN/infinite numbers
  {EXIT_REFUSED}    refused to replace something: an existing training run (use --resume),
       or a directory that is not a razor-neuro artefact of the same kind (--overwrite
       replaces only a bundle with a bundle, a report with a report)
  {EXIT_IO}    the operating system refused a read or write (read-only directory, a file
       where a directory belongs, disk full)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); files already written stay complete
--verbose (before or after the command) shows the full traceback instead of one line."""


def exit_code(exc: BaseException) -> int:
    """The documented exit code (:data:`EXIT_CODES`) of a known error class."""
    from razor_neuro.atomic import OutputExists, OutputUnwritable
    if isinstance(exc, OutputExists):
        return EXIT_REFUSED
    if isinstance(exc, (OutputUnwritable, OSError)):
        return EXIT_IO
    if isinstance(exc, ArtefactError):
        return EXIT_BAD_ARTEFACT
    return EXIT_BAD_INPUT
