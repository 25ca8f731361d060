"""Hinton & Salakhutdinov (2006) deep autoencoders as an ebmzoo plugin.

The plugin pretrains a stack of RBMs greedily (:mod:`.pretrain`), unrolls it into a deep
autoencoder (:mod:`.autoencoder`, :mod:`.stacker`), fine-tunes it by backprop
(:mod:`.finetune`) and compares it with the same network from random weights and with PCA
(:mod:`.baselines`). :mod:`.pipeline` ties the steps into the recipes the plugin registers
(:mod:`.plugin`).

References:
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data with neural
    networks", Science 313(5786):504-507, 2006.
"""

__all__: list[str] = []
