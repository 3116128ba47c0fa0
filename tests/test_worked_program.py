"""A document's numbers come from the generated program: each partial edge, local factor and sample's term."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.derivation import EDGE
from symbackprop.explicit import to_explicit
from symbackprop.network import INPUT, PARAM
from symbackprop.printing import numbers as printing_numbers
from symbackprop.worked import WorkedProgram, worked_numbers


def random_values(network, seed=0, batch=None):
    rng = np.random.default_rng(seed)
    values = {}
    for q in network.quantities(INPUT, PARAM):
        shape = () if q.shape is None else q.shape
        if batch is not None and q.kind == INPUT:
            shape = (batch, *shape)
        values[q.name] = rng.uniform(-1, 1, shape) if shape else float(rng.uniform(-1, 1))
    return values


def networks():
    return {
        "reference": sbp.reference_network(),
        "rnn": sbp.models.rnn(2, 3, 4),
        "attention": sbp.models.attention_head(3, T=2),
        "layer_norm": sbp.models.layer_norm(3),
        "scalar": sbp.mlp([2, 3, 1], level="scalar"),
    }


def as_float_array(value):
    if isinstance(value, sp.MatrixBase):
        return np.array(value.tolist(), dtype=float)
    return np.asarray(float(value) if isinstance(value, sp.Basic) else value, dtype=float)


@pytest.mark.parametrize("name", list(networks()))
def test_partials_and_local_factors_agree_with_the_element_by_element_oracle(name):
    derivation = sbp.backprop(networks()[name])
    values = random_values(derivation.network)
    numbers = worked_numbers(derivation, values)
    evaluation = numbers.evaluation
    element = {q.name: q for q in derivation.network.quantities(elements=True)}

    def lookup(table):
        def value(n):
            q = element[n]
            if q.group is not None:
                i, j = q.index
                return sp.Float(np.asarray(table[q.group], dtype=float)[i, j])
            array = np.asarray(table[n], dtype=float)
            return sp.Float(float(array)) if array.ndim == 0 else sp.ImmutableMatrix(array.tolist())
        return value

    forward, gradient = lookup(evaluation.forward), lookup(evaluation.grad)
    checked = 0
    for step in derivation.steps:
        if step.kind != EDGE:
            continue
        if step.index in numbers.partials:
            expected = as_float_array(to_explicit(step.result, forward, gradient).subs(sbp.BATCH_SIZE, 1))
            np.testing.assert_allclose(np.asarray(numbers.partials[step.index]).reshape(expected.shape),
                                       expected, rtol=1e-10, atol=1e-12)
            checked += 1
        if step.local is not None:
            expected = as_float_array(to_explicit(step.local, forward, gradient).subs(sbp.BATCH_SIZE, 1))
            np.testing.assert_allclose(np.asarray(numbers.locals[step.index]).reshape(expected.shape),
                                       expected, rtol=1e-10, atol=1e-12)
            checked += 1
    assert checked


@pytest.mark.parametrize("name", ["reference", "rnn", "scalar"])
def test_per_sample_terms_are_each_samples_own_gradient(name):
    network = networks()[name]
    derivation = sbp.backprop(network, batch=True)
    values = random_values(network, seed=3, batch=3)
    numbers = worked_numbers(derivation, values)
    for k in range(3):
        alone = {n: (v[k] if derivation.network[n].kind == INPUT else v) for n, v in values.items()}
        single = derivation.evaluate(alone)
        for parameter, terms in numbers.samples.items():
            q = derivation.network[parameter]
            if q.group is not None:  # an element of a scalar-level parameter
                expected = np.asarray(single.grad[q.group], dtype=float)[q.index]
            else:
                expected = np.asarray(single.grad[parameter], dtype=float)
            got = np.broadcast_to(np.asarray(terms, dtype=float), (3, *np.shape(terms)[-2:]))[k]
            np.testing.assert_allclose(got.reshape(np.shape(expected)), expected, rtol=1e-10, atol=1e-12)
    for parameter, terms in numbers.samples.items():
        q = derivation.network[parameter]
        mean = np.asarray(numbers.evaluation.grad[q.group or parameter], dtype=float)
        mean = mean[q.index] if q.group is not None else mean
        np.testing.assert_allclose(np.mean(np.asarray(terms, dtype=float), axis=0).reshape(np.shape(mean)), mean,
                                   rtol=1e-10, atol=1e-12)


def test_a_small_batch_writes_each_samples_term_and_their_mean():
    derivation = sbp.backprop(sbp.reference_network(), batch=True)
    values = dict(sbp.reference_values(), x=[[[1], [2]], [[0.5], [-1]], [[2], [1]]], y=[3, 1, 2])
    text = derivation.to_markdown(values, sections=(), decimals=2)
    example = text[text.index("## Worked example"):]
    assert r"\frac{\partial L}{\partial W_{1}} &= \frac{1}{N} \sum_{i=1}^{N} \frac{\partial L_{i}}{\partial W_{1}}" \
        in example
    # the first sample is the reference page's own example: its term is the page's ∂L/∂W1
    assert r"\frac{1}{3} \left(\begin{bmatrix} -0.73 & -1.46 \\ -0.98 & -1.95 \end{bmatrix} + " in example
    many = dict(values, x=[[[1], [2]]] * 5, y=[3] * 5)
    assert r"\sum_{i=1}^{N}" not in derivation.to_markdown(many, sections=()).split("## Worked example")[1].split(
        "## Applying")[0]


def test_float_documents_never_take_the_exact_path(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("SymPy arithmetic on numbers in a float document")

    monkeypatch.setattr(printing_numbers, "to_explicit", refuse)
    derivation = sbp.backprop(sbp.models.rnn(2, 3, 6))
    text = derivation.to_markdown(random_values(derivation.network), sections=())
    assert "Worked example" in text


def test_the_whole_page_works_its_numbers_out_once(monkeypatch):
    runs = []
    run = WorkedProgram.run
    monkeypatch.setattr(WorkedProgram, "run", lambda self, *args: runs.append(1) or run(self, *args))
    derivation = sbp.backprop(sbp.reference_network())
    text = derivation.to_markdown(sbp.reference_values(), page="full")
    # the gradient flow, the worked example and the PyTorch .grad table share one run of one program
    assert "-1.22" in text and len(runs) == 1


def test_a_tensor_network_at_whole_numbers_is_worked_in_floats():
    # whole numbers would be worked exactly, which is written for matrices: a rank-4 image is worked in floats
    derivation = sbp.backprop(sbp.models.cnn())
    rng = np.random.default_rng(0)
    values = {q.name: rng.integers(-2, 3, size=q.shape) for q in derivation.network.quantities(INPUT, PARAM)}
    values["y"] = np.array([[1], [2]])
    text = derivation.to_markdown(values, sections=())
    evaluation = derivation.evaluate(values)
    assert f"{float(evaluation.forward['L']):.4g}"[:4] in text.split("## Worked example")[1]
