"""Networks of the practice tests, each with values and a hand-written NumPy backward pass.

Each backward pass is written as a student writes one (the lecture's style: dW2 = dz2 @ h1.T),
and can make one named mistake at one step; every later step is computed, correctly, from the
student's own earlier results.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import symbackprop as sbp


def reference():
    def backward(v, mistake=None):
        a = {}
        a["dh2"] = v["y"] - v["h2"] if mistake == "sign" else (
            2 * (v["h2"] - v["y"]) if mistake == "factor" else v["h2"] - v["y"])
        a["dz2"] = a["dh2"] * (v["z2"] > 0)
        a["dW2"] = a["dz2"] * v["h1"] if mistake == "transpose_dW2" else a["dz2"] * v["h1"].T
        a["db2"] = a["dz2"]
        a["dh1"] = v["W2"].T * a["dz2"]
        a["dz1"] = a["dh1"] * (v["z1"] > 0)
        a["dW1"] = v["x"] @ a["dz1"].T if mistake == "transpose_dW1" else a["dz1"] @ v["x"].T
        a["db1"] = a["dz1"]
        return a

    return sbp.backprop(sbp.reference_network()), sbp.reference_values(), backward


def sigmoid_batch():
    net = sbp.Network()
    X = net.input("X", (4, 2))
    y = net.input("y", (4, 1))
    W1 = net.param("W1", (2, 3))
    b1 = net.param("b1", (1, 3))
    W2 = net.param("W2", (3, 1))
    b2 = net.param("b2")
    Z1 = net.node("Z1", X @ W1 + b1)
    H = net.node("H", sbp.tanh(Z1))
    z = net.node("z", H @ W2 + b2)
    p = net.node("p", sbp.sigmoid(z))
    net.loss("L", sbp.binary_cross_entropy(p, y))
    values = {"X": [[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8], [1.0, 1.0]], "y": [[1], [0], [1], [0]],
              "W1": [[0.4, -0.6, 0.2], [0.3, 0.5, -0.7]], "b1": [[0.1, -0.2, 0.3]],
              "W2": [[0.8], [-0.5], [0.6]], "b2": 0.1}

    def backward(v, mistake=None):
        a, p, H = {}, v["p"], v["H"]
        n = 1 if mistake == "batch_mean" else 4
        a["dp"] = (p - v["y"]) / (p * (1 - p)) / n
        s = 1 / (1 + np.exp(-p))
        a["dz"] = a["dp"] * s * (1 - s) if mistake == "activation_sigmoid" else a["dp"] * p * (1 - p)
        a["dW2"] = (H.T @ a["dz"]).T if mistake == "transpose" else H.T @ a["dz"]
        a["db2"] = a["dz"].sum()
        a["dH"] = a["dz"] @ v["W2"].T
        local = 1 - np.tanh(H) ** 2 if mistake == "activation_tanh" else 1 - H ** 2
        a["dZ1"] = a["dH"] if mistake == "dropped_factor" else a["dH"] * local
        a["dW1"] = -(v["X"].T @ a["dZ1"]) if mistake == "sign" else v["X"].T @ a["dZ1"]
        a["db1"] = a["dZ1"].sum(axis=1, keepdims=True) if mistake == "shape" else a["dZ1"].sum(axis=0, keepdims=True)
        return a

    return sbp.backprop(net), values, backward


def softmax_batch():
    net = sbp.Network()
    X = net.input("X", (4, 2))
    Y = net.input("Y", (4, 3))
    W = net.param("W", (2, 3))
    b = net.param("b", (1, 3))
    logits = net.node("logits", X @ W + b)
    net.loss("L", sbp.cross_entropy(logits, Y, axis=1))
    values = {"X": [[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8], [1.0, 1.0]],
              "Y": [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]],
              "W": [[0.4, -0.6, 0.2], [0.3, 0.5, -0.7]], "b": [[0.1, -0.2, 0.3]]}

    def backward(v, mistake=None):
        a, z = {}, v["logits"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities = e / e.sum(axis=1, keepdims=True)
        n = 1 if mistake == "batch_mean" else 4
        a["dlogits"] = (v["Y"] - probabilities) / n if mistake == "sign" else (probabilities - v["Y"]) / n
        a["dW"] = a["dlogits"].T @ v["X"] if mistake == "transpose" else v["X"].T @ a["dlogits"]
        a["db"] = a["dlogits"].sum(axis=0, keepdims=True)
        return a

    return sbp.backprop(net), values, backward


def fan_out():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    y = net.input("y")
    W1 = net.param("W1", (2, 2))
    b1 = net.param("b1", (2, 1))
    W2 = net.param("W2", (2, 2))
    b2 = net.param("b2", (2, 1))
    w3 = net.param("w3", (1, 2))
    z1 = net.node("z1", W1 @ x + b1)
    h1 = net.node("h1", sbp.tanh(z1))
    z2 = net.node("z2", W2 @ h1 + b2)
    h2 = net.node("h2", sbp.sigmoid(z2))
    s = net.node("s", h1 + h2)               # h1 is used twice: by z2 and by the skip connection
    o = net.node("o", w3 @ s)
    net.loss("L", sp.Rational(1, 2) * (o - y) ** 2)
    values = {"x": [0.5, -1.0], "y": 0.3, "W1": [[0.4, -0.6], [0.3, 0.5]], "b1": [0.1, -0.2],
              "W2": [[0.8, -0.5], [0.6, 0.2]], "b2": [0.1, 0.0], "w3": [[0.7, -0.4]]}

    def backward(v, mistake=None):
        a = {}
        a["do"] = v["o"] - v["y"]
        a["dw3"] = a["do"] * v["s"].T
        a["ds"] = v["w3"].T * a["do"]
        a["dh2"] = a["ds"]
        s = 1 / (1 + np.exp(-v["h2"]))
        a["dz2"] = a["dh2"] * (s * (1 - s) if mistake == "activation_point" else v["h2"] * (1 - v["h2"]))
        a["dW2"] = a["dz2"] @ v["h1"].T
        a["db2"] = a["dz2"]
        through_z2 = (v["W2"] if mistake == "transpose" else v["W2"].T) @ a["dz2"]
        a["dh1"] = {"fan_out_skip": through_z2, "fan_out_z2": a["ds"]}.get(mistake, a["ds"] + through_z2)
        a["dz1"] = a["dh1"] * (1 - v["h1"] ** 2)
        a["dW1"] = -(a["dz1"] @ v["x"].T) if mistake == "sign" else a["dz1"] @ v["x"].T
        a["db1"] = a["dz1"]
        return a

    return sbp.backprop(net), values, backward


def rnn():
    net = sbp.models.rnn(2, 2, T=3)
    values = {"X": [[0.5, -0.3, 0.8], [0.1, 0.9, -0.4]], "h0": [0.0, 0.0], "y": [[0.2, -0.1, 0.4], [0.3, 0.5, -0.2]],
              "W": [[0.5, -0.3], [0.2, 0.4]], "U": [[0.6, 0.1], [-0.2, 0.7]], "b": [0.1, -0.1]}

    def backward(v, mistake=None):
        a, W, U = {}, v["W"], v["U"]
        a["dout"] = v["out"] - v["y"]
        for t in (3, 2, 1):
            from_output = a["dout"][:, t - 1:t]
            if t == 3:
                a["dh3"] = from_output
            else:
                recurrent = (W if mistake == "transpose_dh" and t == 2 else W.T) @ a[f"dz{t + 1}"]
                a[f"dh{t}"] = from_output if mistake == "fan_out_dh" and t == 2 else from_output + recurrent
            h = v[f"h{t}"]
            local = 1 - np.tanh(h) ** 2 if mistake == "activation_point" and t == 3 else 1 - h ** 2
            a[f"dz{t}"] = a[f"dh{t}"] * local
            a[f"dx{t}"] = U.T @ a[f"dz{t}"]
        steps = (2, 3) if mistake == "fan_out_db" else (1, 2, 3)
        a["db"] = sum(a[f"dz{t}"] for t in steps)
        dU = sum(a[f"dz{t}"] @ v[f"x{t}"].T for t in (1, 2, 3))
        a["dU"] = dU.T if mistake == "transpose_dU" else dU
        previous = {1: v["h0"], 2: v["h1"], 3: v["h2"]}
        steps = (1, 2) if mistake == "fan_out_dW" else (1, 2, 3)
        a["dW"] = sum(a[f"dz{t}"] @ previous[t].T for t in steps)
        return a

    return sbp.backprop(net), values, backward


def layer_norm():
    net = sbp.models.layer_norm(3)
    values = {"x": [0.5, -1.0, 2.0], "y": [0.1, 0.2, -0.3], "gamma": [1.2, 0.8, -0.5], "beta": [0.1, 0.0, 0.2]}

    def backward(v, mistake=None):
        a, eps = {}, 1e-5
        a["dout"] = v["out"] - v["y"]
        a["dgamma"] = a["dout"] * v["xhat"]
        a["dbeta"] = a["dout"]
        a["dxhat"] = a["dout"] * v["gamma"]
        dsigma = -np.sum(a["dxhat"] * v["xc"]) / v["sigma"] ** 2
        a["dsigma"] = -dsigma if mistake == "sign" else dsigma
        root = np.sqrt(v["var"] + eps)
        a["dvar"] = a["dsigma"] / root if mistake == "factor" else a["dsigma"] / (2 * root)
        through_var = 2 / 3 * a["dvar"] * v["xc"]
        a["dxc"] = a["dxhat"] / v["sigma"] + (0 if mistake == "fan_out_dxc" else through_var)
        a["dmu"] = -np.sum(a["dxc"])
        a["dx"] = a["dxc"] + (0 if mistake == "fan_out_dx" else a["dmu"] / 3)
        return a

    return sbp.backprop(net), values, backward


NETWORKS = {"reference": reference, "sigmoid_batch": sigmoid_batch, "softmax_batch": softmax_batch,
            "fan_out": fan_out, "rnn": rnn, "layer_norm": layer_norm}

#: (network, the mistake the student makes, the code it must be diagnosed with, the step it is made at)
SEEDED_MISTAKES = [
    ("reference", "sign", "sign", "h2"),
    ("reference", "factor", "factor", "h2"),
    ("reference", "transpose_dW2", "transpose", "W2"),
    ("reference", "transpose_dW1", "transpose", "W1"),
    ("sigmoid_batch", "batch_mean", "batch_mean", "p"),
    ("sigmoid_batch", "activation_sigmoid", "activation_point", "z"),
    ("sigmoid_batch", "transpose", "transpose", "W2"),
    ("sigmoid_batch", "activation_tanh", "activation_point", "Z1"),
    ("sigmoid_batch", "dropped_factor", "dropped_factor", "Z1"),
    ("sigmoid_batch", "sign", "sign", "W1"),
    ("sigmoid_batch", "shape", "shape", "b1"),
    ("softmax_batch", "batch_mean", "batch_mean", "logits"),
    ("softmax_batch", "sign", "sign", "logits"),
    ("softmax_batch", "transpose", "transpose", "W"),
    ("fan_out", "activation_point", "activation_point", "z2"),
    ("fan_out", "fan_out_skip", "fan_out", "h1"),
    ("fan_out", "fan_out_z2", "fan_out", "h1"),
    ("fan_out", "transpose", "transpose", "h1"),
    ("fan_out", "sign", "sign", "W1"),
    ("rnn", "activation_point", "activation_point", "z3"),
    ("rnn", "fan_out_dh", "fan_out", "h2"),
    ("rnn", "transpose_dh", "transpose", "h2"),
    ("rnn", "fan_out_db", "fan_out", "b"),
    ("rnn", "transpose_dU", "transpose", "U"),
    ("rnn", "fan_out_dW", "fan_out", "W"),
    ("layer_norm", "sign", "sign", "sigma"),
    ("layer_norm", "factor", "factor", "var"),
    ("layer_norm", "fan_out_dxc", "fan_out", "xc"),
    ("layer_norm", "fan_out_dx", "fan_out", "x"),
]
