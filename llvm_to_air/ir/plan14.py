"""The decisions that turn our opaque-pointer model into LLVM 14's typed view, made once.

Both consumers of the typed view ask this one object: the LLVM 14 printer
(:mod:`llvm_to_air.ir.writer14`, text for ``.ll`` output and Xcode) and the
typed-module builder (:mod:`llvm_to_air.ir.typed14`, the bitcode writer's
input). Neither decides anything of its own, so the text and the bitcode
say the same thing:

* the typed type of every value (pointees from :mod:`llvm_to_air.ir.pointee`,
  memoized per value);
* where a use needs another pointee than its value has (the consumer then
  inserts a ``bitcast``, named ``.tpN`` for SSA values);
* the LLVM 14 names of intrinsics (pointer suffixes remangled), which
  declarations are printed and in which order, the numbering of unnamed
  globals;
* operands LLVM 14 still takes that LLVM 22 dropped (``immarg`` restores);
* which metadata attachments and nodes survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir import llvm14
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.model import (
    Alloca,
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    Constant,
    ConstantAggregate,
    ConstantNull,
    ConstantZero,
    ExtractElement,
    ExtractValue,
    Fence,
    Freeze,
    Function,
    GetElementPtr,
    GlobalValue,
    InlineAsm,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    MDNode,
    Metadata,
    Module,
    Phi,
    Poison,
    Return,
    Select,
    ShuffleVector,
    SpecializedMDNode,
    Store,
    Switch,
    UnaryOp,
    Undef,
    Unreachable,
    Value,
)
from llvm_to_air.ir.pointee import PointeeInference, TypeCanon, pointee_from_attributes
from llvm_to_air.ir.types import (
    I8,
    ArrayType,
    FunctionType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    TargetExtType,
    Type,
    TypedPointerType,
    VectorType,
    VoidType,
    contains_type,
)


@dataclass(frozen=True)
class WriterOptions:
    """``strip_debug``: drop debug-info metadata, ``!dbg`` attachments and debug records."""

    strip_debug: bool = True


@dataclass(frozen=True)
class PhiCast:
    """A ``bitcast`` of ``value`` (typed ``have``) to ``want`` at the end of ``pred``, for
    ``phi``; ``shared``: an earlier PhiCast of the list already made this cast."""

    phi: Phi
    value: Value
    pred: BasicBlock
    have: Type
    want: Type
    name: str
    shared: bool


@dataclass(frozen=True)
class GlobalName:
    """A global's LLVM 14 name; ``numbered`` globals print as ``@N`` (``name`` is ``"N"``)."""

    name: str
    numbered: bool


@dataclass
class PlanShared:
    """What the plans of several modules may share: each is a function of its key alone
    (types, a declaration, a data layout's text, an attribute list), and the modules of one
    library (split from one lowered module) ask the same questions.

    ``canon``: typed forms of model types. ``declaration_signatures``: a declaration's
    typed signature (keyed by the declaration object, which the modules share).
    ``layouts``: parsed data layouts by text. ``attrs14``: attribute lists in LLVM 14 form.
    """

    canon: TypeCanon = field(default_factory=TypeCanon)
    declaration_signatures: dict[Function, FunctionType] = field(default_factory=dict)
    layouts: dict[str | None, DataLayout] = field(default_factory=dict)
    attrs14: dict[tuple[str, ...], list[str]] = field(default_factory=dict)


