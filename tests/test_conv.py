"""coursekit.conv: convolution and pooling against torch.nn.functional and torch.autograd,
the loop and im2col versions against each other, the decks' worked examples, the
output-size formula, the layers' protocol, counting and the architectures."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import conv, nn

# ------------------------------------------------------------- helpers ---


@st.composite
def conv_configs(draw):
    """A random convolution that fits: batch, channels, filters, sizes, strides and paddings."""
    N, C, Fn = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, fh - 2 * ph), 9))
    W = draw(st.integers(max(1, fw - 2 * pw), 9))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31))
    return N, C, Fn, (H, W), (fh, fw), (sh, sw), (ph, pw), seed


@st.composite
def pool_configs(draw):
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 9))
    W = draw(st.integers(max(1, kw - 2 * pw), 9))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return N, C, (H, W), (kh, kw), (sh, sw), (ph, pw), draw(st.integers(0, 2**31))


def _torch_conv(x, W, b, stride, padding, dout):
    """Forward and (dx, dW, db) from torch.autograd."""
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    out = F.conv2d(xt, Wt, bt, stride=stride, padding=padding)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


# ------------------------------------------- convolution vs torch ---


@settings(max_examples=60, deadline=None)
@given(conv_configs())
def test_conv2d_forward_and_backward_match_torch(config):
    N, C, Fn, (H, W_), k, stride, padding, seed = config
    rng = np.random.default_rng(seed)
    x, W, b = rng.normal(size=(N, C, H, W_)), rng.normal(size=(Fn, C, *k)), rng.normal(size=Fn)
    out = conv.conv2d(x, W, b, stride, padding)
    dout = rng.normal(size=out.shape)
    t_out, t_dx, t_dW, t_db = _torch_conv(x, W, b, stride, padding, dout)
    np.testing.assert_allclose(out, t_out, atol=1e-10)
    dx, dW, db = conv.conv2d_backward(dout, x, W, stride, padding)
    np.testing.assert_allclose(dx, t_dx, atol=1e-10)
    np.testing.assert_allclose(dW, t_dW, atol=1e-10)
    np.testing.assert_allclose(db, t_db, atol=1e-10)
    # the loop version gives the same numbers
    np.testing.assert_allclose(conv.conv2d_loop(x, W, b, stride, padding), out, atol=1e-10)
    for loop, vec in zip(conv.conv2d_loop_backward(dout, x, W, stride, padding), (dx, dW, db)):
        np.testing.assert_allclose(loop, vec, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(conv_configs())
def test_single_image_loop_matches_batched_and_torch(config):
    _, C, _, (H, W_), k, stride, padding, seed = config
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(C, H, W_)), rng.normal(size=(C, *k))
    expected = F.conv2d(torch.tensor(image[None]), torch.tensor(kernel[None]), stride=stride, padding=padding)[0, 0]
    np.testing.assert_allclose(conv.cross_correlate(image, kernel, stride, padding, bias=0.5),
                               expected.numpy() + 0.5, atol=1e-10)
    trace = conv.conv_trace(image, kernel, stride, padding, bias=0.5)
    np.testing.assert_allclose(trace[-1].output, expected.numpy() + 0.5, atol=1e-10)
    assert len(trace) == expected.numel() and np.isnan(trace[0].output).sum() == expected.numel() - 1


def test_im2col_and_col2im_are_adjoint():
    """<im2col(x), c> = <x, col2im(c)> for random x and c: col2im is the transpose that backward needs."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 7, 6))
    cols = conv.im2col(x, (3, 2), (2, 1), (1, 0))
    c = rng.normal(size=cols.shape)
    back = conv.col2im(c, x.shape, (3, 2), (2, 1), (1, 0))
    assert np.isclose(np.sum(cols * c), np.sum(x * back))
    assert cols.shape == (2 * 4 * 5, 3 * 3 * 2)


def test_conv2d_keeps_float32():
    rng = np.random.default_rng(0)
    x, W = rng.normal(size=(2, 1, 8, 8)).astype(np.float32), rng.normal(size=(4, 1, 3, 3)).astype(np.float32)
    out = conv.conv2d(x, W, np.zeros(4, np.float32), padding=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, F.conv2d(torch.tensor(x), torch.tensor(W), padding=1).numpy(), atol=1e-5)


