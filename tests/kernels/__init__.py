"""Kernel families against their reference twins: one file per family (tests/kernels/test_<family>.py)."""
