"""Loading MNIST and Fashion-MNIST: the `Dataset` and `Split` a user works with.

`load_dataset` returns a `Dataset` (train, optional validation and test `Split`
objects, pixel intensities as float32 in [0, 1]); `load_split` reads one split
without the other; `random_shifts` is the augmentation of convolutional training.

The files behind them are the data sets' original IDX gzip files: where they live
and how each is checked (MD5, gzip stream, IDX header) is `nengo_pc.datafiles`;
fetching missing ones is `nengo_pc.download`. The data directory is, in order of
preference, the ``data_dir`` argument, the directory named by the ``NENGO_PC_DATA``
environment variable, or a per-user cache directory
(`~nengo_pc.datafiles.default_cache_dir`). Missing files are downloaded there unless
``download=False``; any problem raises a `~nengo_pc.datafiles.DataError` that names
the file, says what is wrong and how to point the loader at good copies.

The names this module used to define before the split (the data-set catalogue,
`DataError`, the data directory, `download`, `BASE_URLS`) are still importable
from it; their home is `nengo_pc.datafiles` or `nengo_pc.download`.

This module imports only the standard library and NumPy, and importing it
touches neither the file system nor the network.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from nengo_pc.datafiles import (
    CLASSES,
    COUNTS,
    DATASETS,
    DISPLAY_NAMES,
    ENV_VAR,
    FILES,
    IMAGE_SHAPE,
    MD5,
    N_CLASSES,
    DataError,
    check_name,
    default_cache_dir,
    read_split,
    resolve_data_dir,
)
from nengo_pc.download import BASE_URLS, download, ensure_files

__all__ = [
    "Dataset",
    "Split",
    "load_dataset",
    "load_split",
    "random_shifts",
    # defined in nengo_pc.datafiles / nengo_pc.download, importable from here too
    "BASE_URLS",
    "CLASSES",
    "COUNTS",
    "DATASETS",
    "DISPLAY_NAMES",
    "ENV_VAR",
    "FILES",
    "IMAGE_SHAPE",
    "MD5",
    "N_CLASSES",
    "DataError",
    "default_cache_dir",
    "download",
    "resolve_data_dir",
]


# eq=False keeps identity comparison and hashing: the generated __eq__ would
# compare arrays elementwise, which has no single truth value, and hashing
# would fail on the arrays.
@dataclass(frozen=True, eq=False, repr=False)
class Split:
    """Images and labels of one part of a data set (train, validation or test).

    Parameters
    ----------
    images : ndarray
        Pixel intensities as float32 in [0, 1], shape ``(N, 784)`` when
        flattened or ``(N, 28, 28)`` otherwise.
    labels : ndarray
        Class indices as int64 in ``0..9``, shape ``(N,)``.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise ValueError(
                f"images and labels must have the same length, got "
                f"{len(self.images)} images and {len(self.labels)} labels"
            )

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        return (
            f"{type(self).__name__}(n={len(self)}, "
            f"images={self.images.shape} {self.images.dtype}, "
            f"labels={self.labels.shape} {self.labels.dtype})"
        )

    def one_hot(self, dtype=np.float32):
        """Return the labels as one-hot rows.

        Parameters
        ----------
        dtype : dtype, optional
            Data type of the result.

        Returns
        -------
        ndarray
            Shape ``(N, 10)``; row ``i`` is 1 at ``labels[i]`` and 0 elsewhere.
        """
        return np.eye(N_CLASSES, dtype=dtype)[self.labels]

    def subset(self, n):
        """Return the first ``n`` examples.

        Parameters
        ----------
        n : int
            Number of examples, ``1 <= n <= len(self)``.

        Returns
        -------
        Split
            A split whose arrays are views of this split's first ``n`` rows.
        """
        _check_int("n", n, 1, len(self))
        return Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Dataset:
    """A loaded data set.

    Parameters
    ----------
    name : str
        One of `.DATASETS`.
    train : Split
        Training examples (without those moved to ``validation``).
    validation : Split or None
        Held-out training examples, or None when ``n_validation == 0``.
    test : Split
        The 10000 test examples.
    classes : tuple of str
        Class names, indexed by label.
    """

    name: str
    train: Split
    validation: Split | None
    test: Split
    classes: tuple[str, ...]