def test_true_convolution_flips_the_kernel():
    rng = np.random.default_rng(1)
    image, kernel = rng.normal(size=(6, 6)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(conv.convolve(image, kernel), conv.cross_correlate(image, np.rot90(kernel, 2)))
    assert not np.allclose(conv.convolve(image, kernel), conv.cross_correlate(image, kernel))
    # an asymmetric kernel tells the two apart; the deck's filters are symmetric under the 180° turn
    for k in (conv.FILTER_1, conv.FILTER_2):
        np.testing.assert_array_equal(conv.convolve(conv.IMAGE_6X6, k), conv.cross_correlate(conv.IMAGE_6X6, k))
    assert not np.array_equal(conv.convolve(conv.IMAGE_6X6, conv.EDGE_ENHANCE),
                              conv.cross_correlate(conv.IMAGE_6X6, conv.EDGE_ENHANCE))


# ------------------------------------------------ pooling vs torch ---


@settings(max_examples=60, deadline=None)
@given(pool_configs())
def test_pooling_matches_torch(config):
    N, C, (H, W_), k, stride, padding, seed = config
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W_))
    for ours, ours_back, theirs in ((conv.max_pool2d, conv.max_pool2d_backward, F.max_pool2d),
                                    (conv.avg_pool2d, conv.avg_pool2d_backward, F.avg_pool2d)):
        xt = torch.tensor(x, requires_grad=True)
        t_out = theirs(xt, k, stride, padding)
        out = ours(x, k, stride, padding)
        np.testing.assert_allclose(out, t_out.detach().numpy(), atol=1e-12)
        dout = rng.normal(size=out.shape)
        t_out.backward(torch.tensor(dout))
        np.testing.assert_allclose(ours_back(dout, x, k, stride, padding), xt.grad.numpy(), atol=1e-12)


def test_max_pool_tie_goes_to_the_first_maximum_like_torch():
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 2).sum().backward()
    np.testing.assert_array_equal(conv.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2), xt.grad.numpy())


def test_global_average_pooling_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 5, 6))
    xt = torch.tensor(x, requires_grad=True)
    t_out = F.adaptive_avg_pool2d(xt, 1).flatten(1)
    np.testing.assert_allclose(conv.global_avg_pool(x), t_out.detach().numpy())
    dout = rng.normal(size=(3, 4))
    t_out.backward(torch.tensor(dout))
    np.testing.assert_allclose(conv.global_avg_pool_backward(dout, x.shape), xt.grad.numpy())


def test_pooling_works_on_a_single_map_and_a_stack():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(3, 6, 6))
    np.testing.assert_array_equal(conv.max_pool2d(maps)[1], conv.max_pool2d(maps[1]))
    trace = conv.pool_trace(maps[0], 2)
    np.testing.assert_array_equal(trace[-1].output, conv.max_pool2d(maps[0]))
    for record in trace:
        assert record.window[record.argmax] == record.value == record.window.max()
    np.testing.assert_allclose(conv.pool_trace(maps[0], 3, 1, "avg")[-1].output, conv.avg_pool2d(maps[0], 3, 1))


# ----------------------------------------------- worked examples ---

FILTER_1_STRIDE_1 = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
FILTER_2_STRIDE_1 = [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]


