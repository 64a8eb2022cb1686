"""The :class:`Reader`: how a ratings file is laid out (Surprise's ``Reader``)."""

from .builtin_datasets import BUILTIN_DATASETS

__all__ = ["Reader"]

_ENTITIES = ("user", "item", "rating")


class Reader:
    """How to parse a ratings file: one rating per line, ``user ; item ; rating ; [timestamp]``.

    Parameters
    ----------
    name : {"ml-100k", "ml-1m", "jester"}, optional
        The reader of a built-in data set; every other parameter is then ignored.
    line_format : str
        The field names in the order of a line, space separated: ``user``,
        ``item``, ``rating`` (all three required) and optionally ``timestamp``.
    sep : str, optional
        The field separator; None splits on runs of whitespace.
    rating_scale : tuple of two numbers
        The lowest and highest possible rating; predictions are clipped to it.
        Ratings outside it are kept with a warning (Surprise keeps them silently).
    skip_lines : int
        Lines to skip at the top of the file.

    Raises
    ------
    ValueError
        Unknown ``name``; a ``line_format`` with an unknown field or without
        user, item or rating; a ``rating_scale`` that is not ``(low, high)``
        with ``low <= high``; a negative ``skip_lines``.
    """

    def __init__(self, name=None, line_format="user item rating", sep=None,
                 rating_scale=(1, 5), skip_lines=0):
        if name:
            try:
                params = BUILTIN_DATASETS[name].reader_params
            except (KeyError, TypeError):
                raise ValueError(f"unknown reader {name}. Accepted values are "
                                 f"{', '.join(BUILTIN_DATASETS)}.") from None
            self.__init__(**params)
            return
        self.sep = sep
        if not isinstance(skip_lines, int) or isinstance(skip_lines, bool) or skip_lines < 0:
            raise ValueError(f"skip_lines == {skip_lines!r}, must be an int >= 0.")
        self.skip_lines = skip_lines
        try:
            low, high = rating_scale
            bad = not low <= high
        except (TypeError, ValueError):
            bad = True
        if bad:
            raise ValueError(f"rating_scale == {rating_scale!r}, must be (lowest, highest) "
                             "with lowest <= highest.")
        self.rating_scale = rating_scale
        if not isinstance(line_format, str):
            raise TypeError(f"line_format must be a str, got {type(line_format).__name__}.")
        fields = line_format.split()
        entities = list(_ENTITIES)
        self.with_timestamp = "timestamp" in fields
        if self.with_timestamp:
            entities.append("timestamp")
        unknown = [field for field in fields if field not in entities]
        if unknown:
            raise ValueError(f"line_format parameter is incorrect: unknown field(s) {unknown}; "
                             "the fields are user, item, rating and timestamp.")
        missing = [entity for entity in _ENTITIES if entity not in fields]
        if missing:
            raise ValueError(f"line_format parameter is incorrect: {line_format!r} has no "
                             f"{' / '.join(missing)} field; user, item and rating are required.")
        repeated = sorted({field for field in fields if fields.count(field) > 1})
        if repeated:
            raise ValueError(f"line_format parameter is incorrect: {repeated} appear more "
                             "than once.")
        #: The position in a line of user, item, rating (and timestamp).
        self.indexes = [fields.index(entity) for entity in entities]

    def parse_line(self, line):
        """Parse one line into ``(user, item, rating, timestamp)``.

        Ids and the timestamp are the stripped strings, the rating a float;
        the timestamp is None when the format has none.

        Raises
        ------
        ValueError
            Too few fields for the ``line_format`` and ``sep``, or a rating that
            is not a number.
        """
        fields = line.split(self.sep)
        try:
            values = [fields[i].strip() for i in self.indexes]
        except IndexError:
            raise ValueError("Impossible to parse line. Check the line_format and sep "
                             f"parameters (line {line!r}).") from None
        timestamp = values[3] if self.with_timestamp else None
        try:
            rating = float(values[2])
        except ValueError:
            raise ValueError(f"could not read the rating {values[2]!r} of line {line!r} as a "
                             "number; check the line_format and sep parameters.") from None
        return values[0], values[1], rating, timestamp
