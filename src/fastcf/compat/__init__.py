"""Compatibility layers: other libraries' public APIs on fastcf's engine.

- :mod:`fastcf.compat.surprise`: Surprise's API (``Dataset``, ``Reader``,
  ``Trainset``, the algorithms, ``accuracy``, ``dump``); switch with
  ``from fastcf.compat import surprise``.
"""

__all__ = ["surprise"]