def test_the_6x6_example_at_stride_1_and_2():
    """curriculum.md unit 07 (decks 000 / 004): both filters, stride 1 and 2, then 2×2 max pooling."""
    image = conv.IMAGE_6X6
    np.testing.assert_array_equal(conv.cross_correlate(image, conv.FILTER_1), FILTER_1_STRIDE_1)
    np.testing.assert_array_equal(conv.cross_correlate(image, conv.FILTER_2), FILTER_2_STRIDE_1)
    np.testing.assert_array_equal(conv.cross_correlate(image, conv.FILTER_1, stride=2), [[3, -3], [-3, 0]])
    np.testing.assert_array_equal(conv.cross_correlate(image, conv.FILTER_2, stride=2), [[-1, -1], [-1, -2]])
    np.testing.assert_array_equal(conv.max_pool2d(np.array(FILTER_1_STRIDE_1, float)), [[3, 0], [3, 1]])
    np.testing.assert_array_equal(conv.max_pool2d(np.array(FILTER_2_STRIDE_1, float)), [[-1, 1], [0, 3]])
    # both filters as one layer, through the batched version and torch
    bank = np.stack([conv.FILTER_1, conv.FILTER_2])[:, None]
    maps = conv.conv2d(image[None, None], bank)[0]
    np.testing.assert_array_equal(maps, [FILTER_1_STRIDE_1, FILTER_2_STRIDE_1])
    np.testing.assert_array_equal(maps, F.conv2d(torch.tensor(image[None, None]), torch.tensor(bank))[0].numpy())


def test_deck_004_prints_three_wrong_entries():
    printed = np.array([[-3, -1, -3, -1], [-3, -1, 0, -3], [-3, -3, 0, 1], [-3, -2, -2, -1]])
    wrong = np.argwhere(printed != conv.cross_correlate(conv.IMAGE_6X6, conv.FILTER_1))
    assert sorted(map(tuple, wrong)) == [(0, 0), (1, 1), (3, 0)]


def test_the_4x4_max_pooling_example_of_deck_001():
    np.testing.assert_array_equal(conv.max_pool2d(conv.POOL_4X4, 2, 2), [[6, 8], [3, 4]])
    assert F.max_pool2d(torch.tensor(conv.POOL_4X4[None, None]), 2).numpy()[0, 0].tolist() == [[6, 8], [3, 4]]


def test_deck_002_worked_examples():
    """Deck 002's 7×7 image with padding 1 and the 7×8 image without, a 3×3 filter of ones, stride 2."""
    x7 = np.array([[1, -2, -1, 5, 3, 2, 1], [1, 3, -1, 4, 3, 3, 1], [1, -2, 1, 6, 3, 3, 2], [2, -2, 2, 5, 2, 1, 0],
                   [0, 3, -2, 5, 4, 1, 2], [1, 2, -3, 1, 1, 2, -1], [1, -2, -1, 1, 2, 1, 1]], float)
    x78 = np.column_stack([x7, [1, -1, 2, -1, 1, 2, 3]])
    ones = np.ones((3, 3))
    padded = conv.cross_correlate(x7, ones, stride=2, padding=1)
    torch_padded = F.conv2d(torch.tensor(x7[None, None]), torch.tensor(ones[None, None]), stride=2, padding=1)
    np.testing.assert_array_equal(padded, torch_padded[0, 0].numpy())
    assert padded[0, 2] == 20   # the deck prints 19 (and, on its second slide, 15 and 9 at (1, 1) and (3, 2))
    np.testing.assert_array_equal(conv.cross_correlate(x78, ones, stride=2), [[1, 23, 21], [3, 26, 18], [-1, 8, 13]])
    # the 5×5 example with a 3×3 kernel of 0, 1, 2
    x5 = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], float)
    np.testing.assert_array_equal(conv.cross_correlate(x5, [[0, 1, 2], [2, 2, 0], [0, 1, 2]]),
                                  [[12, 12, 17], [10, 17, 19], [9, 6, 14]])


# ----------------------------------------------------- output size ---


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.integers(1, 7), st.integers(0, 3), st.integers(1, 4))
def test_output_size_is_the_floor_formula_and_torchs_shape(n, f, p, s):
    if n + 2 * p < f:
        with pytest.raises(ValueError, match=f"n \\+ 2p = {n + 2 * p} < f = {f}"):
            conv.output_size(n, f, p, s)
        return
    size = conv.output_size(n, f, p, s)
    assert size == (n + 2 * p - f) // s + 1
    assert size == F.conv2d(torch.zeros(1, 1, 1, n), torch.zeros(1, 1, 1, f), stride=s, padding=(0, p)).shape[-1]


