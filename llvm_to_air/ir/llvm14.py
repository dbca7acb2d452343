"""What LLVM 14 can express, as tables: attributes, flags, atomic operations, intrinsic names.

The LLVM 14 writer consults these tables to turn modern IR into LLVM 14 IR.
Everything here is data; the writer holds the logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Enum, integer and type attributes LLVM 14 knows (llvm/IR/Attributes.td, release/14.x).
LLVM14_ATTRIBUTES = frozenset("""
alwaysinline argmemonly builtin cold convergent disable_sanitizer_instrumentation hot immarg
inaccessiblemem_or_argmemonly inaccessiblememonly inlinehint inreg jumptable minsize
mustprogress naked nest noalias nobuiltin nocallback nocapture nocf_check noduplicate nofree
noimplicitfloat noinline nomerge nonlazybind nonnull noprofile norecurse noredzone noreturn
nosanitize_coverage nosync noundef nounwind null_pointer_is_valid optforfuzzing optnone optsize
readnone readonly returned returns_twice safestack sanitize_address sanitize_hwaddress
sanitize_memory sanitize_memtag sanitize_thread shadowcallstack signext speculatable
speculative_load_hardening ssp sspreq sspstrong strictfp swiftasync swifterror swiftself
uwtable willreturn writeonly zeroext
align alignstack allocsize dereferenceable dereferenceable_or_null vscale_range
byref byval elementtype inalloca preallocated sret
""".split())

# Instruction flags LLVM 14 prints, per opcode family.
WRAP_FLAGS = frozenset({"nuw", "nsw"})
FAST_MATH_FLAGS = frozenset({"fast", "nnan", "ninf", "nsz", "arcp", "contract", "afn", "reassoc"})
ALLOWED_FLAGS: dict[str, frozenset[str]] = {
    "add": WRAP_FLAGS, "sub": WRAP_FLAGS, "mul": WRAP_FLAGS, "shl": WRAP_FLAGS,
    "udiv": frozenset({"exact"}), "sdiv": frozenset({"exact"}),
    "lshr": frozenset({"exact"}), "ashr": frozenset({"exact"}),
    "fadd": FAST_MATH_FLAGS, "fsub": FAST_MATH_FLAGS, "fmul": FAST_MATH_FLAGS,
    "fdiv": FAST_MATH_FLAGS, "frem": FAST_MATH_FLAGS, "fneg": FAST_MATH_FLAGS,
    "fcmp": FAST_MATH_FLAGS, "call": FAST_MATH_FLAGS, "select": FAST_MATH_FLAGS,
    "phi": FAST_MATH_FLAGS,
}

# atomicrmw operations LLVM 14 has.
LLVM14_ATOMICRMW_OPS = frozenset({"xchg", "add", "sub", "and", "nand", "or", "xor", "max", "min",
                                  "umax", "umin", "fadd", "fsub"})

# memory(...) locations and what LLVM 14 calls the corresponding "only" attribute.
_MEMORY_ONLY = {
    frozenset(): None,
    frozenset({"argmem"}): "argmemonly",
    frozenset({"inaccessiblemem"}): "inaccessiblememonly",
    frozenset({"argmem", "inaccessiblemem"}): "inaccessiblemem_or_argmemonly",
}
_MEMORY_ALL_LOCATIONS = frozenset({"argmem", "inaccessiblemem", "other", "errnomem",
                                   "target_mem0", "target_mem1"})


def memory_to_legacy(spec: str) -> list[str]:
    """``memory(argmem: read)`` -> ``["argmemonly", "readonly"]``; the closest sound legacy form.

    A location set LLVM 14 cannot name gives no location attribute (any memory),
    which is sound because it claims less than the input did.
    """
    body = spec[spec.index("(") + 1:spec.rindex(")")].strip()
    default_mode = "none"
    modes: dict[str, str] = {}
    for part in (p.strip() for p in body.split(",") if p.strip()):
        if ":" in part:
            loc, mode = (s.strip() for s in part.split(":", 1))
            modes[loc] = mode
        else:
            default_mode = part
    for loc in _MEMORY_ALL_LOCATIONS:
        modes.setdefault(loc, default_mode)
    accessed = frozenset(loc for loc, mode in modes.items() if mode != "none")
    used_modes = {modes[loc] for loc in accessed}
    out: list[str] = []
    only = _MEMORY_ONLY.get(accessed, "")
    if accessed and only:
        out.append(only)
    if not accessed:
        out.append("readnone")
    elif used_modes == {"read"}:
        out.append("readonly")
    elif used_modes == {"write"}:
        out.append("writeonly")
    return out


def downgrade_attribute(attr: str) -> list[str]:
    """One modern attribute spelling -> the LLVM 14 spellings that say the same or less."""
    if attr.startswith('"'):
        return [attr]
    word = re.split(r"[ (]", attr, maxsplit=1)[0]
    if word == "memory":
        return memory_to_legacy(attr)
    if word == "captures":
        return ["nocapture"] if attr.replace(" ", "") == "captures(none)" else []
    if word == "uwtable":
        return ["uwtable"]
    if word in LLVM14_ATTRIBUTES:
        return [attr]
    return []  # newer hints (range, nofpclass, writable, ...) are dropped: they only add facts


def downgrade_attributes(attrs: list[str]) -> list[str]:
    """Downgrade a list of attributes, de-duplicated, in a canonical order."""
    out: set[str] = set()
    for attr in attrs:
        out.update(downgrade_attribute(attr))
    return sorted(out, key=_attribute_sort_key)


def _attribute_sort_key(attr: str) -> tuple[int, str]:
    return (1 if attr.startswith('"') else 0, attr)


# ---------------------------------------------------------------------- intrinsics

# Intrinsics whose overloaded pointer parameter's pointee must be another
# overloaded type (LLVM 14's LLVMAnyPointerType<LLVMMatchType<N>>). The value
# names which type: "ret" (the return type), "elem:ret" (its vector element),
# or an argument index.
POINTEE_RULES: dict[str, str] = {
    "llvm.masked.load.": "ret",
    "llvm.masked.store.": "arg0",
    "llvm.masked.expandload.": "elem:ret",
    "llvm.masked.compressstore.": "elem:arg0",
}

# Modern overloaded intrinsics that LLVM 14 spells without the pointer suffix.
UNSUFFIXED_IN_LLVM14 = ("llvm.stacksave", "llvm.stackrestore", "llvm.va_start", "llvm.va_end",
                        "llvm.va_copy")

# Intrinsics that took an extra leading i64 size in LLVM 14.
@dataclass(frozen=True)
class RestoredOperand:
    """An operand LLVM 22 dropped from an intrinsic that LLVM 14 still takes.

    Applies to a declaration whose name matches ``name`` and that has
    ``modern_arity`` parameters; LLVM 14 wants ``type`` (an immarg) at
    ``position``. ``source`` says where its value comes from: ``alloca-size``
    (the byte size of the alloca passed as the first operand, -1 if unknown)
    or ``align-of-N`` (the ``align`` attribute on operand N, which LLVM 22
    uses instead; that attribute is then dropped).
    """

    name: re.Pattern[str]
    modern_arity: int
    position: int
    type: str
    source: str


RESTORED_OPERANDS = (
    RestoredOperand(re.compile(r"llvm\.lifetime\.(start|end)\.p\d+\Z"), 1, 0, "i64",
                    "alloca-size"),
    RestoredOperand(re.compile(r"llvm\.masked\.(load|gather)\."), 3, 1, "i32", "align-of-0"),
    RestoredOperand(re.compile(r"llvm\.masked\.(store|scatter)\."), 3, 2, "i32", "align-of-1"),
)


def restored_operand(name: str, arity: int) -> RestoredOperand | None:
    for rule in RESTORED_OPERANDS:
        if rule.modern_arity == arity and rule.name.match(name):
            return rule
    return None

# Debug info when kept: node kinds LLVM 14 has no parser for, and fields it does not know.
DEBUG_KINDS_UNKNOWN_TO_LLVM14 = frozenset({"DIAssignID"})
DEBUG_FIELDS_UNKNOWN_TO_LLVM14 = frozenset({
    "atomGroup", "atomRank", "keyInstructions", "num_extra_inhabitants", "specification",
    "enumKind", "ptrAuthData", "sourceLanguageName", "sourceLanguageVersion", "dataSize",
    "annotations", "targetFuncName", "nameTableKind:Apple",
})

POINTER_SUFFIX_RE = re.compile(r"\.p(\d+)(?=\.|$)")
