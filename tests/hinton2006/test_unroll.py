"""Unrolling an RBM stack into a deep autoencoder, checked against the RBMs themselves."""

from __future__ import annotations

import pytest
import torch
from ebmzoo_hinton2006.stacker import AutoencoderStacker
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM

from ebmzoo.errors import ConfigError


def _random_rbm(cls, n_visible, n_hidden, seed):
    g = torch.Generator().manual_seed(seed)
    rbm = cls(n_visible, n_hidden, init_std=0.5, generator=g)
    with torch.no_grad():
        rbm.visible_bias.copy_(torch.randn(n_visible, generator=g))
        rbm.hidden_bias.copy_(torch.randn(n_hidden, generator=g))
    return rbm


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianHiddenRBM])
def test_one_layer_encoder_is_hidden_mean_and_decoder_is_visible_mean(cls):
    rbm = _random_rbm(cls, 12, 5, seed=1)
    ae = AutoencoderStacker().unroll([rbm])
    x = torch.rand(7, 12, generator=torch.Generator().manual_seed(2))
    code = torch.randn(7, 5, generator=torch.Generator().manual_seed(3))

    with torch.no_grad():
        expected_code = x @ rbm.weight + rbm.hidden_bias
        if cls is BernoulliRBM:
            expected_code = torch.sigmoid(expected_code)
        torch.testing.assert_close(ae.encode(x), expected_code)
        torch.testing.assert_close(ae.encode(x), rbm.hidden_mean(x))
        torch.testing.assert_close(ae.decode(code), rbm.visible_mean(code))
        torch.testing.assert_close(
            ae.decode(code), torch.sigmoid(code @ rbm.weight.T + rbm.visible_bias)
        )
    assert ae.linear_code == (cls is GaussianHiddenRBM)


def test_deep_stack_matches_layer_by_layer_means():
    sizes = [20, 16, 8, 3]
    rbms = [
        _random_rbm(BernoulliRBM, 20, 16, seed=4),
        _random_rbm(BernoulliRBM, 16, 8, seed=5),
        _random_rbm(GaussianHiddenRBM, 8, 3, seed=6),
    ]
    ae = AutoencoderStacker().unroll(rbms)
    assert ae.layer_sizes == sizes
    x = torch.rand(9, 20, generator=torch.Generator().manual_seed(7))

    with torch.no_grad():
        h = x
        for rbm in rbms:
            h = rbm.hidden_mean(h)
        torch.testing.assert_close(ae.encode(x), h)
        v = h
        for rbm in reversed(rbms):
            v = rbm.visible_mean(v)
        torch.testing.assert_close(ae(x), v)
        torch.testing.assert_close(torch.sigmoid(ae.reconstruction_logits(x)), v)


def test_encoder_and_decoder_weights_are_separate_after_unrolling():
    rbm = _random_rbm(BernoulliRBM, 6, 4, seed=8)
    ae = AutoencoderStacker().unroll([rbm])
    encoder, decoder = ae.encoder[0].weight, ae.decoder[0].weight
    torch.testing.assert_close(encoder, decoder.T)
    assert encoder.data_ptr() != decoder.data_ptr()
    assert encoder.data_ptr() != rbm.weight.data_ptr()

    with torch.no_grad():
        encoder.add_(1.0)
    torch.testing.assert_close(decoder, rbm.weight)
    assert len(list(ae.parameters())) == 4


def test_next_layer_data_is_hidden_probabilities():
    rbm = _random_rbm(BernoulliRBM, 10, 4, seed=9)
    x = torch.rand(25, 10, generator=torch.Generator().manual_seed(10))
    out = AutoencoderStacker(batch_size=7).next_layer_data(rbm, x)
    torch.testing.assert_close(out, torch.sigmoid(x @ rbm.weight + rbm.hidden_bias))


def test_unroll_refuses_a_stack_that_does_not_chain():
    rbms = [_random_rbm(BernoulliRBM, 6, 4, seed=1), _random_rbm(BernoulliRBM, 5, 2, seed=2)]
    with pytest.raises(ConfigError, match="does not chain"):
        AutoencoderStacker().unroll(rbms)


def test_unroll_refuses_real_valued_hidden_units_below_the_top():
    rbms = [_random_rbm(GaussianHiddenRBM, 6, 4, seed=1), _random_rbm(BernoulliRBM, 4, 2, seed=2)]
    with pytest.raises(ConfigError, match="only the top layer"):
        AutoencoderStacker().unroll(rbms)
