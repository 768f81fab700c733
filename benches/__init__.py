"""polyengine's benchmarks: `python -m benches` (or `make bench`).

Speed is measured here, never in timed tests: the machines are shared and noisy, so
every figure is a median over repeated samples, and ratios are taken within one run.
"""
