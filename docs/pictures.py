"""Every picture in docs/, made by the commands its captions give.

    python docs/pictures.py            # remake every picture and docs/pictures.json
    python docs/pictures.py graph-     # remake the pictures whose file name contains "graph-"
    python docs/pictures.py --check    # say which pictures are out of date, remake nothing

A picture is a page of a PDF that ``symbackprop derive`` wrote (``pdftoppm -png``), a graph that
``symbackprop graph`` wrote (drawn by Graphviz's ``dot``), or an HTML page that ``symbackprop
derive`` wrote, photographed by a headless chromium. docs/pictures.json records, per picture,
a digest of the document it was made from (its LaTeX, DOT or HTML text) and a digest of the
picture itself: tests/test_pictures.py remakes the documents, which needs no TeX and no browser,
and fails when a document no longer matches its picture.

Making the pictures needs pdflatex with kotex, poppler-utils, graphviz and chromium
(``apt-get install texlive-latex-base texlive-lang-korean poppler-utils graphviz chromium
fonts-noto-cjk``); a page with clicks also needs playwright (``pip install playwright``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "docs" / "pictures.json"
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Page:
    """Page ``page`` of the PDF ``symbackprop derive ARGS -o document.pdf`` writes; ``shows`` is
    text that page must contain, so that a page break moving the content is caught, not pictured."""

    picture: str
    args: tuple[str, ...]
    page: int
    shows: str
    dpi: int = 80

    def document(self, directory: Path) -> bytes:
        return _symbackprop("derive", *self.args, "-o", str(directory / "document.tex"))

    def make(self, directory: Path, target: Path) -> None:
        pdf = directory / "document.pdf"
        _symbackprop("derive", *self.args, "-o", str(pdf))
        text = _run("pdftotext", "-f", str(self.page), "-l", str(self.page), str(pdf), "-").decode()
        if self.shows not in " ".join(text.split()):
            raise SystemExit(f"{self.picture}: page {self.page} no longer shows {self.shows!r}; choose the page again")
        _run("pdftoppm", "-png", "-r", str(self.dpi), "-f", str(self.page), "-l", str(self.page), "-singlefile",
             str(pdf), str(target.with_suffix("")))


@dataclass(frozen=True)
class Graph:
    """The graph ``symbackprop graph ARGS -o graph.dot`` writes, drawn by ``dot -Tpng -Gdpi=DPI``."""

    picture: str
    args: tuple[str, ...]
    dpi: int = 60

    def document(self, directory: Path) -> bytes:
        return _symbackprop("graph", *self.args, "-o", str(directory / "graph.dot"))

    def make(self, directory: Path, target: Path) -> None:
        dot = directory / "graph.dot"
        dot.write_bytes(self.document(directory))
        _run("dot", "-Tpng", f"-Gdpi={self.dpi}", str(dot), "-o", str(target))


@dataclass(frozen=True)
class Browser:
    """The HTML page ``symbackprop derive ARGS -o page.html`` writes, as chromium shows it in a window
    of ``size`` pixels after clicking ``clicks`` (CSS selectors) in turn; ``element`` (a selector)
    photographs that part of the page only."""

    picture: str
    args: tuple[str, ...]
    size: tuple[int, int]
    clicks: tuple[str, ...] = ()
    element: str | None = None

    def document(self, directory: Path) -> bytes:
        # KaTeX linked, not inlined: the digest follows this page, not the KaTeX release at hand.
        return _symbackprop("derive", *self.args, "--katex", "cdn", "-o", str(directory / "page.html"))

    def make(self, directory: Path, target: Path) -> None:
        page = directory / "page.html"
        _symbackprop("derive", *self.args, "-o", str(page))
        width, height = self.size
        if not self.clicks and self.element is None:
            _run(CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri())
            return
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            view = browser.new_page(viewport={"width": width, "height": height})
            view.goto(page.as_uri())
            for selector in self.clicks:
                view.click(selector)
            shown = view.locator(self.element) if self.element is not None else view
            shown.screenshot(path=str(target), animations="disabled")
            browser.close()


@dataclass(frozen=True)
class Sheet:
    """Page ``page`` of the worksheet (``key=True``: its answer key) ``symbackprop exercise ARGS`` writes
    as a PDF; ``shows`` as for :class:`Page`."""

    picture: str
    args: tuple[str, ...]
    page: int
    shows: str
    key: bool = False
    dpi: int = 80

    def _written(self, directory: Path, suffix: str) -> Path:
        sheet, key = directory / f"sheet{suffix}", directory / f"key{suffix}"
        _symbackprop("exercise", *self.args, "-o", str(sheet), *(("--key", str(key)) if self.key else ()))
        return key if self.key else sheet

    def document(self, directory: Path) -> bytes:
        return self._written(directory, ".tex").read_bytes()

    def make(self, directory: Path, target: Path) -> None:
        pdf = self._written(directory, ".pdf")
        text = _run("pdftotext", "-f", str(self.page), "-l", str(self.page), str(pdf), "-").decode()
        if self.shows not in " ".join(text.split()):
            raise SystemExit(f"{self.picture}: page {self.page} no longer shows {self.shows!r}; choose the page again")
        _run("pdftoppm", "-png", "-r", str(self.dpi), "-f", str(self.page), "-l", str(self.page), "-singlefile",
             str(pdf), str(target.with_suffix("")))


@dataclass(frozen=True)
class Graded:
    """The table ``symbackprop grade ARGS`` prints, as a terminal shows it (chromium, ``size`` pixels)."""

    picture: str
    args: tuple[str, ...]
    size: tuple[int, int]

    def document(self, directory: Path) -> bytes:
        from symbackprop.cli import main

        with contextlib.redirect_stdout(io.StringIO()) as table, contextlib.redirect_stderr(io.StringIO()), \
                _working_directory(ROOT):
            status = main(["-q", "grade", *self.args])
        if status not in (0, 1):
            raise SystemExit(f"symbackprop grade {' '.join(self.args)} failed ({status})")
        return f"$ symbackprop grade {' '.join(self.args)}\n{table.getvalue()}".encode()

    def make(self, directory: Path, target: Path) -> None:
        import html

        text = html.escape(self.document(directory).decode())
        page = directory / "table.html"
        page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#1e1e1e}'
                        "pre{color:#e8e8e8;font:14px/1.45 'DejaVu Sans Mono',monospace;padding:14px;margin:0}"
                        f"</style></head><body><pre>{text}</pre></body></html>", encoding="utf-8")
        width, height = self.size
        _run(CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri())


@dataclass(frozen=True)
class Practice:
    """The practice page ``symbackprop derive ARGS --practice`` writes, in chromium: ``steps`` presses of
    "step", then ``answer`` typed into the box and checked; ``element`` is photographed."""

    picture: str
    args: tuple[str, ...]
    size: tuple[int, int]
    steps: int
    answer: str
    element: str = ".sbp-panel"

    def document(self, directory: Path) -> bytes:
        return _symbackprop("derive", *self.args, "--practice", "--katex", "cdn", "-o", str(directory / "page.html"))

    def make(self, directory: Path, target: Path) -> None:
        from playwright.sync_api import sync_playwright

        page = directory / "page.html"
        _symbackprop("derive", *self.args, "--practice", "-o", str(page))
        width, height = self.size
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            view = browser.new_page(viewport={"width": width, "height": height})
            view.goto(page.as_uri())
            for _ in range(self.steps):
                view.click(".sbp-step")
            view.fill(".sbp-answer", self.answer)
            view.click(".sbp-check")
            view.locator(self.element).screenshot(path=str(target), animations="disabled")
            browser.close()


Picture = Page | Graph | Browser | Sheet | Graded | Practice
REFERENCE = ()  # the reference network: `symbackprop derive -o reference.pdf`
FULL_KO = ("--page", "full", "--lang", "ko", "--decimals", "2")


def _example(name: str) -> str:
    return f"examples/{name}.py"


PICTURES: tuple[Picture, ...] = (
    # README
    Page("docs/images/reference-derivation-1.png", REFERENCE, 1, "Backpropagation, step by step", dpi=110),
    Page("docs/images/reference-derivation-2.png", REFERENCE, 2, "The squared error gives", dpi=110),
    Page("docs/images/reference-worked-example.png", REFERENCE, 5, "one step of gradient descent", dpi=110),
    Page("docs/images/reference-efficiency-flow.png", REFERENCE, 6, "Efficiency of backpropagation", dpi=110),
    # docs/gallery.md
    Page("docs/gallery/reference-forward.png", REFERENCE, 1, "Forward Pass"),
    Page("docs/gallery/reference-backward.png", REFERENCE, 2, "The squared error gives"),
    Page("docs/gallery/reference-worked-example.png", REFERENCE, 5, "one step of gradient descent"),
    Page("docs/gallery/reference-ko.png", ("--lang", "ko"), 1, "수학적 표현"),
    Page("docs/gallery/scalar-fanout.png", (_example("scalar_fanout"),), 3, "Addition passes the gradient through"),
    # the whole reference page, as the page prints its numbers
    Page("docs/gallery/full-ko-worked-example.png", FULL_KO, 6, "−1.46"),
    Page("docs/gallery/full-ko-graph-batch.png", FULL_KO, 8, "계산 그래프"),
    Page("docs/gallery/full-ko-pytorch.png", FULL_KO, 12, "PyTorch에서의 구현"),
    Page("docs/gallery/full-ko-pytorch-grad.png", FULL_KO, 13, "역사적 의의"),
    Graph("docs/gallery/graph-reference.png", (), dpi=96),
    Graph("docs/gallery/graph-scalar.png", ("--level", "scalar"), dpi=96),
    Graph("docs/gallery/graph-fanout.png", (_example("scalar_fanout"),), dpi=96),
    Browser("docs/gallery/html-ko.png", ("--lang", "ko"), (656, 880)),
    # four presses of "step", then a click on W1
    Browser("docs/gallery/interactive.png", ("--interactive",), (1280, 900),
            clicks=(*[".sbp-step"] * 4, "#sbp-q_W1"), element="#sbp-interactive"),
    Browser("docs/gallery/interactive-ko.png", ("--interactive", "--lang", "ko"), (1280, 900),
            clicks=(*[".sbp-step"] * 4, "#sbp-q_W1"), element="#sbp-interactive"),
    Page("docs/gallery/residual-block-backward.png", (_example("residual_block"),), 6, "Propagate to layer 1"),
    Graph("docs/gallery/graph-residual-block.png", (_example("residual_block"),)),
    Page("docs/gallery/layer-norm-backward.png", (_example("layer_norm"),), 6, "Start at the output layer"),
    Page("docs/gallery/layer-norm-backward-2.png", (_example("layer_norm"),), 7, "one step of gradient descent"),
    Graph("docs/gallery/graph-layer-norm.png", (_example("layer_norm"),)),
    Page("docs/gallery/rms-norm-backward.png", (_example("rms_norm"),), 5, "Propagate to layer 1"),
    Graph("docs/gallery/graph-rms-norm.png", (_example("rms_norm"),)),
    Page("docs/gallery/swiglu-backward.png", (_example("swiglu_mlp"),), 6, "Propagate to layer 1"),
    Graph("docs/gallery/graph-swiglu-mlp.png", (_example("swiglu_mlp"),)),
    Page("docs/gallery/attention-backward.png", (_example("attention_head"),), 6, "The same steps with the numbers"),
    Page("docs/gallery/attention-backward-2.png", (_example("attention_head"),), 8, "one step of gradient descent"),
    Graph("docs/gallery/graph-attention-head.png", (_example("attention_head"),)),
    Page("docs/gallery/rnn-bptt-sums.png", (_example("rnn_bptt"),), 5, "Fan-out: the paths add up"),
    Page("docs/gallery/rnn-bptt-backward.png", (_example("rnn_bptt"),), 10, "Propagate to layer 1"),
    Graph("docs/gallery/graph-rnn-bptt.png", (_example("rnn_bptt"),)),
    # the lecture's exercise and its pieces, in English and Korean
    Page("docs/gallery/batch-norm-lecture-backward.png", (_example("batch_norm_lecture"),), 3,
         "Fan-out: the paths add up"),
    Page("docs/gallery/batch-norm-lecture-backward-ko.png", (_example("batch_norm_lecture"), "--lang", "ko"), 3,
         "여러 경로의 합"),
    Graph("docs/gallery/graph-batch-norm-lecture.png", (_example("batch_norm_lecture"),)),
    Page("docs/gallery/embedding-scatter-backward.png", (_example("embedding_scatter"),), 4, "Propagate to layer 1"),
    Page("docs/gallery/embedding-scatter-backward-ko.png", (_example("embedding_scatter"), "--lang", "ko"), 5,
         "이제 모든 파라미터의"),
    Graph("docs/gallery/graph-embedding-scatter.png", (_example("embedding_scatter"),)),
    Page("docs/gallery/convolution-backward.png", (_example("convolution"),), 2, "A convolution in the im2col form"),
    Page("docs/gallery/convolution-backward-ko.png", (_example("convolution"), "--lang", "ko"), 2,
         "im2col 형태의 합성곱"),
    Graph("docs/gallery/graph-convolution.png", (_example("convolution"),)),
    Page("docs/gallery/max-pool-backward.png", (_example("max_pool"),), 4, "Propagate to layer 1"),
    Page("docs/gallery/max-pool-backward-ko.png", (_example("max_pool"), "--lang", "ko"), 4, "첫 번째 층으로 전파"),
    Graph("docs/gallery/graph-max-pool.png", (_example("max_pool"),)),
    Page("docs/gallery/lstm-backward.png", (_example("lstm"),), 7, "Fan-out: the paths add up"),
    Page("docs/gallery/lstm-backward-ko.png", (_example("lstm"), "--lang", "ko"), 7, "여러 경로의 합"),
    Page("docs/gallery/lecture-exercise-forward.png", (_example("lecture_exercise"),), 2, "Start at the output layer"),
    Page("docs/gallery/lecture-exercise-numbers.png", (_example("lecture_exercise"),), 13,
         "The same steps with the numbers"),
    Page("docs/gallery/lecture-exercise-numbers-ko.png", (_example("lecture_exercise"), "--lang", "ko"), 12,
         "같은 단계에 숫자를 대입합니다"),
    # docs/practice.md
    Sheet("docs/images/practice-worksheet.png", ("--seed", "2"), 2, "Fill in", dpi=100),
    Sheet("docs/images/practice-key.png", ("--seed", "2"), 2, "Backward pass", key=True, dpi=100),
    Graded("docs/images/practice-graded.png", ("examples/practice/answers.toml", "--seed", "2"), (1180, 250)),
    # the seed, then the box of ∂L/∂h2 answered with its sign flipped
    Practice("docs/images/practice-page.png", (), (1100, 900), 2, "1.22"),
)


def _symbackprop(*args: str) -> bytes:
    """Run the command line in this process (from the project's root, as the captions do); returns
    the file it wrote."""
    from symbackprop.cli import main

    with contextlib.redirect_stderr(io.StringIO()) as errors, _working_directory(ROOT):
        status = main(["-q", *args])
    if status != 0:
        raise SystemExit(f"symbackprop {' '.join(args)} failed ({status}): {errors.getvalue().strip()}")
    return Path(args[args.index("-o") + 1]).read_bytes()


@contextlib.contextmanager
def _working_directory(path: Path):
    import os

    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _run(*command: str) -> bytes:
    if shutil.which(command[0]) is None:
        raise SystemExit(f"{command[0]} is needed to make the pictures (see python docs/pictures.py --help)")
    return subprocess.run(command, check=True, capture_output=True).stdout


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def document_digest(picture: Picture) -> str:
    """The digest of the document a picture is made from, and of the recipe that makes it."""
    with tempfile.TemporaryDirectory(prefix="pictures-") as directory:
        return digest(repr(picture).encode() + b"\0" + picture.document(Path(directory)))


def stale(manifest: dict[str, dict[str, str]]) -> list[str]:
    """The pictures whose document, or whose file, is not the one the manifest records."""
    found = []
    for picture in PICTURES:
        entry = manifest.get(picture.picture)
        path = ROOT / picture.picture
        if entry is None or not path.exists() or entry["picture"] != digest(path.read_bytes()) \
                or entry["document"] != document_digest(picture):
            found.append(picture.picture)
    return found


def read_manifest() -> dict[str, dict[str, str]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="remake only pictures whose path contains one of these")
    parser.add_argument("--check", action="store_true", help="list the pictures out of date and exit 1 if any")
    args = parser.parse_args(argv)
    manifest = read_manifest()
    if args.check:
        out_of_date = stale(manifest)
        print("\n".join(out_of_date) or "every picture is current")
        return 1 if out_of_date else 0
    chosen = [p for p in PICTURES if not args.names or any(name in p.picture for name in args.names)]
    for picture in chosen:
        target = ROOT / picture.picture
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pictures-") as directory:
            picture.make(Path(directory), target)
        manifest[picture.picture] = {"document": document_digest(picture), "picture": digest(target.read_bytes())}
        print(f"wrote {picture.picture}", file=sys.stderr)
    known = {p.picture for p in PICTURES}
    manifest = {name: manifest[name] for name in sorted(manifest) if name in known}
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
