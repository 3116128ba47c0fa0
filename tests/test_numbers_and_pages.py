"""Numbers in the tails and on the page: infinities typeset as ∞, σ′ and BCE∘σ exact in both tails,
the paper size of PDFs, exclusive rounding options, Korean quotation marks and the example NETs."""

import re
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.cli.errors import CommandError
from symbackprop.cli.loading import load_net


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


# -- the examples docs/cli.md calls NETs ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _documented(sentence: str) -> list[str]:
    text = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    listed = re.search(sentence + r"(.*?)\.(?: |$)", text)
    assert listed, f"docs/cli.md no longer says {sentence!r}"
    return re.findall(r"`([\w.]+)`", listed.group(1))


def test_every_example_the_docs_call_a_net_loads_and_the_list_is_complete():
    nets = _documented(r"These files under `examples/` are NETs:")
    scripts = [name for name in _documented(r"The others are scripts to run with `python`") if name.endswith(".py")]
    for name in nets:
        assert isinstance(load_net(str(ROOT / "examples" / name)).network, sbp.Network), name
    for name in scripts:
        with pytest.raises(CommandError, match="must define `net`"):
            load_net(str(ROOT / "examples" / name))
    on_disk = {p.name for p in (ROOT / "examples").iterdir() if p.suffix in (".py", ".toml")}
    assert on_disk == set(nets) | set(scripts)
