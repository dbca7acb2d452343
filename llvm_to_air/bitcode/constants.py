"""Uniqued constants, the way an LLVM context holds them.

Our IR model creates a new object for every constant it parses; LLVM keeps
exactly one object per distinct constant and picks a canonical form for it
(``[2 x i32] [i32 0, i32 0]`` *is* ``zeroinitializer``, ``[3 x i8] c"abc"``
is a ConstantDataArray, a struct of undefs is ``undef``). Bitcode numbers
those objects, so the writer first maps every model constant to a
:class:`WConst` through a :class:`ConstantPool`:

* identical constants map to the same :class:`WConst` object;
* the canonical forms follow LLVM 14's ``ConstantArray::getImpl``,
  ``ConstantStruct::get``, ``ConstantVector::getImpl`` and
  ``ConstantDataSequential`` rules;
* global values stay the model objects themselves.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.model import (
    BlockAddress,
    ConstantAggregate,
    ConstantExpr,
    ConstantFP,
    ConstantInt,
    ConstantNull,
    ConstantString,
    ConstantZero,
    GlobalValue,
    InlineAsm,
    Poison,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    ArrayType,
    FloatType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    TokenType,
    Type,
    TypedPointerType,
    VectorType,
)

# Kinds of WConst.
INT = "int"
FP = "fp"
NULL = "null"  # ConstantPointerNull
NONE = "none"  # ConstantTokenNone
ZERO = "zero"  # ConstantAggregateZero
UNDEF = "undef"
POISON = "poison"
DATA = "data"  # ConstantDataArray / ConstantDataVector
AGGREGATE = "aggregate"  # ConstantArray / ConstantStruct / ConstantVector
EXPR = "expr"
ASM = "asm"

_NULL_KINDS = frozenset({NULL, NONE, ZERO})


@dataclass(eq=False, slots=True)
class WConst:
    """One uniqued constant.

    ``payload`` by kind: INT the value as an unsigned int of the type's
    width; FP the bit pattern; DATA the element values (ints or FP bit
    patterns); EXPR a tuple ``(opcode, flags, source_type, predicate)``;
    ASM ``(asm bytes, constraint bytes, flag bits, function type)``.
    ``ops`` holds operands (WConst or model GlobalValue) of AGGREGATE and EXPR.
    """

    kind: str
    ty: Type
    payload: object = None
    ops: tuple[object, ...] = field(default_factory=tuple)

    @property
    def is_null_value(self) -> bool:
        """LLVM's ``Constant::isNullValue``: zero int, +0.0, null pointer, zeroinitializer, none."""
        if self.kind in _NULL_KINDS:
            return True
        return self.kind in (INT, FP) and self.payload == 0


def is_data_element_type(ty: Type) -> bool:
    """``ConstantDataSequential::isElementTypeCompatible``."""
    if isinstance(ty, IntType):
        return ty.bits in (8, 16, 32, 64)
    return isinstance(ty, FloatType) and ty.kind in ("half", "bfloat", "float", "double")


_ASM_FLAGS = {"sideeffect": 1, "alignstack": 2, "inteldialect": 4, "unwind": 8}


