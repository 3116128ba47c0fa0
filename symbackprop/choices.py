"""The names a user chooses among: the analyses a document may add, the pages, the languages.

Kept free of imports, so that the command line offers them (``--help``, argument checks) without
loading SymPy; the printers and analyses take them from here.
"""

#: The optional sections after the chain rule, in the reference page's order: 역전파의 효율성,
#: Gradient 소실/폭발 (written only when values are given) and 메모리 사용.
ANALYSES = ("efficiency", "flow", "memory")

#: "derivation": the derivation with its optional sections; "full": the whole reference page.
PAGES = ("derivation", "full")

#: The page sizes of a standalone LaTeX document (and its PDF).
PAPERS = ("letter", "a4")

#: The languages of the prose.
LANGUAGES = ("en", "ko")

#: The most items (forward equations, layers of backward steps) a pass of a document writes out by
#: default; no network of the reference page or the gallery comes near it.
ABRIDGE = 120
