"""OpenCL images and samplers: a located refusal naming the image type.

AIR has textures, but this compiler does not lower OpenCL's image and sampler objects to
them yet; without this stage a kernel taking an ``image2d_t`` ended in an unbounded
recursion while sizing the opaque ``target("spirv.Image", ...)`` type.

Expects: discovered kernels (``discover_kernels``), before any stage that sizes parameters.
Guarantees: no kernel parameter and no instruction of a kernel or its callees has a target
extension type (``target("spirv.Image"...)``, ``target("spirv.Sampler")``, other
``target(...)`` types), and no OpenCL image builtin is called; otherwise a
:class:`CompileError` at the kernel or instruction names the OpenCL type.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call, Function, Module
from llvm_to_air.ir.types import TargetExtType, Type
from llvm_to_air.rewrite.context import LoweringContext

_DIMS = {"0": "1d", "1": "2d", "2": "3d", "5": "1d_buffer"}
_ACCESS = {"0": "read_only ", "1": "write_only ", "2": "read_write "}
_IMAGE_TYPES = re.compile(r"\b(image[123]d\w*_t|sampler_t|image1d_buffer_t|pipe\b|"
                          r"queue_t|clk_event_t|reserve_id_t)")
_IMAGE_BUILTINS = re.compile(r"_Z\d+(read_image|write_image|get_image_)")


def opencl_type_name(ty: TargetExtType) -> str:
    """``target("spirv.Image", void, 1, 0, 0, 0, 0, 0, 0)`` -> ``read_only image2d_t``."""
    m = re.match(r'target\("([^"]+)"(.*)\)$', ty.text)
    if m is None:
        return ty.text
    name, rest = m.groups()
    if name == "spirv.Sampler":
        return "sampler_t"
    if name == "spirv.Image":
        fields = [f.strip() for f in rest.split(",")[1:]]
        if len(fields) >= 8:
            dim, depth, arrayed = fields[1], fields[2], fields[3]
            image = f"image{_DIMS.get(dim, dim + 'd')}{'_array' if arrayed == '1' else ''}" \
                    f"{'_depth' if depth == '1' else ''}_t"
            return f"{_ACCESS.get(fields[7], '')}{image}"
    if name == "spirv.Pipe":
        return "pipe"
    if name in ("spirv.Queue", "spirv.DeviceEvent", "spirv.ReserveId"):
        return {"spirv.Queue": "queue_t", "spirv.DeviceEvent": "clk_event_t",
                "spirv.ReserveId": "reserve_id_t"}[name]
    return ty.text


def _refusal(what: str, where: str) -> str:
    kind = "images and samplers" if ("image" in what or "sampler" in what) else "this type"
    return f"{where} uses the OpenCL type '{what}': {kind} are not supported"


_HINT = ("pass the pixels in a buffer (global float4*/uchar4*) and index it, or write the "
         "kernel in Metal with textures")


def reject_images(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        for index, arg in enumerate(fn.args):
            source = kernel.source_arg_types[index] \
                if index < len(kernel.source_arg_types) else None
            named = _IMAGE_TYPES.search(source) if source else None
            if isinstance(arg.ty, TargetExtType) or named:
                what = named.group(1) if named else opencl_type_name(arg.ty)  # type: ignore
                if isinstance(arg.ty, TargetExtType) and not named:
                    what = opencl_type_name(arg.ty)
                label = kernel.source_arg_names[index] \
                    if index < len(kernel.source_arg_names) else None
                raise CompileError(_refusal(what, f"parameter {index}"
                                            f"{f' ({label})' if label else ''} of kernel "
                                            f"@{fn.name}"), fn.location, _HINT)
        for callee in _reachable(fn):
            _check_body(callee)


def _reachable(fn: Function) -> list[Function]:
    seen: dict[int, Function] = {id(fn): fn}
    todo = [fn]
    while todo:
        for inst in todo.pop().instructions():
            callee = inst.callee_function if isinstance(inst, Call) else None
            if callee is not None and not callee.is_declaration and id(callee) not in seen:
                seen[id(callee)] = callee
                todo.append(callee)
    return list(seen.values())


def _target_type(types: list[Type]) -> TargetExtType | None:
    return next((t for t in types if isinstance(t, TargetExtType)), None)


def _check_body(fn: Function) -> None:
    for inst in fn.instructions():
        callee = inst.callee_function if isinstance(inst, Call) else None
        found = _target_type([inst.ty, *(op.ty for op in inst.ops)])
        if found is not None or (callee is not None and _IMAGE_BUILTINS.match(callee.name)):
            what = opencl_type_name(found) if found is not None else "image"
            raise CompileError(_refusal(what, f"@{fn.name}"), inst.location or fn.location,
                               _HINT)
