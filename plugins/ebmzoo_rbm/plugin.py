"""The hook implementations that register the RBM models and samplers with ebmzoo.

This module is the target of the ``rbm`` entry point in the ``ebmzoo`` group; the registry
calls its hooks and records each entry as coming from this plugin.
"""

from __future__ import annotations

from ebmzoo import hookimpl
from ebmzoo.records import ModelEntry, SamplerEntry
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM
from ebmzoo_rbm.samplers import ContrastiveDivergence, PersistentContrastiveDivergence

__all__ = ["ebmzoo_models", "ebmzoo_samplers"]


@hookimpl
def ebmzoo_models() -> list[ModelEntry]:
    """The two RBMs: binary hidden units, and linear hidden units with Gaussian noise."""
    return [
        ModelEntry(
            name="rbm-bernoulli",
            factory=BernoulliRBM,
            summary="RBM with Bernoulli visible and Bernoulli hidden units",
        ),
        ModelEntry(
            name="rbm-bernoulli-gaussian",
            factory=GaussianHiddenRBM,
            summary="RBM with Bernoulli visible and unit-variance Gaussian hidden units",
        ),
    ]


@hookimpl
def ebmzoo_samplers() -> list[SamplerEntry]:
    """Contrastive divergence (``k`` steps) and persistent contrastive divergence."""
    return [
        SamplerEntry(
            name="cd",
            factory=ContrastiveDivergence,
            summary="contrastive divergence CD-k, chains restarted at the data (k=1)",
        ),
        SamplerEntry(
            name="pcd",
            factory=PersistentContrastiveDivergence,
            summary="persistent contrastive divergence (n_chains=100, k=1)",
        ),
    ]