class Plan14:
    """Decisions of the typed LLVM 14 view of one module (see the module docstring).

    Expects a lowered module (opaque pointers). Construction rejects types
    LLVM 14 cannot spell and runs the pointee inference.
    """

    def __init__(self, module: Module, options: WriterOptions,
                 shared: PlanShared | None = None) -> None:
        """``shared``: what the modules of one library share (:class:`PlanShared`)."""
        shared = shared or PlanShared()
        self.m = module
        self.options = options
        self.canon = shared.canon
        check_types(module)
        self.pointees = PointeeInference(module, self.canon, shared.declaration_signatures)
        layout = shared.layouts.get(module.datalayout)
        if layout is None:
            layout = shared.layouts[module.datalayout] = DataLayout.parse(module.datalayout)
        self.layout = layout
        self.intrinsic_names: dict[Function, str] = {}
        self.global_names: dict[GlobalValue, GlobalName] = {}
        self.vtypes: dict[Value, Type] = {}
        self.current: Function | None = None
        self.current_inst: Instruction | None = None
        self._attrs14 = shared.attrs14
        # per function: names the function uses, and the next ``.tpN`` to try
        self.used_names: set[str] = set()
        self.cast_counter = 0

    # ------------------------------------------------------------------ types

    def vtype(self, value: Value) -> Type:
        """The typed type of a value (memoized per value: it is asked for at every use)."""
        found = self.vtypes.get(value)
        if found is None:
            found = self.vtypes[value] = self._vtype(value)
        return found

    def _vtype(self, value: Value) -> Type:
        ty = value.ty
        if isinstance(ty, PointerType):
            pointee = self.pointees.pointee(value)
            if pointee is None:
                return self.canon(ty)
            return TypedPointerType(pointee, ty.addrspace)
        if isinstance(ty, VectorType) and isinstance(ty.element, PointerType):
            pointee = self.pointees.pointee(value)
            if pointee is None:
                return self.canon(ty)
            return VectorType(ty.count, TypedPointerType(pointee, ty.element.addrspace),
                              ty.scalable)
        return self.canon(ty)

    def attrs14(self, attrs: list[str]) -> list[str]:
        """``llvm14.downgrade_attributes``, once per distinct list (a fresh list each call)."""
        key = tuple(attrs)
        found = self._attrs14.get(key)
        if found is None:
            found = self._attrs14[key] = llvm14.downgrade_attributes(attrs)
        return list(found)

    # ------------------------------------------------------------ module level

    def ordered_functions(self) -> list[Function]:
        """Functions in LLVM 14 order; names intrinsics and numbers the globals.

        Definitions keep their order; declarations follow, sorted by name, because LLVM
        reorders them when it upgrades intrinsics and the output must not depend on that.
        """
        m = self.m
        for fn in m.functions:
            if fn.is_declaration and fn.name.startswith("llvm."):
                self.intrinsic_names[fn] = self._intrinsic_name14(fn)
        definitions = [fn for fn in m.functions if not fn.is_declaration]
        declarations = sorted((fn for fn in m.functions if fn.is_declaration
                               and not self.is_dropped_declaration(fn)),
                              key=lambda fn: self.intrinsic_names.get(fn, fn.name))
        self._number_globals([*m.globals, *m.aliases, *definitions, *declarations])
        return definitions + declarations

    def _number_globals(self, printed: list[GlobalValue]) -> None:
        """Names of globals; unnamed globals are renumbered in printing order."""
        counter = 0
        for gv in printed:
            name = self.intrinsic_names.get(gv, gv.name) if isinstance(gv, Function) else gv.name
            if name.isdigit():
                self.global_names[gv] = GlobalName(str(counter), True)
                counter += 1
            else:
                self.global_names[gv] = GlobalName(name, False)

    def is_dropped_declaration(self, fn: Function) -> bool:
        return self.options.strip_debug and fn.name.startswith("llvm.dbg.")

    def _intrinsic_name14(self, fn: Function) -> str:
        name = fn.name
        for base in llvm14.UNSUFFIXED_IN_LLVM14:
            if llvm14.POINTER_SUFFIX_RE.sub("", name) == base:
                return base
        sig = self.pointees.signature(fn)
        pointer_pointees = [p.pointee for p in (sig.ret, *sig.params)
                            if isinstance(p, TypedPointerType)]
        replacement = iter(pointer_pointees)

        def remangle(match: object) -> str:
            pointee = next(replacement, I8)
            return f".p{match.group(1)}{mangle(pointee)}"  # type: ignore[attr-defined]

        return llvm14.POINTER_SUFFIX_RE.sub(remangle, name)

    # ------------------------------------------------------------------ casts

    def begin_function(self, fn: Function) -> None:
        """Start naming casts in ``fn``: ``.tp0``, ``.tp1``..., skipping names it uses."""
        used: set[str] = {arg.name for arg in fn.args if arg.name is not None}
        for block in fn.blocks:
            if block.name is not None:
                used.add(block.name)
            used.update(inst.name for inst in block.instructions if inst.name is not None)
        self.used_names = used
        self.cast_counter = 0

    def fresh_cast_name(self) -> str:
        """The next free ``.tpN`` (without the ``%``) of the current function."""
        while True:
            name = f".tp{self.cast_counter}"
            self.cast_counter += 1
            if name not in self.used_names:
                return name

    def phi_casts(self, fn: Function) -> list[PhiCast]:
        """The casts phis of ``fn`` need, named, in order; planned before the body because
        they go at the end of predecessor blocks. One cast serves every phi taking the
        same value from the same block as the same type (``shared`` on the later ones)."""
        casts: list[PhiCast] = []
        first: dict[tuple[int, int, Type], str] = {}
        for block in fn.blocks:
            for inst in block.instructions:
                if not isinstance(inst, Phi):
                    continue
                want = self.vtype(inst)
                for value, pred in zip(inst.ops, inst.blocks, strict=True):
                    have = self.vtype(value)
                    if have == want or adapts(value) or isinstance(value, Constant):
                        continue
                    key = (id(value), id(pred), want)
                    name = first.get(key)
                    shared = name is not None
                    if name is None:
                        name = first[key] = self.fresh_cast_name()
                    casts.append(PhiCast(inst, value, pred, have, want, name, shared))
        return casts

    def call_arg_type(self, sig: FunctionType, k: int, arg: Value,
                      arg_attrs: list[list[str]]) -> Type | None:
        """The typed type call argument ``k`` is passed as (None: its own): the callee's
        parameter type, or the pointee a ``byval(T)``-like attribute names."""
        want = sig.params[k] if k < len(sig.params) else None
        attr_pointee = pointee_from_attributes(arg_attrs[k]) if k < len(arg_attrs) else None
        if attr_pointee is not None and isinstance(arg.ty, PointerType):
            want = TypedPointerType(self.canon(attr_pointee), arg.ty.addrspace)
        return want

    def aggregate_fields(self, c: ConstantAggregate, want: Type | None) -> tuple[Type, list[Type]]:
        """The typed type of an aggregate constant (``want`` if given) and its elements'."""
        ty = want if want is not None else self.canon(c.ty)
        if isinstance(ty, NamedStructType):
            body = self.m.structs.get(ty.name)
            assert body is not None
            return ty, [self.canon(f) for f in body.fields]
        if isinstance(ty, StructType):
            return ty, list(ty.fields)
        if isinstance(ty, ArrayType | VectorType):
            return ty, [ty.element] * len(c.elements)
        raise CompileError(f"aggregate constant of type {ty}", self.location())

    def call_signature(self, inst: Call) -> tuple[FunctionType, Type | None]:
        """The typed signature a call uses, and the typed type an indirect callee (not inline
        asm) is cast to (None for direct calls and asm)."""
        callee = inst.callee
        if isinstance(callee, Function):
            return self.pointees.signature(callee), None
        sig = self.canon(inst.function_type)
        assert isinstance(sig, FunctionType)
        if isinstance(callee, InlineAsm):
            return sig, None
        addrspace = callee.ty.addrspace if isinstance(callee.ty, PointerType) else 0
        return sig, TypedPointerType(sig, addrspace)

    # ------------------------------------------------------------ restored operands

    def restored(self, fn: Function) -> llvm14.RestoredOperand | None:
        if not fn.is_declaration or not fn.name.startswith("llvm."):
            return None
        return llvm14.restored_operand(fn.name, len(fn.function_type.params))

    def restored_value(self, rule: llvm14.RestoredOperand, inst: Call,
                       arg_attrs: list[list[str]]) -> int:
        """The value of the LLVM 14 operand ``rule`` re-creates for this call (alignment
        attributes it takes from ``arg_attrs`` are removed there)."""
        if rule.source == "alloca-size":
            ptr = inst.args[0]
            size = -1
            if isinstance(ptr, Alloca) and not ptr.ops:
                try:
                    size = self.layout.alloc_size(ptr.allocated_type, self.m.structs)
                except CompileError:
                    size = -1
            return size
        index = int(rule.source.rsplit("-", 1)[1])
        attrs = arg_attrs[index] if index < len(arg_attrs) else []
        align = next((int(a.split()[1]) for a in attrs if a.startswith("align ")), 1)
        if index < len(arg_attrs):
            arg_attrs[index] = [a for a in attrs if not a.startswith("align ")]
        return align

    # ------------------------------------------------------------------ metadata

    def keep_attachment(self, kind: str, md: Metadata) -> bool:
        if not self.options.strip_debug:
            return self.keep_md(md)
        return kind != "dbg" and not (isinstance(md, SpecializedMDNode) and md.is_debug_info)

    def keep_md(self, md: Metadata | None) -> bool:
        """Whether a metadata operand survives (debug info is dropped or kept per options)."""
        if not isinstance(md, SpecializedMDNode):
            return True
        if self.options.strip_debug:
            return not md.is_debug_info
        return md.kind not in llvm14.DEBUG_KINDS_UNKNOWN_TO_LLVM14

    def keep_named_metadata(self, name: str) -> bool:
        return not (self.options.strip_debug and name.startswith("llvm.dbg."))

    # ------------------------------------------------------------------ errors

    def location(self) -> SourceLocation:
        inst = self.current_inst
        if inst is not None and inst.location is not None:
            return inst.location
        if self.current is not None and self.current.location is not None:
            return self.current.location
        return SourceLocation(self.m.file)

    def check_atomicrmw(self, operation: str) -> None:
        if operation not in llvm14.LLVM14_ATOMICRMW_OPS:
            raise CompileError(
                f"'atomicrmw {operation}' does not exist in LLVM 14",
                self.location(),
                hint="rewrite it as a cmpxchg loop before converting",
            )


