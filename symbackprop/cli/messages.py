"""Every sentence the command prints for its user, one table per language.

Keyed as :data:`symbackprop.printing.prose.PROSE` is; templates use ``str.format``
fields.  The command speaks English (``--lang`` is the document's language);
the Korean table makes the same report available to a Korean reader
(``format_check(report, lang="ko")``).  Errors raised by the library carry
their own text; these are the command's own.
"""

from __future__ import annotations

from ..choices import LANGUAGES

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "prefix.error": "error",
        "prefix.warning": "warning",
        "interrupted": "interrupted",
        "unexpected": "unexpected {kind}: {error} (run with --traceback for details)",
        "progress.started": "{stage} …",
        "progress.running": "{stage} … {seconds:.0f} s",
        "progress.done": "{stage}: done in {seconds:.1f} s",
        "progress.part": "{stage}: {part} section",
        "stage.reading": "reading the network",
        "stage.deriving": "deriving the gradients",
        "stage.evaluating": "evaluating the worked example",
        "stage.writing": "writing the {format} document",
        "stage.compiling": "compiling the PDF with LaTeX",
        "stage.checking": "checking against finite differences",
        "stage.checking_sympy": "checking against finite differences and sympy.diff "
                                "(--no-sympy skips the slower sympy.diff)",
        "stage.drawing": "drawing the graph",
        "wrote": "wrote {path}",
        "katex.mathml": "KaTeX was not found in node_modules; the page's formulas are written as MathML, which "
                        "browsers show by themselves, offline too (npm install katex here for KaTeX's typesetting)",
        "reference": "the reference network",
        "net.kind": "{net}: NET must be a network spec (.toml) or a Python file (.py)",
        "net.level": "{net}: --level applies to the reference network and to spec files; "
                     "a Python file declares its own level (net.input(..., elements=True))",
        "net.missing": "{path}: a Python NET file must define `net`, a symbackprop Network "
                       "(net = sbp.Network() …); it defines {found}",
        "net.found_nothing": "nothing",
        "net.found": "a {kind}",
        "net.values_type": "{path}: `values` must be a dict of names to numbers, not {kind}",
        "values.missing": "{origin}: missing values for {names}; {remedy}",
        "values.remedy_file": "add them to this --values file",
        "values.remedy_spec": "add them to its [values] table, or give every value with --values FILE",
        "values.remedy_python": "add them to its `values` dict, or give every value with --values FILE",
        "option.invalid": "{option} {reason}",
        "option.links": "--links applies to Markdown and HTML documents (--format md or html)",
        "option.interactive": "--interactive applies to HTML documents (--format html or OUT ending in .html)",
        "option.rounding": "--digits and --decimals are two ways to round the numbers; give one of them",
        "option.paper": "--paper applies to LaTeX and PDF documents (--format tex or pdf)",
        "option.format_mismatch": "-o {output} ends in {suffix} but --format is {format}; make them agree",
        "option.output_folder": "-o {output}: that is a folder; name the file to write inside it",
        "option.format_unknown": "-o {output}: cannot tell the format from {suffix}; "
                                 "add --format ({formats}) or use .tex, .md, .pdf or .html",
        "option.tolerance": "--tolerance {tolerance:g}: give a positive number, such as 1e-5",
        "check.needs_values": "check needs values: give --values FILE (or a [values] table in the spec, "
                              "or `values` in the Python file)",
        "graph.suffix": "-o {output}: use .dot or .gv for DOT, or .svg, .png or .pdf",
        "graph.needs_dot": "-o {output} needs Graphviz's 'dot' program, which was not found; {install}, "
                           "or write .dot instead",
    },
    "ko": {
        "prefix.error": "오류",
        "prefix.warning": "경고",
        "interrupted": "중단됨",
        "unexpected": "예상하지 못한 {kind}: {error} (자세한 내용은 --traceback으로 실행하세요)",
        "progress.started": "{stage} …",
        "progress.running": "{stage} … {seconds:.0f}초",
        "progress.done": "{stage}: {seconds:.1f}초 만에 끝남",
        "progress.part": "{stage}: {part} 절",
        "stage.reading": "신경망 읽는 중",
        "stage.deriving": "gradient 유도 중",
        "stage.evaluating": "구체적 예시 계산 중",
        "stage.writing": "{format} 문서 쓰는 중",
        "stage.compiling": "LaTeX로 PDF 만드는 중",
        "stage.checking": "유한 차분과 비교하는 중",
        "stage.checking_sympy": "유한 차분 및 sympy.diff와 비교하는 중 "
                                "(--no-sympy를 주면 느린 sympy.diff를 건너뜁니다)",
        "stage.drawing": "그래프 그리는 중",
        "wrote": "작성함: {path}",
        "katex.mathml": "node_modules에서 KaTeX를 찾지 못해 수식을 MathML로 씁니다. 브라우저가 직접 보여 주므로 "
                        "오프라인에서도 읽힙니다 (KaTeX 조판을 원하면 여기서 npm install katex)",
        "reference": "기준 신경망",
        "net.kind": "{net}: NET은 신경망 명세(.toml)나 Python 파일(.py)이어야 합니다",
        "net.level": "{net}: --level은 기준 신경망과 명세 파일에만 적용됩니다. "
                     "Python 파일은 수준을 스스로 정합니다 (net.input(..., elements=True))",
        "net.missing": "{path}: Python NET 파일은 symbackprop Network인 `net`을 정의해야 합니다 "
                       "(net = sbp.Network() …). 이 파일이 정의한 것: {found}",
        "net.found_nothing": "없음",
        "net.found": "{kind}",
        "net.values_type": "{path}: `values`는 이름에서 숫자로 가는 dict여야 합니다 (받은 것: {kind})",
        "values.missing": "{origin}: 값이 없는 이름: {names}. {remedy}",
        "values.remedy_file": "이 --values 파일에 넣으세요",
        "values.remedy_spec": "[values] 표에 넣거나, --values FILE로 모든 값을 주세요",
        "values.remedy_python": "`values` dict에 넣거나, --values FILE로 모든 값을 주세요",
        "option.invalid": "{option} {reason}",
        "option.links": "--links는 Markdown과 HTML 문서에만 적용됩니다 (--format md 또는 html)",
        "option.interactive": "--interactive는 HTML 문서에만 적용됩니다 (--format html 또는 .html로 끝나는 OUT)",
        "option.rounding": "--digits와 --decimals는 숫자를 반올림하는 두 방법입니다. 하나만 주세요",
        "option.paper": "--paper는 LaTeX와 PDF 문서에만 적용됩니다 (--format tex 또는 pdf)",
        "option.format_mismatch": "-o {output}: 확장자({suffix})와 --format({format})이 다릅니다. 둘을 맞추세요",
        "option.output_folder": "-o {output}: 폴더입니다. 그 안에 쓸 파일 이름을 주세요",
        "option.format_unknown": "-o {output}: 확장자 {suffix}: 형식을 알 수 없습니다. "
                                 "--format ({formats})을 주거나 .tex, .md, .pdf, .html을 쓰세요",
        "option.tolerance": "--tolerance {tolerance:g}: 1e-5 같은 양수를 주세요",
        "check.needs_values": "check에는 값이 필요합니다: --values FILE을 주세요 (또는 명세의 [values] 표, "
                              "Python 파일의 `values`)",
        "graph.suffix": "-o {output}: DOT는 .dot이나 .gv를, 그림은 .svg, .png, .pdf를 쓰세요",
        "graph.needs_dot": "-o {output}: Graphviz의 'dot' 프로그램이 필요한데 찾지 못했습니다. {install}, "
                           "또는 .dot으로 쓰세요",
    },
}



__all__ = ["LANGUAGES", "MESSAGES", "say"]


def say(key: str, lang: str = "en", **fields: object) -> str:
    """The sentence ``key`` in ``lang`` with its fields filled in."""
    return MESSAGES[lang][key].format(**fields)
