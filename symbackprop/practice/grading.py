"""``sbp.grade``: a student's backward pass checked step by step, each wrong step named and explained.

Each quantity's answer is compared with the true gradient, and also with what the step gives
from the student's own earlier answers (with the forward values as given, and as printed to the
answer's decimals): an answer that is right from a wrong upstream answer is "upstream", so one
early mistake is reported once.  A wrong answer is matched against the numbers each known mistake
would give (:mod:`.mistakes`).
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np

from ..choices import LANGUAGES
from ..derivation import EDGE, Derivation
from ..errors import OptionError
from ..network import NODE, PARAM
from ..numeric import evaluation
from ..values import conform_all
from .answers import Answer, read_answers
from .expressions import compiled_expression
from .hints import gradient_text, hint
from .mistakes import candidates
from .quantities import backward_order, blank_quantities, check_practicable, upstream_of
from .report import Grade, Row
from .step_numbers import StepNumbers

#: The verdicts a row may have; the first two pass.
VERDICTS = ("correct", "rounded", "upstream", "wrong", "missing", "unreadable")
_CARRIES_AN_ERROR = ("wrong", "upstream")
#: Subtracted from a number's decimals, this widens its tolerance from half a unit of the last place to one.
_ONE_UNIT = math.log10(2)


def grade(derivation: Derivation, answers: Any, values: Any, *, lang: str = "en", blanks: Any = "backward") -> Grade:
    """Grade ``answers`` (``{"dW2": ..., "dz1": "dh1 * relu_prime(z1)"}`` or ``backward(values) -> dict``)
    for the backward pass of ``derivation`` at ``values``: one row per quantity, in the backward order."""
    numbers = PracticeNumbers.of(derivation, values)
    if lang not in LANGUAGES:
        raise OptionError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    names = blank_quantities(derivation, blanks)
    read = read_answers(derivation, answers, numbers.public.forward, {n: None for n in numbers.order})
    rows = [n for n in numbers.order if n in names or n in read]
    return _Grader(numbers, read, lang).grade(rows)


class PracticeNumbers:
    """A derivation's numbers at some values, as the program holds them, and its step program."""

    def __init__(self, derivation: Derivation, values: Any) -> None:
        check_practicable(derivation)
        self.derivation = derivation
        self.network = derivation.network
        arrays, batch_size = conform_all(derivation, values)
        forward, gradient = derivation._program(arrays, batch_size or 1)
        self.batch_size = batch_size or 1
        self.batched = batch_size is not None
        self.public = evaluation(derivation, forward, gradient, batch_size)
        self.forward = {n: np.asarray(v, dtype=float) for n, v in forward.items()}
        self.truth = {n: self._internal(n, gradient[n]) for n in gradient}
        self.order = backward_order(derivation)

    @classmethod
    def of(cls, derivation: Derivation, values: Any) -> PracticeNumbers:
        return cls(derivation, values)

    def _internal(self, name: str, array: Any) -> np.ndarray:
        array = np.asarray(array, dtype=float)
        q = self.network[name]
        if self.batched and q.kind not in (PARAM,) and name != self.derivation.loss and array.ndim == 2:
            array = np.broadcast_to(array, (self.batch_size, *array.shape)).copy()
        return array

    @cached_property
    def steps(self) -> StepNumbers:
        cache = self.derivation.__dict__.setdefault("_practice_steps", {})
        if "steps" not in cache:
            cache["steps"] = StepNumbers(self.derivation)
        return cache["steps"]

    def rounded_forward(self, places: int) -> dict[str, np.ndarray]:
        """The forward values as a worksheet prints them: nodes to ``places`` decimals, the rest as given."""
        return {n: np.round(v, places) if self.network[n].kind == NODE else v for n, v in self.forward.items()}

    def counts(self) -> tuple[int, ...]:
        """The numbers a mean of the loss divides by: the batch size, the rows (or entries) the loss averages."""
        counts = [self.batch_size] if self.batched and self.batch_size > 1 else []
        loss = self.network[self.derivation.loss]
        kind = getattr(loss.definition, "kind", None)
        operand = getattr(loss.definition, "prediction", None)
        if kind is not None and kind != "half_squared_error" and operand is not None:
            rows, columns = operand.shape
            counts += [n for n in (rows, rows * columns) if n > 1]
        return tuple(dict.fromkeys(counts))


