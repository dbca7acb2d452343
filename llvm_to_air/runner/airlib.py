"""Host definitions of the ``air.*`` functions AIR kernels call, as LLVM IR text.

:func:`define` returns a ``linkonce_odr alwaysinline`` definition for one
declared ``air.*`` function (name and function type as the module declares
it), so LLVM inlines it into the kernel and optimizes across it. Math maps to
LLVM intrinsics (which lower to libm on the host) or to short formulas;
conversions saturate like the GPU (``llvm.fpto[su]i.sat``); atomics become
``atomicrmw``/``cmpxchg``/atomic loads and stores. Barriers and SIMD-group
functions never get here: the step transform replaces their calls.

:data:`RUNTIME` holds the helpers of checked mode (``__air_chk`` ...).
"""

from __future__ import annotations

import math
import re
import struct

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.lexer import split_top_level
from llvm_to_air.ir.types import VOID, FloatType, FunctionType, IntType, Type, VectorType
from llvm_to_air.rewrite.intrinsic_base import type_suffix

# ops with an LLVM intrinsic of the same shape (scalar and vector)
_LLVM_FLOAT = {
    "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos",
    "atan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "exp": "exp",
    "exp2": "exp2", "exp10": "exp10", "log": "log", "log2": "log2", "log10": "log10",
    "fabs": "fabs", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "rint",
    "round": "round", "pow": "pow", "powr": "pow", "fma": "fma", "mad": "fmuladd",
    "fmin": "minnum", "fmax": "maxnum", "atan2": "atan2",
}
# ops computed by the C library, one lane at a time (float versions: name + "f")
_LIBM = {"cbrt", "erf", "erfc", "expm1", "log1p", "tgamma", "lgamma", "hypot", "nextafter",
         "remainder", "logb"}


class _Body:
    """Lines of one function body with fresh temporaries."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def __call__(self, text: str) -> str:
        self.count += 1
        name = f"%t{self.count}"
        self.lines.append(f"  {name} = {text}")
        return name

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")


def _scalar(ty: Type) -> Type:
    return ty.element if isinstance(ty, VectorType) else ty


def _splat(ty: Type, value: str) -> str:
    if isinstance(ty, VectorType):
        return "<" + ", ".join(f"{ty.element} {value}" for _ in range(ty.count)) + ">"
    return value


def _fconst(ty: Type, value: float) -> str:
    """An FP literal of ``ty``'s element type (hex double form LLVM accepts for all)."""
    scalar = _scalar(ty)
    if isinstance(scalar, FloatType) and scalar.kind == "half":
        value = float(struct.unpack("<e", struct.pack("<e", value))[0])
    elif isinstance(scalar, FloatType) and scalar.kind == "float":
        value = float(struct.unpack("<f", struct.pack("<f", value))[0])
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    return _splat(ty, f"0x{bits:016X}")


def _intr(b: _Body, name: str, ty: Type, args: list[tuple[Type, str]],
          ret: Type | None = None, suffix: str | None = None) -> str:
    ret = ret or ty
    sfx = suffix if suffix is not None else type_suffix(ty)
    arglist = ", ".join(f"{t} {v}" for t, v in args)
    return b(f"call {ret} @llvm.{name}.{sfx}({arglist})")


def _declares(text: str) -> list[str]:
    """``declare`` lines for the llvm.* intrinsics a body calls (LLVM needs them)."""
    found: dict[str, str] = {}
    for m in re.finditer(r"call (\S+|<[^>]+>) @(llvm\.[\w.]+)\(([^)]*)\)", text):
        ret, name, args = m.groups()
        types = [a.rsplit(" ", 1)[0] for a in split_top_level(args, "<[{", ">]}")]
        found[name] = f"declare {ret} @{name}({', '.join(types)})"
    return list(found.values())



# ------------------------------------------------------------------ float ops


