"""The data sets of the Hinton & Salakhutdinov recipes: MNIST and scikit-learn's 8x8 digits.

MNIST is read through torchvision's ``MNIST`` class from the folder the caller names (or a
cache folder), and downloaded only when the request allows it. The 8x8 digits ship inside
scikit-learn, so the small recipe runs offline on a fresh machine.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ebmzoo.datasets import Dataset, DatasetRequest
from ebmzoo.errors import DataError

__all__ = ["DIGITS_TEST_SIZE", "cache_root", "limit", "load_digits", "load_mnist"]

logger = logging.getLogger(__name__)

DIGITS_TEST_SIZE = 297
"""Images of the 1797 bundled digits kept for testing (about one sixth)."""

_DIGITS_SPLIT_SEED = 2006


def cache_root() -> Path:
    """Folder of downloaded data: the ``data`` folder of ebmzoo's cache (``EBMZOO_CACHE``)."""
    from ebmzoo.zoo import cache_dir

    return cache_dir() / "data"


def load_mnist(request: DatasetRequest) -> Dataset:
    """MNIST, 60000 training and 10000 test images of 28x28 pixels scaled to ``[0, 1]``.

    Looks for torchvision's layout (``ROOT/MNIST/raw/*-ubyte``) under ``request.root``, or the
    cache folder when the root is ``None``.

    Raises:
        DataError: the files are absent and downloading is off or fails.
    """
    import torchvision

    root = Path(request.root) if request.root is not None else cache_root()
    splits = []
    for train in (True, False):
        try:
            ds = torchvision.datasets.MNIST(root=str(root), train=train, download=False)
        except RuntimeError:
            ds = _download_mnist(root, train, request.download)
        x = ds.data.reshape(len(ds.data), -1).to(torch.float32) / 255.0
        splits.append((x, ds.targets.to(torch.int64)))
    (train_x, train_y), (test_x, test_y) = splits
    return Dataset(
        name="mnist",
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        image_shape=(28, 28),
        licence="CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)",
    )


def _download_mnist(root: Path, train: bool, allowed: bool):
    import torchvision

    where = root / "MNIST" / "raw"
    if not allowed:
        raise DataError(
            f"MNIST is not in {str(where)!r} and downloading is off; pass --data-root DIR "
            "where DIR/MNIST/raw holds the four *-ubyte files, or allow data.download"
        )
    logger.info("downloading MNIST into %s", root)
    try:
        return torchvision.datasets.MNIST(root=str(root), train=train, download=True)
    except (OSError, RuntimeError) as err:
        raise DataError(
            f"MNIST is not in {str(where)!r} and downloading it failed ({type(err).__name__}: "
            f"no network?); pass --data-root DIR where DIR/MNIST/raw holds the four *-ubyte "
            "files"
        ) from None


def load_digits(request: DatasetRequest) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images), scaled from ``0..16`` to ``[0, 1]``.

    The split is fixed: a permutation from a constant seed puts :data:`DIGITS_TEST_SIZE`
    images in the test set, whatever the run's seed. ``request`` is ignored (no files).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(_DIGITS_SPLIT_SEED))
    test, train = order[:DIGITS_TEST_SIZE], order[DIGITS_TEST_SIZE:]
    return Dataset(
        name="digits",
        train_x=x[train],
        train_y=y[train],
        test_x=x[test],
        test_y=y[test],
        image_shape=(8, 8),
        licence="CC BY 4.0 (UCI optical recognition of handwritten digits)",
    )


def limit(dataset: Dataset, train_limit: int | None, test_limit: int | None) -> Dataset:
    """The first ``train_limit`` training and ``test_limit`` test images of ``dataset``."""
    for key, value in (("data.train_limit", train_limit), ("data.test_limit", test_limit)):
        if value is not None and value < 1:
            from ebmzoo.errors import ConfigError

            raise ConfigError(f"{key}={value} must be at least 1, or none for all images")
    n_train = len(dataset.train_x) if train_limit is None else train_limit
    n_test = len(dataset.test_x) if test_limit is None else test_limit
    return Dataset(
        name=dataset.name,
        train_x=dataset.train_x[:n_train],
        train_y=dataset.train_y[:n_train],
        test_x=dataset.test_x[:n_test],
        test_y=dataset.test_y[:n_test],
        image_shape=dataset.image_shape,
        licence=dataset.licence,
    )
