"""Decimal-place rounding (the page's 1.78, −1.22, −1.46) and the derive command's document options."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop import cli
from symbackprop.printing.numbers import NumberFormat
from symbackprop.printing.options import DocumentOptionError
from symbackprop.reference import reference_network, reference_values


def _page_text(value: float, decimals: int) -> str:
    """What the page prints: rounded to at most that many places, with no trailing zeros."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda v: abs(v) >= 0.01),
       st.integers(min_value=0, max_value=6))
@settings(max_examples=200, deadline=None)
def test_a_decimal_prints_rounded_to_at_most_that_many_places(value, decimals):
    if abs(value) < 0.5 * 10.0 ** -decimals:
        return
    assert NumberFormat(exact=False, digits=4, decimals=decimals).number(value) == _page_text(value, decimals)


def test_a_number_too_small_for_the_places_keeps_its_significant_digits():
    shown = NumberFormat(exact=False, digits=4, decimals=2).number(0.000123)
    assert shown == "0.00012"
    assert NumberFormat(exact=False, digits=4, decimals=2).number(-0.004) == "-0.004"
    assert NumberFormat(exact=False, digits=4, decimals=2).number(0.0) == "0"


def test_the_reference_network_prints_the_pages_numbers():
    derivation = sbp.backprop(reference_network())
    values = reference_values()
    text = derivation.to_markdown(values, decimals=2)
    evaluation = derivation.evaluate(values)
    for name in ("W1", "W2", "b1"):
        for entry in np.asarray(evaluation.grad[name], dtype=float).flat:
            assert _page_text(entry, 2) in text, (name, entry)
    for number in ("1.78", "0.74", "-1.22", "-1.46", "-0.73", "-0.98", "1.2"):
        assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text), number
    assert "3.00" not in text and "1.780" not in text
    assert "at most 2 places" in text
    assert "최대 2자리" in derivation.to_markdown(values, decimals=2, lang="ko")


@pytest.mark.parametrize("bad", [-1, 16, 2.5, True, "2"])
def test_decimals_must_be_a_small_integer(bad):
    derivation = sbp.backprop(reference_network())
    with pytest.raises(DocumentOptionError, match="decimals"):
        derivation.to_markdown(reference_values(), decimals=bad)


@pytest.fixture
def derive(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def call(*args: str) -> tuple[int, str, str]:
        status = cli.main(["derive", *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return call


def test_every_document_option_is_a_flag_of_derive(derive):
    status, out, _ = derive("--format", "md", "--decimals", "2")
    assert status == 0 and "= 1.78" in out
    status, out, _ = derive("--format", "md", "--sections", "none")
    assert status == 0 and "Efficiency of backpropagation" not in out and "Memory use" not in out
    status, out, _ = derive("--format", "md", "--sections", "memory")
    assert status == 0 and "Memory use" in out and "Efficiency of backpropagation" not in out
    status, eight, _ = derive("--format", "md", "--batch-size", "8")
    assert status == 0 and "N = 8" in eight and "N = 32" not in eight


def test_a_bad_document_flag_is_one_clear_line(derive):
    status, _, err = derive("--format", "md", "--sections", "efficiency,speed")
    assert status == 2 and "efficiency, flow, memory" in err and "Traceback" not in err
    status, _, err = derive("--format", "md", "--decimals", "40")
    assert status == 2 and "decimals must be an integer from 0 to 15" in err
    status, _, err = derive("--format", "tex", "--interactive")
    assert status == 2 and "--interactive applies to HTML" in err
    status, _, err = derive("--format", "md", "--batch-size", "0")
    assert status == 2 and "batch_size must be a positive integer" in err


def test_the_later_sections_round_as_the_worked_example_does():
    derivation = sbp.backprop(reference_network())
    ratio = derivation.cost().backprop_ratio
    text = derivation.to_markdown(reference_values(), decimals=2, sections=("efficiency",))
    four = derivation.to_markdown(reference_values(), sections=("efficiency",))
    efficiency = text[text.index("Efficiency of backpropagation"):]
    assert re.search(r"\$\d+\.\d{3,}\$", efficiency) is None, "a figure with more than two places"
    assert re.search(r"\$\d+\.\d{3,}\$", four[four.index("Efficiency of backpropagation"):]), \
        "significant digits print more places: the check above would not see a change"
    assert f"${_page_text(ratio, 2)}$" in efficiency