class _Grader:
    def __init__(self, numbers: PracticeNumbers, answers: dict[str, Answer], lang: str) -> None:
        self.numbers = numbers
        self.derivation = numbers.derivation
        self.answers = answers
        self.lang = lang
        self.own = dict(numbers.truth)
        self.given: dict[str, Any] = {}
        self.fitted: dict[str, np.ndarray | None] = {}
        self.raw: dict[str, np.ndarray] = {}
        self.places: dict[str, np.ndarray] = {}
        self.problems: dict[str, str] = {}
        self.verdicts: dict[str, str] = {}

    def grade(self, names: list[str]) -> Grade:
        for name in names:  # in the backward order: an expression reads the answers before it
            self._read(name)
        steps = self.numbers.steps
        n = self.numbers
        self.contexts = {"true": (steps(n.forward, n.truth, n.batch_size), n.truth),
                         "own": (steps(n.forward, self.own, n.batch_size), self.own)}
        rows = [self._row(name) for name in names]
        return Grade(tuple(rows), self.lang, self.derivation.loss)

    # -- reading ----------------------------------------------------------------------------------

    def _read(self, name: str) -> None:
        answer = self.answers.get(name)
        if answer is None:
            return
        places = answer.decimals
        if answer.misfit is not None:
            self.given[name] = answer.text
            return
        if answer.expression is not None:
            function = compiled_expression(self.derivation.network, name, answer.expression)
            value = function(self.numbers.forward, self.own, self.numbers.batch_size)
            places = np.full(value.shape, math.inf)
        else:
            value = answer.numbers
        self.given[name] = answer.text if answer.text is not None else value
        if not np.all(np.isfinite(value)):
            self.problems[name] = "it is not a finite number"
            return
        fitted = _fit(value, self.numbers.truth[name].shape, self.numbers.public.grad[name].shape)
        self.places[name] = _places_like(places, value, fitted)
        self.fitted[name] = fitted
        self.raw[name] = value
        if fitted is not None:
            self.own[name] = fitted

    # -- judging ------------------------------------------------------------------------------------

    def _row(self, name: str) -> Row:
        verdict, mistake, details = self._judge(name)
        self.verdicts[name] = verdict
        details = {"name": name, "gradient": gradient_text(name, self.derivation.loss),
                   "shape": self.numbers.public.grad[name].shape, "rule": self._rule(name), **details}
        key = f"mistake.{mistake}" if mistake else verdict
        if verdict == "rounded" and "rounded_from" in details:
            key = "rounded.from"
        if mistake == "batch_mean":
            key += f".{details.get('direction', 'left_out')}"
        if details.get("expression"):
            key += ".expression"
        elif mistake == "transpose" and "factor" in details:
            key += ".factor"
        return Row(name, verdict, mistake, hint(key, self.lang, **details),
                   np.array(self.numbers.public.grad[name]), self.given.get(name))

    def _judge(self, name: str) -> tuple[str, str | None, dict[str, Any]]:
        answer = self.answers.get(name)
        if answer is not None and answer.misfit is not None:
            if answer.fits_transposed:
                return "wrong", "transpose", {"reason": answer.misfit, "factor": answer.fits_transposed,
                                              "expression": True}
            return "wrong", "shape", {"reason": answer.misfit, "expression": True}
        if name in self.problems:
            return "unreadable", None, {"reason": self.problems[name]}
        if name not in self.fitted:
            return "missing", None, {}
        truth = self.numbers.truth[name]
        answer, places = self.fitted[name], self.places[name]
        if answer is not None:
            if _close(answer, truth):
                return "correct", None, {}
            finite = places[np.isfinite(places)]
            shown = {"places": int(finite.max())} if finite.size else {
                "rounded_from": [gradient_text(s) for s in upstream_of(self.derivation, name)
                                 if self.verdicts.get(s) == "rounded"]}
            carried = [s for s in upstream_of(self.derivation, name) if self.verdicts.get(s) in _CARRIES_AN_ERROR]
            for numbers, _ in self._own_contexts(places):
                expected = self._value(numbers, name)
                if _close(answer, expected) or _within(answer, expected, places):
                    if carried and not _within(answer, truth, places):
                        return "upstream", None, {"sources": [gradient_text(s) for s in carried]}
                    return "rounded", None, shown
            if _within(answer, truth, places):
                return "rounded", None, shown
        return ("wrong", *self._diagnose(name))

    def _own_contexts(self, places: np.ndarray):
        yield self.contexts["own"]
        finite = places[np.isfinite(places)]
        if finite.size:
            printed = int(min(finite.max(), 12))
            key = f"printed{printed}"
            if key not in self.contexts:
                n = self.numbers
                self.contexts[key] = (n.steps(n.rounded_forward(printed), self.own, n.batch_size), self.own)
            yield self.contexts[key]

    def _diagnose(self, name: str) -> tuple[str | None, dict[str, Any]]:
        answer = self.fitted.get(name)
        raw = self.raw.get(name)
        places = self.places.get(name)
        parameter = self.derivation.network[name].kind == PARAM
        counts = self.numbers.counts()
        contexts = [*self._own_contexts(places if places is not None else np.array([math.inf])),
                    self.contexts["true"]]
        for numbers, adjoints in contexts:
            parts = [(s, numbers.edges[s.index]) for s in self.derivation.steps_into(name) if s.kind == EDGE]
            for candidate in candidates(parts, numbers, adjoints, parameter=parameter,
                                        batch_size=self.numbers.batch_size, counts=counts):
                for given in (answer, raw):
                    # a wrong answer is matched a little more loosely: the student rounded the wrong number
                    if given is not None and given.shape == candidate.value.shape and (
                            _close(given, candidate.value)
                            or _within(given, candidate.value, _shaped(places, given) - _ONE_UNIT)):
                        return candidate.code, self._details(name, candidate.details)
        if name in self.problems or answer is None:
            shape = np.shape(raw) if raw is not None else ()
            return "shape", {"given": "×".join(map(str, shape)) or "scalar"}
        return None, {}

    def _details(self, name: str, details: dict[str, Any]) -> dict[str, Any]:
        shown = dict(details)
        if "left_out" in shown:
            shown["left_out"] = ", ".join(shown["left_out"])
            shown["users"] = ", ".join(upstream_of(self.derivation, name))
        return shown

    def _value(self, numbers, name: str) -> np.ndarray:
        parts = [numbers.edges[s.index] for s in self.derivation.steps_into(name) if s.kind == EDGE]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return np.asarray(total, dtype=float)

    def _rule(self, name: str) -> str:
        step = self.derivation.step_for(name)
        text = str(step.result) if step is not None else ""
        return (text.replace("dL/d", f"∂{self.derivation.loss}/∂").replace(".T", "ᵀ").replace(" @ ", " · ")
                .replace("**", "^").replace(" * ", " ⊙ ").replace("*", "·"))


