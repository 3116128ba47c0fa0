"""The HTML writer: every block, escaping, table alignment, Korean line breaking, KaTeX inlined or linked,
and every formula of the reference page as the browser's auto-render will find it, rendered by KaTeX."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

import symbackprop as sbp
from symbackprop.printing import html_blocks as writer
from symbackprop.printing.blocks import Bullets, Code, Display, Figure, Heading, Marker, Paragraph, Separator, Table
from symbackprop.printing.katex import KATEX_CDN, find_katex
from symbackprop.printing.options import DocumentOptionError
from tests.tooling import ROOT, html_math, katex_available, katex_errors, markdown_math, need, require_katex


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def visible_text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags dropped, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_every_block_renders():
    blocks = [
        Heading(2, "Backward **pass**"),
        Paragraph("The **rule** $z_1 = W_1 x + b_1$ and `code_1` with [[Chain rule|the chain rule]]."),
        Display((r"\frac{\partial L}{\partial z_2} &= h_2 - y",)),
        Display((r"a &= 1", r"b &= 2")),
        Bullets(("one", "two $x$")),
        Bullets(("first",), numbered=True),
        Table(("name", "value"), (("$x$", "1"),), ("l", "r")),
        Figure("plot.png", "The norm per layer:"),
        Code("z1 = W1 @ x\n"),
        Marker("step 1 edge"),
        Separator(),
    ]
    page = writer.render(blocks, links=True)
    assert "<h2>Backward <strong>pass</strong></h2>" in page
    assert ('<p>The <strong>rule</strong> $z_1 = W_1 x + b_1$ and <code>code_1</code> with '
            '<span class="wikilink">the chain rule</span>.</p>') in page
    assert '<div class="math">$$\n\\frac{\\partial L}{\\partial z_2} = h_2 - y\n$$</div>' in page  # one row: no &
    assert '<div class="math">$$\n\\begin{aligned}\na &amp;= 1 \\\\\nb &amp;= 2\n\\end{aligned}\n$$</div>' in page
    assert "<ul>\n<li>one</li>\n<li>two $x$</li>\n</ul>" in page and "<ol>\n<li>first</li>\n</ol>" in page
    assert '<td style="text-align: left">$x$</td><td style="text-align: right">1</td>' in page
    assert '<p>The norm per layer:</p>\n<figure><img alt="The norm per layer:" src="plot.png"></figure>' in page
    assert '<pre><code class="language-python">z1 = W1 @ x</code></pre>' in page
    assert "<!-- step 1 edge -->" in page and "<hr>" in page
    assert writer.render([Paragraph("[[Chain rule|the chain rule]]")]) == "<p>the chain rule</p>"  # links off


def test_text_and_math_are_escaped():
    page = writer.render([
        Paragraph("<script>alert(1)</script> & <b> $a < b \\;\\&\\; c > d$"),
        Table(("<i>",), (("a & b",),), ("c",)),
        Code("if a < b and c & d: pass"),
        Marker("a -- b --> c"),
        Heading(1, "x < y"),
    ])
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert "$a &lt; b \\;\\&amp;\\; c &gt; d$" in page  # the browser hands KaTeX the formula as written
    assert html_math(f"<body>{page}</body>") == [("a < b \\;\\&\\; c > d", False)]
    assert "<pre><code class=\"language-python\">if a &lt; b and c &amp; d: pass</code></pre>" in page
    comment = re.search(r"<!--(.*?)-->", page, re.S).group(1)
    assert "--" not in comment and "a - - b - -&gt; c" in comment  # a comment may not hold "--"
    assert "<h1>x &lt; y</h1>" in page


def test_a_stray_delimiter_in_prose_starts_no_formula():
    # In the markup two dollars always make a formula, so a stray one is the last of its text.
    page = writer.render([Paragraph(r"written \(x\) and \[y\] here, costs 5 $"), Paragraph("`$a$` is code")])
    assert html_math(f"<body>{page}</body>") == []
    assert visible_text(page) == "written \\(x\\) and \\[y\\] here, costs 5 $\n$a$ is code"


def test_tables_keep_their_column_alignment():
    table = Table(("left", "centre", "right"), (("a", "b", "c"), ("d", "e", "f")), ("l", "c", "r"))
    rendered = writer.table(table, links=False)
    for cells in re.findall(r"<tr>(.*?)</tr>", rendered):
        assert re.findall(r'text-align: (\w+)', cells) == ["left", "center", "right"]
    assert rendered.count("<tr>") == 3


def test_the_reference_tables_align_as_in_latex(reference):
    page = reference.to_html(sbp.reference_values(), katex="cdn")
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert header.startswith('<th style="text-align: left"></th><th style="text-align: right">')


def test_korean_breaks_between_words(reference):
    korean = reference.to_html(lang="ko", katex="cdn")
    english = reference.to_html(katex="cdn")
    assert '<html lang="ko">' in korean and "word-break: keep-all" in korean
    assert '<html lang="en">' in english and "keep-all" not in english
    assert re.search("[가-힣]", visible_text(korean[korean.index("<main>"):]))


def test_title_and_options(reference):
    page = reference.to_html(katex="cdn", title="My **own** net <1>", links=True)
    assert "<title>My own net &lt;1&gt;</title>" in page
    assert "<h1>My <strong>own</strong> net &lt;1&gt;</h1>" in page and 'class="wikilink"' in page
    body = reference.to_html(katex="cdn", standalone=False)
    assert body.startswith("<h1>") and "<html" not in body and KATEX_CDN not in body
    with pytest.raises(TypeError, match="unknown document option"):
        reference.to_html(katex="cdn", colour="red")


def test_katex_from_the_cdn_or_a_folder_that_is_not_katex(reference, tmp_path):
    page = reference.to_html(katex="cdn")
    assert f'<script defer src="{KATEX_CDN}/katex.min.js"></script>' in page and "renderMathInElement" in page
    with pytest.raises(DocumentOptionError, match="no katex.min.js there"):
        reference.to_html(katex=tmp_path)


def test_katex_is_inlined_when_available(reference):
    dist = find_katex(ROOT)
    need(dist is not None, "KaTeX is not installed (npm install --no-save katex@0.16)")
    page = reference.to_html(katex=dist)
    assert "cdn.jsdelivr" not in page and "data:font/woff2;base64," in page
    assert page.count("<script>") == 3  # KaTeX, auto-render, and the call that renders the page
    assert "fonts/KaTeX" not in page  # every font is inside the page
    head = page[:page.index("</head>")]
    assert "</script" not in head.replace("</script>", "")  # inlined code cannot end its element early


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_formula_of_the_reference_page_renders_with_katex(reference, lang):
    values = sbp.reference_values()
    page = reference.to_html(values, katex="cdn", lang=lang, code=True)
    formulas = html_math(page)
    # The page shows exactly the Markdown document's formulas: none lost, split or merged on the way.
    assert sorted(formulas) == sorted(markdown_math(reference.to_markdown(values, lang=lang, code=True)))
    assert len(formulas) > 100
    require_katex()
    assert not katex_errors(formulas)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixels = b"\x00" + b"\x20\x60\xc0"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))


def test_write_html_embeds_the_flow_plot(tmp_path, monkeypatch):
    monkeypatch.setattr(sbp.flow, "plot_gradient_flow", lambda report, path, **options: path.write_bytes(tiny_png()))
    chain = sbp.deep_chain(4, "sigmoid", 2.0)
    written = chain.derivation.write(tmp_path / "chain.html", values=chain.values, katex="cdn")
    page = written.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<figure><img" in page and "data:image/png;base64," in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.html"]  # the plot is in the page, not beside it
    if katex_available():
        assert not katex_errors(html_math(page))
