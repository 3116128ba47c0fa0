"""Ready-made networks: the reference page's perceptron and the blocks networks are built from.

Each function returns a :class:`~symbackprop.network.Network` with documented names and a
default loss (½‖out − y‖² against a target y of the output's shape).
"""

from .attention import attention_head
from .batchnorm import batch_norm
from .cnn import cnn
from .embedding import embedding_mlp
from .gru import gru
from .layernorm import layer_norm
from .lstm import lstm
from .perceptron import mlp
from .recurrent import rnn
from .residual import residual_block
from .rmsnorm import rms_norm
from .swiglu import swiglu_mlp
from .transformer import transformer_block

__all__ = ["attention_head", "batch_norm", "cnn", "embedding_mlp", "gru", "layer_norm", "lstm", "mlp",
           "residual_block", "rms_norm", "rnn", "swiglu_mlp", "transformer_block"]
