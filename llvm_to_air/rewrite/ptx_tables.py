"""Inline PTX the translator knows: one row per instruction form (data, not code).

Each row pairs a PTX spelling with what it does; ``rewrite/ptx.py`` matches
statements against these rows and builds IR. Cache, eviction and L2 hints
(``.ca``, ``.cg``, ``.cs``, ``.lu``, ``.cv``, ``.L1::evict_last``, ...) do not
change what a load or store computes and are dropped; state spaces, vector
widths, types, orders and scopes are part of the match. Anything not here is an
error that quotes the instruction.

Sources: the PTX ISA (``ld``, ``st``, ``mov``, ``atom``, ``rcp``, ``cvt``
sections) and the templates Triton 3.9 and CUDA's headers emit.
"""

from __future__ import annotations

from dataclasses import dataclass

# PTX register constraint letter -> the LLVM integer/float type of the operand
CONSTRAINT_TYPES = {"h": "i16", "c": "i16", "r": "i32", "l": "i64", "f": "float",
                    "d": "double", "b": "i1", "n": "imm"}

# .bN / .uN / .sN / .fN element types -> (bits, kind) ("int" or "float")
ELEMENT_TYPES = {
    **{f"b{n}": (n, "int") for n in (8, 16, 32, 64)},
    **{f"u{n}": (n, "int") for n in (8, 16, 32, 64)},
    **{f"s{n}": (n, "int") for n in (8, 16, 32, 64)},
    "f16": (16, "float"), "f32": (32, "float"), "f64": (64, "float"),
}

# Hints that do not change a load's or store's result.
IGNORED_MODIFIERS = frozenset({
    "ca", "cg", "cs", "lu", "cv", "wb", "wt", "nc", "volatile", "relaxed", "weak",
    "L1::evict_normal", "L1::evict_unchanged", "L1::evict_first", "L1::evict_last",
    "L1::no_allocate", "L2::evict_normal", "L2::evict_first", "L2::evict_last",
    "L2::64B", "L2::128B", "L2::256B", "L2::cache_hint",
})

# State spaces of ld/st/atom -> AIR address space
STATE_SPACES = {"global": 1, "shared": 3, "shared::cta": 3, "const": 2, "local": 0}


@dataclass(frozen=True)
class MemoryForm:
    """``ld`` / ``st``: a space, a vector width (1, 2, 4) and an element type."""

    opcode: str          # "ld" | "st"
    space: int
    lanes: int
    bits: int
    kind: str            # "int" | "float"


@dataclass(frozen=True)
class AtomicForm:
    """``atom.<space>[.<scope>][.<order>].<op>.<type>``."""

    space: int
    op: str              # LLVM atomicrmw operation
    bits: int
    kind: str


# atom operations -> LLVM atomicrmw operation, by element kind/sign
ATOMIC_OPS = {("add", "int"): "add", ("add", "float"): "fadd", ("min", "s"): "min",
              ("max", "s"): "max", ("min", "u"): "umin", ("max", "u"): "umax",
              ("and", "int"): "and", ("or", "int"): "or", ("xor", "int"): "xor",
              ("exch", "int"): "xchg", ("inc", "u"): "uinc_wrap", ("dec", "u"): "udec_wrap"}
ATOMIC_SCOPES = frozenset({"cta", "gpu", "sys", "cluster"})
# PTX orders -> LLVM orderings (the AIR lowering maps them to what Metal has)
ATOMIC_ORDERS = {"relaxed": "monotonic", "acquire": "acquire", "release": "release",
                 "acq_rel": "acq_rel", "sc": "seq_cst"}


@dataclass(frozen=True)
class UnaryForm:
    """A one-input arithmetic or conversion instruction."""

    spelling: str        # PTX mnemonic with modifiers, e.g. "rcp.approx.ftz.f32"
    operation: str       # what rewrite/ptx.py builds: "rcp", "fptrunc", "fpext", ...
    source: str          # LLVM type of the input
    result: str          # LLVM type of the output


UNARY_FORMS: dict[str, UnaryForm] = {f.spelling: f for f in (
    UnaryForm("rcp.approx.ftz.f32", "rcp", "float", "float"),
    UnaryForm("rcp.approx.f32", "rcp", "float", "float"),
    UnaryForm("rcp.rn.f32", "rcp", "float", "float"),
    UnaryForm("sqrt.approx.ftz.f32", "sqrt", "float", "float"),
    UnaryForm("sqrt.approx.f32", "sqrt", "float", "float"),
    UnaryForm("ex2.approx.ftz.f32", "exp2", "float", "float"),
    UnaryForm("ex2.approx.f32", "exp2", "float", "float"),
    UnaryForm("lg2.approx.ftz.f32", "log2", "float", "float"),
    UnaryForm("lg2.approx.f32", "log2", "float", "float"),
    # cuda_fp16.h: float <-> half through 16-bit registers
    UnaryForm("cvt.rn.f16.f32", "fptrunc", "float", "half"),
    UnaryForm("cvt.f32.f16", "fpext", "half", "float"),
    # cuda_bf16.h
    UnaryForm("cvt.rn.bf16.f32", "fptrunc", "float", "bfloat"),
)}

# Special registers a `mov` may read -> the NVVM intrinsic that reads them (then lowered
# by lower_intrinsics like any other NVVM call)
SPECIAL_REGISTERS = {
    **{f"%{reg}.{axis}": f"llvm.nvvm.read.ptx.sreg.{reg}.{axis}"
       for reg in ("tid", "ntid", "ctaid", "nctaid") for axis in "xyz"},
    "%laneid": "llvm.nvvm.read.ptx.sreg.laneid",
    "%warpsize": "llvm.nvvm.read.ptx.sreg.warpsize",
    **{f"%lanemask_{kind}": f"llvm.nvvm.read.ptx.sreg.lanemask.{kind}"
       for kind in ("eq", "le", "lt", "ge", "gt")},
}
