"""Benchmarks: programs that print figures (`make bench`); tests assert behaviour, these don't."""