def md_operands(md: Metadata) -> list[Metadata | None]:
    if isinstance(md, MDNode):
        return list(md.operands)
    if isinstance(md, SpecializedMDNode):
        return [v for _, v in md.fields if isinstance(v, Metadata)]
    return []


def adapts(value: Value) -> bool:
    """Constants that take whatever pointer type a use needs, without a cast."""
    return isinstance(value, ConstantNull | Undef | Poison | ConstantZero)


def pointer_to(pointee: Type, like: Type) -> Type:
    if isinstance(like, VectorType):
        assert isinstance(like.element, PointerType)
        return VectorType(like.count, TypedPointerType(pointee, like.element.addrspace),
                          like.scalable)
    assert isinstance(like, PointerType), like
    return TypedPointerType(pointee, like.addrspace)


def produces_value(inst: Instruction) -> bool:
    return type(inst.ty) is not VoidType


_FLOAT_MANGLE = {"half": "f16", "bfloat": "bf16", "float": "f32", "double": "f64",
                 "x86_fp80": "f80", "fp128": "f128", "ppc_fp128": "ppcf128"}


def mangle(ty: Type) -> str:
    """LLVM 14's intrinsic type mangling (Intrinsic::getName's getMangledTypeStr)."""
    if isinstance(ty, TypedPointerType):
        return f"p{ty.addrspace}{mangle(ty.pointee)}"
    if isinstance(ty, IntType):
        return f"i{ty.bits}"
    if isinstance(ty, VectorType):
        return ("nx" if ty.scalable else "") + f"v{ty.count}{mangle(ty.element)}"
    if isinstance(ty, ArrayType):
        return f"a{ty.count}{mangle(ty.element)}"
    if isinstance(ty, StructType):
        return "sl_" + "".join(mangle(f) for f in ty.fields) + "s"
    if isinstance(ty, NamedStructType):
        return "s_" + ty.name
    if isinstance(ty, FunctionType):
        inner = mangle(ty.ret) + "".join(mangle(p) for p in ty.params)
        return "f_" + inner + ("vararg" if ty.vararg else "") + "f"
    kind = str(ty)
    return _FLOAT_MANGLE.get(kind, kind)


