"""Rules about the code: types, address spaces, pointer provenance, calls, intrinsics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from llvm_to_air.errors import SourceLocation
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    Call,
    Cast,
    CmpXchg,
    ConstantAggregate,
    ConstantExpr,
    ConstantNull,
    ConstantZero,
    Fence,
    Freeze,
    Function,
    GetElementPtr,
    GlobalValue,
    InlineAsm,
    Instruction,
    Load,
    Module,
    Phi,
    Poison,
    Select,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
)
from llvm_to_air.verify.context import VerifyContext, _inst_label
from llvm_to_air.verify.facts import (
    ALLOWED_INTRINSICS,
    ATOMIC_ADDRESS_SPACES,
    ATOMIC_SCOPE_RE,
    CONVERGENT_CALLEE_RE,
    DEFAULT_CCS,
    EXTERNALLY_DEFINED_SECTION,
    FOREIGN_INTRINSIC_PREFIXES,
    KIND_ADDRESS_SPACES,
    MAX_ADDRESS_SPACE,
    MAX_INT_BITS,
    TRAP_INTRINSICS,
    WIDE_FLOATS,
)
from llvm_to_air.verify.findings import Finding, _err, _warn

# ----------------------------------------------------------------------- type checks


def _nested_types(ty: Type) -> Iterator[Type]:
    """``ty`` and the types inside it (not through named structs, which are checked alone)."""
    yield ty
    if isinstance(ty, VectorType | ArrayType):
        yield from _nested_types(ty.element)
    elif isinstance(ty, StructType):
        for f in ty.fields:
            yield from _nested_types(f)
    elif isinstance(ty, FunctionType):
        yield from _nested_types(ty.ret)
        for p in ty.params:
            yield from _nested_types(p)
    elif isinstance(ty, TypedPointerType):
        yield from _nested_types(ty.pointee)


def _constant_types(value: Value, depth: int = 0) -> Iterator[Type]:
    """Types of a value and, for constants, of their parts."""
    yield value.ty
    if depth > 32:
        return
    if isinstance(value, ConstantExpr):
        if value.source_type is not None:
            yield value.source_type
        for op in value.ops:
            yield from _constant_types(op, depth + 1)
    elif isinstance(value, ConstantAggregate):
        for element in value.elements:
            yield from _constant_types(element, depth + 1)


@dataclass(frozen=True)
class TypeSite:
    """A place that mentions types: a struct body, global, signature or instruction."""

    what: str
    location: SourceLocation | None
    types: tuple[Type, ...]


def _instruction_types(inst: Instruction) -> Iterator[Type]:
    yield inst.ty
    for attr in ("allocated_type", "source_type", "function_type"):
        extra = getattr(inst, attr, None)
        if isinstance(extra, Type):
            yield extra
    for op in inst.ops:
        yield from _constant_types(op)


def type_sites(module: Module) -> Iterator[TypeSite]:
    """Every place of the module where a type appears."""
    for name, body in module.structs.items():
        if body is not None:
            yield TypeSite(f"struct %{name}", SourceLocation(module.file), (body,))
    for gv in module.globals:
        init = tuple(_constant_types(gv.initializer)) if gv.initializer is not None else ()
        yield TypeSite(f"global @{gv.name}", gv.location, (gv.ty, gv.value_type, *init))
    for fn in module.functions:
        yield TypeSite(f"function @{fn.name}", fn.location, (fn.function_type,))
        for inst in fn.instructions():
            yield TypeSite(_inst_label(inst, fn), inst.location, tuple(_instruction_types(inst)))


def _offending(site: TypeSite, bad: Callable[[Type], bool]) -> list[str]:
    found: dict[str, None] = {}
    for ty in site.types:
        for inner in _nested_types(ty):
            if bad(inner):
                found[str(inner)] = None
    return list(found)


def _type_rule(bad: Callable[[Type], bool], why: str) -> Callable[[VerifyContext],
                                                                 Iterator[Finding]]:
    def check(ctx: VerifyContext) -> Iterator[Finding]:
        for site in type_sites(ctx.module):
            found = _offending(site, bad)
            if found:
                shown = ", ".join(f"'{t}'" for t in found)
                yield _err(f"{site.what} uses {shown}: {why}", site.location)
    return check


def _is_wide_float(ty: Type) -> bool:
    return isinstance(ty, FloatType) and ty.kind in WIDE_FLOATS


def _is_wide_int(ty: Type) -> bool:
    return isinstance(ty, IntType) and ty.bits > MAX_INT_BITS


def _is_bad_address_space(ty: Type) -> bool:
    return (isinstance(ty, PointerType | TypedPointerType)
            and not 0 <= ty.addrspace <= MAX_ADDRESS_SPACE)


check_float_type = _type_rule(
    _is_wide_float, "Metal GPUs have no 64-bit (or wider) floating point")
check_float_type.__doc__ = "No ``double`` (or wider float) anywhere."
check_int_width = _type_rule(
    _is_wide_int, f"AIR has no integers wider than {MAX_INT_BITS} bits")
check_int_width.__doc__ = "No integer wider than 64 bits."
_check_pointer_types = _type_rule(
    _is_bad_address_space,
    "AIR address spaces are 0 private, 1 device, 2 constant, 3 threadgroup")


def _pointer_types_beyond(extra: frozenset[int]) -> Callable[[VerifyContext], Iterator[Finding]]:
    names = "".join(f", {space} mesh" for space in sorted(extra))
    return _type_rule(
        lambda ty: _is_bad_address_space(ty) and ty.addrspace not in extra,  # type: ignore[attr-defined]
        f"AIR address spaces are 0 private, 1 device, 2 constant, 3 threadgroup{names}")


def check_address_space_by_kind(ctx: VerifyContext) -> Iterator[Finding]:
    """Pointers in address spaces 0-3, plus those of the module's function kinds
    (:data:`KIND_ADDRESS_SPACES`: 7 with mesh/object functions); allocas in 0."""
    extra = frozenset().union(*(KIND_ADDRESS_SPACES.get(kind, frozenset())
                                for kind in ctx.function_kinds))
    yield from _pointer_types_beyond(extra)(ctx)
    yield from _private_allocas(ctx)


def check_address_space(ctx: VerifyContext) -> Iterator[Finding]:
    """Pointers only in address spaces 0-3; allocas in address space 0."""
    yield from _check_pointer_types(ctx)
    yield from _private_allocas(ctx)


def _private_allocas(ctx: VerifyContext) -> Iterator[Finding]:
    for fn in ctx.module.functions:
        for inst in fn.instructions():
            if isinstance(inst, Alloca) and inst.addrspace != 0:
                yield _err(f"{_inst_label(inst, fn)} allocates in address space "
                           f"{inst.addrspace}; private memory is address space 0", inst.location)


# --------------------------------------------------------------- pointer provenance


_PROVABLY_PRIVATE = (Alloca, ConstantNull, ConstantZero, Undef, Poison, GlobalValue)


def _pointer_inputs(value: Value, ctx: VerifyContext) -> list[Value] | None:
    """The values a private pointer derives from, or None where it cannot be traced."""
    if isinstance(value, GetElementPtr | Freeze):
        return [value.ops[0]]
    if isinstance(value, Phi):
        return list(value.ops)
    if isinstance(value, Select):
        return list(value.ops[1:])
    if isinstance(value, Cast | ConstantExpr) and value.opcode in ("bitcast", "getelementptr"):
        return [value.ops[0]]
    if isinstance(value, Cast | ConstantExpr) and value.opcode == "addrspacecast":
        source = value.ops[0].ty
        # a cast from another space is the addrspacecast rule's finding
        return [value.ops[0]] if source == PointerType(0) else []
    if isinstance(value, Argument):
        owner = ctx.arg_owner.get(id(value))
        if owner is None or id(owner[0]) in ctx.kernel_functions:
            return []  # kernel parameters: checked by the parameter rules
        fn, index = owner
        return [call.ops[index] for call in ctx.call_sites.get(id(fn), [])
                if index < len(call.ops) - 1]
    return None


def _untraceable_roots(value: Value, ctx: VerifyContext) -> list[Value]:
    """Roots of ``value`` (through GEPs, casts, phis, selects, call sites) that are not allocas."""
    stack, seen, roots = [value], set(), []
    while stack:
        current = stack.pop()
        if id(current) in seen or isinstance(current, _PROVABLY_PRIVATE):
            continue
        seen.add(id(current))
        inputs = _pointer_inputs(current, ctx)
        if inputs is None:
            roots.append(current)
        else:
            stack.extend(inputs)
    return roots


def _private_pointer_uses(fn: Function) -> Iterator[tuple[Instruction, Value]]:
    for inst in fn.instructions():
        operands = inst.ops[:-1] if isinstance(inst, Call) else inst.ops
        for op in operands:
            if op.ty == PointerType(0):
                yield inst, op


def _root_finding(root: Value, use: Instruction, fn: Function) -> Finding:
    if isinstance(root, Cast | ConstantExpr) and root.opcode == "inttoptr":
        return _err(f"private (address space 0) pointer used by {_inst_label(use, fn)} is made "
                    "by inttoptr; AIR has no generic pointers, so it must come from an alloca",
                    use.location)
    origin = root.opcode if isinstance(root, Instruction | ConstantExpr) else type(root).__name__
    return _warn(f"private (address space 0) pointer used by {_inst_label(use, fn)} comes from "
                 f"'{origin}' and cannot be traced to an alloca", use.location)


def check_private_pointer_with_dyld(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``private-pointer``, but the dynamic linker's ``air.dyld_*`` tables are mutable
    private globals in Apple's output."""
    yield from _private_pointer_findings(ctx, exempt=("llvm.", DYLD_TABLE_PREFIX))


