"""The first-party RBM plugin of ebmzoo: models, samplers, trainer and evaluation.

It registers :class:`~ebmzoo_rbm.models.BernoulliRBM` (``"rbm-bernoulli"``),
:class:`~ebmzoo_rbm.models.GaussianHiddenRBM` (``"rbm-bernoulli-gaussian"``) and the samplers
``"cd"`` and ``"pcd"`` through the ``ebmzoo`` entry point ``rbm``, exactly as a third-party
plugin would. The trainer and the evaluation functions are imported from their modules.
"""

from ebmzoo_rbm.models import RBM, BernoulliRBM, GaussianHiddenRBM
from ebmzoo_rbm.samplers import ContrastiveDivergence, PersistentContrastiveDivergence
from ebmzoo_rbm.training import EpochStats, RBMTrainer, TrainConfig

__all__ = [
    "RBM",
    "BernoulliRBM",
    "ContrastiveDivergence",
    "EpochStats",
    "GaussianHiddenRBM",
    "PersistentContrastiveDivergence",
    "RBMTrainer",
    "TrainConfig",
]
