"""Benchmarks on a national-scale synthetic round (run: python tests/benchmarks/run.py); not collected by pytest."""
