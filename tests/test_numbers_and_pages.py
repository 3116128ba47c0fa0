"""Numbers in the tails and on the page: infinities typeset as ∞, σ′ and BCE∘σ exact in both tails,
the paper size of PDFs, exclusive rounding options, Korean quotation marks and the example NETs."""

import re

import pytest
import sympy as sp

import symbackprop as sbp


def _log_loss() -> sbp.Derivation:
    net = sbp.Network()
    p = net.param("p")
    net.loss("L", -sp.log(p))
    return sbp.backprop(net)


@pytest.mark.parametrize("write", ["to_latex", "to_markdown", "to_html"])
def test_infinities_are_typeset_as_infinity(write):
    text = getattr(_log_loss(), write)({"p": 0.0})
    assert r"= -\infty" in text and r"= \infty" in text
    assert not re.search(r"[-= ]inf\b", text.replace(r"\infty", "")), "inf set as the letters i·n·f"
