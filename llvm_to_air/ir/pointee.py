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

from llvm_to_air.ir.llvm14 import POINTEE_RULES
from llvm_to_air.ir.model import (
    Alloca,
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
    map_leaves,
)

# Demand priorities: lower wins.
_ACCESS, _GEP, _CALL, _FLOW, _WEAK_CALL = range(5)


def _canonical_leaf(ty: Type) -> Type:
    return TypedPointerType(I8, ty.addrspace) if isinstance(ty, PointerType) else ty


class TypeCanon:
    """Typed forms of model types: opaque pointers inside types become ``i8`` pointers."""

    def __init__(self) -> None:
        self._cache: dict[Type, Type] = {}

    def __call__(self, ty: Type) -> Type:
        found = self._cache.get(ty)
        if found is not None:
            return found
        result = map_leaves(ty, _canonical_leaf)
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


class PointeeInference:
    """Pointee types for one module; ask :meth:`pointee` and :meth:`signature`."""

    def __init__(self, module: Module, canon: TypeCanon,
                 declaration_signatures: dict[Function, FunctionType] | None = None) -> None:
        """``declaration_signatures``: signatures of declarations found for other modules
        with the same ``canon`` (a function of the declaration alone), filled in here."""
        self.module = module
        self.canon = canon
        self.structs = module.structs
        self.values: dict[Value, Type] = {}
        self.signatures: dict[Function, FunctionType] = {}
        known = {} if declaration_signatures is None else declaration_signatures
        for fn in module.functions:
            if fn.is_declaration:
                signature = known.get(fn)
                if signature is None:
                    signature = known[fn] = self._declaration_signature(fn)
                self.signatures[fn] = signature
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
            if attr_pointee is None and k < len(fn.args):
                attr_pointee = fn.args[k].pointee_hint
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
        wanted: dict[Value, list[tuple[int, int, Demand]]] = {}
        free: set[Value] = set()
        insts = list(fn.instructions())

        def pointee_now(v: Value) -> Type:
            found = values.get(v)
            if found is None and v in free:
                found = values.get(uf.find(v))
            if found is None:
                found = self.pointee(v)
            return found if found is not None else I8

        # 1. fixed pointees, free values, candidate pointer slots
        for arg in fn.args:
            if _is_ptr(arg.ty):
                attr_pointee = pointee_from_attributes(arg.attrs)
                if attr_pointee is not None:
                    values[arg] = canon(attr_pointee)
                elif arg.pointee_hint is not None:
                    values[arg] = canon(arg.pointee_hint)
                else:
                    free.add(arg)
        # A slot holding one pointer (``alloca ptr``, as -O0 code keeps arguments) that is only
        # loaded and stored shares the pointee of the pointers that pass through it.
        slots: dict[Value, list[Value]] = {}
        for inst in insts:
            if not _is_ptr(inst.ty):
                continue
            kind = type(inst)
            if kind is Alloca:
                if type(inst.allocated_type) is PointerType and not inst.ops:  # type: ignore
                    slots[inst] = []
                else:
                    values[inst] = canon(inst.allocated_type)  # type: ignore[attr-defined]
            elif kind is GetElementPtr:
                consts = [getattr(op, "value", None) for op in inst.ops[1:]]
                values[inst] = canon(element_type_after_indices(
                    inst.source_type, len(inst.ops) - 1, self.structs, consts))  # type: ignore
            elif kind is Call:
                callee = inst.callee_function  # type: ignore[attr-defined]
                if callee is not None and callee in self.signatures:
                    ret = self.signatures[callee].ret
                    values[inst] = ret.pointee if isinstance(ret, TypedPointerType) else I8
                else:
                    values[inst] = I8  # indirect calls use the canonical function type
            elif kind is ExtractValue or kind is CmpXchg or kind is AtomicRMW:
                values[inst] = I8
            elif kind is not ExtractElement:  # extractelement: settled after the choices
                free.add(inst)  # load, phi, select, freeze, inttoptr, addrspacecast
        # 2. groups, slot uses and demands, in one walk
        seq = 0
        for inst in insts:
            kind = type(inst)
            ops = inst.ops
            if slots:
                for k, op in enumerate(ops):
                    members = slots.get(op)
                    if members is None:
                        continue
                    if kind is Load and _is_ptr(inst.ty):
                        members.append(inst)
                    elif kind is Store and k == 1 and ops[0].ty == op.allocated_type:  # type: ignore
                        members.append(ops[0])
                    elif not (kind is Call and inst.callee_function is not None  # type: ignore
                              and inst.callee_function.name.startswith("llvm.lifetime.")):  # type: ignore
                        del slots[op]
            demands: list[tuple[Value, int, Demand]] = []
            if kind is Load:
                if _is_ptr(inst.ty):
                    demands.append((ops[0], _ACCESS, _deferred_pointer_to(inst, pointee_now)))
                else:
                    demands.append((ops[0], _ACCESS, canon(inst.ty)))
            elif kind is Store:
                value = ops[0]
                if _is_ptr(value.ty):
                    demands.append((ops[1], _ACCESS, _deferred_pointer_to(value, pointee_now)))
                else:
                    demands.append((ops[1], _ACCESS, canon(value.ty)))
            elif kind is GetElementPtr:
                demands.append((ops[0], _GEP, canon(inst.source_type)))  # type: ignore
            elif kind is AtomicRMW or kind is CmpXchg:
                demands.append((ops[0], _ACCESS, canon(ops[1].ty)))
            elif kind is Call:
                callee = inst.callee_function  # type: ignore[attr-defined]
                if callee is not None and callee in self.signatures:
                    sig = self.signatures[callee]
                    prio = _CALL if not callee.is_declaration else _WEAK_CALL
                    for arg, pty in zip(ops, sig.params, strict=False):
                        if type(pty) is TypedPointerType:
                            demands.append((arg, prio, pty.pointee))
                elif callee is None:
                    demands.append((ops[-1], _CALL, canon(inst.function_type)))  # type: ignore
            elif kind is Phi or kind is Select or kind is Freeze:
                if inst in free:
                    incoming = ops[1:] if kind is Select else ops
                    for v in incoming:
                        if v in free:
                            uf.union(inst, v)
                        elif kind is not Freeze:
                            fixed = values.get(v) or self.pointee(v)
                            if fixed is not None:
                                demands.append((inst, _FLOW, fixed))
            elif kind is Cast and inst.opcode == "addrspacecast":
                demands.append((inst, _FLOW, _deferred_same_as(ops[0], pointee_now)))
            for v, prio, d in demands:
                if v in free:
                    wanted.setdefault(v, []).append((prio, seq, d))
                    seq += 1
        for members in slots.values():
            free_members = [m for m in members if m in free]
            for m in free_members[1:]:
                uf.union(free_members[0], m)
        for inst in insts:  # slots that turned out not to be slots
            if type(inst) is Alloca and inst not in slots and inst not in values:
                values[inst] = canon(inst.allocated_type)  # type: ignore[attr-defined]
        # 3. choose per group, twice so deferred demands see the first round's choices
        by_root: dict[Value, list[tuple[int, int, Demand]]] = {}
        for v, items in wanted.items():
            by_root.setdefault(uf.find(v), []).extend(items)
        for _ in range(2):
            for root, items in by_root.items():
                chosen = min(items, key=lambda item: (item[0], item[1]))[2]
                values[root] = chosen() if callable(chosen) else chosen
        for v in free:
            values[v] = values.get(uf.find(v), I8)
        for inst in insts:
            if type(inst) is ExtractElement and _is_ptr(inst.ty):
                values[inst] = pointee_now(inst.ops[0])
        for slot, members in slots.items():
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


def _is_ptr(ty: Type) -> bool:
    kind = type(ty)
    return kind is PointerType or (kind is VectorType and type(ty.element) is PointerType)  # type: ignore[attr-defined]


def _deferred_pointer_to(value: Value, pointee_now: Callable[[Value], Type]) -> Callable[[], Type]:
    ty = value.ty
    addrspace = ty.addrspace if isinstance(ty, PointerType) else 0

    def resolve() -> Type:
        return TypedPointerType(pointee_now(value), addrspace)

    return resolve


def _deferred_same_as(value: Value, pointee_now: Callable[[Value], Type]) -> Callable[[], Type]:
    return lambda: pointee_now(value)


__all__ = ["PointeeInference", "TypeCanon", "element_type_after_indices",
           "pointee_from_attributes"]
