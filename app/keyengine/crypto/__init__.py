"""Hazardous-materials layer: pure functions on bytes.

These are easy to misuse (a digest signed twice, a high-S signature accepted, a nonce reused), so
nothing outside the engine's recipe modules should call them.  No I/O, no clocks: randomness is
drawn only where a caller did not inject a value, so tests can reproduce vectors.
"""
