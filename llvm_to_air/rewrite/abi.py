"""Kernel ABI: what the host binds, as Metal binds it.

For each kernel, in source order:

* a pointer parameter becomes a buffer: device memory ``T addrspace(1)*``
  (constant memory ``addrspace(2)`` for OpenCL ``__constant``/NVPTX constant
  pointers), threadgroup memory ``addrspace(3)`` for OpenCL ``__local``
  parameters; ``T`` is inferred from how the kernel uses it; its access is
  ``air.read`` if nothing writes through it, else ``air.read_write``;
* a ``byval``/``byref`` pointer (a struct passed by value, as clang lowers it)
  becomes a constant buffer of that struct;
* a by-value scalar, vector or struct becomes a constant buffer
  ``T addrspace(2)*`` read once at entry (Metal passes them by reference).

Location indices: device and constant buffers share one counter, in source
order (the host's ``setBuffer:atIndex:``/``setBytes:atIndex:``); threadgroup
buffers have their own (``setThreadgroupMemoryLength:atIndex:``).

Expects kernels inlined and globals mapped to AIR spaces. Guarantees every
kernel parameter has its AIR type and a :class:`KernelArgument` in
``kernel.arguments`` (built-ins are added by a later stage).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.edit import (
    insert_at_entry,
    materialize_constant_uses,
    replace_all_uses,
    users,
)
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    Call,
    Cast,
    CmpXchg,
    Freeze,
    Function,
    GetElementPtr,
    GlobalVariable,
    Instruction,
    Load,
    Module,
    Phi,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.pointee import pointee_from_attributes
from llvm_to_air.ir.types import (
    I8,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    TargetExtType,
    Type,
    VectorType,
)
from llvm_to_air.metadata.target import AIR_DATALAYOUT
from llvm_to_air.rewrite.addrspace import (
    CONSTANT,
    DEVICE,
    THREADGROUP,
    air_space,
    is_dynamic_threadgroup_memory,
)
from llvm_to_air.rewrite.byval_copy import copy_written_byval_parameters
from llvm_to_air.rewrite.context import (
    KernelArgument,
    KernelSignature,
    LoweringContext,
    StructField,
)
from llvm_to_air.rewrite.textures import sampler_argument, texture_argument

_INT_NAMES = {1: "bool", 8: "char", 16: "short", 32: "int", 64: "long"}
_FLOAT_NAMES = {"half": "half", "bfloat": "bfloat", "float": "float", "double": "double"}
# Calls that only read through a pointer operand (operand index), or ignore it.
_READ_ONLY_OPERANDS = {"llvm.memcpy": (1,), "llvm.memmove": (1,)}
_NO_ACCESS_CALLS = ("llvm.lifetime.", "llvm.prefetch", "llvm.assume", "llvm.invariant.")


@dataclass
class PointerUse:
    """How a kernel uses the memory behind one pointer parameter."""

    reads: bool = False
    writes: bool = False
    access_types: Counter[Type] = field(default_factory=Counter)
    # accesses at the pointer itself (no GEP between): they say most about its element
    direct_access_types: Counter[Type] = field(default_factory=Counter)
    gep_types: Counter[Type] = field(default_factory=Counter)
    used: bool = False
    as_integer: bool = False  # its address became an integer (ptrtoint): no longer followed


# target("...") types of producers' resources, and what a user calls them
RESOURCE_TYPES = {"spirv.Image": "an image (OpenCL image*_t)",
                  "spirv.Sampler": "a sampler (OpenCL sampler_t)",
                  "spirv.Event": "an event (OpenCL event_t)",
                  "spirv.Pipe": "a pipe (OpenCL pipe)",
                  "spirv.Queue": "a device queue (OpenCL queue_t)"}


def lower_kernel_abi(module: Module, ctx: LoweringContext) -> None:
    layout = DataLayout.parse(AIR_DATALAYOUT)
    for kernel in ctx.kernels:
        if kernel.producer == "air":
            continue
        _refuse_resource_parameters(kernel)
        _lower_kernel(module, kernel, layout, ctx.warnings)
    # every use of extern __shared__ memory and of device variables is a parameter now
    module.globals = [gv for gv in module.globals
                      if not is_dynamic_threadgroup_memory(gv) and gv.addrspace != DEVICE]


def _refuse_resource_parameters(kernel: KernelSignature) -> None:
    """Images, samplers and other opaque target types have no AIR lowering yet: say so,
    naming the parameter, instead of failing somewhere inside the lowering."""
    fn = kernel.function
    for index, arg in enumerate(fn.args):
        if not isinstance(arg.ty, TargetExtType):
            continue
        name = arg.ty.text.split('"')[1] if '"' in arg.ty.text else arg.ty.text
        what = RESOURCE_TYPES.get(name, f"the target type {arg.ty.text}")
        source_types = kernel.source_arg_types
        spelled = f" ({source_types[index]})" if index < len(source_types) and \
            source_types[index] else ""
        raise CompileError(
            f"kernel @{fn.name} parameter {index}{spelled} is {what}; images, samplers and "
            "other opaque resources are not supported yet", fn.location,
            hint="pass the pixels as a buffer and index it yourself")


def _lower_kernel(module: Module, kernel: KernelSignature, layout: DataLayout,
                  warnings: list[CompileError]) -> None:
    fn = kernel.function
    structs = module.structs
    buffer_index = 0
    threadgroup_index = 0
    texture_index = 0
    sampler_index = 0
    replacements: dict[Value, Value] = {}
    entry_loads: list[Instruction] = []
    new_args: list[Argument] = []
    copy_written_byval_parameters(module, fn, layout, structs, _size_align)
    table = users(fn)
    for index, arg in enumerate(fn.args):
        name = _argument_name(kernel, index)
        source_type = kernel.source_arg_types[index] if index < len(kernel.source_arg_types) \
            else None
        if index in kernel.images:
            description = texture_argument(fn, arg, kernel.images[index], name, table)
        elif index in kernel.samplers:
            description = sampler_argument(arg, name, table)
        elif isinstance(arg.ty, PointerType):
            description = _pointer_parameter(fn, arg, kernel, layout, structs, name,
                                             source_type, table)
        else:
            description, arg, load = _value_parameter(arg, layout, structs, name,
                                                      source_type, used=arg in table)
            replacements[fn.args[index]] = load
            entry_loads.append(load)
        if description.kind == "threadgroup":
            description.location_index = threadgroup_index
            threadgroup_index += 1
        elif description.kind == "texture":
            description.location_index = texture_index
            texture_index += 1
        elif description.kind == "sampler":
            description.location_index = sampler_index
            sampler_index += 1
        else:
            description.location_index = buffer_index
            buffer_index += 1
        description.source_index = index
        description.param = arg
        kernel.arguments.append(description)
        new_args.append(arg)
    for gv in _globals_used(module, fn, lambda g: g.addrspace == DEVICE):
        param, description = _device_variable_parameter(fn, gv, layout, structs, warnings)
        description.location_index = buffer_index
        buffer_index += 1
        kernel.arguments.append(description)
        new_args.append(param)
        replacements[gv] = param
    for gv in _globals_used(module, fn, is_dynamic_threadgroup_memory):
        param, description = _dynamic_threadgroup_parameter(fn, gv, layout, structs)
        description.location_index = threadgroup_index
        threadgroup_index += 1
        kernel.arguments.append(description)
        new_args.append(param)
        replacements[gv] = param
    fn.args = new_args
    replace_all_uses(fn.instructions(), replacements)
    if entry_loads:
        insert_at_entry(fn, entry_loads)
    fn.function_type = FunctionType(fn.function_type.ret, tuple(a.ty for a in fn.args))


def _globals_used(module: Module, fn: Function,
                  which: Callable[[GlobalVariable], bool]) -> list[GlobalVariable]:
    """Globals selected by ``which`` that ``fn`` uses, made direct operands (no constant
    expressions around them) so a parameter can stand in for them."""
    used = []
    for gv in (g for g in module.globals if which(g)):
        materialize_constant_uses(fn, gv)
        if any(op is gv for inst in fn.instructions() for op in inst.ops):
            used.append(gv)
    return used


def _device_variable_parameter(fn: Function, gv: GlobalVariable, layout: DataLayout,
                               structs: dict[str, StructType | None],
                               warnings: list[CompileError]) -> tuple[Argument, KernelArgument]:
    """A program-scope device variable (CUDA ``__device__ int n;``): Metal has none, so it
    becomes a device buffer the host binds, named after the variable."""
    use = analyze_pointer_use(fn, gv)
    size, _ = _size_align(gv.value_type, layout, structs)
    param = Argument(PointerType(DEVICE), name=gv.name, attrs=["nocapture", "noundef"],
                     pointee_hint=gv.value_type)
    element = gv.value_type.element if isinstance(gv.value_type, ArrayType) else gv.value_type
    warnings.append(CompileError(
        f"program-scope device variable @{gv.name} of @{fn.name} becomes a device buffer the "
        f"host binds ({size} bytes){'; its initializer is not applied' if _initialized(gv) else ''}"
        f"{'; fill it as cudaMemcpyToSymbol would' if gv.externally_initialized else ''}",
        gv.location or fn.location))
    element_size, element_align = _size_align(element, layout, structs)
    description = KernelArgument(
        kind="buffer", name=gv.name, llvm_type=param.ty, type_name=llvm_type_name(element),
        type_size=element_size, type_align=element_align, element_type=element,
        access="air.read_write" if use.writes else "air.read", address_space=DEVICE,
        unused=not use.used, param=param)
    return param, description


def _initialized(gv: GlobalVariable) -> bool:
    """Whether the variable starts with something other than zero (which a buffer loses)."""
    from llvm_to_air.ir.model import ConstantInt, ConstantZero, Undef

    init = gv.initializer
    if init is None or isinstance(init, ConstantZero | Undef):
        return False
    return not (isinstance(init, ConstantInt) and init.value == 0)


def _dynamic_threadgroup_parameter(fn: Function, gv: GlobalVariable, layout: DataLayout,
                                   structs: dict[str, StructType | None]) -> \
        tuple[Argument, KernelArgument]:
    """``extern __shared__`` memory: Metal's threadgroup buffer the host sizes
    (``setThreadgroupMemoryLength:atIndex:``)."""
    element = gv.value_type.element if isinstance(gv.value_type, ArrayType) else gv.value_type
    param = Argument(PointerType(THREADGROUP), name=gv.name, attrs=["nocapture", "noundef"],
                     pointee_hint=element)
    size, align = _size_align(element, layout, structs)
    description = KernelArgument(
        kind="threadgroup", name=gv.name, llvm_type=param.ty, type_name=llvm_type_name(element),
        type_size=size, type_align=align, element_type=element, access="air.read_write",
        address_space=THREADGROUP, param=param)
    return param, description


def _argument_name(kernel: KernelSignature, index: int) -> str:
    names = kernel.source_arg_names
    name = names[index] if index < len(names) else None
    return name if name else f"arg{index}"


def _pointer_parameter(fn: Function, arg: Argument, kernel: KernelSignature,
                       layout: DataLayout, structs: dict[str, StructType | None], name: str,
                       source_type: str | None,
                       table: dict[Value, list[tuple[Instruction, int]]]) -> KernelArgument:
    byval = pointee_from_attributes(arg.attrs)
    use = analyze_pointer_use(fn, arg, table)
    space = arg.ty.addrspace  # type: ignore[attr-defined]
    if byval is not None:
        element = byval
        air = CONSTANT
    else:
        element = _element_type(use)
        generic = (space == 0 and kernel.producer in ("cuda", "rocdl")) or \
            (space == 4 and kernel.producer == "opencl")
        air = DEVICE if generic else air_space(kernel.producer, space,
                                               f"parameter '{name}' of @{fn.name}", fn.location)
        if air == 0:
            air = DEVICE  # a private pointer parameter is host memory: a device buffer
    kind = "threadgroup" if air == THREADGROUP else ("constant" if byval is not None
                                                   else "buffer")
    noalias = "noalias" in arg.attrs
    if air == CONSTANT and use.writes:
        # CUDA and C pass structs by value: the kernel owns a mutable copy (CUB's
        # reductions write theirs). Metal's constant buffer is read-only, so the kernel
        # works on a private copy made at entry.
        _private_copy(fn, arg, element, layout, structs)
        use = analyze_pointer_use(fn, arg, users(fn))
    access = "air.read_write" if use.writes or air == THREADGROUP else "air.read"
    arg.ty = PointerType(air)
    arg.pointee_hint = element
    size, align = _size_align(element, layout, structs)
    attrs = ["nocapture", "noundef"]
    if air != THREADGROUP:
        if not use.used:
            attrs.append("readnone")
        elif not use.writes:
            attrs.append("readonly")
        elif not use.reads:
            attrs.append("writeonly")
    if byval is not None:
        attrs += [f"align {align}", f"dereferenceable({size})"]
    if noalias:
        attrs.append('"air-buffer-no-alias"')
    arg.attrs = attrs
    return KernelArgument(
        kind=kind, name=name, llvm_type=arg.ty, type_name=_type_name(element, source_type),
        type_size=size, type_align=align, element_type=element, access=access,
        address_space=air, buffer_size=size if byval is not None else None,
        unused=not use.used, struct_fields=_struct_fields(element, layout, structs))


def _private_copy(fn: Function, arg: Argument, element: Type, layout: DataLayout,
                  structs: dict[str, StructType | None]) -> None:
    """Point every use of by-value parameter ``arg`` at a private copy made at entry."""
    _, align = _size_align(element, layout, structs)
    copy = Alloca(PointerType(0), opcode="alloca", allocated_type=element, align=align,
                  name=f"{arg.name or 'param'}.copy")
    replace_all_uses(fn.instructions(), {arg: copy})
    value = Load(element, opcode="load", ops=[arg], align=align)
    store = Store(VOID, opcode="store", ops=[value, copy], align=align)
    insert_at_entry(fn, [copy, value, store])


def _value_parameter(arg: Argument, layout: DataLayout, structs: dict[str, StructType | None],
                     name: str, source_type: str | None,
                     used: bool) -> tuple[KernelArgument, Argument, Load]:
    size, align = _size_align(arg.ty, layout, structs)
    param = Argument(PointerType(CONSTANT), name=arg.name,
                     attrs=["nocapture", "noundef", "readonly" if used else "readnone",
                            f"align {align}", f"dereferenceable({size})"], pointee_hint=arg.ty)
    load = Load(arg.ty, opcode="load", ops=[param], align=align,
                name=f"{arg.name}.value" if arg.name else None)
    description = KernelArgument(
        kind="constant", name=name, llvm_type=param.ty, type_name=_type_name(arg.ty, source_type),
        type_size=size, type_align=align, element_type=arg.ty, access="air.read",
        address_space=CONSTANT, buffer_size=size, unused=not used,
        struct_fields=_struct_fields(arg.ty, layout, structs))
    return description, param, load


def analyze_pointer_use(fn: Function, root: Value,
                        table: dict[Value, list[tuple[Instruction, int]]] | None = None) -> \
        PointerUse:
    """Follow ``root`` through GEPs, casts, phis, selects and pointer slots to its accesses.

    ``table`` is ``edit.users(fn)``, passed in when several roots are analyzed.
    """
    if table is None:
        table = users(fn)
    use = PointerUse()
    seen: set[int] = set()
    work: list[tuple[Value, bool]] = [(root, True)]
    while work:
        value, first_level = work.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        for inst, k in table.get(value, []):
            use.used = True
            if isinstance(inst, Load):
                use.reads = True
                use.access_types[inst.ty] += 1
                if first_level:
                    use.direct_access_types[inst.ty] += 1
            elif isinstance(inst, Store):
                if k == 1:
                    use.writes = True
                    use.access_types[inst.ops[0].ty] += 1
                    if first_level:
                        use.direct_access_types[inst.ops[0].ty] += 1
                elif isinstance(inst.ops[1], Instruction) and inst.ops[1].opcode == "alloca":
                    # the pointer is parked in a slot (-O0 code): follow the slot's loads
                    for slot_user, _ in table.get(inst.ops[1], []):
                        if isinstance(slot_user, Load):
                            work.append((slot_user, first_level))
                else:
                    use.reads = use.writes = True  # escapes to memory
            elif isinstance(inst, AtomicRMW | CmpXchg):
                use.reads = use.writes = True
                use.access_types[inst.ops[1].ty] += 1
                if first_level:
                    use.direct_access_types[inst.ops[1].ty] += 1
            elif isinstance(inst, GetElementPtr):
                if first_level:
                    use.gep_types[inst.source_type] += 1
                work.append((inst, False))
            elif isinstance(inst, Cast | Phi | Select | Freeze):
                if isinstance(inst, Cast) and inst.opcode == "ptrtoint":
                    use.as_integer = True
                    continue
                work.append((inst, first_level))
            elif isinstance(inst, Call):
                _call_access(inst, k, use)
    return use


def _call_access(call: Call, operand: int, use: PointerUse) -> None:
    callee = call.callee_function
    name = callee.name if callee is not None else ""
    if name.startswith(_NO_ACCESS_CALLS):
        return
    if operand == 0 and isinstance(call.ty, IntType | FloatType):
        use.access_types[call.ty] += 1  # atomic builtins return the value they point at
    for prefix, read_only in _READ_ONLY_OPERANDS.items():
        if name.startswith(prefix):
            if operand in read_only:
                use.reads = True
            else:
                use.writes = True
            return
    if name.startswith("llvm.memset"):
        use.writes = True
        return
    use.reads = use.writes = True  # builtins such as atomics and sincos may do both


def _element_type(use: PointerUse) -> Type:
    """Typed GEPs on the pointer, else accesses right at it, else any access through it."""
    geps = [t for t, _ in use.gep_types.most_common() if t != I8]
    if geps:
        return geps[0]
    if use.direct_access_types:
        return use.direct_access_types.most_common(1)[0][0]
    if use.access_types:
        return use.access_types.most_common(1)[0][0]
    if use.gep_types:
        return I8
    return I8


def _size_align(ty: Type, layout: DataLayout, structs: dict[str, StructType | None]) -> \
        tuple[int, int]:
    try:
        return layout.alloc_size(ty, structs), layout.abi_align(ty, structs)
    except CompileError:
        return 1, 1


def _type_name(ty: Type, source_type: str | None) -> str:
    """The MSL-style type name Apple writes in ``air.arg_type_name``."""
    if source_type:
        cleaned = re.sub(r"\b(const|volatile|restrict|__global|__local|__constant|global|local|"
                         r"constant)\b", "", source_type).replace("*", "").strip()
        if cleaned:
            return " ".join(cleaned.split())
    return llvm_type_name(ty)


def llvm_type_name(ty: Type) -> str:
    if isinstance(ty, IntType):
        return _INT_NAMES.get(ty.bits, f"i{ty.bits}")
    if isinstance(ty, FloatType):
        return _FLOAT_NAMES.get(ty.kind, ty.kind)
    if isinstance(ty, VectorType):
        return f"{llvm_type_name(ty.element)}{ty.count}"
    if isinstance(ty, NamedStructType):
        return re.sub(r"^(struct|class|union)\.", "", ty.name).strip('"')
    if isinstance(ty, ArrayType):
        return f"{llvm_type_name(ty.element)}[{ty.count}]"
    if isinstance(ty, PointerType):
        return "void*"
    return str(ty)


def _struct_fields(ty: Type, layout: DataLayout,
                   structs: dict[str, StructType | None]) -> list[StructField] | None:
    body = structs.get(ty.name) if isinstance(ty, NamedStructType) else ty
    if not isinstance(body, StructType):
        return None
    offsets, _, _ = layout.struct_layout(body, structs)
    fields = []
    for k, (field_ty, offset) in enumerate(zip(body.fields, offsets, strict=True)):
        count = field_ty.count if isinstance(field_ty, ArrayType) else 0
        element = field_ty.element if isinstance(field_ty, ArrayType) else field_ty
        size, _ = _size_align(element, layout, structs)
        fields.append(StructField(offset, size, count, llvm_type_name(element), f"field{k}"))
    return fields


__all__ = ["PointerUse", "analyze_pointer_use", "llvm_type_name", "lower_kernel_abi"]