class ConstantPool:
    """Maps model constants to uniqued :class:`WConst` objects (see the module docstring)."""

    def __init__(self, file: str = "<input>") -> None:
        self._file = file
        self._table: dict[tuple[object, ...], WConst] = {}
        self._memo: dict[int, object] = {}
        self._keep: list[object] = []  # keeps memoized model objects alive (ids stay unique)

    # --------------------------------------------------------------- public

    def get(self, value: Value) -> object:
        """The uniqued constant for model constant ``value`` (a GlobalValue maps to itself)."""
        memo = self._memo.get(id(value))
        if memo is not None:
            return memo
        result = value if isinstance(value, GlobalValue) else self._convert(value)
        self._memo[id(value)] = result
        self._keep.append(value)
        return result

    def int_constant(self, ty: IntType, value: int) -> WConst:
        """The ConstantInt ``ty value`` (wrapped to the width)."""
        return self._unique(INT, ty, value & ((1 << ty.bits) - 1))

    def inline_asm(self, asm: InlineAsm, pointer_type: Type) -> WConst:
        """The uniqued InlineAsm of a call whose callee type is ``pointer_type``."""
        if not isinstance(pointer_type, TypedPointerType):
            raise CompileError("inline asm callee without a function pointer type",
                               SourceLocation(self._file))
        bits = 0
        for flag in asm.flags:
            bits |= _ASM_FLAGS.get(flag, 0)
        payload = (asm.asm.encode("utf-8", "surrogateescape"),
                   asm.constraints.encode("utf-8", "surrogateescape"), bits,
                   pointer_type.pointee)
        return self._unique(ASM, pointer_type, payload)

    def shuffle_mask(self, mask: list[int | None], scalable: bool = False) -> WConst:
        """``ShuffleVectorInst::convertShuffleMaskForBitcode``: an ``<N x i32>`` constant."""
        i32 = IntType(32)
        ty = VectorType(len(mask), i32, scalable)
        if scalable:
            return self._unique(ZERO, ty) if mask and mask[0] == 0 else self._unique(UNDEF, ty)
        elements = [self._unique(UNDEF, i32) if m is None else self._unique(INT, i32, m)
                    for m in mask]
        return self._vector(ty, elements)

    def null_pointer(self, ty: Type) -> WConst:
        return self._unique(NULL, ty)

    # ------------------------------------------------------------ conversion

    def _unique(self, kind: str, ty: Type, payload: object = None,
                ops: tuple[object, ...] = ()) -> WConst:
        key = (kind, ty, payload, tuple(id(o) for o in ops))
        found = self._table.get(key)
        if found is None:
            found = WConst(kind, ty, payload, ops)
            self._table[key] = found
        return found

    def _convert(self, c: Value) -> object:
        ty = c.ty
        if isinstance(c, ConstantInt):
            if not isinstance(ty, IntType):
                raise self._error(f"integer constant of non-integer type {ty}")
            return self._unique(INT, ty, c.value & ((1 << ty.bits) - 1))
        if isinstance(c, ConstantFP):
            if not isinstance(ty, FloatType):
                raise self._error(f"floating-point constant of non-FP type {ty}")
            try:
                bits = fp_bits(c.text, ty.kind)
            except (ValueError, OverflowError) as exc:
                raise self._error(f"floating-point literal {c.text} is not a valid "
                                  f"{ty.kind}") from exc
            return self._unique(FP, ty, bits)
        if isinstance(c, ConstantNull):
            return self._null_of(ty)
        if isinstance(c, ConstantZero):
            return self._null_of(ty)
        if isinstance(c, Poison):
            return self._unique(POISON, ty)
        if isinstance(c, Undef):
            return self._unique(UNDEF, ty)
        if isinstance(c, ConstantString):
            return self._sequence(ty, [self._unique(INT, IntType(8), b) for b in c.data])
        if isinstance(c, ConstantAggregate):
            return self._sequence(ty, [self.get(e) for e in c.elements])
        if isinstance(c, ConstantExpr):
            return self._expr(c)
        if isinstance(c, BlockAddress):
            raise self._error("blockaddress constants are not supported by the bitcode writer")
        raise self._error(f"unsupported constant {type(c).__name__}")

    def _mask_of(self, mask: object) -> WConst:
        if not isinstance(mask, WConst) or not isinstance(mask.ty, VectorType):
            raise self._error("shufflevector mask is not a vector constant")
        count = mask.ty.count
        if mask.kind == ZERO:
            lanes: list[int | None] = [0] * count
        elif mask.kind in (UNDEF, POISON):
            lanes = [None] * count
        elif mask.kind == DATA:
            lanes = list(mask.payload)  # type: ignore[call-overload]
        elif mask.kind == AGGREGATE:
            lanes = [o.payload if isinstance(o, WConst) and o.kind == INT else None
                     for o in mask.ops]  # type: ignore[misc]
        else:
            raise self._error("shufflevector mask is not a constant vector")
        return self.shuffle_mask(lanes, mask.ty.scalable)

    def _error(self, message: str) -> CompileError:
        return CompileError(message, SourceLocation(self._file))

    def _null_of(self, ty: Type) -> WConst:
        if isinstance(ty, IntType):
            return self._unique(INT, ty, 0)
        if isinstance(ty, FloatType):
            return self._unique(FP, ty, 0)
        if isinstance(ty, TypedPointerType):
            return self._unique(NULL, ty)
        if isinstance(ty, PointerType):
            raise self._error("opaque pointer type 'ptr' in typed (LLVM 14) IR")
        if isinstance(ty, TokenType):
            return self._unique(NONE, ty)
        return self._unique(ZERO, ty)

    def _sequence(self, ty: Type, elements: list[object]) -> object:
        if isinstance(ty, ArrayType):
            return self._array(ty, elements)
        if isinstance(ty, VectorType):
            return self._vector(ty, elements)
        if isinstance(ty, StructType | NamedStructType):
            return self._struct(ty, elements)
        raise self._error(f"aggregate constant of non-aggregate type {ty}")

    def _array(self, ty: ArrayType, elements: list[object]) -> WConst:
        if not elements:
            return self._unique(ZERO, ty)
        first = elements[0]
        same = all(e is first for e in elements)
        if same and isinstance(first, WConst):
            if first.kind == POISON:
                return self._unique(POISON, ty)
            if first.kind in (UNDEF, POISON):
                return self._unique(UNDEF, ty)
            if first.is_null_value:
                return self._unique(ZERO, ty)
        return self._data_or_aggregate(ty, ty.element, elements)

    def _vector(self, ty: VectorType, elements: list[object]) -> WConst:
        first = elements[0] if elements else None
        if isinstance(first, WConst) and all(e is first for e in elements):
            if first.is_null_value:
                return self._unique(ZERO, ty)
            if first.kind == POISON:
                return self._unique(POISON, ty)
            if first.kind == UNDEF:
                return self._unique(UNDEF, ty)
        return self._data_or_aggregate(ty, ty.element, elements)

    def _data_or_aggregate(self, ty: Type, element: Type, elements: list[object]) -> WConst:
        if is_data_element_type(element):
            want = INT if isinstance(element, IntType) else FP
            if all(isinstance(e, WConst) and e.kind == want for e in elements):
                values = tuple(e.payload for e in elements)  # type: ignore[union-attr]
                if not any(values):
                    return self._unique(ZERO, ty)
                return self._unique(DATA, ty, values)
        return self._unique(AGGREGATE, ty, None, tuple(elements))

    def _struct(self, ty: Type, elements: list[object]) -> WConst:
        consts = [e for e in elements if isinstance(e, WConst)]
        all_consts = len(consts) == len(elements)
        if not elements or (all_consts and all(e.is_null_value for e in consts)):
            return self._unique(ZERO, ty)
        if all_consts and all(e.kind == POISON for e in consts):
            return self._unique(POISON, ty)
        if all_consts and all(e.kind == UNDEF for e in consts):
            return self._unique(UNDEF, ty)
        return self._unique(AGGREGATE, ty, None, tuple(elements))

    def _expr(self, c: ConstantExpr) -> WConst:
        if c.inrange is not None:
            raise self._error("'inrange' on a getelementptr constant expression is not "
                              "supported by the bitcode writer")
        if c.opcode in ("extractvalue", "insertvalue"):
            raise self._error(f"'{c.opcode}' constant expressions do not exist in LLVM 14")
        ops = tuple(self.get(op) for op in c.ops)
        if c.opcode == "shufflevector" and len(ops) == 3:
            # LLVM keeps the mask as integers and writes it back as an <N x i32>
            # constant with undef lanes (getShuffleMaskForBitcode)
            ops = (*ops[:2], self._mask_of(ops[2]))
        flags = tuple(sorted(set(c.flags)))
        payload = (c.opcode, flags, c.source_type, c.predicate)
        return self._unique(EXPR, c.ty, payload, ops)