def _float_scalar(b: _Body, op: str, ty: Type, a: list[str], arg_types: tuple[Type, ...]) \
        -> str:
    """``op`` on scalar (or, for intrinsics, vector) floats of type ``ty``."""
    if op in _LLVM_FLOAT:
        return _intr(b, _LLVM_FLOAT[op], ty, list(zip(arg_types, a, strict=True)))
    one, zero = _fconst(ty, 1.0), _fconst(ty, 0.0)
    if op == "rsqrt":
        s = _intr(b, "sqrt", ty, [(ty, a[0])])
        return b(f"fdiv {ty} {one}, {s}")
    if op == "fract":
        f = _intr(b, "floor", ty, [(ty, a[0])])
        d = b(f"fsub {ty} {a[0]}, {f}")
        return _intr(b, "minnum", ty, [(ty, d), (ty, _fconst(ty, 1.0 - 2.0 ** -24))])
    if op == "saturate":
        m = _intr(b, "maxnum", ty, [(ty, a[0]), (ty, zero)])
        return _intr(b, "minnum", ty, [(ty, m), (ty, one)])
    if op == "clamp":
        m = _intr(b, "maxnum", ty, [(ty, a[0]), (ty, a[1])])
        return _intr(b, "minnum", ty, [(ty, m), (ty, a[2])])
    if op == "mix":
        d = b(f"fsub {ty} {a[1]}, {a[0]}")
        return _intr(b, "fmuladd", ty, [(ty, d), (ty, a[2]), (ty, a[0])])
    if op == "sign":
        pos = b(f"fcmp ogt {ty} {a[0]}, {zero}")
        neg = b(f"fcmp olt {ty} {a[0]}, {zero}")
        n = b(f"select {_bool(ty)} {neg}, {ty} {_fconst(ty, -1.0)}, {ty} {zero}")
        return b(f"select {_bool(ty)} {pos}, {ty} {one}, {ty} {n}")
    if op == "fmod":
        return b(f"frem {ty} {a[0]}, {a[1]}")
    if op in ("cospi", "sinpi", "tanpi"):
        x = b(f"fmul {ty} {a[0]}, {_fconst(ty, math.pi)}")
        return _intr(b, op[:3], ty, [(ty, x)])
    if op in ("acospi", "asinpi", "atanpi", "atan2pi"):
        r = _float_scalar(b, op[:-2], ty, a, arg_types)
        return b(f"fdiv {ty} {r}, {_fconst(ty, math.pi)}")
    if op == "ldexp":
        return _intr(b, "ldexp", ty, list(zip(arg_types, a, strict=True)),
                     suffix=f"{type_suffix(ty)}.{type_suffix(arg_types[1])}")
    if op == "pown":
        return _intr(b, "powi", ty, list(zip(arg_types, a, strict=True)),
                     suffix=f"{type_suffix(ty)}.{type_suffix(arg_types[1])}")
    if op == "rootn":
        n = b(f"sitofp {arg_types[1]} {a[1]} to {ty}")
        inv = b(f"fdiv {ty} {one}, {n}")
        ax = _intr(b, "fabs", ty, [(ty, a[0])])
        p = _intr(b, "pow", ty, [(ty, ax), (ty, inv)])
        return _intr(b, "copysign", ty, [(ty, p), (ty, a[0])])
    if op in ("fmin3", "fmax3"):
        f = "minnum" if op == "fmin3" else "maxnum"
        m = _intr(b, f, ty, [(ty, a[0]), (ty, a[1])])
        return _intr(b, f, ty, [(ty, m), (ty, a[2])])
    if op == "fmedian3":
        lo = _intr(b, "minnum", ty, [(ty, a[0]), (ty, a[1])])
        hi = _intr(b, "maxnum", ty, [(ty, a[0]), (ty, a[1])])
        m = _intr(b, "minnum", ty, [(ty, hi), (ty, a[2])])
        return _intr(b, "maxnum", ty, [(ty, lo), (ty, m)])
    if op in _LIBM and not isinstance(ty, VectorType):
        wide = ty
        args = list(a)
        if ty != _F32 and ty != _F64:
            wide = _F32
            args = [b(f"fpext {ty} {x} to float") for x in a]
        cname = op + ("f" if wide == _F32 else "")
        r = b(f"call {wide} @{cname}({', '.join(f'{wide} {x}' for x in args)})")
        b.lines.append(f";libm declare {wide} @{cname}({', '.join(str(wide) for _ in args)})")
        return r if wide == ty else b(f"fptrunc float {r} to {ty}")
    raise KeyError(op)


