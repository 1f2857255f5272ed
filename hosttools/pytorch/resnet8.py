#!/usr/bin/env python3
"""libclcnn's ResNet-8 (clcnn_net_create_resnet8, clcnn-train --model
resnet8) as a torch.nn.Module in torchvision's layout, so that a libclcnn
checkpoint loads with load_state_dict(strict=True) and a PyTorch one moves
the other way. Written without torchvision (not a dependency): its
BasicBlock is restated here, module for module, with the same attribute
names (conv1, bn1, conv2, bn2, downsample.0, downsample.1)."""
from torch import nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """conv1 3x3 stride s - bn1 - ReLU - conv2 3x3 - bn2, plus the shortcut
    (identity, or downsample = 1x1 conv stride s + BN where the shape
    changes), then ReLU: torchvision.models.resnet.BasicBlock."""

    def __init__(self, in_channels, channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet8(nn.Module):
    """stem conv1 3x3 (C->32, no bias) - bn1 - ReLU; layer1.0, layer2.0,
    layer3.0 (32->32 s1, 32->64 s2, 64->128 s2); global average pooling;
    fc (128->classes). 308,074 parameters for 1 channel and 10 classes."""

    def __init__(self, channels=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.layer1 = nn.Sequential(BasicBlock(32, 32, 1))
        self.layer2 = nn.Sequential(BasicBlock(32, 64, 2))
        self.layer3 = nn.Sequential(BasicBlock(64, 128, 2))
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)