# --------------------------------------------------------- folding hazards

_CAST_ORDER = ("trunc", "zext", "sext", "fptoui", "fptosi", "uitofp", "sitofp", "fptrunc",
               "fpext", "ptrtoint", "inttoptr", "bitcast", "addrspacecast")
# LLVM 14's CastInst::isEliminableCastPair table: [first cast][second cast].
_CAST_PAIRS = (
    (1, 0, 0, 99, 99, 0, 0, 99, 99, 99, 0, 3, 0),
    (8, 1, 9, 99, 99, 2, 17, 99, 99, 99, 2, 3, 0),
    (8, 0, 1, 99, 99, 0, 2, 99, 99, 99, 0, 3, 0),
    (0, 0, 0, 99, 99, 0, 0, 99, 99, 99, 0, 3, 0),
    (0, 0, 0, 99, 99, 0, 0, 99, 99, 99, 0, 3, 0),
    (99, 99, 99, 0, 0, 99, 99, 0, 0, 99, 99, 4, 0),
    (99, 99, 99, 0, 0, 99, 99, 0, 0, 99, 99, 4, 0),
    (99, 99, 99, 0, 0, 99, 99, 0, 0, 99, 99, 4, 0),
    (99, 99, 99, 2, 2, 99, 99, 8, 2, 99, 99, 4, 0),
    (1, 0, 0, 99, 99, 0, 0, 99, 99, 99, 7, 3, 0),
    (99, 99, 99, 99, 99, 99, 99, 99, 99, 11, 99, 15, 0),
    (5, 5, 5, 6, 6, 5, 5, 6, 6, 16, 5, 1, 14),
    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 12),
)


