"""Installed package versions, looked up in one place: the ``versions`` that bundles,
``verify``, ``run``, reports and NIR imports record, the CLI's ``--version`` and the
benchmarks' machine line."""
from __future__ import annotations

from importlib import metadata

__all__ = ["PACKAGES", "package_version", "package_versions"]

#: the packages whose versions a bundle's numbers depend on
PACKAGES = ("razor-neuro", "torch", "lava-nc", "lava-dl", "numpy", "h5py")


def package_version(name: str, missing: str = "not installed") -> str:
    """Installed version of package ``name``, or ``missing``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return missing


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """``{name: version}`` of :data:`PACKAGES` and then ``extra``, in that order."""
    return {name: package_version(name) for name in (*PACKAGES, *extra)}
