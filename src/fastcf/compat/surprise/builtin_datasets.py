"""Surprise's built-in data sets: where they live and how they are fetched.

A data set is read from ``get_dataset_dir()/<its path>`` (Surprise's layout, so
a folder Surprise filled serves fastcf too). If it is missing, the zip is
downloaded, its SHA-256 checked against the value pinned in
:data:`BUILTIN_DATASETS` (MovieLens: fastcf's pinned checksums), and
extracted there.
"""

import os
import zipfile
from pathlib import Path
from typing import NamedTuple

from ...datasets import movielens as _movielens

__all__ = ["BUILTIN_DATASETS", "BuiltinDataset", "download_builtin_dataset", "get_dataset_dir"]

#: The environment variable that moves the data folder (Surprise's name).
DATA_FOLDER_ENV = "SURPRISE_DATA_FOLDER"

#: Streams a URL into a file; tests replace it.
_download = _movielens._download


def get_dataset_dir():
    """The folder of downloaded data sets (created if missing).

    ``$SURPRISE_DATA_FOLDER`` if set, else ``~/.surprise_data/``, as in Surprise.
    """
    folder = os.environ.get(DATA_FOLDER_ENV, os.path.expanduser("~") + "/.surprise_data/")
    os.makedirs(folder, exist_ok=True)
    return folder


class BuiltinDataset(NamedTuple):
    """A built-in data set: ``url``, ``relative_path`` of its ratings file under
    :func:`get_dataset_dir`, the ``reader_params`` of its :class:`Reader`, and
    the ``sha256`` of the zip (None: only checked to be a zip)."""

    url: str
    relative_path: str
    reader_params: dict
    sha256: str | None

    @property
    def path(self):
        """The ratings file, under the data folder of the moment."""
        return os.path.join(get_dataset_dir(), self.relative_path)


_ML = _movielens.MOVIELENS_DATASETS

BUILTIN_DATASETS = {
    "ml-100k": BuiltinDataset(
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        relative_path="ml-100k/ml-100k/u.data",
        reader_params=dict(line_format="user item rating timestamp", rating_scale=(1, 5),
                           sep="\t"),
        sha256=_ML["ml-100k"].sha256,
    ),
    "ml-1m": BuiltinDataset(
        url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        relative_path="ml-1m/ml-1m/ratings.dat",
        reader_params=dict(line_format="user item rating timestamp", rating_scale=(1, 5),
                           sep="::"),
        sha256=_ML["ml-1m"].sha256,
    ),
    # No checksum of Jester's zip is pinned anywhere we could verify it against.
    "jester": BuiltinDataset(
        url="https://eigentaste.berkeley.edu/dataset/archive/jester_dataset_2.zip",
        relative_path="jester/jester_ratings.dat",
        reader_params=dict(line_format="user item rating", rating_scale=(-10, 10)),
        sha256=None,
    ),
}


def download_builtin_dataset(name):
    """Download the zip of built-in data set ``name``, verify it and extract it.

    Raises
    ------
    ValueError
        Unknown ``name``; the zip's SHA-256 is not the pinned one (the file is
        removed), or the zip lacks the ratings file.
    fastcf.datasets.DownloadError
        The download failed (offline, server down).
    """
    dataset = _builtin(name)
    folder = Path(get_dataset_dir())
    zip_path = folder / "tmp.zip"
    partial = folder / "tmp.zip.part"
    print("Trying to download dataset from " + dataset.url + "...")
    try:
        _download(dataset.url, partial)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise _movielens.DownloadError(
            f"could not download {dataset.url} ({exc}). Download it by other means and "
            f"extract it so that {dataset.path} exists.") from exc
    partial.replace(zip_path)
    _movielens._verify_zip(zip_path, dataset.sha256)
    target = folder / name
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(target)  # extractall drops absolute paths and ".." parts
    finally:
        zip_path.unlink()
    if not os.path.isfile(dataset.path):
        raise ValueError(f"the zip of {name} did not contain {dataset.relative_path}.")
    print("Done! Dataset", name, "has been saved to", target)


def _builtin(name):
    try:
        return BUILTIN_DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name}. Accepted values are "
                         f"{', '.join(BUILTIN_DATASETS)}.") from None
