"""Library code of the benchmarks (`benchmarks/` holds the one-command runners)."""
