"""Our own LLVM IR model: module, globals, functions, blocks, instructions, constants, metadata.

The model mirrors LLVM's object graph closely enough that rewrite stages can
work on it the way LLVM passes do:

* every SSA value is a :class:`Value` object; operands refer to the objects,
  not to names, so renaming or rewriting never breaks references;
* an instruction keeps its value operands in ``ops`` (like LLVM's operand
  list) and its non-value parts (types, flags, block targets) in fields;
* names are kept without their sigil (``%`` or ``@``); ``None`` means an
  unnamed value that printers number.

Identity matters: values compare by identity (``eq=False``). Reprs are brief
(``repr=False`` and :func:`_brief_repr`): an object's repr shows its plain fields, not
the graph it links to, and no per-class repr is generated at import (start-up time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from llvm_to_air.errors import SourceLocation
from llvm_to_air.ir.types import (
    I1,
    LABEL,
    METADATA,
    VOID,
    FunctionType,
    PointerType,
    StructType,
    Type,
)

_PLAIN = (str, int, float, bytes, Type)


def _brief_repr(self: object) -> str:
    """``Kind(field=value, ...)`` for the fields holding plain values (names, opcodes,
    types, numbers); operands, blocks and parents are left out, since through them a
    dataclass repr would print the whole module."""
    fields = getattr(type(self), "__dataclass_fields__", {})
    shown = ", ".join(f"{name}={value!r}" for name in fields
                      if isinstance(value := getattr(self, name, None), _PLAIN))
    return f"{type(self).__name__}({shown})"


# --------------------------------------------------------------------------- values


@dataclass(eq=False, repr=False)
class Value:
    """Anything that can be an operand."""

    __repr__ = _brief_repr

    ty: Type


@dataclass(eq=False, repr=False)
class Argument(Value):
    """A function parameter; ``attrs`` are its attribute spellings (``noundef``, ``align 4``)."""

    name: str | None = None
    attrs: list[str] = field(default_factory=list)
    # Set by rewrite stages to steer the LLVM 14 writer's pointee choice.
    pointee_hint: Type | None = None


# ------------------------------------------------------------------------ constants


@dataclass(eq=False, repr=False)
class Constant(Value):
    """Base of constants, global values included."""


@dataclass(eq=False, repr=False)
class ConstantInt(Constant):
    """An integer constant; ``true``/``false`` are ``i1`` 1 and 0."""

    value: int = 0


@dataclass(eq=False, repr=False)
class ConstantFP(Constant):
    """A floating-point constant, kept as LLVM printed it (``1.5e+00``, ``0x3FF0...``, ``0xH3C00``)."""

    text: str = "0.0"


@dataclass(eq=False, repr=False)
class ConstantNull(Constant):
    """``null`` (pointers) or ``none`` (token)."""


@dataclass(eq=False, repr=False)
class ConstantZero(Constant):
    """``zeroinitializer``."""


@dataclass(eq=False, repr=False)
class Undef(Constant):
    """``undef``."""


@dataclass(eq=False, repr=False)
class Poison(Constant):
    """``poison``."""


@dataclass(eq=False, repr=False)
class ConstantAggregate(Constant):
    """Array, vector or struct constant with element constants."""

    elements: list[Constant] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class ConstantString(Constant):
    """``c"..."``: an ``[N x i8]`` given as raw bytes."""

    data: bytes = b""


@dataclass(eq=False, repr=False)
class ConstantExpr(Constant):
    """A constant expression (``getelementptr``, casts, binary ops).

    ``source_type`` is the GEP source element type; ``flags`` holds words like
    ``inbounds``/``nuw``/``nsw``; ``inrange`` is kept so it can be dropped with a note.
    """

    opcode: str = ""
    ops: list[Constant] = field(default_factory=list)
    flags: tuple[str, ...] = ()
    source_type: Type | None = None
    predicate: str | None = None
    inrange: str | None = None


@dataclass(eq=False, repr=False)
class BlockAddress(Constant):
    """``blockaddress(@function, %block)``."""

    function: Function | None = None
    block: BasicBlock | None = None


@dataclass(eq=False, repr=False)
class InlineAsm(Value):
    """``asm "..." , "constraints"`` used as a callee. Carried only to be reported."""

    asm: str = ""
    constraints: str = ""
    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class MetadataValue(Value):
    """A metadata operand of a call (``metadata !5``, ``metadata !"x"``, ``metadata i32 1``)."""

    md: Metadata | None = None

    def __post_init__(self) -> None:
        self.ty = METADATA


# ------------------------------------------------------------------------- metadata


class Metadata:
    """Base of metadata operands."""

    __repr__ = _brief_repr


@dataclass(eq=False, repr=False)
class MDString(Metadata):
    """A metadata string ``!"..."``, as raw bytes."""

    value: bytes


@dataclass(eq=False, repr=False)
class MDValue(Metadata):
    """A value wrapped as metadata (``i32 1``, ``ptr @kernel``, a local value in ``metadata ptr %x``)."""

    value: Value


@dataclass(eq=False, repr=False)
class MDNode(Metadata):
    """A generic node ``!{...}``. ``None`` operands print as ``null``."""

    operands: list[Metadata | None] = field(default_factory=list)
    distinct: bool = False


@dataclass(eq=False, repr=False)
class SpecializedMDNode(Metadata):
    """A specialized node (``!DILocation(...)``, ``!DIExpression(...)``) kept as fields.

    ``fields`` keeps each ``name: value`` pair; values that are metadata
    references are :class:`Metadata` objects, everything else is raw text.
    """

    kind: str
    fields: list[tuple[str, Metadata | str | None]] = field(default_factory=list)
    distinct: bool = False

    @property
    def is_debug_info(self) -> bool:
        return self.kind.startswith("DI") or self.kind == "DIExpression"


@dataclass(eq=False, repr=False)
class NamedMetadata:
    """A named metadata list ``!name = !{!0, !1}``."""

    __repr__ = _brief_repr

    name: str
    nodes: list[Metadata] = field(default_factory=list)


# ----------------------------------------------------------------------- attributes


@dataclass(repr=False)
class AttributeSet:
    """An ordered list of attribute spellings (``noundef``, ``align 4``, ``"key"="v"``)."""

    __repr__ = _brief_repr

    items: list[str] = field(default_factory=list)

    def has(self, word: str) -> bool:
        return any(a == word or a.startswith(word + "(") or a.startswith(word + " ")
                   for a in self.items)


# ----------------------------------------------------------------------- globals


@dataclass(eq=False, repr=False)
class GlobalValue(Constant):
    """A global variable, function or alias; ``ty`` is always a pointer type."""

    name: str = ""
    linkage: str = ""
    # preemption, visibility, dll storage, thread-local, unnamed_addr words, in order
    qualifiers: list[str] = field(default_factory=list)
    location: SourceLocation | None = None


@dataclass(eq=False, repr=False)
class GlobalVariable(GlobalValue):
    """A global variable; ``value_type`` is its content type, ``ty`` the pointer to it."""

    value_type: Type = VOID
    initializer: Constant | None = None
    is_constant: bool = False
    externally_initialized: bool = False
    section: str | None = None
    comdat: str | None = None
    align: int | None = None
    partition: str | None = None
    attrs_group: list[str] = field(default_factory=list)
    metadata: list[tuple[str, Metadata]] = field(default_factory=list)

    @property
    def addrspace(self) -> int:
        assert isinstance(self.ty, PointerType)
        return self.ty.addrspace


@dataclass(eq=False, repr=False)
class GlobalAlias(GlobalValue):
    """An alias (or, with ``is_ifunc``, an ifunc) of ``aliasee``."""

    value_type: Type = VOID
    aliasee: Constant | None = None
    is_ifunc: bool = False


@dataclass(eq=False, repr=False)
class Function(GlobalValue):
    """A function: a declaration when it has no ``blocks``."""

    function_type: FunctionType = field(default_factory=lambda: FunctionType(VOID, ()))
    args: list[Argument] = field(default_factory=list)
    cc: str = ""
    ret_attrs: list[str] = field(default_factory=list)
    fn_attrs: list[str] = field(default_factory=list)
    section: str | None = None
    comdat: str | None = None
    align: int | None = None
    gc: str | None = None
    partition: str | None = None
    personality: Constant | None = None
    prefix_words: list[str] = field(default_factory=list)  # e.g. addrspace(1) on functions
    blocks: list[BasicBlock] = field(default_factory=list)
    metadata: list[tuple[str, Metadata]] = field(default_factory=list)

    @property
    def is_declaration(self) -> bool:
        return not self.blocks

    def instructions(self) -> Iterator[Instruction]:
        for block in self.blocks:
            yield from block.instructions


# ------------------------------------------------------------------- instructions


@dataclass(eq=False, repr=False)
class Instruction(Value):
    """Base class: ``ops`` are the value operands, in LLVM's order.

    ``metadata`` holds attachments such as ``!tbaa``; ``location`` is where the
    instruction was in the text we parsed (for diagnostics).
    """

    opcode: str = ""
    ops: list[Value] = field(default_factory=list)
    name: str | None = None
    metadata: list[tuple[str, Metadata]] = field(default_factory=list)
    location: SourceLocation | None = None
    parent: BasicBlock | None = None

    @property
    def is_terminator(self) -> bool:
        return self.opcode in TERMINATORS


TERMINATORS = frozenset({"ret", "br", "switch", "unreachable", "indirectbr", "invoke",
                         "callbr", "resume", "cleanupret", "catchret", "catchswitch"})


@dataclass(eq=False, repr=False)
class BinaryOp(Instruction):
    """``add``/``fmul``/``xor``...; ``flags`` are ``nuw nsw exact disjoint`` and fast-math words."""

    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class UnaryOp(Instruction):
    """``fneg``; ``flags`` are fast-math words."""

    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class Cast(Instruction):
    """``trunc``...``addrspacecast``; ``ty`` is the destination type."""

    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class Compare(Instruction):
    """``icmp``/``fcmp`` with its ``predicate``; ``ops = [lhs, rhs]``."""

    predicate: str = "eq"
    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class Select(Instruction):
    """``ops = [cond, if_true, if_false]``; ``flags`` are fast-math words."""

    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class Phi(Instruction):
    """``ops[i]`` arrives from ``blocks[i]``."""

    blocks: list[BasicBlock] = field(default_factory=list)
    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class Alloca(Instruction):
    """``ops`` is ``[count]`` when an array size is given."""

    allocated_type: Type = VOID
    align: int | None = None
    addrspace: int = 0
    inalloca: bool = False


@dataclass(eq=False, repr=False)
class Load(Instruction):
    """``ops = [ptr]``; ``ordering`` set for ``load atomic``."""

    align: int | None = None
    volatile: bool = False
    ordering: str | None = None
    syncscope: str | None = None


@dataclass(eq=False, repr=False)
class Store(Instruction):
    """``ops = [value, ptr]``."""

    align: int | None = None
    volatile: bool = False
    ordering: str | None = None
    syncscope: str | None = None


@dataclass(eq=False, repr=False)
class GetElementPtr(Instruction):
    """``ops = [base, *indices]``; ``flags`` among ``inbounds nuw nusw``."""

    source_type: Type = VOID
    flags: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class CallArg:
    """The attribute spellings of one call argument."""

    __repr__ = _brief_repr

    attrs: list[str] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class OperandBundle:
    """An operand bundle of a call (``[ "tag"(inputs) ]``)."""

    __repr__ = _brief_repr

    tag: str
    inputs: list[Value] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class Call(Instruction):
    """``ops = [*args, callee]`` (callee last, as in LLVM).

    ``function_type`` is the call's function type; ``arg_attrs`` holds one
    attribute list per argument.
    """

    function_type: FunctionType = field(default_factory=lambda: FunctionType(VOID, ()))
    cc: str = ""
    tail: str = ""  # "", "tail", "musttail", "notail"
    flags: tuple[str, ...] = ()  # fast-math flags
    ret_attrs: list[str] = field(default_factory=list)
    arg_attrs: list[list[str]] = field(default_factory=list)
    fn_attrs: list[str] = field(default_factory=list)
    bundles: list[OperandBundle] = field(default_factory=list)
    addrspace: int | None = None  # "call addrspace(N)"

    @property
    def callee(self) -> Value:
        return self.ops[-1]

    @property
    def args(self) -> list[Value]:
        return self.ops[:-1]

    @property
    def callee_function(self) -> Function | None:
        callee = self.ops[-1]
        return callee if isinstance(callee, Function) else None


@dataclass(eq=False, repr=False)
class AtomicRMW(Instruction):
    """``ops = [ptr, value]``."""

    operation: str = "add"
    volatile: bool = False
    ordering: str = "seq_cst"
    syncscope: str | None = None
    align: int | None = None


@dataclass(eq=False, repr=False)
class CmpXchg(Instruction):
    """``ops = [ptr, expected, new]``; ``ty`` is ``{ T, i1 }``."""

    weak: bool = False
    volatile: bool = False
    success_ordering: str = "seq_cst"
    failure_ordering: str = "seq_cst"
    syncscope: str | None = None
    align: int | None = None


@dataclass(eq=False, repr=False)
class Fence(Instruction):
    """``fence [syncscope(...)] ordering``."""

    ordering: str = "seq_cst"
    syncscope: str | None = None


@dataclass(eq=False, repr=False)
class ExtractValue(Instruction):
    """``ops = [aggregate]``; ``indices`` are the constant field indices."""

    indices: list[int] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class InsertValue(Instruction):
    """``ops = [aggregate, element]``; ``indices`` are the constant field indices."""

    indices: list[int] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class ExtractElement(Instruction):
    """``ops = [vector, index]``."""


@dataclass(eq=False, repr=False)
class InsertElement(Instruction):
    """``ops = [vector, element, index]``."""


@dataclass(eq=False, repr=False)
class ShuffleVector(Instruction):
    """``ops = [v1, v2]``; ``mask`` lists lane numbers, ``None`` for a poison lane."""

    mask: list[int | None] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class Freeze(Instruction):
    """``ops = [value]``."""


@dataclass(eq=False, repr=False)
class Return(Instruction):
    """``ops`` is ``[value]``, or empty for ``ret void``."""


@dataclass(eq=False, repr=False)
class Branch(Instruction):
    """``ops = [cond]`` for a conditional branch; ``targets`` are the successor blocks."""

    targets: list[BasicBlock] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class Switch(Instruction):
    """``ops = [value, *case values]``; ``targets[0]`` is the default."""

    targets: list[BasicBlock] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class Unreachable(Instruction):
    """``unreachable``."""


# --------------------------------------------------------------------- containers


@dataclass(eq=False, repr=False)
class BasicBlock:
    """A labelled list of instructions, the last of them a terminator."""

    __repr__ = _brief_repr

    name: str | None = None
    instructions: list[Instruction] = field(default_factory=list)
    parent: Function | None = None

    @property
    def terminator(self) -> Instruction | None:
        if self.instructions and self.instructions[-1].is_terminator:
            return self.instructions[-1]
        return None

    def successors(self) -> list[BasicBlock]:
        term = self.terminator
        if isinstance(term, Branch | Switch):
            return list(term.targets)
        return []


@dataclass(repr=False)
class Module:
    """A whole module: its globals, functions, aliases, named metadata and struct bodies."""

    __repr__ = _brief_repr

    source_filename: str | None = None
    triple: str | None = None
    datalayout: str | None = None
    module_asm: list[str] = field(default_factory=list)
    # Named struct bodies, in definition order; None body means opaque.
    structs: dict[str, StructType | None] = field(default_factory=dict)
    comdats: dict[str, str] = field(default_factory=dict)
    globals: list[GlobalVariable] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    aliases: list[GlobalAlias] = field(default_factory=list)
    named_metadata: list[NamedMetadata] = field(default_factory=list)
    # Attribute groups as the reader found them (number -> items); functions
    # refer to them through their fn_attrs already expanded.
    file: str = "<input>"

    # name -> position in ``functions``, rebuilt on demand: stages add, remove, rename and
    # reassign functions freely, so every hit is checked against the list itself
    _function_positions: dict[str, int] = field(default_factory=dict, repr=False,
                                                compare=False)

    def get_function(self, name: str) -> Function | None:
        """The function named ``name`` (names are unique in a module); O(1) when found."""
        functions = self.functions
        position = self._function_positions.get(name)
        if position is not None and position < len(functions) and \
                functions[position].name == name:
            return functions[position]
        positions: dict[str, int] = {}
        for k, fn in enumerate(functions):
            positions.setdefault(fn.name, k)
        self._function_positions = positions  # a new dict: copies of the module share the old
        position = positions.get(name)
        return None if position is None else functions[position]

    def get_global(self, name: str) -> GlobalVariable | None:
        for gv in self.globals:
            if gv.name == name:
                return gv
        return None

    def get_named_metadata(self, name: str) -> NamedMetadata | None:
        for nmd in self.named_metadata:
            if nmd.name == name:
                return nmd
        return None


# ------------------------------------------------------------------------ helpers


def result_type_of_cmpxchg(value_type: Type) -> StructType:
    return StructType((value_type, I1))


def is_value_producing(inst: Instruction) -> bool:
    return inst.ty not in (VOID, LABEL)
