"""The interactive page's practice mode, driven in chromium: each box of the backward pass asks for its
numbers before it shows them; a wrong entry gets its verdict and hint, a right one opens the step."""

from __future__ import annotations

import pytest

import symbackprop as sbp
from tests.test_interactive import browser, offline  # noqa: F401 - the fixture and the offline page


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def _to_first_box(page):
    page.click(".sbp-step")  # the seed
    _next_box(page)  # ∂L/∂h2


def _next_box(page):
    """Step on to the next box (∂L/∂y, an input's gradient, is shown, not asked)."""
    page.click(".sbp-step")
    while page.query_selector(".sbp-practice .sbp-answer") is None:
        page.click(".sbp-step")


@pytest.mark.slow
@pytest.mark.parametrize("mathml", [False, True], ids=["katex-cdn-offline", "mathml"])
def test_a_wrong_entry_gets_its_hint_and_a_right_one_opens_the_step(browser, reference, tmp_path, mathml):  # noqa: F811
    values = sbp.reference_values()
    path = reference.write(tmp_path / "page.html", values, practice=True, katex="mathml" if mathml else "cdn")
    with offline(browser, path) as opened:
        page = opened.page
        _to_first_box(page)
        assert page.is_disabled(".sbp-step")
        panel = page.inner_text(".sbp-panel")
        assert "1.22" not in panel  # the numbers wait for the answer
        page.fill(".sbp-answer", "1.22")  # h2 − y is −1.22: the sign flipped
        page.click(".sbp-check")
        verdict = page.inner_text(".sbp-verdict")
        assert "wrong (sign)" in verdict and "sign is flipped" in verdict
        assert page.is_disabled(".sbp-step")
        page.fill(".sbp-answer", "-2.44")  # 2(h2 − y): the ½ forgotten
        page.click(".sbp-check")
        assert "wrong (factor)" in page.inner_text(".sbp-verdict")
        page.fill(".sbp-answer", "abc")
        page.click(".sbp-check")
        assert "unreadable" in page.inner_text(".sbp-verdict")
        page.fill(".sbp-answer", "−1.22")
        page.press(".sbp-answer", "Enter")
        assert "correct" in page.inner_text(".sbp-verdict-correct")
        assert "1.22" in page.inner_text(".sbp-panel") and page.is_enabled(".sbp-step")
        _next_box(page)  # ∂L/∂z2
        page.fill(".sbp-answer", "-1.2")
        page.click(".sbp-check")
        assert "rounded" in page.inner_text(".sbp-verdict-rounded")
        _next_box(page)  # ∂L/∂W2 = ∂L/∂z2 · h1ᵀ
        page.fill(".sbp-answer", "-1.46 -1.46 7")
        page.click(".sbp-check")
        assert "wrong (shape)" in page.inner_text(".sbp-verdict")
        page.click(".sbp-reveal")
        assert "1.464" in page.inner_text(".sbp-panel")
        assert opened.errors == [] and opened.attempted in ([], [a for a in opened.attempted if "katex" in a])


@pytest.mark.slow
def test_a_transpose_in_the_page_is_named(browser, reference, tmp_path):  # noqa: F811
    path = reference.write(tmp_path / "page.html", sbp.reference_values(), practice=True, katex="mathml", lang="ko")
    evaluation = reference.evaluate(sbp.reference_values())
    with offline(browser, path) as opened:
        page = opened.page
        page.click(".sbp-step")  # the seed
        while True:  # to ∂L/∂W1, answering every box before it
            _next_box(page)
            name = reference.steps[int(page.get_attribute(".sbp-panel [data-step]", "data-step"))].target
            if name == "W1":
                break
            page.fill(".sbp-answer", " ".join(str(v) for v in evaluation.grad[name].ravel()))
            page.click(".sbp-check")
        assert reference.steps[int(page.get_attribute(".sbp-panel [data-step]", "data-step"))].target == "W1"
        page.fill(".sbp-answer", " ".join(str(v) for v in evaluation.grad["W1"].T.ravel()))
        page.click(".sbp-check")
        assert "(transpose)" in page.inner_text(".sbp-verdict") and "틀림" in page.inner_text(".sbp-verdict")


@pytest.mark.slow
def test_clicking_a_box_before_it_is_answered_hides_its_gradient(browser, reference, tmp_path):  # noqa: F811
    path = reference.write(tmp_path / "page.html", sbp.reference_values(), practice=True, katex="mathml")
    with offline(browser, path) as opened:
        page = opened.page
        page.click("#sbp-q_W1")
        assert "1.952" not in page.inner_text(".sbp-panel")


def test_the_command_writes_the_practice_page(tmp_path, capsys):
    from symbackprop.cli import main

    assert main(["-q", "derive", "-o", str(tmp_path / "page.html"), "--practice"]) == 0
    assert "sbp-practice" in (tmp_path / "page.html").read_text(encoding="utf-8")
    assert main(["-q", "derive", "-o", str(tmp_path / "page.md"), "--practice"]) == 2
    assert "--practice applies to HTML" in capsys.readouterr().err