def check_private_pointer(ctx: VerifyContext) -> Iterator[Finding]:
    """Address-space-0 pointers come from allocas (or constant globals); no mutable private globals."""
    yield from _private_pointer_findings(ctx, exempt=("llvm.",))


def _private_pointer_findings(ctx: VerifyContext, exempt: tuple[str, ...]) -> Iterator[Finding]:
    for gv in ctx.module.globals:
        if gv.addrspace == 0 and not gv.is_constant and not gv.name.startswith(exempt):
            yield _err(f"global @{gv.name} is a mutable variable in the private address space 0; "
                       "program-scope variables are constant (2) or threadgroup (3)", gv.location)
    reported: set[int] = set()
    roots_of: dict[int, list[Value]] = {}
    for fn in ctx.module.functions:
        for inst, op in _private_pointer_uses(fn):
            if id(op) not in roots_of:
                roots_of[id(op)] = _untraceable_roots(op, ctx)
            for root in roots_of[id(op)]:
                if id(root) not in reported:
                    reported.add(id(root))
                    yield _root_finding(root, inst, fn)


def _constant_exprs(value: Value, depth: int = 0) -> Iterator[ConstantExpr]:
    if isinstance(value, ConstantExpr) and depth < 32:
        yield value
        for op in value.ops:
            yield from _constant_exprs(op, depth + 1)
    elif isinstance(value, ConstantAggregate) and depth < 32:
        for element in value.elements:
            yield from _constant_exprs(element, depth + 1)


