"""from_torch against PyTorch itself: the page's example and random modules, to 1e-10 in float64.

Without torch these tests skip, except where SYMBACKPROP_REQUIRE_TOOLS=1 (CI): there the
import fails and so does the module.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
    import torch
else:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")

from torch import nn  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.errors import NetworkError, UnsupportedFunctionError  # noqa: E402
from symbackprop.torch_bridge import from_torch, torch_parameter_names  # noqa: E402
from symbackprop.training import clip_grad_norm  # noqa: E402

TOLERANCE = 1e-10


def _torch_gradients(model, x, y, loss: str = "mse") -> tuple[float, dict[str, np.ndarray]]:
    model.zero_grad()
    prediction = model(torch.as_tensor(x, dtype=torch.float64))
    target = torch.as_tensor(y, dtype=torch.float64)
    if loss == "mse":
        value = ((prediction - target) ** 2).mean()
    elif loss == "half_squared_error":
        value = 0.5 * ((prediction - target) ** 2).sum(dim=1).mean()
    elif loss == "bce_with_logits":
        value = nn.BCEWithLogitsLoss()(prediction, target)
    else:
        raise AssertionError(loss)
    value.backward()
    return float(value.detach()), {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}


def _compare(model, x, y, loss: str = "mse") -> None:
    net, values = from_torch(model, loss=loss)
    d = sbp.backprop(net)
    evaluation = d.evaluate({**values, "x": x, "y": y})
    torch_loss, torch_grads = _torch_gradients(model, x, y, loss)
    assert float(evaluation.loss) == pytest.approx(torch_loss, rel=TOLERANCE, abs=TOLERANCE)
    names = torch_parameter_names(model)
    assert set(names) == set(torch_grads)
    for torch_name, ours in names.items():
        expected = torch_grads[torch_name]
        np.testing.assert_allclose(np.asarray(evaluation.grad[ours]).reshape(expected.shape), expected,
                                   rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"{torch_name} = {ours}")


def test_the_page_example():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    net, values = from_torch(model)
    assert [q.name for q in net.quantities()] == ["x", "y", "W1", "b1", "z1", "h1", "W2", "b2", "z2", "L"]
    assert set(values) == {"W1", "b1", "W2", "b2"} and all(v.dtype == np.float64 for v in values.values())
    np.testing.assert_array_equal(values["W1"], model[0].weight.detach().numpy())
    _compare(model, [[1.0, 2.0]], [[3.0]])
    assert torch_parameter_names(model) == {"0.weight": "W1", "0.bias": "b1", "2.weight": "W2", "2.bias": "b2"}


def test_the_page_example_in_float32_is_converted():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    _, values = from_torch(model)
    assert values["W1"].dtype == np.float64
    np.testing.assert_array_equal(values["W1"], model[0].weight.detach().double().numpy())


ACTIVATIONS = [nn.ReLU, nn.Sigmoid, nn.Tanh, lambda: nn.LeakyReLU(0.2), nn.Softplus, nn.Identity, nn.LeakyReLU]


@pytest.mark.parametrize("seed", range(24))
def test_random_modules_match_backward(seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    widths = [int(w) for w in rng.integers(1, 5, size=rng.integers(2, 5))]
    layers: list[nn.Module] = []
    for k, (m, n) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(m, n, bias=bool(rng.random() < 0.85)))
        if k < len(widths) - 2 or rng.random() < 0.3:
            layers.append(ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]())
    model = nn.Sequential(*layers).double()
    batch = int(rng.integers(1, 6))
    x = rng.normal(size=(batch, widths[0]))
    y = rng.normal(size=(batch, widths[-1]))
    loss = ["mse", "half_squared_error"][seed % 2]
    _compare(model, x, y, loss)


def test_logits_loss_and_nested_sequential():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), nn.Linear(4, 2)).double()
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(4, 3)), rng.integers(0, 2, size=(4, 2)).astype(float)
    _compare(model, x, y, "bce_with_logits")
    assert torch_parameter_names(model)["0.0.weight"] == "W1"


def test_unsupported_modules_are_refused_clearly():
    with pytest.raises(UnsupportedFunctionError, match="Dropout"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)))
    with pytest.raises(UnsupportedFunctionError, match="nn.Sequential"):
        from_torch(nn.Linear(2, 2))
    with pytest.raises(UnsupportedFunctionError, match="two activations"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Tanh()))
    with pytest.raises(UnsupportedFunctionError, match="beta"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2)))
    with pytest.raises(NetworkError, match="unknown loss"):
        from_torch(nn.Sequential(nn.Linear(2, 2)), loss="hinge")
    with pytest.raises(NetworkError, match="input_shape"):
        from_torch(nn.Sequential(nn.Linear(2, 2)), input_shape=3)


def test_a_leading_activation_needs_the_input_shape():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Tanh(), nn.Linear(3, 2)).double()
    with pytest.raises(NetworkError, match="input_shape"):
        from_torch(model)
    net, values = from_torch(model, input_shape=3)
    assert "h0" in net
    x, y = np.random.default_rng(2).normal(size=(2, 3)), np.zeros((2, 2))
    evaluation = sbp.backprop(net).evaluate({**values, "x": x, "y": y})
    _, grads = _torch_gradients(model, x, y)
    np.testing.assert_allclose(evaluation.grad["W1"], grads["1.weight"], rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.05, 1.0, 50.0])
def test_clipping_equals_torch(norm_type, max_norm):
    torch.manual_seed(int(max_norm * 100))
    model = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 2)).double()
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2)) * 5
    _, grads = _torch_gradients(model, x, y)
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type=norm_type)
    ours = clip_grad_norm(grads, max_norm, norm_type)
    assert ours.total_norm == pytest.approx(float(total), rel=1e-12)
    for name, parameter in model.named_parameters():
        np.testing.assert_allclose(ours.grads[name], parameter.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_gradient_flow_norms_equal_torch_norms():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 6), nn.Sigmoid(), nn.Linear(6, 6), nn.Sigmoid(), nn.Linear(6, 1)).double()
    net, values = from_torch(model)
    x, y = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0]])
    flow = sbp.backprop(net).gradient_flow({**values, "x": x, "y": y})
    _, grads = _torch_gradients(model, x, y)
    names = torch_parameter_names(model)
    for torch_name, ours in names.items():
        assert flow[ours].norm == pytest.approx(np.linalg.norm(grads[torch_name]), rel=1e-12)
    assert [layer.layer.output for layer in flow.layers] == ["x", "h1", "h2", "z3"]
