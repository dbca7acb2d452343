"""Device code embedded in a host module: MLIR's ``gpu.binary`` after ``mlir-translate``.

MLIR's ``gpu-module-to-binary`` (``format=llvm`` or ``offloading``) turns each
``gpu.module`` into a ``gpu.binary`` whose object is the device module's LLVM
bitcode; ``mlir-translate --mlir-to-llvmir`` then emits the host module with
that object as a constant byte array (``@<module>_bin_cst``), either as raw
bitcode or wrapped in LLVM's offload-binary container (magic ``0x10FF10AD``,
``llvm/Object/OffloadBinary.h``). Given such a host module, the tool compiles
the device module inside it, so the whole ``mlir-translate`` output can be piped
in as it is.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from llvm_to_air.ir.model import ConstantString, Module

BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
OFFLOAD_MAGIC = b"\x10\xff\x10\xad"
# OffloadBinary: header {magic u32, version u32, size u64, entry offset u64, entry size u64};
# entry {image kind u16, offload kind u16, flags u32, string offset u64, string count u64,
#        image offset u64, image size u64}; image kind 2 is LLVM bitcode.
_HEADER = struct.Struct("<4sIQQQ")
_ENTRY = struct.Struct("<HHIQQQQ")
IMAGE_KIND_BITCODE = 2


@dataclass(frozen=True)
class EmbeddedModule:
    """One device module found in a host module: the global holding it and its bitcode."""

    global_name: str
    bitcode: bytes


def _offload_images(data: bytes) -> list[bytes]:
    images = []
    offset = 0
    while offset + _HEADER.size <= len(data) and data[offset:offset + 4] == OFFLOAD_MAGIC:
        _, _, size, entry_offset, _ = _HEADER.unpack_from(data, offset)
        if size < _HEADER.size or offset + size > len(data):
            break
        if offset + entry_offset + _ENTRY.size <= len(data):
            kind, _, _, _, _, image_offset, image_size = _ENTRY.unpack_from(
                data, offset + entry_offset)
            image = data[offset + image_offset:offset + image_offset + image_size]
            if kind == IMAGE_KIND_BITCODE or image[:4] in BITCODE_MAGICS:
                images.append(image)
        offset += (size + 7) // 8 * 8  # binaries are 8-byte aligned when concatenated
    return images


def embedded_device_modules(module: Module) -> list[EmbeddedModule]:
    """The LLVM bitcode modules held by ``module``'s constant byte arrays."""
    found = []
    for gv in module.globals:
        init = gv.initializer
        if not gv.is_constant or not isinstance(init, ConstantString):
            continue
        if init.data[:4] in BITCODE_MAGICS:
            found.append(EmbeddedModule(gv.name, init.data))
        elif init.data[:4] == OFFLOAD_MAGIC:
            found += [EmbeddedModule(gv.name, image) for image in _offload_images(init.data)]
    return found


__all__ = ["EmbeddedModule", "embedded_device_modules"]
