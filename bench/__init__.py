"""Benchmarks (``make bench``): our engine against xmtp-js 13.0.4, measured in the same run."""
