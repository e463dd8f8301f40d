"""The attention layers' weights in their PyTorch twins (float64), so that tests compare the
NumPy forward and backward passes with ``torch.nn.MultiheadAttention`` and
``torch.nn.TransformerEncoderLayer``."""
from __future__ import annotations

import numpy as np
import torch

from coursekit import attention as A


def t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def lin_weight(W):
    """Our row-convention W (d_in, d_out) as a torch Linear's weight (d_out, d_in)."""
    return torch.tensor(W.T.copy(), dtype=torch.float64)


def copy_into_torch_mha(mha: A.MultiHeadAttention) -> torch.nn.MultiheadAttention:
    p = mha.params
    module = torch.nn.MultiheadAttention(mha.d_model, mha.num_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.cat([lin_weight(p["W_Q"]), lin_weight(p["W_K"]), lin_weight(p["W_V"])]))
        module.in_proj_bias.copy_(t(np.concatenate([p["b_Q"], p["b_K"], p["b_V"]])))
        module.out_proj.weight.copy_(lin_weight(p["W_O"]))
        module.out_proj.bias.copy_(t(p["b_O"]))
    return module


def copy_norm(module, norm: A.LayerNorm):
    with torch.no_grad():
        module.weight.copy_(t(norm.params["gamma"]))
        module.bias.copy_(t(norm.params["beta"]))


def copy_ffn(linear1, linear2, ffn: A.FeedForward):
    p = ffn.params
    with torch.no_grad():
        linear1.weight.copy_(lin_weight(p["W1"]))
        linear1.bias.copy_(t(p["b1"]))
        linear2.weight.copy_(lin_weight(p["W2"]))
        linear2.bias.copy_(t(p["b2"]))


def randomize_norms(block, names, rng):
    for name in names:
        norm = getattr(block, name)
        norm.params["gamma"] = rng.normal(size=norm.params["gamma"].shape)
        norm.params["beta"] = rng.normal(size=norm.params["beta"].shape)


def torch_encoder_layer(block: A.EncoderBlock) -> torch.nn.TransformerEncoderLayer:
    """PyTorch's encoder layer (post-norm, no dropout) with the block's weights."""
    attention, ffn = block.attention, block.ffn
    d_ff = ffn.params["W1"].shape[1]
    layer = torch.nn.TransformerEncoderLayer(attention.d_model, attention.num_heads, d_ff, dropout=0.0,
                                             batch_first=True, norm_first=False, dtype=torch.float64)
    layer.self_attn.load_state_dict(copy_into_torch_mha(attention).state_dict())
    copy_ffn(layer.linear1, layer.linear2, ffn)
    copy_norm(layer.norm1, block.norm1)
    copy_norm(layer.norm2, block.norm2)
    return layer