def _addrspacecasts(fn: Function) -> Iterator[tuple[Instruction, Value]]:
    """(instruction, cast) for each addrspacecast instruction or constant expression in ``fn``."""
    for inst in fn.instructions():
        if isinstance(inst, Cast) and inst.opcode == "addrspacecast":
            yield inst, inst
        for op in inst.ops:
            for expr in _constant_exprs(op):
                if expr.opcode == "addrspacecast":
                    yield inst, expr


def check_addrspacecast(ctx: VerifyContext) -> Iterator[Finding]:
    """No ``addrspacecast`` into address space 0 from another space (no generic pointers)."""
    for fn in ctx.module.functions:
        for inst, cast in _addrspacecasts(fn):
            source, target = cast.ops[0].ty, cast.ty  # type: ignore[attr-defined]
            if not isinstance(source, PointerType) or not isinstance(target, PointerType):
                continue
            if target.addrspace == 0 and source.addrspace != 0:
                yield _err(f"{_inst_label(inst, fn)} casts '{source}' to the generic address "
                           "space 0; AIR has no generic pointers: keep the concrete space",
                           inst.location)
            elif source.addrspace != target.addrspace:
                yield _warn(f"{_inst_label(inst, fn)} casts '{source}' to '{target}'; Apple's "
                            "compiler never converts between address spaces", inst.location)