def test_output_size_ceiling_slide_and_exact_tiling():
    assert conv.output_size(8, 3, 0, 2) == 3 and conv.output_size(7, 3, 0, 2) == 3
    assert int(np.ceil((8 - 3) / 2)) + 1 == 4   # deck 002's ceiling gives 4, not the 3 it prints
    assert conv.output_size(224, 2, 0, 2) == 112
    with pytest.raises(ValueError, match="does not tile.*5/2"):
        conv.output_size(8, 3, 0, 2, exact=True)
    assert conv.output_size(7, 3, 0, 2, exact=True) == 3


def test_errors_name_what_was_expected():
    with pytest.raises(ValueError, match=r"x must be a 4-D array of real numbers of shape \(N, C, H, W\).*got shape \(8, 8\)"):
        conv.conv2d(np.zeros((8, 8)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="C = 3 input channels"):
        conv.conv2d(np.zeros((1, 3, 8, 8)), np.zeros((2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"does not fit.*n \+ 2p = 4 < f = 5"):
        conv.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match="b must have shape"):
        conv.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="must span all 2 channels"):
        conv.cross_correlate(np.zeros((2, 5, 5)), np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        conv.cross_correlate(np.zeros((5, 5)), np.zeros((3, 3)), stride=0)
    with pytest.raises(ValueError, match="finite"):
        conv.max_pool2d(np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="at most half"):
        conv.max_pool2d(np.zeros((4, 4)), 2, padding=2)
    with pytest.raises(ValueError, match=r"dout must have the shape of the layer's output, \(1, 1, 2, 2\)"):
        conv.conv2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="real numbers"):
        conv.conv2d(np.array([["a"]]), np.zeros((1, 1, 1, 1)))


# ---------------------------------------------------------- layers ---


@pytest.mark.parametrize("method", ["im2col", "loop"])
def test_layers_stack_in_nn_sequential_and_pass_the_gradient_check(method):
    """Conv2D → ReLU → MaxPool2D → Conv2D → AvgPool2D → GlobalAvgPool, and Conv → Flatten → Linear: the
    protocol's backward against centred differences (coursekit.nn's gradient check, float64)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 2, 8, 12))
    pooled = nn.Sequential([conv.Conv2D(2, 3, 3, padding=1, rng=1, method=method), nn.ReLU(), conv.MaxPool2D(2),
                            conv.Conv2D(3, 4, (2, 3), stride=(1, 2), rng=2, method=method), conv.AvgPool2D(2, 1),
                            conv.GlobalAvgPool()])
    assert pooled(x).shape == (2, 4)
    for name, check in nn.check_layer(pooled, x).items():
        # entry by entry: the relative error is inflated where a gradient entry is ~1e-6 itself
        np.testing.assert_allclose(check.analytic, check.numeric, rtol=1e-6, atol=1e-9, err_msg=name)
    classifier = nn.Sequential([conv.Conv2D(2, 3, 3, stride=2, rng=3, method=method), nn.Tanh(), conv.Flatten(),
                                nn.Linear(3 * 3 * 5, 4, rng=4)])
    checks = nn.check_model(classifier, x, np.array([1, 3]))
    assert set(checks) == {"0.W", "0.b", "3.W", "3.b"} and max(c.error for c in checks.values()) < 1e-7


def test_conv2d_layer_matches_torch_conv_layer_and_flatten():
    layer = conv.Conv2D(3, 5, 3, stride=2, padding=1, rng=7)
    torch_layer = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1).double()
    with torch.no_grad():
        torch_layer.weight.copy_(torch.tensor(layer.params["W"]))
        torch_layer.bias.copy_(torch.tensor(layer.params["b"]))
    x = np.random.default_rng(8).normal(size=(4, 3, 9, 9))
    out, _ = layer.forward(x)
    np.testing.assert_allclose(out, torch_layer(torch.tensor(x)).detach().numpy(), atol=1e-12)
    # He initialization: std √(2 / fan_in), fan_in = 3·3·3
    big = conv.Conv2D(3, 400, 3, rng=0).params["W"]
    assert abs(big.std() - np.sqrt(2 / 27)) < 0.01 and big.shape == (400, 3, 3, 3)
    flat, shape = conv.Flatten().forward(out)
    assert flat.shape == (4, 5 * 5 * 5)
    back, grads = conv.Flatten().backward(flat, shape)
    np.testing.assert_array_equal(back, out)
    assert grads == {} and conv.MaxPool2D().params == {}
    with pytest.raises(ValueError, match="C = 3 channels"):
        layer.forward(np.zeros((1, 2, 9, 9)))


# -------------------------------------------------------- counting ---


def test_counting_formulas_match_torch_and_the_1_conv_examples():
    for C, Fn, k, g in ((3, 6, 5, 1), (96, 256, 5, 2), (1, 16, 3, 1), (384, 384, 3, 2)):
        layer = torch.nn.Conv2d(C, Fn, k, groups=g)
        assert conv.conv_params(C, Fn, k, groups=g) == conv.count_parameters(layer)
    # deck 001: six 5×5×3 filters, 32×32×3 → 28×28×6, 456 parameters
    assert conv.conv_params(3, 6, 5) == 456 and conv.output_size(32, 5) == 28
    # deck 000: 6×6 input → 4×4 map. Fully connected 576 weights, locally connected 144, shared 9
    assert 36 * 16 == 576 and 16 * 9 == 144 and conv.conv_params(1, 1, 3, bias=False) == 9
    # deck 004: two filters share 18 weights; a fully connected layer to two 4×4 maps would need 1,152
    assert conv.conv_params(1, 2, 3, bias=False) == 18 and conv.linear_params(36, 32, bias=False) == 1152
    assert conv.conv_macs(3, 96, 11, 55) == 105_415_200   # AlexNet conv1: the deck's "105M"
    with pytest.raises(ValueError, match="must divide"):
        conv.conv_params(3, 6, 3, groups=2)


@pytest.mark.parametrize("build, input_shape, published", [
    (conv.lenet5, (1, 32, 32), 60_000),                           # LeCun et al. 1998: "about 60,000"
    (lambda: conv.alexnet(grouped=True), (3, 227, 227), 60_965_224),   # Krizhevsky et al. 2012: 60 million
    (lambda: conv.alexnet(grouped=False), (3, 227, 227), 62_378_344),  # the one-GPU count, "62.3 M"
    (conv.vgg16, (3, 224, 224), 138_357_544),                     # Simonyan & Zisserman: 138 M
    (conv.resnet18, (3, 224, 224), 11_689_512),                   # He et al. / torchvision: 11.7 M
])
def test_architectures_have_their_published_parameter_counts(build, input_shape, published):
    with torch.device("meta"):
        model = build()
    count = conv.count_parameters(model)
    table = conv.layer_table(model, input_shape)
    assert sum(row.params for row in table) == count
    if published == 60_000:   # the dense C3 adds 900 weights to the paper's 60,000: within 3 %
        assert count == 61_706 and abs(count - published) / published < 0.03
    else:
        assert count == published
    assert table[-1].output_shape[-1] in (10, 1000)
    # multiply-adds: torch's own FLOP counter (2 FLOPs per multiply-add of convolutions and matrix products)
    with torch.device("meta"):
        x = torch.zeros(1, *input_shape)
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert sum(row.macs for row in table) == counter.get_total_flops() // 2


def test_alexnet_table_of_deck_000_and_its_conv4_inconsistency():
    with torch.device("meta"):
        grouped, ungrouped = conv.alexnet(True), conv.alexnet(False)
    g = [r for r in conv.layer_table(grouped, (3, 227, 227)) if r.params]
    u = [r for r in conv.layer_table(ungrouped, (3, 227, 227)) if r.params]
    # the deck's rows, bottom to top: params and "FLOPs" (multiply-adds), rounded loosely (16,777,216 is "16M")
    deck_params = [35e3, 307e3, 884e3, 1.3e6, 442e3, 37e6, 16e6, 4e6]
    deck_macs = [105e6, 223e6, 149e6, 112e6, 74e6, 37e6, 16e6, 4e6]
    for row, p, m in zip(g, deck_params, deck_macs):
        assert abs(row.macs - m) / m < 0.05, row
    conv4_g, conv4_u = g[3], u[3]
    assert conv4_g.macs == 112_140_288 and conv4_u.params == 1_327_488   # what the deck prints: 112M and 1.3M
    assert conv4_g.params == 663_936 and conv4_u.macs == 224_280_576     # the consistent pairs
    for row, p in zip(g, deck_params):
        if row is not conv4_g:
            assert abs(row.params - p) / p < 0.05, row


def test_resnet_shapes_of_deck_002_and_the_residual_block():
    model = conv.small_resnet(3, 10, (64, 128, 256))
    shapes = [shape for _, shape in conv.trace_shapes(model, torch.zeros(1, 3, 224, 224))]
    assert shapes == [(1, 64, 112, 112), (1, 64, 112, 112), (1, 64, 112, 112), (1, 64, 56, 56), (1, 64, 56, 56),
                      (1, 128, 28, 28), (1, 256, 14, 14), (1, 256, 1, 1), (1, 256), (1, 10)]
    torch.manual_seed(0)
    same, down = conv.ResidualBlock(8, 8), conv.ResidualBlock(3, 6, stride=2)
    assert isinstance(same.shortcut, torch.nn.Identity) and not isinstance(down.shortcut, torch.nn.Identity)
    x = torch.randn(4, 3, 6, 6)
    assert down(x).shape == (4, 6, 3, 3)
    assert down(torch.randn(10, 3, 32, 32)).shape == (10, 6, 16, 16)   # deck 002 prints (4, 6, 3, 3) here
    # F(x) = 0 makes the block pass (the ReLU of) its input through: the identity argument
    with torch.no_grad():
        same.bn2.weight.zero_()
        same.bn2.bias.zero_()
    same.eval()
    h = torch.rand(2, 8, 5, 5)
    assert torch.equal(same(h), h)
    # deck 002: conv2d with 2 filters, stride 2 and padding 3 on (b, 4, 7, 8) gives (b, 2, 6, 6), not (b, 2, 3, 3)
    assert F.conv2d(torch.zeros(5, 4, 7, 8), torch.zeros(2, 4, 3, 3), stride=2, padding=3).shape == (5, 2, 6, 6)
    assert (conv.output_size(7, 3, 3, 2), conv.output_size(8, 3, 3, 2)) == (6, 6)


def test_dense_block_concatenates_and_residual_paths():
    block = conv.DenseBlock(4, growth_rate=3, num_layers=5)
    x = torch.randn(2, 4, 6, 6)
    out = block(x)
    assert out.shape == (2, 4 + 5 * 3, 6, 6) and torch.equal(out[:, :4], x)
    assert conv.residual_paths(3) == {0: 1, 1: 3, 2: 3, 3: 1}
    assert sum(conv.residual_paths(10).values()) == 2 ** 10 and conv.residual_paths(10)[5] == 252


# ------------------------------------------------------ digits CNN ---


def test_shipped_digits_cnn_loads_and_classifies_the_test_split():
    from coursekit.datasets import load_digits

    model = conv.load_digits_cnn(device="cpu")
    assert not model.training and conv.count_parameters(model) == 26_090
    _, X_test, _, y_test = load_digits(seed=0)
    accuracy = np.mean(conv.predict_digits(model, X_test) == y_test)
    assert accuracy >= 0.98
    images = X_test.reshape(-1, 8, 8)
    np.testing.assert_array_equal(conv.predict_digits(model, images[:20]), conv.predict_digits(model, X_test[:20]))
    features = model.features(conv.digits_images(X_test[:3]), "conv2")
    assert features.shape == (3, 32, 4, 4)
    with pytest.raises(ValueError, match="8×8 digits"):
        conv.predict_digits(model, np.zeros((2, 7, 7)))
    with pytest.raises(ValueError, match="layer must be one of"):
        model.features(torch.zeros(1, 1, 8, 8), "conv4")


def test_weights_file_round_trip_and_wrong_architecture(tmp_path):
    torch.manual_seed(0)
    model = conv.DigitsCNN()
    path = tmp_path / "w.npy"
    conv.save_weights(model, path)
    other = conv.load_weights(conv.DigitsCNN(), path)
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="another architecture"):
        conv.load_weights(conv.DigitsCNN(num_classes=5), path)