def load_dataset(
    name="mnist",
    data_dir=None,
    *,
    flatten=True,
    n_validation=0,
    validation_seed=0,
    download=True,
    verify_checksum=True,
):
    """Load MNIST or Fashion-MNIST.

    Parameters
    ----------
    name : str, optional
        ``"mnist"`` or ``"fashion_mnist"``.
    data_dir : path-like, optional
        Directory containing a ``<name>/`` subfolder with the four IDX ``.gz``
        files (a directory holding the four files directly is accepted too).
        Defaults to ``$NENGO_PC_DATA``, else
        `~nengo_pc.datafiles.default_cache_dir`.
    flatten : bool, optional
        If True, images have shape ``(N, 784)``, else ``(N, 28, 28)``.
    n_validation : int, optional
        Number of training examples to hold out as a validation split,
        in ``[0, 59999]``. They are chosen by a random permutation seeded with
        ``validation_seed``; the rest stay in the train split, in file order.
    validation_seed : int, optional
        Seed for choosing the validation examples.
    download : bool, optional
        If True, missing files are downloaded into the data directory.
    verify_checksum : bool, optional
        If True, each file's MD5 must match the published one. Set to False
        only to read modified copies; the structural checks always run.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If an argument is invalid.
    DataError
        If a file is missing (and cannot be downloaded) or is corrupt.
    """
    check_name(name)
    _check_int("n_validation", n_validation, 0, COUNTS["train"] - 1)
    _check_int("validation_seed", validation_seed, 0, None)

    folder = ensure_files(name, data_dir, download)
    md5 = MD5[name] if verify_checksum else None
    train = _load_split(folder, name, "train", md5, flatten)
    test = _load_split(folder, name, "test", md5, flatten)
    train, validation = _split_validation(train, n_validation, validation_seed)
    return Dataset(
        name=name,
        train=train,
        validation=validation,
        test=test,
        classes=CLASSES[name],
    )


def load_split(name="mnist", split="test", data_dir=None, *, flatten=True,
               download=True, verify_checksum=True):
    """Load one split (``"train"`` or ``"test"``) without reading the other.

    Arguments as in `load_dataset`; use this where only the test images are needed
    (a GUI model, say), since reading the training set takes most of a full load.

    Returns
    -------
    Split
    """
    check_name(name)
    if split not in ("train", "test"):
        raise ValueError(f"split: {split!r} is not one of 'train', 'test'")
    folder = ensure_files(name, data_dir, download)
    return _load_split(folder, name, split, MD5[name] if verify_checksum else None,
                       flatten)


# --- helpers ---------------------------------------------------------------


def _check_int(param, value, low, high):
    # bool is an int subclass, but passing True almost certainly is a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{param} must be an int, got {value!r} ({type(value).__name__})"
        )
    if value < low or (high is not None and value > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{param} must be in {bounds}, got {value}")


def _load_split(folder, name, split, md5, flatten):
    """Read and check one split (`~nengo_pc.datafiles.read_split`) as a `Split`."""
    images, labels = read_split(folder, name, split, md5)
    pixels = images.astype(np.float32)
    # Divide (rather than multiply by 1/255) so that 255 maps to exactly 1.0.
    np.divide(pixels, np.float32(255), out=pixels)
    if flatten:
        pixels = pixels.reshape(len(pixels), -1)
    return Split(pixels, labels.astype(np.int64))


def _split_validation(train, n_validation, seed):
    """Move ``n_validation`` randomly chosen examples out of ``train``."""
    if n_validation == 0:
        return train, None
    order = np.random.default_rng(seed).permutation(len(train))
    val_idx = order[:n_validation]
    # Sorting keeps the remaining training examples in their file order.
    train_idx = np.sort(order[n_validation:])
    return (
        Split(train.images[train_idx], train.labels[train_idx]),
        Split(train.images[val_idx], train.labels[val_idx]),
    )


def random_shifts(images, image_shape, max_shift, rng):
    """Translate every image by a random whole number of pixels, padding with zeros.

    Data augmentation for convolutional networks: each image moves by ``(dy, dx)``
    drawn uniformly from ``[-max_shift, max_shift]`` per axis.

    Parameters
    ----------
    images : ndarray
        Flattened images, shape ``(N, prod(image_shape))``.
    image_shape : tuple
        ``(height, width, channels)``.
    max_shift : int
        Largest shift in pixels (>= 0; 0 returns the images unchanged).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray
        Shifted images, same shape and dtype.
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) \
            or max_shift < 0:
        raise ValueError(f"max_shift: must be an integer >= 0, got {max_shift!r}")
    if max_shift == 0:
        return images
    h, w, c = image_shape
    if max_shift >= min(h, w):
        raise ValueError(f"max_shift: must be smaller than the image ({h}x{w}), "
                         f"got {max_shift}")
    n, s = len(images), max_shift
    padded = np.pad(images.reshape(n, h, w, c), ((0, 0), (s, s), (s, s), (0, 0)))
    dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)[None, :]  # (n, h)
    cols = dx[:, None] + np.arange(w)[None, :]  # (n, w)
    shifted = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return shifted.reshape(n, -1)