# ------------------------------------------------------------------ instruction checks


def _atomic_instruction(inst: Instruction) -> str | None:
    """The kind of LLVM atomic ``inst`` is, or None."""
    if isinstance(inst, AtomicRMW):
        return f"atomicrmw {inst.operation}"
    if isinstance(inst, CmpXchg):
        return "cmpxchg"
    if isinstance(inst, Fence):
        return "fence"
    if isinstance(inst, Load | Store) and inst.ordering is not None:
        return f"atomic {inst.opcode}"
    return None


def check_llvm_atomic(ctx: VerifyContext) -> Iterator[Finding]:
    """No ``atomicrmw``, ``cmpxchg``, ``fence`` or atomic load/store: AIR uses air.atomic.* calls."""
    for fn in ctx.module.functions:
        for inst in fn.instructions():
            kind = _atomic_instruction(inst)
            if kind is not None:
                yield _err(f"{_inst_label(inst, fn)} is an LLVM '{kind}'; AIR expresses atomics "
                           "as air.atomic.* calls", inst.location)


def check_inline_asm(ctx: VerifyContext) -> Iterator[Finding]:
    """No inline assembly."""
    for fn, call in ctx.calls():
        if isinstance(call.callee, InlineAsm):
            text = call.callee.asm if len(call.callee.asm) <= 40 else call.callee.asm[:37] + "..."
            yield _err(f"{_inst_label(call, fn)} calls inline asm \"{text}\"; inline assembly "
                       "has no meaning on Apple GPUs", call.location)


def check_indirect_call(ctx: VerifyContext) -> Iterator[Finding]:
    """Calls name their callee directly."""
    for fn, call in ctx.calls():
        if not isinstance(call.callee, Function | InlineAsm):
            yield _err(f"{_inst_label(call, fn)} is an indirect call through a "
                       f"'{call.callee.ty}' value; AIR has no function pointers", call.location)


def check_trap(ctx: VerifyContext) -> Iterator[Finding]:
    """No ``llvm.trap``/``llvm.debugtrap``: a trap wedges the GPU."""
    for fn, call in ctx.calls():
        callee = call.callee_function
        if callee is not None and callee.name in TRAP_INTRINSICS:
            yield _err(f"{_inst_label(call, fn)} calls @{callee.name}; a trap wedges Apple GPUs",
                       call.location)


def check_calling_convention(ctx: VerifyContext) -> Iterator[Finding]:
    """Functions and calls use the default C calling convention (no ptx_kernel, spir_kernel...)."""
    for fn in ctx.module.functions:
        if fn.cc not in DEFAULT_CCS:
            yield _err(f"function @{fn.name} has calling convention '{fn.cc}'; AIR functions "
                       "use the default one", fn.location)
        for inst in fn.instructions():
            if isinstance(inst, Call) and inst.cc not in DEFAULT_CCS:
                yield _err(f"{_inst_label(inst, fn)} uses calling convention '{inst.cc}'; AIR "
                           "calls use the default one", inst.location)


