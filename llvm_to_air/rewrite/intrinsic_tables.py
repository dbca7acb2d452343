"""The mapping from producers' math, integer, SIMD and synchronization calls to AIR, as data.

Facts from AIR_NOTES section 5, the Apple corpus and docs/air-intrinsics.md.
``intrinsics.py`` interprets these tables; adding a mapping means adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass

# ----------------------------------------------------------------------- math


@dataclass(frozen=True)
class FloatOp:
    """``air.[fast_]<air>.<type>``; ``fast`` says whether a ``fast_`` f32 form exists."""

    air: str
    fast: bool = True


@dataclass(frozen=True)
class IntOp:
    """``air.<air>[.s|.u].<type>``.

    ``signedness`` "s"/"u" is fixed, "arg" takes it from the source (OpenCL
    mangling), None means the name has no signedness. ``keep_args`` is how many
    of the source's operands AIR takes (``llvm.abs``'s poison flag is dropped);
    ``zero_flag`` appends ``i1 false`` (AIR's ``clz``/``ctz`` take one).
    """

    air: str
    signedness: str | None = "arg"
    keep_args: int | None = None
    zero_flag: bool = False


_F = FloatOp
_PRECISE = False  # readability: FloatOp(name, fast=_PRECISE)

# Float operations by their common name (libdevice, OCML and OpenCL use these spellings).
FLOAT_OPS: dict[str, FloatOp] = {
    **{n: _F(n) for n in (
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos", "cosh",
        "cospi", "exp", "exp10", "exp2", "fabs", "floor", "fmax", "fmin", "fmod", "fract", "log",
        "log10", "log2", "pow", "powr", "rint", "round", "rsqrt", "sin", "sinh", "sinpi", "sqrt",
        "tan", "tanh", "tanpi", "trunc", "ldexp", "saturate", "clamp")},
    **{n: _F(n, _PRECISE) for n in (
        "acospi", "asinpi", "atanpi", "atan2pi", "cbrt", "erf", "erfc", "expm1", "fma", "hypot",
        "lgamma", "log1p", "logb", "mix", "nextafter", "pown", "remainder", "rootn", "sign",
        "tgamma", "mad", "dot")},
    # other spellings of the same operations
    "fmaf": _F("fma", _PRECISE), "fmin": _F("fmin"), "fmax": _F("fmax"), "min": _F("fmin"),
    "max": _F("fmax"), "nearbyint": _F("rint"), "roundeven": _F("rint"), "abs": _F("fabs"),
    "maxnum": _F("fmax"), "minnum": _F("fmin"), "maximum": _F("fmax"), "minimum": _F("fmin"),
    "maximumnum": _F("fmax"), "minimumnum": _F("fmin"), "sqrt_rn": _F("sqrt"),
}
# OpenCL native_*/half_* and libdevice __nv_fast_* ask for the fast form whatever the flags.
FAST_PREFIXES = ("native_", "half_", "fast_")

INT_OPS: dict[str, IntOp] = {
    "min": IntOp("min"), "max": IntOp("max"), "abs": IntOp("abs"), "clamp": IntOp("clamp"),
    "mul_hi": IntOp("mul_hi"), "mulhi": IntOp("mul_hi"), "add_sat": IntOp("add_sat"),
    "sub_sat": IntOp("sub_sat"), "hadd": IntOp("hadd"), "rhadd": IntOp("rhadd"),
    "abs_diff": IntOp("abs_diff"), "mad_hi": IntOp("mad_hi"), "mad_sat": IntOp("mad_sat"),
    "mul24": IntOp("mul24"), "mad24": IntOp("mad24"),
    "popcount": IntOp("popcount", None), "popc": IntOp("popcount", None),
    "clz": IntOp("clz", None, zero_flag=True), "ctz": IntOp("ctz", None, zero_flag=True),
    "rotate": IntOp("rotate", None), "brev": IntOp("reverse_bits", None),
}

# ``llvm.<name>.*`` intrinsics: float ones by FLOAT_OPS name, integer ones here.
LLVM_FLOAT_INTRINSICS: dict[str, str] = {
    "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos",
    "atan": "atan", "atan2": "atan2", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "exp": "exp", "exp2": "exp2", "exp10": "exp10", "log": "log", "log2": "log2",
    "log10": "log10", "pow": "pow", "fabs": "fabs", "floor": "floor", "ceil": "ceil",
    "trunc": "trunc", "rint": "rint", "nearbyint": "rint", "roundeven": "rint",
    "round": "round", "fma": "fma", "minnum": "fmin", "maxnum": "fmax", "minimum": "fmin",
    "maximum": "fmax", "minimumnum": "fmin", "maximumnum": "fmax", "ldexp": "ldexp",
}
LLVM_INT_INTRINSICS: dict[str, IntOp] = {
    "smin": IntOp("min", "s"), "smax": IntOp("max", "s"), "umin": IntOp("min", "u"),
    "umax": IntOp("max", "u"), "abs": IntOp("abs", "s", keep_args=1),
    "ctpop": IntOp("popcount", None), "ctlz": IntOp("clz", None),
    "cttz": IntOp("ctz", None), "bitreverse": IntOp("reverse_bits", None),
    "sadd.sat": IntOp("add_sat", "s"), "uadd.sat": IntOp("add_sat", "u"),
    "ssub.sat": IntOp("sub_sat", "s"), "usub.sat": IntOp("sub_sat", "u"),
}
# ``llvm.*`` intrinsics Apple's back end takes as they are (Apple corpus, Apple's OpenCL runtime).
LLVM_KEPT = ("llvm.memcpy.", "llvm.memmove.", "llvm.memset.", "llvm.lifetime.", "llvm.assume",
             "llvm.fmuladd.", "llvm.prefetch", "llvm.sadd.with.overflow.",
             "llvm.uadd.with.overflow.", "llvm.ssub.with.overflow.", "llvm.usub.with.overflow.",
             "llvm.dbg.",
             "llvm.smul.with.overflow.", "llvm.umul.with.overflow.", "llvm.bswap.")
# ``llvm.*`` intrinsics that only carry hints: the call goes, its first operand stands in.
LLVM_ERASED = ("llvm.experimental.noalias.scope.decl", "llvm.expect.", "llvm.invariant.start",
               "llvm.experimental.convergence.",
               "llvm.invariant.end", "llvm.var.annotation", "llvm.codeview.annotation",
               "llvm.sideeffect", "llvm.donothing", "llvm.pseudoprobe")

# libdevice (__nv_*): float names end in "f"; these integer ones do not.
LIBDEVICE_INT: dict[str, IntOp] = {
    "min": IntOp("min", "s"), "umin": IntOp("min", "u"), "max": IntOp("max", "s"),
    "umax": IntOp("max", "u"), "llmin": IntOp("min", "s"), "ullmin": IntOp("min", "u"),
    "llmax": IntOp("max", "s"), "ullmax": IntOp("max", "u"), "abs": IntOp("abs", "s"),
    "llabs": IntOp("abs", "s"), "popc": IntOp("popcount", None),
    "popcll": IntOp("popcount", None), "clz": IntOp("clz", None, zero_flag=True),
    "clzll": IntOp("clz", None, zero_flag=True), "brev": IntOp("reverse_bits", None),
    "brevll": IntOp("reverse_bits", None), "mulhi": IntOp("mul_hi", "s"),
    "umulhi": IntOp("mul_hi", "u"), "mul64hi": IntOp("mul_hi", "s"),
    "umul64hi": IntOp("mul_hi", "u"), "sad": IntOp("abs_diff", "s"),
    "usad": IntOp("abs_diff", "u"), "hadd": IntOp("hadd", "s"), "uhadd": IntOp("hadd", "u"),
    "rhadd": IntOp("rhadd", "s"), "urhadd": IntOp("rhadd", "u"),
}

# ------------------------------------------------------------- synchronization

MEM_NONE, MEM_DEVICE, MEM_THREADGROUP, MEM_TEXTURE = 0, 1, 2, 4
SCOPE_THREADGROUP, SCOPE_DEVICE, SCOPE_SIMDGROUP = 1, 2, 4
ORDER_RELAXED, ORDER_SEQ_CST = 0, 5

# Calls that are a threadgroup barrier with these memory flags.
THREADGROUP_BARRIERS: dict[str, int] = {
    "llvm.nvvm.barrier0": MEM_DEVICE | MEM_THREADGROUP,
    "llvm.nvvm.barrier.cta.sync.aligned.all": MEM_DEVICE | MEM_THREADGROUP,
    "llvm.nvvm.barrier.cta.sync.all": MEM_DEVICE | MEM_THREADGROUP,
    "llvm.nvvm.bar.sync": MEM_DEVICE | MEM_THREADGROUP,
    "llvm.nvvm.barrier.sync": MEM_DEVICE | MEM_THREADGROUP,
    "llvm.amdgcn.s.barrier": MEM_DEVICE | MEM_THREADGROUP,
}
SIMDGROUP_BARRIERS: dict[str, int] = {
    "llvm.nvvm.bar.warp.sync": MEM_DEVICE | MEM_THREADGROUP,
    "llvm.amdgcn.wave.barrier": MEM_DEVICE | MEM_THREADGROUP,
}
# OpenCL barriers take CLK_* flags; AIR numbers them differently.
OPENCL_BARRIERS = {"barrier": "wg", "work_group_barrier": "wg", "sub_group_barrier": "simd"}
OPENCL_FENCES = {"mem_fence": 4, "read_mem_fence": 2, "write_mem_fence": 3}  # -> order
OPENCL_FENCE_FLAGS = {1: MEM_THREADGROUP, 2: MEM_DEVICE, 4: MEM_TEXTURE}  # CLK_LOCAL/GLOBAL/IMAGE
# NVVM memory barriers: scope.
NVVM_FENCES: dict[str, int] = {"llvm.nvvm.membar.gl": SCOPE_DEVICE,
                               "llvm.nvvm.membar.sys": SCOPE_DEVICE,
                               "llvm.nvvm.membar.cta": SCOPE_THREADGROUP,
                               "llvm.nvvm.fence.sc.cluster": SCOPE_DEVICE}
SYNCSCOPES: dict[str | None, int] = {None: SCOPE_DEVICE, "": SCOPE_DEVICE,
                                     "agent": SCOPE_DEVICE, "device": SCOPE_DEVICE,
                                     "workgroup": SCOPE_THREADGROUP, "block": SCOPE_THREADGROUP,
                                     "cta": SCOPE_THREADGROUP, "wavefront": SCOPE_THREADGROUP,
                                     "singlethread": SCOPE_THREADGROUP, "cluster": SCOPE_DEVICE,
                                     "system": SCOPE_DEVICE, "one-as": SCOPE_DEVICE}

# ------------------------------------------------------------------- atomics

# atomicrmw operation -> (AIR name, signedness); None: expanded as a compare-exchange loop.
ATOMIC_RMW: dict[str, tuple[str, str | None] | None] = {
    "add": ("add", "u"), "sub": ("sub", "u"), "and": ("and", "u"), "or": ("or", "u"),
    "xor": ("xor", "u"), "max": ("max", "s"), "min": ("min", "s"), "umax": ("max", "u"),
    "umin": ("min", "u"), "xchg": ("xchg", None), "fadd": ("add", None), "fsub": ("sub", None),
    "nand": None, "fmax": None, "fmin": None, "fmaximum": None, "fminimum": None,
    "uinc_wrap": None, "udec_wrap": None, "usub_cond": None, "usub_sat": None,
}
# NVVM math intrinsics (names after LLVM 22's upgrade too) -> (float op, fast form?).
NVVM_MATH: dict[str, tuple[str, bool]] = {
    "llvm.nvvm.ex2.approx.f32": ("exp2", True), "llvm.nvvm.ex2.approx.f": ("exp2", True),
    "llvm.nvvm.ex2.approx.ftz.f": ("exp2", True), "llvm.nvvm.lg2.approx.f": ("log2", True),
    "llvm.nvvm.sin.approx.f": ("sin", True), "llvm.nvvm.cos.approx.f": ("cos", True),
    "llvm.nvvm.sin.approx.ftz.f": ("sin", True), "llvm.nvvm.cos.approx.ftz.f": ("cos", True),
    "llvm.nvvm.rsqrt.approx.f": ("rsqrt", True), "llvm.nvvm.rsqrt.approx.ftz.f": ("rsqrt", True),
    "llvm.nvvm.sqrt.approx.f": ("sqrt", True), "llvm.nvvm.sqrt.rn.f": ("sqrt", False),
    "llvm.nvvm.sqrt.f": ("sqrt", False), "llvm.nvvm.fmax.f": ("fmax", False),
    "llvm.nvvm.fmin.f": ("fmin", False), "llvm.nvvm.fabs.f": ("fabs", False),
    "llvm.nvvm.fabs.ftz.f": ("fabs", False), "llvm.nvvm.saturate.f": ("saturate", False),
    "llvm.nvvm.fma.rn.f": ("fma", False), "llvm.nvvm.floor.f": ("floor", False),
    "llvm.nvvm.ceil.f": ("ceil", False), "llvm.nvvm.trunc.f": ("trunc", False),
    "llvm.nvvm.round.f": ("round", False),
}
# libdevice's flush-to-zero forms (issue 10): Apple GPUs flush float denormals anyway, so
# each is its IEEE form there. Rounding modes other than .rn have no AIR form and stay errors.
NVVM_MATH |= {
    f"{name.rsplit('.', 1)[0]}.ftz.{name.rsplit('.', 1)[1]}": form
    for name, form in list(NVVM_MATH.items())
    if name.endswith((".f", ".f32")) and ".ftz." not in name
}
NVVM_MATH |= {"llvm.nvvm.fabs.f32": ("fabs", False), "llvm.nvvm.fabs.ftz.f32": ("fabs", False)}
NVVM_DIVIDES = ("llvm.nvvm.div.approx.f", "llvm.nvvm.div.approx.ftz.f", "llvm.nvvm.div.rn.f",
                "llvm.nvvm.div.full")
# NVVM lane masks: mask = (1 << (lane + shift)) - 1 [inverted]; see _lanemask.
NVVM_LANEMASKS: dict[str, tuple[int, bool]] = {
    "llvm.nvvm.read.ptx.sreg.lanemask.lt": (0, False),
    "llvm.nvvm.read.ptx.sreg.lanemask.le": (1, False),
    "llvm.nvvm.read.ptx.sreg.lanemask.ge": (0, True),
    "llvm.nvvm.read.ptx.sreg.lanemask.gt": (1, True),
}
# llvm.vector.reduce.<op> -> the scalar instruction or LLVM intrinsic combining two lanes.
VECTOR_REDUCE: dict[str, str] = {"add": "add", "mul": "mul", "and": "and", "or": "or",
                                 "xor": "xor", "fadd": "fadd", "fmul": "fmul",
                                 "smax": "smax", "smin": "smin", "umax": "umax", "umin": "umin",
                                 "fmax": "maxnum", "fmin": "minnum", "fmaximum": "maximum",
                                 "fminimum": "minimum"}

# OpenCL 2.0 C11-style atomics (demangled name) -> atomicrmw operation or special.
OPENCL_C11_ATOMICS: dict[str, str] = {
    "atomic_fetch_add": "add", "atomic_fetch_sub": "sub", "atomic_fetch_or": "or",
    "atomic_fetch_xor": "xor", "atomic_fetch_and": "and", "atomic_fetch_min": "min",
    "atomic_fetch_max": "max", "atomic_exchange": "xchg", "atomic_load": "load",
    "atomic_store": "store", "atomic_init": "init",
    "atomic_compare_exchange_strong": "cmpxchg_ptr", "atomic_compare_exchange_weak":
    "cmpxchg_ptr",
}
# OpenCL relational builtins -> fcmp predicate (scalar result int 0/1, vector -1/0).
OPENCL_RELATIONAL: dict[str, str] = {
    "isequal": "oeq", "isnotequal": "une", "isgreater": "ogt", "isgreaterequal": "oge",
    "isless": "olt", "islessequal": "ole", "islessgreater": "one", "isordered": "ord",
    "isunordered": "uno",
}

# OpenCL 1.x atomic builtins (by demangled name) -> atomicrmw operation (or cmpxchg).
OPENCL_ATOMICS: dict[str, str] = {
    "atomic_add": "add", "atomic_sub": "sub", "atomic_xchg": "xchg", "atomic_min": "min",
    "atomic_max": "max", "atomic_and": "and", "atomic_or": "or", "atomic_xor": "xor",
    "atomic_inc": "inc", "atomic_dec": "dec", "atomic_cmpxchg": "cmpxchg",
    "atom_add": "add", "atom_sub": "sub", "atom_xchg": "xchg", "atom_min": "min",
    "atom_max": "max", "atom_and": "and", "atom_or": "or", "atom_xor": "xor",
    "atom_inc": "inc", "atom_dec": "dec", "atom_cmpxchg": "cmpxchg",
}

# ------------------------------------------------------------------ SIMD groups

# llvm.nvvm.shfl.sync.<mode>.<type>: mode -> the AIR shuffle for a whole 32-wide warp.
NVVM_SHUFFLES: dict[str, str] = {"down": "simd_shuffle_down", "up": "simd_shuffle_up",
                                 "bfly": "simd_shuffle_xor", "idx": "simd_shuffle"}
# OpenCL sub-group collectives (demangled name) -> AIR SIMD operation.
OPENCL_SUBGROUP: dict[str, str] = {
    "sub_group_reduce_add": "simd_sum", "sub_group_reduce_min": "simd_min",
    "sub_group_reduce_max": "simd_max", "sub_group_scan_inclusive_add":
    "simd_prefix_inclusive_sum", "sub_group_scan_exclusive_add": "simd_prefix_exclusive_sum",
    "sub_group_broadcast": "simd_broadcast", "sub_group_shuffle": "simd_shuffle",
    "sub_group_shuffle_xor": "simd_shuffle_xor", "sub_group_shuffle_down":
    "simd_shuffle_down", "sub_group_shuffle_up": "simd_shuffle_up",
    "sub_group_any": "simd_any", "sub_group_all": "simd_all",
}

# cl_khr_subgroup_ballot builtins, expanded by rewrite/opencl_ballot.py (loaded when called)
OPENCL_BALLOT = frozenset({
    "sub_group_ballot", "sub_group_inverse_ballot", "sub_group_ballot_bit_extract",
    "sub_group_ballot_bit_count", "sub_group_ballot_inclusive_scan",
    "sub_group_ballot_exclusive_scan", "sub_group_ballot_find_lsb", "sub_group_ballot_find_msb",
    *(f"get_sub_group_{w}_mask" for w in ("eq", "ge", "gt", "le", "lt"))})

# OpenCL builtins expanded by rewrite/opencl_common.py (loaded only when one is called)
OPENCL_COMMON = frozenset({
    "length", "distance", "normalize", "fast_length", "fast_distance", "fast_normalize",
    "cross", "degrees", "radians", "step", "smoothstep", "copysign", "fdim", "maxmag",
    "minmag", "any", "all", "bitselect", "upsample"})
