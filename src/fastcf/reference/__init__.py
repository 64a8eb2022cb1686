"""Slow, obviously-correct twins of every kernel, written from the formulas.

Each kernel family registers its twin as the ``"reference"`` backend (plain
Python loops: for checking, not for speed); the tests hold the compiled
backends to them, one file per family in tests/kernels/.
"""