def check_entry_calling_convention(ctx: VerifyContext) -> Iterator[Finding]:
    """Kernels use the default calling convention (Apple's helpers may be ``fastcc``)."""
    for fn in ctx.module.functions:
        if id(fn) in ctx.kernel_functions and fn.cc not in DEFAULT_CCS:
            yield _err(f"kernel @{fn.name} has calling convention '{fn.cc}'; entry points use "
                       "the default one", fn.location)


def _intrinsic_allowed(name: str) -> bool:
    return any(name == fam or name.startswith(fam + ".") for fam in ALLOWED_INTRINSICS)


def check_llvm_intrinsic(ctx: VerifyContext) -> Iterator[Finding]:
    """``llvm.*`` calls are on the allow-list (warning otherwise; error for other targets')."""
    for fn in ctx.module.functions:
        name = fn.name
        if not name.startswith("llvm.") or name in TRAP_INTRINSICS or _intrinsic_allowed(name):
            continue
        if not fn.is_declaration:
            continue
        if name.startswith(FOREIGN_INTRINSIC_PREFIXES):
            yield _err(f"@{name} is another target's intrinsic; it has no AIR meaning",
                       fn.location)
        else:
            yield _warn(f"@{name} is not an intrinsic Apple's AIR is known to use (AIR writes "
                        "most operations as air.* calls)", fn.location)


DYLD_TABLE_PREFIX = "air.dyld_"


def _links_dynamic_libraries(module: Module) -> bool:
    return any(gv.name.startswith(DYLD_TABLE_PREFIX) for gv in module.globals)


def check_undefined_function_or_imported(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``undefined-function``; a module that links dynamic libraries (``air.dyld_*``
    tables) may import functions from them."""
    if _links_dynamic_libraries(ctx.module):
        return
    yield from check_undefined_function(ctx)


def check_undefined_function(ctx: VerifyContext) -> Iterator[Finding]:
    """Declarations are air.*, llvm.*, or ``section "air.externally_defined"``."""
    for fn in ctx.module.functions:
        if (not fn.is_declaration or fn.name.startswith(("air.", "llvm."))
                or fn.section == EXTERNALLY_DEFINED_SECTION):
            continue
        yield _err(f"function @{fn.name} is declared but not defined, and is neither an air.* "
                   f"intrinsic nor in section \"{EXTERNALLY_DEFINED_SECTION}\": an unresolved "
                   "external symbol", fn.location)


def _needs_convergent(callee: Function) -> bool:
    return bool(CONVERGENT_CALLEE_RE.match(callee.name)) or "convergent" in callee.fn_attrs


def check_convergent(ctx: VerifyContext) -> Iterator[Finding]:
    """Barrier/SIMD declarations, and functions calling convergent functions, are ``convergent``."""
    for fn in ctx.module.functions:
        if "convergent" in fn.fn_attrs:
            continue
        if fn.is_declaration:
            if CONVERGENT_CALLEE_RE.match(fn.name):
                yield _err(f"declaration @{fn.name} is not convergent; Apple marks barrier and "
                           "SIMD-group functions convergent", fn.location)
            continue
        callee = next((c.callee_function for c in fn.instructions()
                       if isinstance(c, Call) and c.callee_function is not None
                       and _needs_convergent(c.callee_function)), None)
        if callee is not None:
            yield _err(f"function @{fn.name} calls convergent @{callee.name} but is not "
                       "convergent", fn.location)


def check_atomic_address_space(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.atomic.global.*`` take device (1) pointers, ``air.atomic.local.*`` threadgroup (3)."""
    for fn, call in ctx.calls():
        callee = call.callee_function
        match = ATOMIC_SCOPE_RE.match(callee.name) if callee is not None else None
        if match is None:
            continue
        expected = ATOMIC_ADDRESS_SPACES[match["scope"]]
        pointer = call.args[0] if call.args else None
        actual = pointer.ty if pointer is not None else None
        if not isinstance(actual, PointerType) or actual.addrspace != expected:
            yield _err(f"{_inst_label(call, fn)} calls @{callee.name} (address space "  # type: ignore[union-attr]
                       f"{expected}) with a '{actual}' pointer", call.location)
