#!/usr/bin/env python3
"""Export the TSM variants users bring (issue 13) to ONNX with test data.

Every model is a real TSM family member with random weights from a fixed
seed and BatchNorm statistics calibrated on random clips, exported with
torch.onnx.export at opset 13 (the shared models' setting). Each lands in
OUT/<name>/ as model.onnx, test_data_set_0/ and test_data_set_1/
(input_N.pb, output_N.pb: ONNX TensorProto holding PyTorch's outputs) and
meta.json.

  tsm_tiny_temporalpool   ResNet (BasicBlock) with the official code's
                          temporal_pool: frames max-pooled over time 8 -> 4
                          after layer1, later shifts on 4 segments; official
                          shift (zeros_like + slice assignment -> ScatterND)
  tsm_tiny_nonlocal       ResNet with mmaction2's NonLocal3d (embedded
                          Gaussian, max-pool sub-sampling) after some blocks,
                          run on the 5-D [n, c, t, h, w] view; mmaction2 shift
                          (Slice/Sub/Concat)
  tsm_tiny_mobilenetv3    MobileNetV3-style: SE blocks with Hardsigmoid,
                          Hardswish activations; official shift
  tsm_tiny_efficientnet   EfficientNet-style MBConv: SiLU, SE, a depthwise
                          5x5; mmaction2 shift; AvgPool2d head then Linear
  tsm_tiny_resnext_online online TSM on a ResNeXt (grouped 3x3) backbone, the
                          TSM online demo's Slice + Concat with one state
                          input and output per shift

With --full it writes the benchmark models instead (not for the repository):
tsm_resnet50_temporalpool and tsm_resnet50_nonlocal, 8 segments, 224x224,
400 classes.

usage: scripts/export_variants.py [--full] [--only NAME] OUT
Needs Debian's python3-torch (1.13) and python3-onnx (1.12): /usr/bin/python3.
"""
import argparse
import json
import os
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

warnings.filterwarnings("ignore")

OPSET = 13
ATTENTION_STD = 2.0  # of the non-local blocks' softmax logits on random clips
CALIBRATION_CLIPS = 16
FOLD_DIV = 8  # the shifted fraction: c/8 channels each way


# ---- temporal operations -------------------------------------------------------