_F32 = FloatType("float")
_F64 = FloatType("double")


def _bool(ty: Type) -> str:
    return f"<{ty.count} x i1>" if isinstance(ty, VectorType) else "i1"


def _lanewise(b: _Body, ret: Type, params: tuple[Type, ...], a: list[str],
              scalar_fn: str, scalar_ret: Type, scalar_params: list[Type]) -> str:
    assert isinstance(ret, VectorType)
    acc = "poison"
    for lane in range(ret.count):
        lane_args = []
        for t, v, st in zip(params, a, scalar_params, strict=True):
            if isinstance(t, VectorType):
                lane_args.append(f"{st} " + b(f"extractelement {t} {v}, i32 {lane}"))
            else:
                lane_args.append(f"{st} {v}")
        r = b(f"call {scalar_ret} @{scalar_fn}({', '.join(lane_args)})")
        acc = b(f"insertelement {ret} {acc}, {scalar_ret} {r}, i32 {lane}")
    return acc


# ---------------------------------------------------------------- integer ops


def _int_op(b: _Body, op: str, sign: str, ty: Type, a: list[str]) -> str:
    s = sign == "s"
    scalar = _scalar(ty)
    assert isinstance(scalar, IntType)
    bits = scalar.bits
    if op in ("min", "max"):
        return _intr(b, f"{'s' if s else 'u'}{op}", ty, [(ty, x) for x in a])
    if op == "abs":
        if not s:
            return a[0]
        return b(f"call {ty} @llvm.abs.{type_suffix(ty)}({ty} {a[0]}, i1 false)")
    if op == "clamp":
        m = _intr(b, f"{'s' if s else 'u'}max", ty, [(ty, a[0]), (ty, a[1])])
        return _intr(b, f"{'s' if s else 'u'}min", ty, [(ty, m), (ty, a[2])])
    if op in ("mul_hi", "mad_hi"):
        wide = _widen(ty, 2 * bits)
        ext = "sext" if s else "zext"
        x = b(f"{ext} {ty} {a[0]} to {wide}")
        y = b(f"{ext} {ty} {a[1]} to {wide}")
        p = b(f"mul {wide} {x}, {y}")
        h = b(f"{'ashr' if s else 'lshr'} {wide} {p}, {_splat(wide, str(bits))}")
        r = b(f"trunc {wide} {h} to {ty}")
        return b(f"add {ty} {r}, {a[2]}") if op == "mad_hi" else r
    if op in ("add_sat", "sub_sat"):
        name = f"{'s' if s else 'u'}{op[:3]}.sat"
        return _intr(b, name, ty, [(ty, x) for x in a])
    if op in ("hadd", "rhadd"):
        sh = "ashr" if s else "lshr"
        one = _splat(ty, "1")
        x = b(f"{sh} {ty} {a[0]}, {one}")
        y = b(f"{sh} {ty} {a[1]}, {one}")
        both = b(f"{'and' if op == 'hadd' else 'or'} {ty} {a[0]}, {a[1]}")
        low = b(f"and {ty} {both}, {one}")
        t = b(f"add {ty} {x}, {y}")
        return b(f"add {ty} {t}, {low}")
    if op == "abs_diff":
        gt = b(f"icmp {'sgt' if s else 'ugt'} {ty} {a[0]}, {a[1]}")
        d1 = b(f"sub {ty} {a[0]}, {a[1]}")
        d2 = b(f"sub {ty} {a[1]}, {a[0]}")
        return b(f"select {_bool(ty)} {gt}, {ty} {d1}, {ty} {d2}")
    if op in ("mul24", "mad24"):
        p = b(f"mul {ty} {a[0]}, {a[1]}")
        return b(f"add {ty} {p}, {a[2]}") if op == "mad24" else p
    if op == "mad_sat":
        # the exact a * b + c (it fits twice the width), then clamped: saturating the
        # product first would give mad_sat(-1, INT_MIN, -1) = INT_MAX - 1, not INT_MAX
        wide = _widen(ty, 2 * bits)
        ext = "sext" if s else "zext"
        x, y, z = (b(f"{ext} {ty} {v} to {wide}") for v in a[:3])
        total = b(f"add {wide} {b(f'mul {wide} {x}, {y}')}, {z}")
        clamped = total
        bounds = [("sgt", (1 << (bits - 1)) - 1), ("slt", -(1 << (bits - 1)))] if s else \
            [("ugt", (1 << bits) - 1)]  # an unsigned sum is never below 0
        for predicate, limit in bounds:
            bound = _splat(wide, str(limit))
            past = b(f"icmp {predicate} {wide} {clamped}, {bound}")
            clamped = b(f"select {_bool(wide)} {past}, {wide} {bound}, {wide} {clamped}")
        return b(f"trunc {wide} {clamped} to {ty}")
    if op == "popcount":
        return _intr(b, "ctpop", ty, [(ty, a[0])])
    if op in ("clz", "ctz"):
        return b(f"call {ty} @llvm.{'ctlz' if op == 'clz' else 'cttz'}.{type_suffix(ty)}"
                 f"({ty} {a[0]}, i1 false)")
    if op == "reverse_bits":
        return _intr(b, "bitreverse", ty, [(ty, a[0])])
    if op == "rotate":
        return _intr(b, "fshl", ty, [(ty, a[0]), (ty, a[0]), (ty, a[1])])
    raise KeyError(op)


