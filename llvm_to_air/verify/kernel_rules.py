"""Rules about kernels and their argument nodes (buffers, built-ins)."""

from __future__ import annotations

from collections.abc import Iterator

from llvm_to_air.ir.types import (
    PointerType,
)
from llvm_to_air.verify.context import VerifyContext
from llvm_to_air.verify.facts import (
    ACCESS_KEYS,
    BUFFER_ADDRESS_SPACES,
    BUILTIN_ROLES,
    BUILTIN_TYPES,
    OTHER_ENTRY_KINDS,
    POINTER_ROLES,
    PointerRole,
)
from llvm_to_air.verify.findings import Finding, _err, _warn
from llvm_to_air.verify.kernels import ArgNode

# ------------------------------------------------------------------- kernel checks


def check_kernel_node(ctx: VerifyContext) -> Iterator[Finding]:
    """Each ``!air.kernel`` entry is ``!{fn, !{}, !{args}}``: defined void fn, one node per param."""
    yield from ctx.kernel_table.problems["kernel-node"]


def check_kernel_node_and_exports(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``kernel-node``; and the module exports an entry point or a dynamic library's
    function (Apple writes modules that export nothing, the ``.air`` of a source without
    entry points, so only our own output is held to this)."""
    yield from check_kernel_node(ctx)
    module = ctx.module
    exported = any(not fn.is_declaration and fn.linkage in ("", "external")
                   for fn in module.functions)  # a dynamic library's functions
    entries = ("kernel", *OTHER_ENTRY_KINDS)
    if not exported and not any(module.get_named_metadata(f"air.{kind}") for kind in entries):
        yield _warn("module has no !air.kernel (nor vertex, fragment, mesh, object, visible) "
                    "entries: it exports no function", ctx.where)


def check_arg_node(ctx: VerifyContext) -> Iterator[Finding]:
    """Argument-node properties are known and have values of the right kind."""
    yield from ctx.kernel_table.problems["arg-node"]


def check_arg_role(ctx: VerifyContext) -> Iterator[Finding]:
    """Pointer parameters are buffers (or other resources); others are known built-ins."""
    for kernel in ctx.kernel_table.kernels:
        for arg in kernel.args:
            is_pointer = isinstance(arg.param.ty, PointerType)
            if arg.role in POINTER_ROLES:
                if not is_pointer:
                    yield _err(f"{arg.label}: {arg.role} node describes a non-pointer parameter "
                               f"of type '{arg.param.ty}'", kernel.location)
            elif arg.role in BUILTIN_ROLES:
                if is_pointer:
                    yield _err(f"{arg.label}: pointer parameter '{arg.param.ty}' is described as "
                               f"built-in {arg.role}; pointer parameters must be described as "
                               "air.buffer", kernel.location)
            else:
                kind = "pointer" if is_pointer else "built-in"
                yield _err(f"{arg.label}: unknown argument role '{arg.role}' (expected a "
                           f"{kind} role)", kernel.location)


def _location_group(arg: ArgNode, spec: PointerRole) -> str:
    space = arg.int_prop("air.address_space")
    if space is None:
        ty = arg.param.ty
        space = ty.addrspace if isinstance(ty, PointerType) else 0
    return "threadgroup" if spec.location_group == "buffer" and space == 3 else spec.location_group


_GROUP_NOTES = {
    "buffer": "device and constant buffers share one index space",
    "threadgroup": "threadgroup buffers have their own index space",
    "texture": "textures have their own index space",
    "sampler": "samplers have their own index space",
}


def check_buffer_location(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.location_index N 1`` present, unique per index space (buffers / threadgroup)."""
    used: dict[tuple[int, str, int], ArgNode] = {}
    for kernel, arg, spec in ctx.pointer_args():
        index, count = arg.int_prop("air.location_index"), arg.int_prop("air.location_index", 1)
        if index is None:
            yield _err(f"{arg.label}: {arg.role} node has no air.location_index", kernel.location)
            continue
        if count != 1:
            yield _warn(f"{arg.label}: air.location_index {index} is followed by i32 {count}; "
                        "Apple writes i32 1", kernel.location)
        group = _location_group(arg, spec)
        key = (id(kernel), group, index)
        first = used.get(key)
        if first is not None:
            yield _err(f"{arg.label}: air.location_index {index} is already used by parameter "
                       f"{first.position} ({_GROUP_NOTES[group]})", kernel.location)
        else:
            used[key] = arg


def check_buffer_access(ctx: VerifyContext) -> Iterator[Finding]:
    """Exactly one of ``air.read``, ``air.read_write``, ``air.write``."""
    for kernel, arg, spec in ctx.pointer_args():
        present = [key for key in ACCESS_KEYS if key in arg.props]
        if spec.access_required and not present:
            yield _err(f"{arg.label}: {arg.role} node has no access "
                       f"({', '.join(ACCESS_KEYS)})", kernel.location)
        elif len(present) > 1:
            yield _err(f"{arg.label}: {arg.role} node has several accesses: "
                       f"{', '.join(present)}", kernel.location)


def check_buffer_address_space(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.address_space`` present, equal to the parameter's address space (1, 2 or 3)."""
    yield from _address_space_findings(ctx, required=True)


def check_buffer_address_space_if_present(ctx: VerifyContext) -> Iterator[Finding]:
    """Before AIR 2.5: ``air.address_space``, where written, equals the parameter's."""
    yield from _address_space_findings(ctx, required=False)


def _address_space_findings(ctx: VerifyContext, required: bool) -> Iterator[Finding]:
    for kernel, arg, spec in ctx.pointer_args():
        param_space = arg.param.ty.addrspace  # type: ignore[attr-defined]
        node_space = arg.int_prop("air.address_space")
        if node_space is not None and node_space != param_space:
            yield _err(f"{arg.label}: {arg.role} node has address space {node_space} but the "
                       f"parameter is '{arg.param.ty}'", kernel.location)
        elif param_space not in BUFFER_ADDRESS_SPACES:
            yield _err(f"{arg.label}: parameter '{arg.param.ty}' is not in a buffer address "
                       "space (1 device, 2 constant, 3 threadgroup)", kernel.location)
        elif node_space is None and spec.address_space_required and required:
            yield _err(f"{arg.label}: {arg.role} node has no air.address_space (every Apple "
                       "AIR 2.5+ module has it)", kernel.location)


def _type_size_findings(ctx: VerifyContext, void_exempt: bool) -> Iterator[Finding]:
    for kernel, arg, spec in ctx.pointer_args():
        if not spec.type_size_required:
            continue
        if void_exempt and arg.text_prop("air.arg_type_name") == "void":
            continue
        for key in ("air.arg_type_size", "air.arg_type_align_size"):
            value = arg.int_prop(key)
            if value is None:
                yield _err(f"{arg.label}: {arg.role} node has no {key}", kernel.location)
            elif value <= 0:
                yield _err(f"{arg.label}: {key} is {value}", kernel.location)


def check_buffer_type_size(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.arg_type_size`` and ``air.arg_type_align_size`` present and positive."""
    yield from _type_size_findings(ctx, void_exempt=False)


def check_buffer_type_size_unless_void(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``buffer-type-size``, but a ``void *`` buffer has no size (Apple writes none)."""
    yield from _type_size_findings(ctx, void_exempt=True)


def check_buffer_type_name(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.arg_type_name`` present (its absence crashed the macOS 14 compiler)."""
    for kernel, arg, spec in ctx.pointer_args():
        if spec.type_name_required and arg.text_prop("air.arg_type_name") is None:
            yield _err(f"{arg.label}: {arg.role} node has no air.arg_type_name (its absence "
                       "crashed the macOS 14 Metal compiler)", kernel.location)


def check_buffer_size_value(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.buffer_size`` agrees with the type size (device references carry it too)."""
    yield from _buffer_size_findings(ctx, constant_only=False)


def check_buffer_size(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.buffer_size`` only on constant (address space 2) buffers, equal to the type size."""
    yield from _buffer_size_findings(ctx, constant_only=True)


def _buffer_size_findings(ctx: VerifyContext, constant_only: bool) -> Iterator[Finding]:
    for kernel, arg, _spec in ctx.pointer_args():
        size = arg.int_prop("air.buffer_size")
        if size is None:
            continue
        space = arg.param.ty.addrspace  # type: ignore[attr-defined]
        if constant_only and space != 2:
            yield _err(f"{arg.label}: air.buffer_size on a parameter in address space {space}; "
                       "only by-value (constant, address space 2) buffers carry it",
                       kernel.location)
        type_size = arg.int_prop("air.arg_type_size")
        if type_size and size % type_size:  # a reference to an array: N elements
            yield _warn(f"{arg.label}: air.buffer_size {size} is not a multiple of "
                        f"air.arg_type_size {type_size}", kernel.location)


def check_builtin_type(ctx: VerifyContext) -> Iterator[Finding]:
    """A built-in's type name is allowed for its role and matches the parameter's LLVM type."""
    for kernel, arg, names in ctx.builtin_args():
        name = arg.text_prop("air.arg_type_name")
        if name is None:
            yield _err(f"{arg.label}: {arg.role} node has no air.arg_type_name",
                       kernel.location)
            continue
        if name not in names:
            yield _err(f"{arg.label}: {arg.role} cannot be '{name}' (allowed: "
                       f"{', '.join(names)})", kernel.location)
            continue
        expected = BUILTIN_TYPES[name]
        if arg.param.ty != expected:
            yield _err(f"{arg.label}: {arg.role} is '{name}' ({expected}) but the parameter is "
                       f"'{arg.param.ty}'", kernel.location)
