"""Kernel families against their reference twins (tests/kernels/test_<family>.py)."""
