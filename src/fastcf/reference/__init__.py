"""Slow, obviously-correct twins of every kernel, written from the formulas.

The tests hold each compiled backend to these; nothing else should call them.
"""