def _widen(ty: Type, bits: int) -> Type:
    if isinstance(ty, VectorType):
        return VectorType(ty.count, IntType(bits))
    return IntType(bits)


# ---------------------------------------------------------------- conversions


def _convert(b: _Body, dk: str, sk: str, ret: Type, src: Type, x: str) -> str:
    rs, ss = _scalar(ret), _scalar(src)
    if dk == "f" and sk == "f":
        if ret == src:
            return x
        wider = _fbits(rs) > _fbits(ss)
        return b(f"{'fpext' if wider else 'fptrunc'} {src} {x} to {ret}")
    if dk == "f":
        return b(f"{'sitofp' if sk == 's' else 'uitofp'} {src} {x} to {ret}")
    if sk == "f":
        return b(f"call {ret} @llvm.fpto{dk}i.sat.{type_suffix(ret)}.{type_suffix(src)}"
                 f"({src} {x})")
    assert isinstance(rs, IntType) and isinstance(ss, IntType)
    if rs.bits == ss.bits:
        return x
    if rs.bits < ss.bits:
        return b(f"trunc {src} {x} to {ret}")
    return b(f"{'sext' if sk == 's' else 'zext'} {src} {x} to {ret}")


def _fbits(ty: Type) -> int:
    assert isinstance(ty, FloatType)
    return {"half": 16, "bfloat": 16, "float": 32, "double": 64}[ty.kind]


# -------------------------------------------------------------------- atomics

_RMW = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor", "xchg": "xchg"}


def _atomic(b: _Body, name: str, fnty: FunctionType, a: list[str]) -> str | None:
    if name == "air.atomic.fence":
        b.do("fence seq_cst")
        return None
    parts = name.split(".")[3:]  # after air.atomic.<region>
    op = parts[0]
    ptr = a[0]
    if op == "cmpxchg":
        desired = a[2]
        ty = fnty.params[2]
        expected = b(f"load {ty}, ptr {a[1]}")
        pair = b(f"cmpxchg ptr {ptr}, {ty} {expected}, {ty} {desired} monotonic monotonic")
        old = b(f"extractvalue {{ {ty}, i1 }} {pair}, 0")
        b.do(f"store {ty} {old}, ptr {a[1]}")
        return old
    if op == "load":
        ty = fnty.ret
        return b(f"load atomic {ty}, ptr {ptr} monotonic, align {_size(ty)}")
    if op == "store":
        ty = fnty.params[1]
        b.do(f"store atomic {ty} {a[1]}, ptr {ptr} monotonic, align {_size(ty)}")
        return None
    ty = fnty.params[1]
    sign = parts[1] if len(parts) > 2 else ""
    if op in ("min", "max"):
        rmw = op if sign == "s" else f"u{op}"
    elif isinstance(ty, FloatType):
        rmw = {"add": "fadd", "sub": "fsub", "xchg": "xchg"}[op]
    else:
        rmw = _RMW[op]
    old = b(f"atomicrmw {rmw} ptr {ptr}, {ty} {a[1]} monotonic")
    return old if fnty.ret != VOID else None


