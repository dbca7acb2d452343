"""OpenCL images, samplers and other target types: their OpenCL names, and located refusals.

:mod:`.textures` lowers ``image2d_t`` to AIR textures; what it cannot lower (other image
types, samplers the host passes, pipes, queues, events) is refused here by its OpenCL name --
without this a kernel taking such a type ended in an unbounded recursion while sizing the
opaque ``target("spirv.Image", ...)`` type.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call, Function
from llvm_to_air.ir.types import TargetExtType
from llvm_to_air.rewrite.context import KernelSignature

_DIMS = {"0": "1d", "1": "2d", "2": "3d", "5": "1d_buffer"}
_ACCESS = {"0": "read_only ", "1": "write_only ", "2": "read_write "}
_IMAGE_TYPES = re.compile(r"\b(image[123]d\w*_t|sampler_t|image1d_buffer_t|pipe\b|"
                          r"queue_t|clk_event_t|reserve_id_t)")


def is_event(ty: object) -> bool:
    """OpenCL's ``event_t`` (``target("spirv.Event")``), which ``lower_async_copies``
    removes."""
    return isinstance(ty, TargetExtType) and "spirv.Event" in ty.text


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
    kind = "images and samplers of this kind" if ("image" in what or "sampler" in what) \
        else "this type"
    return f"{where} uses the OpenCL type '{what}': {kind} are not supported"


_HINT = ("image2d_t images lower to AIR textures; pass other data in a buffer "
         "(global float4*/uchar4*) and index it, or write the kernel in Metal")
_SAMPLER_HINT = ("declare the sampler as a program constant (constant sampler_t s = "
                 "CLK_NORMALIZED_COORDS_FALSE | CLK_ADDRESS_CLAMP_TO_EDGE | "
                 "CLK_FILTER_NEAREST;) or read with integer coordinates "
                 "(read_imagef(image, int2))")


def refuse_resource(kernel: KernelSignature, index: int, ty: TargetExtType) -> None:
    """A located refusal for a kernel parameter of a target type that has no AIR lowering:
    images other than image2d_t, samplers passed by the host, pipes, queues, events."""
    fn = kernel.function
    source = kernel.source_arg_types[index] if index < len(kernel.source_arg_types) else None
    named = _IMAGE_TYPES.search(source) if source else None
    what = named.group(1) if named else opencl_type_name(ty)
    label = kernel.source_arg_names[index] if index < len(kernel.source_arg_names) else None
    where = f"parameter {index}{f' ({label})' if label else ''} of kernel @{fn.name}"
    if what == "sampler_t":
        raise CompileError(f"{where} is a sampler_t the host passes: AIR sampler states are "
                           "not lowered yet", fn.location, _SAMPLER_HINT)
    raise CompileError(_refusal(what, where), fn.location, _HINT)


def reachable(fn: Function) -> list[Function]:
    """``fn`` and the defined functions it calls, directly or not."""
    seen: dict[int, Function] = {id(fn): fn}
    todo = [fn]
    while todo:
        for inst in todo.pop().instructions():
            callee = inst.callee_function if isinstance(inst, Call) else None
            if callee is not None and not callee.is_declaration and id(callee) not in seen:
                seen[id(callee)] = callee
                todo.append(callee)
    return list(seen.values())
