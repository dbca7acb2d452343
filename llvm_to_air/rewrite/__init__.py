"""Rewrite stages: lower the reader's module, step by step, to AIR."""
