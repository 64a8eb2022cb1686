"""Names that moved to another module and are still found at their old place."""

import importlib
import warnings


def moved_names(old, new, names):
    """A module ``__getattr__`` giving each of ``names`` from module ``new``, with a warning.

    ``old`` is the module that defines it (its own ``__name__``); any other
    name raises the usual AttributeError.
    """
    names = frozenset(names)

    def __getattr__(name):
        if name in names:
            warnings.warn(f"{old}.{name} is deprecated; use {new}.{name}.", DeprecationWarning,
                          stacklevel=2)
            return getattr(importlib.import_module(new), name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
