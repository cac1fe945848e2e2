"""Group `quality`: offline measurements across the stores (recommendation quality, cross-store reports, query benchmarks)."""
