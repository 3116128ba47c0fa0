"""A small convolutional classifier, as CS231n's three-layer convnet: conv → ReLU → max-pool → affine → loss."""

from __future__ import annotations

from ..errors import NetworkError
from ..network import Network
from ..ops import loss_op
from ..ops.losses import CLASSIFICATION_LOSS
from ..tensor.convolution import conv2d
from ..tensor.pooling import max_pool2d
from .options import check_loss, resolve_activation, size


def cnn(C: int = 1, H: int = 6, W: int = 6, filters: int = 2, kernel: int = 3, pool: int = 2, classes: int = 3,
        N: int = 2, loss: str = CLASSIFICATION_LOSS) -> Network:
    """N images of C channels, H × W, classified into ``classes`` by one convolution, ReLU and max pooling.

    Names: x (N, C, H, W) the images and y (N, 1) their class indices (integers 0 … classes − 1);
    W1 (filters, C, kernel, kernel) and b1 (filters, 1) the filters and their biases;
    conv = conv2d(x, W1, b1) with stride 1 and padding (kernel − 1) // 2, which keeps an odd kernel's
    H × W, as CS231n's network does; h = ReLU(conv); pooled = max_pool2d(h, pool), (N, filters, H″, W″)
    with H″ = H′ // pool; flat = pooled.reshape(N, filters·H″·W″), each sample's maps as one row;
    W2 (filters·H″·W″, classes) and b2 (1, classes) the affine layer; scores = flat·W2 + b2; the loss L is the
    softmax cross-entropy of the scores against y, the mean over the N samples, as PyTorch's CrossEntropyLoss.
    """
    C, H, W, filters, kernel, pool, classes, N = (size(name, value) for name, value in (
        ("C", C), ("H", H), ("W", W), ("filters", filters), ("kernel", kernel), ("pool", pool),
        ("classes", classes), ("N", N)))
    record = loss_op(check_loss(loss))
    if record.construct is None:  # the losses that take class indices are the ones built along an axis
        raise NetworkError(f"cnn classifies against class indices y (N, 1): the loss must take them "
                           f"({CLASSIFICATION_LOSS!r}); {loss!r} compares with a target of the scores' shape")
    padding = (kernel - 1) // 2
    if kernel > H + 2 * padding or kernel > W + 2 * padding:
        raise NetworkError(f"cnn: the kernel {kernel} is larger than the {H}×{W} images padded with {padding}")
    net = Network()
    x = net.input("x", (N, C, H, W))
    y = net.input("y", (N, 1))
    W1 = net.param("W1", (filters, C, kernel, kernel))
    b1 = net.param("b1", (filters, 1))
    conv = net.node("conv", conv2d(x, W1, b1, stride=1, padding=padding))
    if pool > min(conv.shape[-2:]):
        raise NetworkError(f"cnn: the pooling window {pool} is larger than the {conv.shape[-2]}×{conv.shape[-1]} "
                           "maps the convolution gives")
    h = net.node("h", resolve_activation("relu")(conv))
    pooled = net.node("pooled", max_pool2d(h, pool))
    flat = net.node("flat", pooled.reshape(N, -1))
    W2 = net.param("W2", (flat.shape[1], classes))
    b2 = net.param("b2", (1, classes))
    scores = net.node("scores", flat @ W2 + b2)
    net.loss("L", record(scores, y, axis=1))
    return net
