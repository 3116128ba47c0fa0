"""The last rough edges: inputs that crashed deep inside, or were accepted and gave a wrong answer."""

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.spec import parse_spec


def _finite_difference(function, at: float, step: float = 1e-6) -> float:
    return (function(at + step) - function(at - step)) / (2 * step)


@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_gelu_tanh_of_a_negated_parameter_is_derived(level):
    text = '[inputs]\n[params]\nc = []\n[nodes]\nh = "gelu_tanh(-c)"\n[loss]\nL = "h**2"\n'
    derivation = sbp.backprop(parse_spec(text, level=level).network)

    def loss(c: float) -> float:
        return float(derivation.evaluate({"c": c}).loss)

    for c in (-1.3, 0.4, 2.0):
        gradient = float(derivation.evaluate({"c": c}).grad["c"])
        assert gradient == pytest.approx(_finite_difference(loss, c), rel=1e-7)


def test_gelu_tanh_called_on_an_expression_from_python():
    net = sbp.Network()
    c = net.param("c")
    net.loss("L", sbp.gelu(approximate="tanh")(-c) ** 2)
    derivation = sbp.backprop(net)
    assert sbp.check_gradients(derivation, {"c": 0.7}, use_sympy=True).passed