def refolds(user: WConst, operand: WConst, structs: dict[str, StructType | None]) -> bool:
    """Whether LLVM's reader would fold ``user`` differently with ``operand`` still unread.

    The reader builds a constant whose operand comes later in the block on a
    placeholder and folds it again once the operand is read, with the same
    folder LLParser uses, so the result is the same -- except where a fold
    that looks only at types already changed the expression's shape on the
    placeholder: LLVM 14 turns ``bitcast`` of a pointer to an aggregate into
    a ``getelementptr`` to its first element (and ``addrspacecast`` between
    different pointee types into a bitcast plus an addrspacecast) before it
    would have folded the cast into a cast or zero-index GEP operand.
    ``structs`` gives named struct bodies.
    """
    if user.kind != EXPR or operand.kind != EXPR:
        return False
    opcode = user.payload[0]  # type: ignore[index]
    if opcode == "bitcast":
        return _bitcast_hazard(operand, user.ty, structs)
    if opcode == "addrspacecast":
        src, dst = _scalar(operand.ty), _scalar(user.ty)
        if not isinstance(src, TypedPointerType) or not isinstance(dst, TypedPointerType) or \
                src.pointee == dst.pointee:
            return False
        mid: Type = TypedPointerType(dst.pointee, src.addrspace)
        if isinstance(user.ty, VectorType):
            mid = VectorType(user.ty.count, mid, user.ty.scalable)
        return _bitcast_hazard(operand, mid, structs)
    return False


def _bitcast_hazard(operand: WConst, dest: Type, structs: dict[str, StructType | None]) -> bool:
    """A type-only GEP fold of ``bitcast (operand to dest)`` that preempts an operand fold."""
    src = operand.ty
    if not (isinstance(src, TypedPointerType) and isinstance(dest, TypedPointerType)) or \
            src == dest or src.addrspace != dest.addrspace or \
            not _first_element_reaches(src.pointee, dest.pointee, structs):
        return False
    inner = operand.payload[0]  # type: ignore[index]
    if inner in _CAST_ORDER:
        return _cast_pair_eliminable(inner, "bitcast", operand.ops[0], operand.ty, dest)
    if inner == "getelementptr":
        return all(isinstance(i, WConst) and i.is_null_value for i in operand.ops[1:])
    return False


def _first_element_reaches(ty: Type, target: Type, structs: dict[str, StructType | None]) -> bool:
    """FoldBitCast's walk: from a sized ``ty`` through first elements until ``target``."""
    if not _is_sized(ty, structs, set()):
        return False
    seen = 0
    current: Type | None = ty
    while current is not None and current != target and seen < 64:
        seen += 1
        if isinstance(current, NamedStructType):
            current = structs.get(current.name)
        if isinstance(current, StructType):
            current = current.fields[0] if current.fields else None
        elif isinstance(current, ArrayType | VectorType):
            current = current.element
        else:
            current = None
    return current == target


def _is_sized(ty: Type, structs: dict[str, StructType | None], seen: set[str]) -> bool:
    if isinstance(ty, IntType | FloatType | TypedPointerType | PointerType):
        return True
    if isinstance(ty, ArrayType | VectorType):
        return _is_sized(ty.element, structs, seen)
    if isinstance(ty, NamedStructType):
        if ty.name in seen:
            return True
        body = structs.get(ty.name)
        return body is not None and _is_sized(body, structs, seen | {ty.name})
    if isinstance(ty, StructType):
        return all(_is_sized(f, structs, seen) for f in ty.fields)
    return False


