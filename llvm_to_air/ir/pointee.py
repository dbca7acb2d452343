"""Typed-pointer inference: a pointee type for every pointer value, for the LLVM 14 writer.

Opaque-pointer IR says nothing about what a ``ptr`` points to; LLVM 14 needs
``float*`` or ``i8*``. This module decides, per function:

* values whose pointee is *fixed* by their definition: allocas (allocated
  type), globals (value type), functions (their signature), GEPs (the
  indexed element type), calls (the callee's return type), pointers read
  out of aggregates (``i8*``, the canonical form used inside aggregates);
* values whose pointee is *free* (arguments, loaded pointers, phis,
  selects, ``inttoptr``, ``addrspacecast`` results): chosen from their uses,
  most telling first: memory accesses, then GEP source types, then call
  parameter types, then the pointees of fixed values flowing into them.
  Phis, selects and freezes share one choice with their free inputs
  (union-find).

The writer then inserts a ``bitcast`` wherever a use needs another pointee,
so the choice affects only how many casts are printed, never correctness.
Rewrite stages can steer the choice for an argument through
:attr:`Argument.pointee_hint`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llvm_to_air.ir.llvm14 import POINTEE_RULES
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    Call,
    Cast,
    CmpXchg,
    ConstantExpr,
    ExtractElement,
    ExtractValue,
    Freeze,
    Function,
    GetElementPtr,
    GlobalAlias,
    GlobalVariable,
    Load,
    Module,
    Phi,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    I8,
    ArrayType,
    FunctionType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
)

# Demand priorities: lower wins.
_ACCESS, _GEP, _CALL, _FLOW, _WEAK_CALL = range(5)


class TypeCanon:
    """Typed forms of model types: opaque pointers inside types become ``i8`` pointers."""

    def __init__(self) -> None:
        self._cache: dict[Type, Type] = {}

    def __call__(self, ty: Type) -> Type:
        found = self._cache.get(ty)
        if found is not None:
            return found
        result: Type
        if isinstance(ty, PointerType):
            result = TypedPointerType(I8, ty.addrspace)
        elif isinstance(ty, VectorType):
            result = VectorType(ty.count, self(ty.element), ty.scalable)
        elif isinstance(ty, ArrayType):
            result = ArrayType(ty.count, self(ty.element))
        elif isinstance(ty, StructType):
            result = StructType(tuple(self(f) for f in ty.fields), ty.packed)
        elif isinstance(ty, FunctionType):
            result = FunctionType(self(ty.ret), tuple(self(p) for p in ty.params), ty.vararg)
        else:
            result = ty
        self._cache[ty] = result
        return result


_TYPE_ATTRS = ("byval(", "sret(", "byref(", "preallocated(", "inalloca(", "elementtype(")


def pointee_from_attributes(attrs: list[str]) -> Type | None:
    """The type named by ``byval(T)``/``sret(T)``/... : LLVM 14 requires it as the pointee."""
    for attr in attrs:
        if attr.startswith(_TYPE_ATTRS):
            from llvm_to_air.ir.parser import parse_type_text

            return parse_type_text(attr[attr.index("(") + 1:-1])
    return None


def element_type_after_indices(source: Type, n_indices: int, structs: dict[str, StructType | None],
                               const_indices: list[int | None]) -> Type:
    """The element type a GEP with ``source`` and these indices points to (first index skipped)."""
    ty = source
    for k in range(1, n_indices):
        if isinstance(ty, NamedStructType):
            body = structs.get(ty.name)
            assert body is not None
            ty = body
        if isinstance(ty, StructType):
            idx = const_indices[k]
            assert idx is not None
            ty = ty.fields[idx]
        elif isinstance(ty, ArrayType | VectorType):
            ty = ty.element
    return ty


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Value, Value] = {}

    def find(self, v: Value) -> Value:
        parent = self.parent
        root = v
        while parent.get(root, root) is not root:
            root = parent[root]
        while v is not root:
            nxt = parent.get(v, v)
            parent[v] = root
            v = nxt
        return root

    def union(self, a: Value, b: Value) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is not rb:
            self.parent[rb] = ra


Demand = Type | Callable[[], Type]


@dataclass
class _Demands:
    items: list[tuple[int, int, Demand]] = field(default_factory=list)


class PointeeInference:
    """Pointee types for one module; ask :meth:`pointee` and :meth:`signature`."""

    def __init__(self, module: Module, canon: TypeCanon) -> None:
        self.module = module
        self.canon = canon
        self.structs = module.structs
        self.values: dict[Value, Type] = {}
        self.signatures: dict[Function, FunctionType] = {}
        for fn in module.functions:
            if fn.is_declaration:
                self.signatures[fn] = self._declaration_signature(fn)
        for fn in module.functions:
            if not fn.is_declaration:
                self._infer_function(fn)

    # ---------------------------------------------------------------- queries

    def signature(self, fn: Function) -> FunctionType:
        return self.signatures[fn]

    def pointee(self, value: Value) -> Type | None:
        """The pointee of a pointer value, or None for null/undef/poison (they adapt)."""
        found = self.values.get(value)
        if found is not None:
            return found
        if isinstance(value, Function):
            return self.signatures[value]
        if isinstance(value, GlobalVariable | GlobalAlias):
            return self.canon(value.value_type)
        if isinstance(value, ConstantExpr):
            return self._constant_expr_pointee(value)
        return None

    def _constant_expr_pointee(self, expr: ConstantExpr) -> Type:
        if expr.opcode == "getelementptr":
            assert expr.source_type is not None
            consts = [getattr(op, "value", None) for op in expr.ops[1:]]
            return self.canon(element_type_after_indices(expr.source_type, len(expr.ops) - 1,
                                                         self.structs, consts))
        if expr.opcode in ("addrspacecast", "bitcast"):
            inner = self.pointee(expr.ops[0])
            return inner if inner is not None else I8
        return I8

    # ----------------------------------------------------------- declarations

    def _declaration_signature(self, fn: Function) -> FunctionType:
        fnty = fn.function_type
        rule = next((v for k, v in POINTEE_RULES.items() if fn.name.startswith(k)), None)
        params: list[Type] = []
        for k, p in enumerate(fnty.params):
            attr_pointee = pointee_from_attributes(fn.args[k].attrs) if k < len(fn.args) else None
            if isinstance(p, PointerType) and attr_pointee is not None:
                params.append(TypedPointerType(self.canon(attr_pointee), p.addrspace))
            elif isinstance(p, PointerType) and rule is not None:
                params.append(TypedPointerType(self._rule_pointee(rule, fnty), p.addrspace))
            else:
                params.append(self.canon(p))
        return FunctionType(self.canon(fnty.ret), tuple(params), fnty.vararg)

    def _rule_pointee(self, rule: str, fnty: FunctionType) -> Type:
        elem = rule.startswith("elem:")
        where = rule.split(":")[-1]
        ty = fnty.ret if where == "ret" else fnty.params[int(where[3:])]
        if elem and isinstance(ty, VectorType):
            ty = ty.element
        return self.canon(ty)

    # -------------------------------------------------------------- functions

    def _infer_function(self, fn: Function) -> None:
        canon = self.canon
        values = self.values
        uf = _UnionFind()
        demands: dict[Value, _Demands] = {}
        free: set[Value] = set()
        seq = 0

        def is_ptr(v: Value) -> bool:
            ty = v.ty
            return isinstance(ty, PointerType) or (isinstance(ty, VectorType)
                                                   and isinstance(ty.element, PointerType))

        def demand(v: Value, prio: int, d: Demand) -> None:
            nonlocal seq
            if v in free:
                root = uf.find(v)
                demands.setdefault(root, _Demands()).items.append((prio, seq, d))
                seq += 1

        def pointee_now(v: Value) -> Type:
            found = values.get(v)
            if found is None and v in free:
                found = values.get(uf.find(v))
            if found is None:
                found = self.pointee(v)
            return found if found is not None else I8

        # 1. fixed pointees and free values
        for arg in fn.args:
            if is_ptr(arg):
                attr_pointee = pointee_from_attributes(arg.attrs)
                if attr_pointee is not None:
                    values[arg] = canon(attr_pointee)
                elif arg.pointee_hint is not None:
                    values[arg] = canon(arg.pointee_hint)
                else:
                    free.add(arg)
        # A slot holding one pointer (``alloca ptr``, as -O0 code keeps arguments) that is only
        # loaded and stored shares the pointee of the pointers that pass through it.
        slot_groups: dict[Value, list[Value]] = {}
        for inst in fn.instructions():
            if isinstance(inst, Alloca) and isinstance(inst.allocated_type, PointerType) \
                    and not inst.ops:
                slot_groups[inst] = []
        if slot_groups:
            for inst in fn.instructions():
                for k, op in enumerate(inst.ops):
                    if op not in slot_groups:
                        continue
                    if isinstance(inst, Load) and is_ptr(inst):
                        slot_groups[op].append(inst)
                    elif isinstance(inst, Store) and k == 1 and \
                            inst.ops[0].ty == op.allocated_type:  # type: ignore[attr-defined]
                        slot_groups[op].append(inst.ops[0])
                    elif not (isinstance(inst, Call) and inst.callee_function is not None
                              and inst.callee_function.name.startswith("llvm.lifetime.")):
                        slot_groups.pop(op)
                        break
        for inst in fn.instructions():
            if not is_ptr(inst):
                continue
            if isinstance(inst, Alloca):
                if inst in slot_groups:
                    continue  # settled with its group below
                values[inst] = canon(inst.allocated_type)
            elif isinstance(inst, GetElementPtr):
                consts = [getattr(op, "value", None) for op in inst.ops[1:]]
                values[inst] = canon(element_type_after_indices(
                    inst.source_type, len(inst.ops) - 1, self.structs, consts))
            elif isinstance(inst, Call):
                callee = inst.callee_function
                if callee is not None and callee in self.signatures:
                    ret = self.signatures[callee].ret
                    assert isinstance(ret, TypedPointerType | VectorType)
                    values[inst] = ret.pointee if isinstance(ret, TypedPointerType) else I8
                else:
                    values[inst] = I8  # indirect calls use the canonical function type
            elif isinstance(inst, ExtractValue | CmpXchg | AtomicRMW):
                values[inst] = I8
            elif isinstance(inst, ExtractElement):
                continue  # the vector's element pointee, settled after the choices below
            else:
                free.add(inst)  # load, phi, select, freeze, inttoptr, addrspacecast, call
        # 2. groups
        for slot, members in slot_groups.items():
            free_members = [m for m in members if m in free]
            for m in free_members[1:]:
                uf.union(free_members[0], m)
        for inst in fn.instructions():
            if inst not in free:
                continue
            if isinstance(inst, Phi | Select | Freeze):
                incoming = inst.ops[1:] if isinstance(inst, Select) else inst.ops
                for v in incoming:
                    if v in free:
                        uf.union(inst, v)
        # 3. demands
        for inst in fn.instructions():
            if isinstance(inst, Load):
                ptr = inst.ops[0]
                if is_ptr(inst):
                    demand(ptr, _ACCESS, _deferred_pointer_to(inst, pointee_now))
                else:
                    demand(ptr, _ACCESS, canon(inst.ty))
            elif isinstance(inst, Store):
                value, ptr = inst.ops
                if is_ptr(value):
                    demand(ptr, _ACCESS, _deferred_pointer_to(value, pointee_now))
                else:
                    demand(ptr, _ACCESS, canon(value.ty))
            elif isinstance(inst, AtomicRMW | CmpXchg):
                demand(inst.ops[0], _ACCESS, canon(inst.ops[1].ty))
            elif isinstance(inst, GetElementPtr):
                demand(inst.ops[0], _GEP, canon(inst.source_type))
            elif isinstance(inst, Call):
                callee = inst.callee_function
                if callee is not None and callee in self.signatures:
                    sig = self.signatures[callee]
                    prio = _CALL if not callee.is_declaration else _WEAK_CALL
                    for arg, pty in zip(inst.args, sig.params, strict=False):
                        if isinstance(pty, TypedPointerType):
                            demand(arg, prio, pty.pointee)
                elif callee is None:
                    demand(inst.callee, _CALL, canon(inst.function_type))
            elif isinstance(inst, Phi | Select):
                incoming = inst.ops[1:] if isinstance(inst, Select) else inst.ops
                if is_ptr(inst):
                    for v in incoming:
                        if v not in free:
                            fixed = self.pointee(v) if v not in values else values[v]
                            if fixed is not None:
                                demand(inst, _FLOW, fixed)
            elif isinstance(inst, Cast) and inst.opcode == "addrspacecast":
                src = inst.ops[0]
                demand(inst, _FLOW, _deferred_same_as(src, pointee_now))
        # 4. choose, twice so deferred demands see the first round's choices
        for _ in range(2):
            for root, ds in demands.items():
                best = min(ds.items, key=lambda item: (item[0], item[1]))
                chosen = best[2]
                values[root] = chosen() if callable(chosen) else chosen
        for v in free:
            root = uf.find(v)
            values[v] = values.get(root, I8)
        for inst in fn.instructions():
            if isinstance(inst, ExtractElement) and is_ptr(inst):
                values[inst] = pointee_now(inst.ops[0])
        for slot, members in slot_groups.items():
            addrspace = slot.allocated_type.addrspace  # type: ignore[attr-defined]
            inner = pointee_now(members[0]) if members else I8
            values[slot] = TypedPointerType(inner, addrspace)
        # 5. the function's own signature
        params = []
        for arg in fn.args:
            if isinstance(arg.ty, PointerType):
                params.append(TypedPointerType(values[arg], arg.ty.addrspace))
            else:
                params.append(canon(arg.ty))
        fnty = fn.function_type
        self.signatures[fn] = FunctionType(canon(fnty.ret), tuple(params), fnty.vararg)


def _deferred_pointer_to(value: Value, pointee_now: Callable[[Value], Type]) -> Callable[[], Type]:
    ty = value.ty
    addrspace = ty.addrspace if isinstance(ty, PointerType) else 0

    def resolve() -> Type:
        return TypedPointerType(pointee_now(value), addrspace)

    return resolve


def _deferred_same_as(value: Value, pointee_now: Callable[[Value], Type]) -> Callable[[], Type]:
    return lambda: pointee_now(value)


__all__ = ["Argument", "PointeeInference", "TypeCanon", "element_type_after_indices"]
