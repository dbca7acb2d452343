"""What an AIR module says about itself: target, versions, kernels and their bindings.

Read back from the module's metadata (``!air.kernel``, ``!air.version`` ...),
so it describes our output and Apple's alike. Used by ``llvm-to-air inspect``
and by ``-v``.
"""

from __future__ import annotations

from typing import Any

from llvm_to_air.ir.model import (
    ConstantAggregate,
    ConstantInt,
    Function,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    Module,
)


def _text(md: Metadata | None) -> str | None:
    return md.value.decode("utf-8", "replace") if isinstance(md, MDString) else None


def _int(md: Metadata | None) -> int | None:
    if isinstance(md, MDValue) and isinstance(md.value, ConstantInt):
        return md.value.value
    return None


def _numbers(nmd_nodes: list[Metadata]) -> list[int] | None:
    if not nmd_nodes or not isinstance(nmd_nodes[0], MDNode):
        return None
    values = [_int(op) for op in nmd_nodes[0].operands]
    return [v for v in values if v is not None]


def describe_argument(node: MDNode) -> dict[str, Any]:
    """One ``!air.kernel`` argument node as a dict of its fields."""
    ops = node.operands
    info: dict[str, Any] = {"index": _int(ops[0]) if ops else None}
    k = 1
    while k < len(ops):
        key = _text(ops[k])
        if key is None:
            k += 1
            continue
        if key == "air.buffer":
            info["kind"] = "buffer"
        elif key in ("air.texture", "air.sampler"):
            info["kind"] = key[4:]
        elif key == "air.location_index":
            info["location_index"] = _int(ops[k + 1])
            k += 2
        elif key in ("air.read", "air.read_write", "air.write", "air.sample"):
            info["access"] = key[4:]
        elif key in ("air.address_space", "air.arg_type_size", "air.arg_type_align_size",
                     "air.buffer_size"):
            info[key[4:]] = _int(ops[k + 1])
            k += 1
        elif key in ("air.arg_type_name", "air.arg_name"):
            info[key[4:]] = _text(ops[k + 1])
            k += 1
        elif key == "air.struct_type_info":
            k += 1
        elif key == "air.arg_unused":
            info["unused"] = True
        elif key.startswith("air.") and "kind" not in info:
            info["kind"] = "builtin"
            info["role"] = key[4:]
        k += 1
    if info.get("kind") == "buffer" and info.get("address_space") == 3:
        info["kind"] = "threadgroup"
    elif info.get("kind") == "buffer" and info.get("address_space") == 2:
        info["kind"] = "constant"
    return info


def describe_module(module: Module) -> dict[str, Any]:
    """Target, versions and kernels of an AIR module."""
    report: dict[str, Any] = {"triple": module.triple}
    version = module.get_named_metadata("air.version")
    if version is not None:
        report["air_version"] = ".".join(map(str, _numbers(version.nodes) or []))
    language = module.get_named_metadata("air.language_version")
    if language is not None and language.nodes and isinstance(language.nodes[0], MDNode):
        ops = language.nodes[0].operands
        numbers = [v for v in (_int(op) for op in ops[1:]) if v is not None]
        report["language"] = f"{_text(ops[0])} {'.'.join(map(str, numbers))}"
    flags = module.get_named_metadata("llvm.module.flags")
    for node in flags.nodes if flags else []:
        if isinstance(node, MDNode) and len(node.operands) == 3 and \
                _text(node.operands[1]) == "SDK Version":
            value = node.operands[2]
            if isinstance(value, MDValue) and isinstance(value.value, ConstantAggregate):
                report["sdk_version"] = ".".join(str(getattr(e, "value", "?"))
                                                 for e in value.value.elements)
    kernels = []
    air_kernels = module.get_named_metadata("air.kernel")
    for node in air_kernels.nodes if air_kernels else []:
        if not isinstance(node, MDNode) or len(node.operands) < 3:
            continue
        fn = node.operands[0].value if isinstance(node.operands[0], MDValue) else None
        args_node = node.operands[2]
        arguments = [describe_argument(a) for a in args_node.operands
                     if isinstance(a, MDNode)] if isinstance(args_node, MDNode) else []
        kernels.append({"name": fn.name if isinstance(fn, Function) else None,
                        "arguments": arguments})
    report["kernels"] = kernels
    return report


def describe_file(data: bytes, file: str) -> dict[str, Any]:
    """``describe_module`` of a ``.ll`` or ``.air`` file, or of every module of a metallib."""
    from llvm_to_air.ir.reader import read_module

    if data[:4] == b"MTLB":
        from llvm_to_air.bitcode_wrapper import unwrap_bitcode
        from llvm_to_air.metallib import read_metallib
        from llvm_to_air.metallib.describe import describe_library

        library = read_metallib(data, file)
        modules = []
        for entry in library.functions:
            module = read_module(unwrap_bitcode(library.module_of(entry), file), file)
            described = describe_module(module)
            described["function"] = entry.name
            modules.append(described)
        return {"file": file, **describe_library(library), "modules": modules}
    described = describe_module(read_module(data, file))
    described["file"] = file
    return described


def disassemble_modules(data: bytes, file: str) -> list[tuple[str, str]]:
    """(LLVM IR text, name) of a ``.air`` file, or of each module of a metallib (the name is
    ``file(function)``), printed by llvmlite in a child process (LLVM may abort on corrupt
    bitcode: see ``ir.isolate``)."""
    import llvmlite.binding  # noqa: F401 - imported before the fork (ir.isolate)

    from llvm_to_air.bitcode_wrapper import is_bitcode, unwrap_bitcode
    from llvm_to_air.errors import CompileError, SourceLocation
    from llvm_to_air.ir.isolate import call_isolated

    def text_of(bitcode: bytes) -> str:
        return call_isolated(_bitcode_text, unwrap_bitcode(bitcode, file), file, file=file,
                             what="reading a bitcode module", input_size=len(bitcode))

    if data[:4] == b"MTLB":
        from llvm_to_air.metallib import read_metallib

        library = read_metallib(data, file)
        return [(text_of(library.module_of(entry)), f"{file}({entry.name})")
                for entry in library.functions]
    if is_bitcode(data):
        return [(text_of(data), file)]
    raise CompileError("not a metallib nor an .air file (no MTLB or bitcode magic)",
                       SourceLocation(file), hint="dis reads .metallib and .air files")


def disassemble(data: bytes, file: str) -> str:
    """LLVM IR text of a ``.air`` file, or of each module of a metallib (llvmlite's printer)."""
    modules = disassemble_modules(data, file)
    if data[:4] != b"MTLB":
        return modules[0][0]
    return "\n".join(f"; function {name[len(file) + 1:-1]}\n{text}" for text, name in modules)


def _bitcode_text(bitcode: bytes, file: str) -> str:
    import llvmlite.binding as llvm

    from llvm_to_air.errors import CompileError, SourceLocation

    context = llvm.create_context()
    try:
        module = llvm.parse_bitcode(bitcode, context)
    except RuntimeError as exc:
        message = str(exc).strip()
    else:
        try:
            return str(module)
        finally:
            module.close()  # before its context (see ir.reader)
    raise CompileError(f"invalid bitcode: {message}", SourceLocation(file))


__all__ = ["describe_argument", "describe_file", "describe_module", "disassemble",
           "disassemble_modules"]
