"""Benchmarks run by `make bench`; each module prints `name: value` lines."""
