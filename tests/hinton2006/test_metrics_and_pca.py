"""PCA baseline and the metric definitions of metrics.json, against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ebmzoo_hinton2006.baselines import fit_pca
from ebmzoo_hinton2006.metrics import knn_accuracy, reconstruction_errors
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.neighbors import KNeighborsClassifier

from ebmzoo.errors import ConfigError


def test_pca_recovers_a_line_exactly():
    # Points on the line mean + t * (1, 1) / sqrt(2), t summing to 0: one component fits all.
    t = torch.tensor([-2.0, -1.5, 0.5, 3.0])
    direction = torch.tensor([1.0, 1.0]) / math.sqrt(2)
    mean = torch.tensor([0.25, 0.75])
    x = mean + t[:, None] * direction
    pca = fit_pca(x, 1)

    torch.testing.assert_close(pca.mean, mean)
    torch.testing.assert_close(pca.components[:, 0].abs(), direction)
    torch.testing.assert_close(pca.reconstruct(x), x)
    expected_variance = float(((t - t.mean()) ** 2).sum() / (len(t) - 1))
    assert pca.explained_variance[0].item() == pytest.approx(expected_variance, rel=1e-5)


def test_pca_reconstruction_matches_scikit_learn():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(200, 12, generator=g) @ torch.rand(12, 12, generator=g)
    test = torch.rand(50, 12, generator=g) @ torch.rand(12, 12, generator=g)
    ours = fit_pca(train, 3)
    theirs = SklearnPCA(n_components=3, svd_solver="full").fit(train.double().numpy())

    expected = theirs.inverse_transform(theirs.transform(test.double().numpy()))
    np.testing.assert_allclose(ours.reconstruct(test).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_pca_refuses_more_components_than_data_allow():
    with pytest.raises(ConfigError, match="components"):
        fit_pca(torch.rand(3, 5), 4)


def test_sse_per_image_is_pixels_times_mse():
    x = torch.tensor([[0.0, 1.0, 0.5], [1.0, 1.0, 0.0]])
    r = torch.tensor([[0.5, 1.0, 0.5], [0.0, 0.5, 0.0]])
    metrics = reconstruction_errors(x, r)
    # Image 1: 0.25; image 2: 1 + 0.25 = 1.25.
    assert metrics["test_sse_per_image"] == pytest.approx((0.25 + 1.25) / 2)
    assert metrics["test_mse"] == pytest.approx(1.5 / 6)
    assert metrics["test_sse_per_image"] == pytest.approx(3 * metrics["test_mse"])


def test_knn_accuracy_matches_scikit_learn():
    g = torch.Generator().manual_seed(1)
    train = torch.randn(300, 2, generator=g)
    train_y = (train[:, 0] > 0).long() + 2 * (train[:, 1] > 0).long()
    test = torch.randn(120, 2, generator=g)
    test_y = (test[:, 0] > 0).long() + 2 * (test[:, 1] > 0).long()

    ours = knn_accuracy(train, train_y, test, test_y, k=5)
    clf = KNeighborsClassifier(n_neighbors=5).fit(train.numpy(), train_y.numpy())
    assert ours == pytest.approx(clf.score(test.numpy(), test_y.numpy()))
