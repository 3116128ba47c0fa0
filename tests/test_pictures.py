"""The pictures in docs/ are the ones docs/pictures.py makes from today's documents.

Remaking the documents needs no TeX and no browser: each picture's document (LaTeX, DOT or
HTML) is compared, by digest, with the one it was made from. When this fails, run
``python docs/pictures.py`` (or with the names the failure lists) and commit the pictures.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_pictures():
    spec = importlib.util.spec_from_file_location("docs_pictures", ROOT / "docs" / "pictures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pictures = _load_pictures()
MADE = {picture.picture for picture in pictures.PICTURES}


def test_every_picture_in_docs_is_made_by_the_script():
    found = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").rglob("*.png")}
    assert found - MADE == set(), "pictures no recipe in docs/pictures.py makes"
    assert MADE - found == set(), "pictures the script makes that are not committed"


def test_every_picture_the_docs_show_exists_and_is_made_by_the_script():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    shown = set()
    for page in pages:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            shown.add((page.parent / target).resolve().relative_to(ROOT).as_posix())
    assert shown, "no picture found in the docs: the pattern is wrong"
    assert shown - MADE == set()


def test_the_manifest_records_every_picture_as_committed():
    manifest = pictures.read_manifest()
    assert set(manifest) == MADE
    changed = [name for name in sorted(MADE)
               if manifest[name]["picture"] != pictures.digest((ROOT / name).read_bytes())]
    assert changed == [], "pictures changed by hand, not by docs/pictures.py"


@pytest.mark.parametrize("picture", pictures.PICTURES, ids=lambda picture: Path(picture.picture).stem)
def test_each_picture_is_made_from_the_document_symbackprop_writes_today(picture):
    recorded = pictures.read_manifest()[picture.picture]["document"]
    assert pictures.document_digest(picture) == recorded, \
        f"{picture.picture} is out of date: run python docs/pictures.py {Path(picture.picture).stem}"


def test_a_changed_document_is_caught():
    picture = pictures.PICTURES[0]
    changed = type(picture)(**{**picture.__dict__, "args": (*picture.args, "--title", "Another title")})
    assert pictures.document_digest(changed) != pictures.read_manifest()[picture.picture]["document"]