def _fit(value: np.ndarray, internal: tuple[int, ...], public: tuple[int, ...]) -> np.ndarray | None:
    """The answer in the program's layout, or None where its shape is not the quantity's.

    A vector may be written flat ([-0.73, -0.98] for a column), as the reference page writes it;
    a row written as a column (or any other shape) is not the quantity's shape."""
    if value.shape == internal:
        return value
    if value.shape == public or (value.ndim < len(internal) and _long_axes(value.shape) == _long_axes(internal)):
        return value.reshape(internal)
    return None


def _long_axes(shape: tuple[int, ...]) -> list[int]:
    return [d for d in shape if d != 1]


def _places_like(places: np.ndarray | None, value: np.ndarray, fitted: np.ndarray | None) -> np.ndarray:
    places = np.full(value.shape, math.inf) if places is None else np.broadcast_to(places, value.shape)
    return places.reshape(fitted.shape) if fitted is not None else places


def _shaped(places: np.ndarray | None, given: np.ndarray) -> np.ndarray:
    if places is None or places.size != given.size:
        return np.full(given.shape, math.inf)
    return places.reshape(given.shape)


def _close(answer: np.ndarray, expected: np.ndarray) -> bool:
    return answer.shape == np.shape(expected) and bool(np.allclose(answer, expected, rtol=1e-6, atol=1e-9))


def _within(answer: np.ndarray, expected: np.ndarray, places: np.ndarray) -> bool:
    """Whether each entry is right to the decimals it was written with (an exact entry: to float precision)."""
    if answer.shape != np.shape(expected):
        return False
    half_unit = np.where(np.isfinite(places), 0.5 * 10.0 ** -np.where(np.isfinite(places), places, 0), 0.0)
    tolerance = half_unit * (1 + 1e-9) + 1e-9 + 1e-6 * np.abs(expected)
    return bool(np.all(np.abs(answer - expected) <= tolerance))


__all__ = ["VERDICTS", "PracticeNumbers", "grade"]
