"""LLVM types as immutable, hashable values.

The model is opaque-pointer LLVM (what LLVM 22 prints): a pointer is
``PointerType(addrspace)``. ``TypedPointerType`` exists only for the LLVM 14
writer, which has to give every pointer a pointee type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field


class Type:
    """Base class of all types. ``str(ty)`` is LLVM's spelling, memoized (types are immutable)."""

    __slots__ = ()

    def _spell(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __str__(self) -> str:
        return _spelling(self)


@dataclass(frozen=True, slots=True)
class VoidType(Type):
    """``void``."""

    def _spell(self) -> str:
        return "void"


@dataclass(frozen=True, slots=True)
class LabelType(Type):
    """``label``."""

    def _spell(self) -> str:
        return "label"


@dataclass(frozen=True, slots=True)
class MetadataType(Type):
    """``metadata``."""

    def _spell(self) -> str:
        return "metadata"


@dataclass(frozen=True, slots=True)
class TokenType(Type):
    """``token``."""

    def _spell(self) -> str:
        return "token"


@dataclass(frozen=True, slots=True)
class IntType(Type):
    """``iN``."""

    bits: int

    def _spell(self) -> str:
        return f"i{self.bits}"


FLOAT_KINDS = ("half", "bfloat", "float", "double", "x86_fp80", "fp128", "ppc_fp128")
FLOAT_BITS = {"half": 16, "bfloat": 16, "float": 32, "double": 64, "x86_fp80": 80,
              "fp128": 128, "ppc_fp128": 128}


@dataclass(frozen=True, slots=True)
class FloatType(Type):
    """``half``, ``float``, ``double``... (``kind`` is the spelling)."""

    kind: str  # one of FLOAT_KINDS

    def _spell(self) -> str:
        return self.kind


@dataclass(frozen=True, slots=True)
class PointerType(Type):
    """An opaque pointer, ``ptr`` or ``ptr addrspace(N)``."""

    addrspace: int = 0

    def _spell(self) -> str:
        return "ptr" if self.addrspace == 0 else f"ptr addrspace({self.addrspace})"


@dataclass(frozen=True, slots=True)
class TypedPointerType(Type):
    """A typed pointer (LLVM 14 output only): ``float addrspace(1)*``."""

    pointee: Type
    addrspace: int = 0

    def _spell(self) -> str:
        suffix = "*" if self.addrspace == 0 else f" addrspace({self.addrspace})*"
        return f"{self.pointee}{suffix}"


@dataclass(frozen=True, slots=True)
class VectorType(Type):
    """``<N x T>``, or ``<vscale x N x T>`` when ``scalable``."""

    count: int
    element: Type
    scalable: bool = False

    def _spell(self) -> str:
        prefix = "vscale x " if self.scalable else ""
        return f"<{prefix}{self.count} x {self.element}>"


@dataclass(frozen=True, slots=True)
class ArrayType(Type):
    """``[N x T]``."""

    count: int
    element: Type

    def _spell(self) -> str:
        return f"[{self.count} x {self.element}]"


@dataclass(frozen=True, slots=True)
class StructType(Type):
    """A literal (unnamed) struct type."""

    fields: tuple[Type, ...]
    packed: bool = False

    def _spell(self) -> str:
        body = ", ".join(str(f) for f in self.fields)
        inner = f"{{ {body} }}" if self.fields else "{}"
        return f"<{inner}>" if self.packed else inner


@dataclass(frozen=True, slots=True)
class NamedStructType(Type):
    """A reference to an identified struct (``%struct.S``); the body lives in the module.

    ``name`` is the printed name without ``%`` (already quoted if it needs quotes).
    """

    name: str

    def _spell(self) -> str:
        return f"%{self.name}"


@dataclass(frozen=True, slots=True)
class FunctionType(Type):
    """A function's type: return type, parameter types, and ``...`` if ``vararg``."""

    ret: Type
    params: tuple[Type, ...]
    vararg: bool = False

    def _spell(self) -> str:
        params = [str(p) for p in self.params]
        if self.vararg:
            params.append("...")
        return f"{self.ret} ({', '.join(params)})"


@dataclass(frozen=True, slots=True)
class TargetExtType(Type):
    """``target("name", ...)``: parsed only so it can be reported clearly."""

    text: str = field(default="")

    def _spell(self) -> str:
        return self.text


@functools.lru_cache(maxsize=4096)
def _spelling(ty: Type) -> str:
    return ty._spell()


VOID = VoidType()
LABEL = LabelType()
METADATA = MetadataType()
TOKEN = TokenType()
I1 = IntType(1)
I8 = IntType(8)
I16 = IntType(16)
I32 = IntType(32)
I64 = IntType(64)
F16 = FloatType("half")
F32 = FloatType("float")
F64 = FloatType("double")
PTR = PointerType(0)


def is_pointer(ty: Type) -> bool:
    return isinstance(ty, PointerType | TypedPointerType)


def is_pointer_or_pointer_vector(ty: Type) -> bool:
    return is_pointer(ty) or (isinstance(ty, VectorType) and is_pointer(ty.element))


def map_leaves(ty: Type, leaf: Callable[[Type], Type]) -> Type:
    """``ty`` rebuilt with ``leaf`` applied to every non-composite type inside it."""
    if isinstance(ty, VectorType):
        return VectorType(ty.count, map_leaves(ty.element, leaf), ty.scalable)
    if isinstance(ty, ArrayType):
        return ArrayType(ty.count, map_leaves(ty.element, leaf))
    if isinstance(ty, StructType):
        return StructType(tuple(map_leaves(f, leaf) for f in ty.fields), ty.packed)
    if isinstance(ty, FunctionType):
        return FunctionType(map_leaves(ty.ret, leaf),
                            tuple(map_leaves(p, leaf) for p in ty.params), ty.vararg)
    return leaf(ty)


def contains_type(ty: Type, pred: type[Type] | tuple[type[Type], ...]) -> bool:
    """Whether ``ty`` or any type nested in it (not through named structs) is a ``pred``."""
    if isinstance(ty, pred):
        return True
    if isinstance(ty, VectorType | ArrayType):
        return contains_type(ty.element, pred)
    if isinstance(ty, StructType):
        return any(contains_type(f, pred) for f in ty.fields)
    if isinstance(ty, FunctionType):
        return contains_type(ty.ret, pred) or any(contains_type(p, pred) for p in ty.params)
    return False
