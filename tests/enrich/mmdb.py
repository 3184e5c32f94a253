"""A tiny MaxMind DB (mmdb v2) writer for test fixtures: IPv6 tree, 32-bit records.

Format: https://maxmind.github.io/MaxMind-DB/ — a binary search tree over address bits, a
16-byte separator, a data section of typed values, then the metadata after a marker. IPv4
networks sit under ``::/96`` as the spec's IPv4 subtree, as MaxMind's own databases do.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_MARKER = b"\xab\xcd\xefMaxMind.com"


class U16(int):
    """An int the metadata needs as uint16."""


class U64(int):
    """An int the metadata needs as uint64."""


def _control(kind: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    elif size < 65_821:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65_821).to_bytes(3, "big")
    if kind <= 7:
        return bytes([(kind << 5) | head]) + extra
    return bytes([head, kind - 7]) + extra


def encode(value: Any) -> bytes:
    """One value in the data section's encoding."""
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative integers are not needed here")
        kind = 5 if isinstance(value, U16) else 9 if isinstance(value, U64) else 6
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        return _control(kind, len(raw)) + raw
    if isinstance(value, Mapping):
        out = _control(7, len(value))
        for k, v in value.items():
            out += encode(str(k)) + encode(v)
        return out
    if isinstance(value, (list, tuple)):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class _Node:
    __slots__ = ("left", "right")

    def __init__(self, left: Any = None, right: Any = None) -> None:
        self.left = left
        self.right = right


def write_mmdb(path: Path, networks: Mapping[str, Mapping[str, Any]], kind: str = "Test") -> Path:
    """Write ``{cidr: record}`` to ``path`` (less specific networks first, so nesting works)."""
    data = b""
    offsets: dict[bytes, int] = {}
    root = _Node()
    nets = sorted(
        (ipaddress.ip_network(c, strict=False) for c in networks), key=lambda n: n.prefixlen
    )
    for net in nets:
        record = encode(networks[str(net)] if str(net) in networks else _find(networks, net))
        if record not in offsets:
            offsets[record] = len(data)
            data += record
        leaf = ("data", offsets[record])
        if net.version == 4:
            bits, plen = int(net.network_address), 96 + net.prefixlen
        else:
            bits, plen = int(net.network_address), net.prefixlen
        node = root
        for i in range(plen):
            bit = (bits >> (127 - i)) & 1
            if i == plen - 1:
                if bit:
                    node.right = leaf
                else:
                    node.left = leaf
                break
            child = node.right if bit else node.left
            if not isinstance(child, _Node):
                child = _Node(child, child)  # split a less specific leaf
                if bit:
                    node.right = child
                else:
                    node.left = child
            node = child
    order: list[_Node] = [root]
    index = {id(root): 0}
    i = 0
    while i < len(order):
        for child in (order[i].left, order[i].right):
            if isinstance(child, _Node) and id(child) not in index:
                index[id(child)] = len(order)
                order.append(child)
        i += 1
    count = len(order)

    def record_of(child: Any) -> int:
        if child is None:
            return count
        if isinstance(child, _Node):
            return index[id(child)]
        return count + 16 + int(child[1])

    tree = b"".join(struct.pack(">II", record_of(n.left), record_of(n.right)) for n in order)
    meta = encode(
        {
            "node_count": count,
            "record_size": U16(32),
            "ip_version": U16(6),
            "database_type": kind,
            "languages": ["en"],
            "binary_format_major_version": U16(2),
            "binary_format_minor_version": U16(0),
            "build_epoch": U64(1_700_000_000),
            "description": {"en": "OpenRUM test fixture"},
        }
    )
    path.write_bytes(tree + b"\x00" * 16 + data + _MARKER + meta)
    return path


def _find(networks: Mapping[str, Mapping[str, Any]], net: Any) -> Mapping[str, Any]:
    for cidr, record in networks.items():
        if ipaddress.ip_network(cidr, strict=False) == net:
            return record
    raise KeyError(str(net))
