#!/usr/bin/env python3
"""Export TSM models of shapes no shared model has, for tuning and the
fitted defaults (issue 16). Models are not committed: write them outside
the repository (OUT/<name>/ with model.onnx, test_data_set_0 and _1 and
meta.json, as ../shared/models has them).

  tsm_resnet18_96_b2        ResNet18-TSM, 8 segments, 96x96, a batch of 2 clips
  tsm_resnet18_narrow_16f   ResNet18-TSM of half width (32/64/128/256),
                            16 segments, 112x112
  tsm_mobilenetv2_160_b4    MobileNetV2-TSM, 8 segments, 160x160, 4 clips
  tsm_mobilenetv2_online_160 the online MobileNetV2 (TSM online demo), one
                            160x160 frame and 10 shift buffers

Weights are random from a fixed seed; BatchNorm statistics are measured
layer by layer on random clips so activations keep their scale; the
shift is mmaction2's (Slice/Sub/Concat) in the offline models.

usage: scripts/export_shapes.py [--only NAME] OUT
Needs Debian's python3-torch and python3-onnx: run with /usr/bin/python3.
"""
import argparse
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from export_variants import calibrate, export

warnings.filterwarnings("ignore")
FOLD_DIV = 8


def shift(x, segments):
    """mmaction2's TemporalShift.shift."""
    n, c, h, w = x.size()
    x = x.view(-1, segments, c, h * w)
    fold = c // FOLD_DIV
    back, fwd, rest = x[:, :, :fold], x[:, :, fold:2 * fold], x[:, :, 2 * fold:]
    back = torch.cat((back[:, 1:], (back - back)[:, :1]), 1)
    fwd = torch.cat(((fwd - fwd)[:, :1], fwd[:, :-1]), 1)
    return torch.cat((back, fwd, rest), 2).view(n, c, h, w)


class Shifted(nn.Module):
    def __init__(self, net, segments):
        super().__init__()
        self.net, self.segments = net, segments

    def forward(self, x):
        return self.net(shift(x, self.segments))