def _size(ty: Type) -> int:
    if isinstance(ty, IntType):
        return max(1, ty.bits // 8)
    if isinstance(ty, FloatType):
        return _fbits(ty) // 8
    return 4


# ------------------------------------------------------------------- define


def define(name: str, fnty: FunctionType) -> str:
    """A host definition of AIR function ``name`` with type ``fnty``."""
    params = fnty.params
    a = [f"%a{k}" for k in range(len(params))]
    b = _Body()
    ret = fnty.ret
    result: str | None
    extra: list[str] = []
    try:
        result = _body(b, name, fnty, a, extra)
    except (KeyError, AssertionError, IndexError, ValueError):
        raise CompileError(f"the CPU runner has no host implementation of '@{name}'",
                           hint="this AIR function is not among those llvm-to-air emits"
                           ) from None
    head = (f"define linkonce_odr {ret} @{name}("
            + ", ".join(f"{t} {v}" for t, v in zip(params, a, strict=True))
            + ") alwaysinline nounwind {")
    lines = [ln for ln in b.lines if not ln.startswith(";libm ")]
    libm = [ln[len(";libm "):] for ln in b.lines if ln.startswith(";libm ")]
    tail = f"  ret {ret} {result}" if ret != VOID else "  ret void"
    text = "\n".join([head, "entry:", *lines, tail, "}"])
    return "\n".join([*extra, text, *_declares(text), *dict.fromkeys(libm)])


def _body(b: _Body, name: str, fnty: FunctionType, a: list[str], extra: list[str]) \
        -> str | None:
    ret = fnty.ret
    params = fnty.params
    parts = name.split(".")
    if name.startswith("air.atomic."):
        return _atomic(b, name, fnty, a)
    if name.startswith("air.convert."):
        dk, sk = parts[2], parts[4]
        return _convert(b, dk, sk, ret, params[0], a[0])
    if name.startswith("air.simdgroup_matrix_8x8_"):
        from llvm_to_air.runner.simdgroup_matrix import simdgroup_matrix_body

        return simdgroup_matrix_body(b.lines, name, fnty, a)
    if "_texture_2d" in name:
        from llvm_to_air.runner.textures import texture_body

        return texture_body(b.lines, name, fnty, a)
    if name.startswith("air.get_simdgroup_size") or name.startswith("air.get_threads_per_simdgroup"):
        return "32"
    op = parts[1]
    if op.startswith("fast_"):
        op = op[len("fast_"):]
    if isinstance(_scalar(ret), FloatType) or op == "dot":
        if op == "dot":
            vt = params[0]
            assert isinstance(vt, VectorType)
            acc = None
            for lane in range(vt.count):
                x = b(f"extractelement {vt} {a[0]}, i32 {lane}")
                y = b(f"extractelement {vt} {a[1]}, i32 {lane}")
                p = b(f"fmul {vt.element} {x}, {y}")
                acc = p if acc is None else b(f"fadd {vt.element} {acc}, {p}")
            return acc
        try:
            return _float_scalar(b, op, ret, a, params)
        except KeyError:
            if not isinstance(ret, VectorType):
                raise
        # scalarize: a helper for one lane, called per lane
        scalar_params = [_scalar(p) for p in params]
        helper = f"__air_lane.{name}"
        extra.append(define(f"{'.'.join(parts[:-1])}.{type_suffix(_scalar(ret))}",
                            FunctionType(_scalar(ret), tuple(scalar_params))).replace(
            f"@{'.'.join(parts[:-1])}.{type_suffix(_scalar(ret))}(", f"@{helper}(", 1))
        return _lanewise(b, ret, params, a, helper, _scalar(ret), scalar_params)
    if len(parts) >= 4 and parts[2] in ("s", "u"):
        return _int_op(b, op, parts[2], ret, a)
    return _int_op(b, op, "u", ret, a)


RUNTIME = r"""
@__air_err = global [2 x i64] zeroinitializer, align 8
@__air_scratch = global [4096 x i8] zeroinitializer, align 64

define void @__air_oob(i32 %site, i64 %addr) noinline nounwind {
entry:
  %s = zext i32 %site to i64
  %s1 = add i64 %s, 1
  %pair = cmpxchg ptr @__air_err, i64 0, i64 %s1 seq_cst seq_cst
  %ok = extractvalue { i64, i1 } %pair, 1
  br i1 %ok, label %first, label %done
first:
  %p = getelementptr i64, ptr @__air_err, i64 1
  store atomic i64 %addr, ptr %p seq_cst, align 8
  br label %done
done:
  ret void
}

define linkonce_odr i1 @__air_in(i64 %a, i64 %size, i64 %lo, i64 %hi) alwaysinline nounwind {
entry:
  %end = add i64 %a, %size
  %ok1 = icmp uge i64 %a, %lo
  %ok2 = icmp ule i64 %end, %hi
  %ok3 = icmp uge i64 %end, %a
  %ok12 = and i1 %ok1, %ok2
  %ok = and i1 %ok12, %ok3
  ret i1 %ok
}

define linkonce_odr ptr @__air_chk(ptr %p, i64 %size, i64 %lo, i64 %hi, i32 %site) alwaysinline nounwind {
entry:
  %a = ptrtoint ptr %p to i64
  %ok = call i1 @__air_in(i64 %a, i64 %size, i64 %lo, i64 %hi)
  br i1 %ok, label %good, label %bad, !prof !0
good:
  ret ptr %p
bad:
  call void @__air_oob(i32 %site, i64 %a)
  ret ptr @__air_scratch
}

define linkonce_odr i1 @__air_in_any(i64 %a, i64 %size, ptr %bounds, i32 %n) alwaysinline nounwind {
entry:
  br label %loop
loop:
  %k = phi i32 [ 0, %entry ], [ %k1, %next ]
  %more = icmp ult i32 %k, %n
  br i1 %more, label %body, label %no
body:
  %k2 = shl i32 %k, 1
  %i = zext i32 %k2 to i64
  %lop = getelementptr i64, ptr %bounds, i64 %i
  %lo = load i64, ptr %lop
  %hip = getelementptr i64, ptr %lop, i64 1
  %hi = load i64, ptr %hip
  %ok = call i1 @__air_in(i64 %a, i64 %size, i64 %lo, i64 %hi)
  br i1 %ok, label %yes, label %next
next:
  %k1 = add i32 %k, 1
  br label %loop
yes:
  ret i1 true
no:
  ret i1 false
}

define linkonce_odr ptr @__air_chk_any(ptr %p, i64 %size, i32 %site, ptr %bounds, i32 %n) alwaysinline nounwind {
entry:
  %a = ptrtoint ptr %p to i64
  %ok = call i1 @__air_in_any(i64 %a, i64 %size, ptr %bounds, i32 %n)
  br i1 %ok, label %good, label %bad, !prof !0
good:
  ret ptr %p
bad:
  call void @__air_oob(i32 %site, i64 %a)
  ret ptr @__air_scratch
}

define linkonce_odr i64 @__air_chk_len(ptr %p, i64 %size, i64 %lo, i64 %hi, i32 %site) alwaysinline nounwind {
entry:
  %a = ptrtoint ptr %p to i64
  %ok = call i1 @__air_in(i64 %a, i64 %size, i64 %lo, i64 %hi)
  br i1 %ok, label %good, label %bad, !prof !0
good:
  ret i64 %size
bad:
  call void @__air_oob(i32 %site, i64 %a)
  ret i64 0
}

define linkonce_odr i64 @__air_chk_len_any(ptr %p, i64 %size, i32 %site, ptr %bounds, i32 %n) alwaysinline nounwind {
entry:
  %a = ptrtoint ptr %p to i64
  %ok = call i1 @__air_in_any(i64 %a, i64 %size, ptr %bounds, i32 %n)
  br i1 %ok, label %good, label %bad, !prof !0
good:
  ret i64 %size
bad:
  call void @__air_oob(i32 %site, i64 %a)
  ret i64 0
}

!0 = !{!"branch_weights", i32 1000000, i32 1}
"""

__all__ = ["RUNTIME", "define"]
