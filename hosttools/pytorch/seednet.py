#!/usr/bin/env python3
"""libclcnn's seed network as a torch.nn.Module whose state_dict() names match
libclcnn checkpoints, and safetensors reading and writing (through the
`safetensors` package when it is installed, else a small reader/writer here).
Run the tools that import it with /usr/bin/python3 (Debian's python3-torch)."""
import json
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F

try:
    import safetensors.torch as _safetensors
except ImportError:
    _safetensors = None


class SeedNet(nn.Module):
    """conv1 3x3 pad 1 (C->32) - bn1 - ReLU - max pool 2 - conv2 3x3 pad 1
    (32->64) - bn2 - ReLU - max pool 2 - flatten - fc1 (->128) - ReLU -
    dropout - fc2 (128->classes), as clcnn_net_create_seed builds it."""

    def __init__(self, channels=1, height=28, width=28, classes=10, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * (height // 4) * (width // 4), 128)
        self.fc2 = nn.Linear(128, classes)
        self.dropout_p = dropout  # a float, not a module: no state-dict entry

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(F.dropout(x, self.dropout_p, self.training))


# ------------------------------------------------------------- safetensors

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
    "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


def load_safetensors(path):
    """Returns (state_dict of CPU tensors, metadata dict of strings)."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors data is little-endian; this host is not")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (length,) = struct.unpack_from("<Q", data, 0)
    if 8 + length > len(data):
        raise ValueError(f"{path}: header length {length} runs past the file")
    header = json.loads(data[8:8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype, shape = _DTYPES[entry["dtype"]], entry["shape"]
        count = 1
        for dim in shape:
            count *= dim
        if count * torch.empty((), dtype=dtype).element_size() != end - begin:
            raise ValueError(f"{path}: {name}: shape {shape} does not fill its byte range")
        if start + end > len(data):
            raise ValueError(f"{path}: {name} runs past the end of the file")
        flat = (torch.frombuffer(data, dtype=dtype, count=count, offset=start + begin)
                if count else torch.empty(0, dtype=dtype))
        tensors[name] = flat.reshape(shape).clone()
    return tensors, metadata


def save_safetensors(state_dict, path, metadata=None):
    """Writes tensors (any device) and string metadata to a safetensors file."""
    metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
    tensors = {name: t.detach().cpu().contiguous() for name, t in state_dict.items()}
    if _safetensors is not None:
        _safetensors.save_file(tensors, path, metadata=metadata)
        return
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name]
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)