def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class Basic(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Sequential(conv_bn(cin, planes, 3, stride), nn.ReLU(inplace=True))
        self.conv2 = conv_bn(planes, planes, 3)
        self.down = conv_bn(cin, planes, 1, stride) if stride != 1 or cin != planes else None

    def forward(self, x):
        skip = x if self.down is None else self.down(x)
        return F.relu(self.conv2(self.conv1(x)) + skip)


class ResNet18(nn.Module):
    def __init__(self, widths, classes, segments):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, widths[0], 7, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        cin, layers = widths[0], []
        for i, planes in enumerate(widths):
            blocks = []
            for j in range(2):
                b = Basic(cin, planes, 2 if i > 0 and j == 0 else 1)
                b.conv1 = Shifted(b.conv1, segments)  # TSM's blockres place
                blocks.append(b)
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hid = inp * t
        self.residual = stride == 1 and inp == oup
        layers = []
        if t != 1:
            layers += [nn.Conv2d(inp, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
                   nn.Conv2d(hid, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


MBV2 = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]


class MobileNetV2(nn.Module):
    def __init__(self, classes, segments):
        super().__init__()
        cin = 32
        feats = [nn.Sequential(conv_bn(3, cin, 3, 2), nn.ReLU6(inplace=True))]
        for t, c, n, s in MBV2:
            for i in range(n):
                b = InvertedResidual(cin, c, s if i == 0 else 1, t)
                if b.residual and t != 1:
                    b.conv[0] = Shifted(b.conv[0], segments)
                feats.append(b)
                cin = c
        feats.append(nn.Sequential(nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean(3).mean(2))


class ShiftBlock(nn.Module):
    """The online demo's InvertedResidualWithShift."""

    def __init__(self, inp, oup, t):
        super().__init__()
        hid = inp * t
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, hid, 3, 1, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, oup, 1, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x, buf):
        c = x.size(1)
        return x + self.conv(torch.cat((buf, x[:, c // 8:]), dim=1)), x[:, :c // 8]


class OnlineMobileNetV2(nn.Module):
    SHIFT_IDX = [2, 4, 5, 7, 8, 9, 11, 12, 14, 15]

    def __init__(self, classes):
        super().__init__()
        cin, feats, g = 32, [nn.Sequential(conv_bn(3, 32, 3, 2), nn.ReLU6(inplace=True))], 0
        for t, c, n, s in MBV2:
            for i in range(n):
                feats.append(ShiftBlock(cin, c, t) if g in self.SHIFT_IDX else InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin, g = c, g + 1
        feats.append(nn.Sequential(nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)))
        self.features = nn.ModuleList(feats)
        self.classifier = nn.Linear(1280, classes)

    def buffers_for(self, size, batch=1):
        shapes, c, hw = [], 32, size // 2
        for f in self.features[1:-1]:
            if isinstance(f, ShiftBlock):
                shapes.append((batch, c // 8, hw, hw))
            conv = [m for m in f.conv if isinstance(m, nn.Conv2d) and m.groups > 1][0]
            hw = (hw - 1) // conv.stride[0] + 1
            c = f.conv[-2].out_channels
        return [torch.zeros(s) for s in shapes]

    def forward(self, x, *bufs):
        k, out = 0, []
        for f in self.features:
            if isinstance(f, ShiftBlock):
                x, s = f(x, bufs[k])
                k += 1
                out.append(s)
            else:
                x = f(x)
        return (self.classifier(x.mean(3).mean(2)), *out)


class Clip(nn.Module):
    def __init__(self, backbone, segments):
        super().__init__()
        self.backbone, self.segments = backbone, segments

    def forward(self, x):
        y = self.backbone(x.view(-1, 3, x.shape[-2], x.shape[-1]))
        return y.view(-1, self.segments, y.shape[-1]).mean(dim=1)


def offline(out, name, about, build, segments, size, batch, seed):
    torch.manual_seed(seed)
    net = Clip(build(), segments)
    calibrate(net, lambda: (torch.randn(4, segments * 3, size, size),))
    g = torch.Generator().manual_seed(seed + 1)
    feeds = [[torch.randn(batch, segments * 3, size, size, generator=g)] for _ in range(2)]
    export(out, name, net, feeds, ["input"], ["logits"], about)


def online(out, name, about, size, classes, seed):
    torch.manual_seed(seed)
    net = OnlineMobileNetV2(classes)
    bufs = net.buffers_for(size)
    calibrate(net, lambda: (torch.randn(8, 3, size, size), *net.buffers_for(size, 8)))
    g = torch.Generator().manual_seed(seed + 1)
    f0, f1 = torch.randn(1, 3, size, size, generator=g), torch.randn(1, 3, size, size, generator=g)
    with torch.no_grad():
        first = net(f0, *bufs)
    k = len(bufs)
    export(out, name, net, [[f0, *bufs], [f1, *first[1:]]],
           [f"i{i}" for i in range(k + 1)], [f"o{i}" for i in range(k + 1)], about)


JOBS = {
    "tsm_resnet18_96_b2": lambda o: offline(
        o, "tsm_resnet18_96_b2", "ResNet18-TSM, 8 segments, 96x96, batch of 2 clips, 400 classes, mmaction2 shift",
        lambda: ResNet18((64, 128, 256, 512), 400, 8), 8, 96, 2, 41),
    "tsm_resnet18_narrow_16f": lambda o: offline(
        o, "tsm_resnet18_narrow_16f", "ResNet18-TSM of half width (32/64/128/256), 16 segments, 112x112, 400 classes",
        lambda: ResNet18((32, 64, 128, 256), 400, 16), 16, 112, 1, 43),
    "tsm_mobilenetv2_160_b4": lambda o: offline(
        o, "tsm_mobilenetv2_160_b4", "MobileNetV2-TSM, 8 segments, 160x160, batch of 4 clips, 400 classes",
        lambda: MobileNetV2(400, 8), 8, 160, 4, 47),
    "tsm_mobilenetv2_online_160": lambda o: online(
        o, "tsm_mobilenetv2_online_160", "online MobileNetV2-TSM (the TSM online demo's), one 160x160 frame, 10 shift buffers, 27 classes",
        160, 27, 53),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--only")
    a = ap.parse_args()
    if a.only and a.only not in JOBS:
        ap.error(f"no model {a.only!r}; have {', '.join(JOBS)}")
    for name, job in JOBS.items():
        if not a.only or a.only == name:
            job(a.out)


if __name__ == "__main__":
    main()
