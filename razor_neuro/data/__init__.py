"""Datasets: the built-in synthetic default and tonic loaders for real benchmarks."""
