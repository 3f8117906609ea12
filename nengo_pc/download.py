"""Downloading the data files, verified and atomically.

`download` fetches the four files of a data set into the data directory
(`nengo_pc.datafiles.resolve_data_dir`); `ensure_files` is what the loaders of
`nengo_pc.data` call: it finds a data set's folder and fetches only the files that
are missing, so files a user put there are never replaced. Each file is written to
a temporary file in the destination folder, its MD5 checked, and only then renamed
into place, so an interrupted or bad download never leaves a partial file behind.

This module imports only the standard library (and `nengo_pc.datafiles`), and
importing it touches neither the file system nor the network.
"""

import hashlib
import http.client
import os
import pathlib
import sys
import tempfile
import urllib.request

from nengo_pc.datafiles import (
    FILES,
    MD5,
    DataError,
    check_name,
    data_dir_and_origin,
    how_to_point,
    locate,
    md5_of_file,
    missing_message,
    resolve_data_dir,
)

__all__ = ["BASE_URLS", "download", "ensure_files"]

# Base URLs of the four files of each data set. The original MNIST page
# (http://yann.lecun.com/exdb/mnist/) often refuses downloads, so we use the
# mirror that torchvision uses. Kept in a module-level dict so that tests (and
# users behind a proxy) can point the downloader elsewhere, e.g. ``file://``.
BASE_URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion_mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

_DOWNLOAD_TIMEOUT = 60  # seconds, per network operation
_CHUNK = 1 << 20  # bytes read from the network at a time


def download(name, data_dir=None):
    """Download the four files of a data set into ``<data_dir>/<name>/``.

    Files that are already there with the right checksum are kept; missing
    or corrupt ones are fetched again. Each file is written to a temporary
    file in the same directory, checked, and only then moved into place, so
    an interrupted or bad download never leaves a partial file behind.

    Parameters
    ----------
    name : str
        ``"mnist"`` or ``"fashion_mnist"``.
    data_dir : path-like, optional
        As in `nengo_pc.data.load_dataset`.

    Returns
    -------
    pathlib.Path
        The folder holding the four files.

    Raises
    ------
    DataError
        If a download fails or its checksum does not match.
    """
    check_name(name)
    folder = resolve_data_dir(data_dir) / name
    todo = [
        f
        for f in FILES.values()
        if not (folder / f).is_file() or md5_of_file(folder / f) != MD5[name][f]
    ]
    _fetch_all(name, folder, todo)
    return folder


def ensure_files(name, data_dir, download):  # pylint: disable=redefined-outer-name
    """The folder holding the four files of ``name``, fetching missing ones.

    Parameters
    ----------
    name : str
        One of `nengo_pc.datafiles.DATASETS` (checked by the caller).
    data_dir : path-like or None
        As in `nengo_pc.data.load_dataset`.
    download : bool
        Whether missing files may be downloaded; if not, a missing file raises a
        `DataError` saying where the loader looked and why there.

    Returns
    -------
    pathlib.Path
    """
    root, origin = data_dir_and_origin(data_dir)
    folder = locate(root, name)
    missing = [f for f in FILES.values() if not (folder / f).is_file()]
    if missing:
        if not download:
            message = missing_message(name, root, origin, folder, missing)
            raise DataError(message, folder)
        # Only fetch what is missing, so that files the user put there are never
        # replaced.
        _fetch_all(name, folder, missing)
    return folder


def _fetch_all(name, folder, filenames):
    """Download ``filenames`` of data set ``name`` into ``folder``."""
    if not filenames:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"{folder}: cannot create the directory to download {name} into "
            f"({e}). To use local copies instead, " + how_to_point(name),
            folder,
        ) from e
    for filename in filenames:
        _fetch(name, filename, folder / filename)


def _fetch(name, filename, dest):
    """Download one file to ``dest`` atomically and check its MD5."""
    url = BASE_URLS[name].rstrip("/") + "/" + filename
    print(f"nengo_pc: downloading {url} -> {dest}", file=sys.stderr, flush=True)

    # A temporary file in the destination folder, so that os.replace is an
    # atomic rename on the same file system.
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{filename}.", suffix=".part", dir=dest.parent
        )
    except OSError as e:
        raise DataError(
            f"{dest.parent}: cannot write the download there ({e}). To use "
            f"local copies instead, " + how_to_point(name),
            dest.parent,
        ) from e
    tmp = pathlib.Path(tmp)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
                url, timeout=_DOWNLOAD_TIMEOUT
            ) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, http.client.HTTPException, ValueError) as e:
            # OSError covers URLError, HTTPError and timeouts; ValueError an
            # unusable URL in BASE_URLS.
            raise DataError(
                f"{dest}: download from {url} failed ({e}). If this machine "
                f"cannot reach that address, get the files elsewhere and "
                + how_to_point(name),
                dest,
            ) from e

        got, expected = digest.hexdigest(), MD5[name][filename]
        if got != expected:
            raise DataError(
                f"{dest}: the file downloaded from {url} has the wrong MD5 "
                f"checksum (expected {expected}, got {got}) and was deleted. "
                f"Try again later, or " + how_to_point(name),
                dest,
            )
        os.replace(tmp, dest)
    finally:
        # Never leave a partial or bad download behind.
        tmp.unlink(missing_ok=True)