def shift_official(x, segments):
    """The official TSM shift (inplace=False): a zero tensor whose slices
    are assigned; the first fold reads the next frame, the second the
    previous one. torch.onnx exports the assignments as ScatterND."""
    nt, c, h, w = x.size()
    x = x.view(nt // segments, segments, c, h, w)
    fold = c // FOLD_DIV
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


def shift_mmaction(x, segments):
    """mmaction2's TemporalShift.shift: zeros made as x - x, Slice and
    Concat along time, then along channels."""
    n, c, h, w = x.size()
    x = x.view(-1, segments, c, h * w)
    fold = c // FOLD_DIV
    back, fwd, rest = x[:, :, :fold], x[:, :, fold:2 * fold], x[:, :, 2 * fold:]
    back = torch.cat((back[:, 1:], (back - back)[:, :1]), 1)
    fwd = torch.cat(((fwd - fwd)[:, :1], fwd[:, :-1]), 1)
    return torch.cat((back, fwd, rest), 2).view(n, c, h, w)


SHIFTS = {"official": shift_official, "mmaction": shift_mmaction}


class Shifted(nn.Module):
    """Runs net on the temporally shifted input (TSM's 'blockres' place:
    the residual branch's first layer)."""

    def __init__(self, net, segments, kind):
        super().__init__()
        self.net, self.segments, self.shift = net, segments, SHIFTS[kind]

    def forward(self, x):
        return self.net(self.shift(x, self.segments))


class TemporalPool(nn.Module):
    """The official code's temporal_pool: the frames of each clip are
    max-pooled over time (kernel 3, stride 2, padding 1), halving T, before
    net runs."""

    def __init__(self, net, segments):
        super().__init__()
        self.net, self.segments = net, segments

    def forward(self, x):
        nt, c, h, w = x.size()
        x = x.view(nt // self.segments, self.segments, c, h, w).transpose(1, 2)
        x = F.max_pool3d(x, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
        x = x.transpose(1, 2).contiguous().view(nt // 2, c, h, w)
        return self.net(x)


class NonLocal3d(nn.Module):
    """mmaction2's NonLocal3d, embedded Gaussian, sub_sample=True,
    use_scale=False (its TSM non-local config): theta, phi and g are 1x1x1
    Conv3d with bias; phi and g are max-pooled (1,2,2); softmax(theta^T phi)
    weighs g; a 1x1x1 Conv3d + BatchNorm3d maps back; residual add."""

    def __init__(self, channels):
        super().__init__()
        self.inner = max(channels // 2, 1)
        self.theta = nn.Conv3d(channels, self.inner, 1)
        self.phi = nn.Sequential(nn.Conv3d(channels, self.inner, 1), nn.MaxPool3d((1, 2, 2)))
        self.g = nn.Sequential(nn.Conv3d(channels, self.inner, 1), nn.MaxPool3d((1, 2, 2)))
        self.conv_out = nn.Sequential(nn.Conv3d(self.inner, channels, 1, bias=False), nn.BatchNorm3d(channels))

    def logits(self, x):
        n = x.size(0)
        theta = self.theta(x).view(n, self.inner, -1).permute(0, 2, 1)
        return torch.matmul(theta, self.phi(x).view(n, self.inner, -1))

    def set_sharpness(self, x, std=ATTENTION_STD):
        """Scales theta and phi so that the attention logits on x have the
        given standard deviation. Random weights otherwise give a softmax
        that is uniform (the block then adds a spatially constant map,
        whose BatchNorm amplifies clip-to-clip noise) or saturated (float32
        rounding then moves the outputs by 1e-3 between engines)."""
        k = (std / self.logits(x).std().item()) ** 0.5
        for conv in (self.theta, self.phi[0]):
            conv.weight.mul_(k)
            conv.bias.mul_(k)

    def forward(self, x):
        n = x.size(0)
        g = self.g(x).view(n, self.inner, -1).permute(0, 2, 1)
        weight = self.logits(x).softmax(dim=-1)
        y = torch.matmul(weight, g).permute(0, 2, 1).contiguous()
        y = y.reshape(n, self.inner, *x.size()[2:])
        return x + self.conv_out(y)


class NonLocalAfter(nn.Module):
    """mmaction2's NL3DWrapper: the block, then the non-local block on the
    clip viewed as [n, c, t, h, w], then back to frames."""

    def __init__(self, block, channels, segments):
        super().__init__()
        self.block, self.segments = block, segments
        self.non_local = NonLocal3d(channels)

    def forward(self, x):
        x = self.block(x)
        nt, c, h, w = x.size()
        x = x.view(nt // self.segments, self.segments, c, h, w).transpose(1, 2).contiguous()
        x = self.non_local(x)
        return x.transpose(1, 2).contiguous().view(nt, c, h, w)


class Clip(nn.Module):
    """The TSN wrapper: (N, T*3, H, W) viewed as N*T frames, the backbone
    per frame, logits averaged over the frames left at the end (T, or T/2
    after a temporal pool)."""

    def __init__(self, backbone, frames_out):
        super().__init__()
        self.backbone, self.frames_out = backbone, frames_out

    def forward(self, x):
        y = self.backbone(x.view(-1, 3, x.shape[-2], x.shape[-1]))
        return y.view(-1, self.frames_out, y.shape[-1]).mean(dim=1)


# ---- ResNet family ---------------------------------------------------------------

def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, down):
        super().__init__()
        self.conv1 = nn.Sequential(conv_bn(cin, planes, 3, stride), nn.ReLU(inplace=True))
        self.conv2 = conv_bn(planes, planes, 3)
        self.down = down
        self.out_channels = planes

    def forward(self, x):
        skip = x if self.down is None else self.down(x)
        return F.relu(self.conv2(self.conv1(x)) + skip)


class Bottleneck(nn.Module):
    """ResNet's bottleneck; with groups > 1 and width per group set it is
    ResNeXt's."""
    expansion = 4

    def __init__(self, cin, planes, stride, down, groups=1, width=None):
        super().__init__()
        width = width or planes
        self.conv1 = nn.Sequential(conv_bn(cin, width, 1), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_bn(width, width, 3, stride, groups), nn.ReLU(inplace=True))
        self.conv3 = conv_bn(width, planes * self.expansion, 1)
        self.down = down
        self.out_channels = planes * self.expansion

    def forward(self, x):
        skip = x if self.down is None else self.down(x)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + skip)


class ResNet(nn.Module):
    def __init__(self, block, depths, widths, classes):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, widths[0], 7, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        cin, layers = widths[0], []
        for i, (planes, n) in enumerate(zip(widths, depths)):
            stride = 1 if i == 0 else 2
            cout = planes * block.expansion
            blocks = []
            for j in range(n):
                down = conv_bn(cin, cout, 1, stride) if j == 0 and (stride != 1 or cin != cout) else None
                blocks.append(block(cin, planes, stride if j == 0 else 1, down))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(cin, classes)

    def stages(self):
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def forward(self, x):
        x = self.stem(x)
        for layer in self.stages():
            x = layer(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def resnet_temporalpool(block, depths, widths, classes, segments):
    """The official make_temporal_shift(temporal_pool=True) then
    make_temporal_pool: layer1 shifts on T, layers 2-4 on T/2, layer2
    wrapped in the pool."""
    net = ResNet(block, depths, widths, classes)
    for i, layer in enumerate(net.stages()):
        for b in layer:
            b.conv1 = Shifted(b.conv1, segments if i == 0 else segments // 2, "official")
    net.layer2 = TemporalPool(net.layer2, segments)
    return Clip(net, segments // 2)


def resnet_nonlocal(block, depths, widths, classes, segments, where):
    """mmaction2's ResNetTSM: a shift in every block's conv1, then
    NL3DWrapper around the blocks that where marks (one tuple per stage)."""
    net = ResNet(block, depths, widths, classes)
    for layer, marks in zip(net.stages(), where):
        for j, b in enumerate(list(layer)):
            b.conv1 = Shifted(b.conv1, segments, "mmaction")
            if marks[j]:
                layer[j] = NonLocalAfter(b, b.out_channels, segments)
    return Clip(net, segments)


# ---- MobileNetV3-style -----------------------------------------------------------

def divisible(v, d=8):
    return max(d, int(v + d / 2) // d * d)


class SqueezeExcite(nn.Module):
    """Global average pool, 1x1 conv, inner activation, 1x1 conv, gate,
    channel-wise scale."""

    def __init__(self, channels, squeeze, inner, gate):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.inner, self.gate = inner, gate

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(self.inner(self.reduce(s))))


class MBV3Block(nn.Module):
    """MobileNetV3's inverted residual: expand (unless the expansion is the
    input width), depthwise, SE, project."""

    def __init__(self, cin, k, exp, cout, se, act, stride):
        super().__init__()
        # Shifted like TSM's MobileNetV2: residual blocks with an expansion.
        self.shiftable = stride == 1 and cin == cout and exp != cin
        self.residual = stride == 1 and cin == cout
        layers = []
        if exp != cin:
            layers += [conv_bn(cin, exp, 1), act()]
        layers += [conv_bn(exp, exp, k, stride, exp), act()]
        if se:
            layers.append(SqueezeExcite(exp, divisible(exp // 4), nn.ReLU(inplace=True), nn.Hardsigmoid()))
        layers.append(conv_bn(exp, cout, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


# kernel, expansion, out, SE, activation, stride (a cut-down "small" table)
MBV3_TINY = [
    (3, 8, 8, True, "RE", 1),
    (3, 32, 16, False, "RE", 2),
    (3, 48, 16, False, "RE", 1),
    (5, 48, 24, True, "HS", 2),
    (5, 72, 24, True, "HS", 1),
    (3, 64, 32, True, "HS", 1),
    (3, 96, 32, True, "HS", 1),
]


class MobileNetV3(nn.Module):
    def __init__(self, table, classes, last=96, hidden=64):
        super().__init__()
        acts = {"RE": lambda: nn.ReLU(inplace=True), "HS": nn.Hardswish}
        cin = table[0][2]
        blocks = [nn.Sequential(conv_bn(3, cin, 3, 2), nn.Hardswish())]
        for k, exp, cout, se, act, stride in table:
            blocks.append(MBV3Block(cin, k, exp, cout, se, acts[act], stride))
            cin = cout
        blocks.append(nn.Sequential(conv_bn(cin, last, 1), nn.Hardswish()))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Linear(last, hidden), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(hidden, classes))

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def shift_residual_blocks(blocks, cls, segments, kind):
    """Shift the input of the expansion conv of every block of type cls
    that has a residual connection and an expansion."""
    for b in blocks:
        if isinstance(b, cls) and b.shiftable:
            b.body[0] = Shifted(b.body[0], segments, kind)


# ---- EfficientNet-style -----------------------------------------------------------

class MBConv(nn.Module):
    """EfficientNet's MBConv: expand, depthwise, SE (SiLU inside, Sigmoid
    gate, squeezed to a quarter of the block's input width), project."""

    def __init__(self, cin, expand, k, stride, cout):
        super().__init__()
        self.residual = stride == 1 and cin == cout
        self.shiftable = self.residual and expand != 1
        mid = cin * expand
        layers = []
        if expand != 1:
            layers += [conv_bn(cin, mid, 1), nn.SiLU()]
        layers += [conv_bn(mid, mid, k, stride, mid), nn.SiLU(),
                   SqueezeExcite(mid, max(1, cin // 4), nn.SiLU(), nn.Sigmoid()),
                   conv_bn(mid, cout, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


# expansion, kernel, stride, out
EFFNET_TINY = [(1, 3, 1, 8), (4, 3, 2, 16), (4, 3, 1, 16), (4, 5, 2, 24), (4, 5, 1, 24)]


class EfficientNet(nn.Module):
    """Stem, MBConv stages, 1x1 head conv, then AvgPool2d over the whole
    final map (a fixed kernel, not a global pool) and Linear."""

    def __init__(self, table, classes, size, last=64):
        super().__init__()
        cin = table[0][3]
        blocks = [nn.Sequential(conv_bn(3, cin, 3, 2), nn.SiLU())]
        stride = 2
        for expand, k, s, cout in table:
            blocks.append(MBConv(cin, expand, k, s, cout))
            cin, stride = cout, stride * s
        blocks.append(nn.Sequential(conv_bn(cin, last, 1), nn.SiLU()))
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AvgPool2d(size // stride)
        self.fc = nn.Linear(last, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


# ---- online ResNeXt (the TSM online demo's form) ---------------------------------

class OnlineBlock(nn.Module):
    """A ResNeXt bottleneck whose residual branch reads the previous
    frame's first c/8 channels from the state and returns this frame's as
    the next state, as the online demo's InvertedResidualWithShift does."""

    def __init__(self, cin, planes, stride, groups, width):
        super().__init__()
        cout = planes * Bottleneck.expansion
        down = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None
        self.block = Bottleneck(cin, planes, stride, down, groups, width)

    def forward(self, x, state):
        c = x.size(1)
        now, rest = x[:, :c // 8], x[:, c // 8:]
        b = self.block
        skip = x if b.down is None else b.down(x)
        y = b.conv3(b.conv2(b.conv1(torch.cat((state, rest), dim=1))))
        return F.relu(y + skip), now


class OnlineResNeXt(nn.Module):
    # planes, blocks, stride, groups, width of the grouped conv
    STAGES = [(8, 2, 1, 4, 16), (16, 2, 2, 8, 32), (32, 1, 2, 8, 64)]

    def __init__(self, classes, stem=16):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, stem, 3, 2), nn.ReLU(inplace=True))
        cin, blocks = stem, []
        for planes, n, stride, groups, width in self.STAGES:
            for j in range(n):
                blocks.append(OnlineBlock(cin, planes, stride if j == 0 else 1, groups, width))
                cin = planes * Bottleneck.expansion
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(cin, classes)

    def state_shapes(self, size):
        """The [1, c/8, h, w] state of each block's input."""
        shapes, c, hw = [], self.stem[0][0].out_channels, size // 2
        for b in self.blocks:
            shapes.append((1, c // 8, hw, hw))
            c = b.block.out_channels
            hw //= b.block.conv2[0][0].stride[0]
        return shapes

    def forward(self, frame, *states):
        x, out = self.stem(frame), []
        for b, s in zip(self.blocks, states):
            x, nxt = b(x, s)
            out.append(nxt)
        return (self.fc(x.mean(3).mean(2)), *out)


# ---- calibration, export, test data -------------------------------------------------

def calibrate(model, batch):
    """Random affine BatchNorm parameters, then running statistics measured
    in one pass in eval mode: each BatchNorm takes the per-channel mean and
    variance of its input over the random batch, after every earlier one
    has been set, so at inference each normalises to unit variance what it
    sees and activations keep realistic scales through the depth (training
    mode's batch statistics are not quite those inference sees). Non-local
    blocks get their attention sharpness set in the same pass. Their output
    varies more from clip to clip than within one, so the batch must hold
    enough clips (CALIBRATION_CLIPS): with 4, the variances behind them are
    underestimated and a ResNet50's activations grow 30-fold by layer4."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    hooks = [m.register_forward_pre_hook(lambda m, inputs: m.set_sharpness(inputs[0]))
             for m in model.modules() if isinstance(m, NonLocal3d)]

    def measure(m, inputs):
        x = inputs[0]
        dims = [0] + list(range(2, x.dim()))
        m.running_mean.copy_(x.mean(dims))
        m.running_var.copy_(x.var(dims, unbiased=False))

    for m in bns:
        with torch.no_grad():
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
        hooks.append(m.register_forward_pre_hook(measure))
    model.eval()
    with torch.no_grad():
        model(*batch())
    for h in hooks:
        h.remove()


def write_tensor(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def export(out, name, model, feeds, in_names, out_names, about):
    """Exports model traced on feeds[0] and writes one data set per feed
    with PyTorch's outputs."""
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, tuple(feeds[0]), path, opset_version=OPSET, input_names=in_names,
                      output_names=out_names, do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    meta = {"name": name, "about": about, "opset": OPSET, "inputs": {}, "outputs": {}}
    for s, feed in enumerate(feeds):
        with torch.no_grad():
            outs = model(*feed)
        outs = outs if isinstance(outs, tuple) else (outs,)
        sd = os.path.join(d, f"test_data_set_{s}")
        os.makedirs(sd, exist_ok=True)
        for i, (n, t) in enumerate(zip(in_names, feed)):
            write_tensor(os.path.join(sd, f"input_{i}.pb"), t.numpy(), n)
            meta["inputs"][n] = list(t.shape)
        for i, (n, t) in enumerate(zip(out_names, outs)):
            write_tensor(os.path.join(sd, f"output_{i}.pb"), t.numpy(), n)
            meta["outputs"][n] = list(t.shape)
    graph = onnx.load(path).graph
    meta["bytes"] = os.path.getsize(path)
    meta["parameters"] = int(sum(p.numel() for p in model.parameters()))
    meta["ops"] = sorted({n.op_type for n in graph.node})
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"{name}: {meta['bytes'] / 1e6:.2f} MB, {meta['parameters']} parameters, ops {meta['ops']}", flush=True)


def random_clip(seed, segments, size, batch=1):
    return torch.randn(batch, segments * 3, size, size, generator=torch.Generator().manual_seed(seed))


def offline(out, name, about, model, segments, size, seed):
    """Calibrates and exports a clip model; set 0 and set 1 are two
    random clips."""
    calibrate(model, lambda: (torch.randn(CALIBRATION_CLIPS, segments * 3, size, size),))
    feeds = [[random_clip(seed + 1, segments, size)], [random_clip(seed + 2, segments, size)]]
    export(out, name, model, feeds, ["input"], ["logits"], about)


def online_resnext(out, name, about, classes, size, seed):
    torch.manual_seed(seed)
    net = OnlineResNeXt(classes)
    shapes = net.state_shapes(size)
    calibrate(net, lambda: (torch.randn(16, 3, size, size), *[torch.randn(16, *s[1:]) for s in shapes]))
    g = torch.Generator().manual_seed(seed + 1)
    frames = [torch.randn(1, 3, size, size, generator=g) for _ in range(2)]
    zeros = [torch.zeros(s) for s in shapes]
    with torch.no_grad():
        first = net(frames[0], *zeros)
    # Set 1 is the next frame fed the states set 0 returned.
    feeds = [[frames[0], *zeros], [frames[1], *first[1:]]]
    k = len(shapes)
    export(out, name, net, feeds, [f"i{i}" for i in range(k + 1)], [f"o{i}" for i in range(k + 1)], about)


def seeded(seed, build):
    torch.manual_seed(seed)
    return build()


def mbv3_tsm(segments):
    net = MobileNetV3(MBV3_TINY, 10)
    shift_residual_blocks(net.features, MBV3Block, segments, "official")
    return Clip(net, segments)


def effnet_tsm(segments, size):
    net = EfficientNet(EFFNET_TINY, 10, size)
    shift_residual_blocks(net.features, MBConv, segments, "mmaction")
    return Clip(net, segments)


TINY = {
    "tsm_tiny_temporalpool": lambda out: offline(
        out, "tsm_tiny_temporalpool",
        "TSM ResNet (BasicBlock, widths 8/16/16/32), 8 segments, 32x32, temporal_pool after layer1 (8 -> 4), "
        "official shift (ScatterND), later shifts on 4 segments, average over 4",
        seeded(11, lambda: resnet_temporalpool(Basic, [1, 1, 1, 1], [8, 16, 16, 32], 10, 8)), 8, 32, 11),
    "tsm_tiny_nonlocal": lambda out: offline(
        out, "tsm_tiny_nonlocal",
        "TSM ResNet (BasicBlock, widths 8/16/16/32, blocks 1/2/2/1), 8 segments, 32x32, mmaction2 shift, "
        "NonLocal3d (embedded Gaussian, sub-sampled) after the first block of layer2 and layer3",
        seeded(13, lambda: resnet_nonlocal(Basic, [1, 2, 2, 1], [8, 16, 16, 32], 10, 8,
                                           [(0,), (1, 0), (1, 0), (0,)])), 8, 32, 13),
    "tsm_tiny_mobilenetv3": lambda out: offline(
        out, "tsm_tiny_mobilenetv3",
        "TSM MobileNetV3-style backbone (SE with Hardsigmoid, Hardswish), 8 segments, 32x32, "
        "official shift in the residual inverted residuals",
        seeded(17, lambda: mbv3_tsm(8)), 8, 32, 17),
    "tsm_tiny_efficientnet": lambda out: offline(
        out, "tsm_tiny_efficientnet",
        "TSM EfficientNet-style backbone (MBConv, SiLU, SE, depthwise 5x5), 8 segments, 32x32, "
        "mmaction2 shift in the residual MBConvs, AvgPool2d(4) head then Linear",
        seeded(19, lambda: effnet_tsm(8, 32)), 8, 32, 19),
    "tsm_tiny_resnext_online": lambda out: online_resnext(
        out, "tsm_tiny_resnext_online",
        "online TSM ResNeXt (grouped 3x3 convs, groups 4 and 8), one 32x32 frame and 5 shift states; "
        "set 0: zero states, set 1: the next frame with the states set 0 returned",
        10, 32, 23),
}

FULL = {
    "tsm_resnet50_temporalpool": lambda out: offline(
        out, "tsm_resnet50_temporalpool",
        "TSM ResNet50, 8 segments, 224x224, 400 classes, temporal_pool after layer1, official shift",
        seeded(29, lambda: resnet_temporalpool(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], 400, 8)), 8, 224, 29),
    "tsm_resnet50_nonlocal": lambda out: offline(
        out, "tsm_resnet50_nonlocal",
        "TSM ResNet50, 8 segments, 224x224, 400 classes, mmaction2 shift, NonLocal3d after blocks "
        "0 and 2 of layer2 and 0, 2 and 4 of layer3 (mmaction2's tsm_nl config)",
        seeded(31, lambda: resnet_nonlocal(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], 400, 8,
                                           [(0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)])), 8, 224, 31),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="folder to write the model folders into")
    ap.add_argument("--full", action="store_true", help="write the full-size benchmark models instead")
    ap.add_argument("--only", help="export only this model")
    a = ap.parse_args()
    jobs = FULL if a.full else TINY
    if a.only and a.only not in jobs:
        ap.error(f"no model {a.only!r} in this set; have {', '.join(jobs)}")
    for name, job in jobs.items():
        if not a.only or a.only == name:
            job(a.out)


if __name__ == "__main__":
    main()