def check_types(module: Module) -> None:
    """Reject types LLVM 14 has no spelling for, naming where they occur."""
    def check(ty: Type, where: str, location: SourceLocation | None) -> None:
        if contains_type(ty, TargetExtType):
            raise CompileError(f"target extension type in {where} cannot be expressed in "
                               "LLVM 14", location or SourceLocation(module.file))

    for name, body in module.structs.items():
        if body is not None:
            check(body, f"%{name}", None)
    for gv in module.globals:
        check(gv.value_type, f"@{gv.name}", gv.location)
    for fn in module.functions:
        check(fn.function_type, f"@{fn.name}", fn.location)
        seen: set[int] = set()  # type objects (an equal one checked twice still passes)
        for inst in fn.instructions():
            if id(inst.ty) not in seen:
                seen.add(id(inst.ty))
                check(inst.ty, f"an instruction of @{fn.name}", inst.location or fn.location)


# The instructions LLVM 14 has, and the name of each one's handler (``_<name>``) in
# the printer and the builder: one list, so the two cannot disagree on what exists.
INSTRUCTION_HANDLERS: dict[type[Instruction], str] = {
    BinaryOp: "binary",
    UnaryOp: "unary",
    Cast: "cast",
    Compare: "compare",
    Select: "select",
    Phi: "phi",
    Alloca: "alloca",
    Load: "load",
    Store: "store",
    GetElementPtr: "gep",
    Call: "call",
    AtomicRMW: "atomicrmw",
    CmpXchg: "cmpxchg",
    Fence: "fence",
    ExtractValue: "extractvalue",
    InsertValue: "insertvalue",
    ExtractElement: "extractelement",
    InsertElement: "insertelement",
    ShuffleVector: "shufflevector",
    Freeze: "freeze",
    Return: "ret",
    Branch: "br",
    Switch: "switch",
    Unreachable: "unreachable",
}
