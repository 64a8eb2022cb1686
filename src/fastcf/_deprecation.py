"""Names that moved to another module and are still found at their old place."""

import importlib
import warnings


def moved_names(old, moves):
    """A module ``__getattr__`` giving each moved name from its new place, with a warning.

    ``old`` is the module that defines it (its own ``__name__``); ``moves`` maps
    each old name to ``"new.module"`` (same name there) or
    ``"new.module:new_name"``. Any other name raises the usual AttributeError.
    """
    moves = dict(moves)

    def __getattr__(name):
        if name in moves:
            module, _, attribute = moves[name].partition(":")
            attribute = attribute or name
            warnings.warn(f"{old}.{name} is deprecated; use {module}.{attribute}.",
                          DeprecationWarning, stacklevel=2)
            return getattr(importlib.import_module(module), attribute)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