def _cast_pair_eliminable(first: str, second: str, source: object, mid: Type, dest: Type) -> bool:
    src = getattr(source, "ty", None)
    if src is None:
        return True
    first_bitcast = first == "bitcast"
    second_bitcast = second == "bitcast"
    if (first_bitcast and isinstance(src, VectorType) != isinstance(mid, VectorType)) or \
            (second_bitcast and isinstance(mid, VectorType) != isinstance(dest, VectorType)):
        if not (first_bitcast and second_bitcast):
            return False
    case = _CAST_PAIRS[_CAST_ORDER.index(first)][_CAST_ORDER.index(second)]
    if case == 0:
        return False
    if case == 3:
        return not isinstance(src, VectorType) and isinstance(dest, IntType)
    if case == 4:
        return isinstance(dest, FloatType)
    if case == 5:
        return isinstance(src, IntType)
    if case == 6:
        return isinstance(src, FloatType)
    if case == 7:
        return _addrspace(src) == _addrspace(dest) and _scalar_bits(mid) == 64
    if case == 11:
        bits = _scalar_bits(src)
        return bits is not None and bits <= 64 and bits == _scalar_bits(dest)
    if case == 14:
        return _pointee(src) == _pointee(dest)
    return True


def _scalar(ty: object) -> object:
    return ty.element if isinstance(ty, VectorType) else ty


def _addrspace(ty: object) -> int:
    return getattr(_scalar(ty), "addrspace", 0)


def _pointee(ty: object) -> object:
    return getattr(_scalar(ty), "pointee", None)


def _scalar_bits(ty: object) -> int | None:
    scalar = _scalar(ty)
    if isinstance(scalar, IntType):
        return scalar.bits
    if isinstance(scalar, FloatType):
        return _FP_WIDTH[scalar.kind]
    return None


# ------------------------------------------------------------------ FP values

_FP_WIDTH = {"half": 16, "bfloat": 16, "float": 32, "double": 64, "x86_fp80": 80,
             "fp128": 128, "ppc_fp128": 128}
# (exponent bits, mantissa bits) of the formats converted from a double literal
_IEEE = {"half": (5, 10), "bfloat": (8, 7), "float": (8, 23)}


def fp_bits(text: str, kind: str) -> int:
    """The bit pattern of FP literal ``text`` (as LLVM prints it) in format ``kind``.

    Hex forms: ``0x`` + 16 digits is a double (converted to ``kind`` the way
    LLParser does, NaN payloads included); ``0xH`` half, ``0xR`` bfloat,
    ``0xK`` x86_fp80, ``0xL`` fp128 and ``0xM`` ppc_fp128 are the raw bits
    (the 128-bit forms print the low word first). Decimal literals are read
    as doubles. Raises ValueError for malformed text.
    """
    body = text.lstrip("+")
    if body.startswith(("0x", "-0x")):
        negative = body.startswith("-")
        digits = body[3:] if negative else body[2:]
        letter = digits[0] if digits[:1] in ("H", "R", "K", "L", "M") else ""
        raw = int(digits[1:] if letter else digits, 16)
        if letter in ("H", "R", "K"):
            bits = raw
        elif letter in ("L", "M"):
            hexd = digits[1:].rjust(32, "0")
            bits = int(hexd[16:], 16) << 64 | int(hexd[:16], 16)
        else:
            bits = _from_double_bits(raw, kind)
            return bits
        return bits
    if body in ("inf", "-inf", "nan", "-nan"):
        value = float(body)
    else:
        value = float(body)
    double = struct.unpack("<Q", struct.pack("<d", value))[0]
    return _from_double_bits(double, kind)


def _from_double_bits(double: int, kind: str) -> int:
    if kind == "double":
        return double
    if kind not in _IEEE:
        raise ValueError(f"a double literal cannot be converted to {kind}")
    exp_bits, man_bits = _IEEE[kind]
    sign = double >> 63
    dexp = (double >> 52) & 0x7FF
    dman = double & ((1 << 52) - 1)
    if dexp == 0x7FF and dman:  # NaN: keep the payload's top bits (APFloat::convert)
        signaling = not (dman >> 51) & 1
        man = dman >> (52 - man_bits)
        quiet_bit = 1 << (man_bits - 1)
        if signaling:
            man &= ~quiet_bit
            if man == 0:
                man = quiet_bit >> 1
        else:
            man |= quiet_bit
        return (sign << (exp_bits + man_bits)) | (((1 << exp_bits) - 1) << man_bits) | man
    value = struct.unpack("<d", struct.pack("<Q", double))[0]
    if kind == "float":
        if math.isinf(value) or abs(value) <= 3.4028234663852886e38:
            return struct.unpack("<I", struct.pack("<f", value))[0]
        raise ValueError("value out of range for float")
    if kind == "half":
        return struct.unpack("<H", struct.pack("<e", value))[0]
    # bfloat: the top half of the float, exact for literals LLVM accepts
    single = struct.unpack("<I", struct.pack("<f", value))[0]
    return single >> 16
