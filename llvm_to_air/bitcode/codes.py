"""Block ids, record codes and encodings of LLVM 14 bitcode, as tables.

Numbers follow ``llvm/Bitcode/LLVMBitCodes.h`` of LLVM 14 (package
llvm-14-dev) and the encoders in LLVM 14's ``BitcodeWriter.cpp``; the
in-memory attribute order follows LLVM 14's ``llvm/IR/Attributes.inc``.
"""

from __future__ import annotations

# ------------------------------------------------------------------ block ids

MODULE_BLOCK_ID = 8
PARAMATTR_BLOCK_ID = 9
PARAMATTR_GROUP_BLOCK_ID = 10
CONSTANTS_BLOCK_ID = 11
FUNCTION_BLOCK_ID = 12
IDENTIFICATION_BLOCK_ID = 13
VALUE_SYMTAB_BLOCK_ID = 14
METADATA_BLOCK_ID = 15
METADATA_ATTACHMENT_ID = 16
TYPE_BLOCK_ID_NEW = 17
USELIST_BLOCK_ID = 18
OPERAND_BUNDLE_TAGS_BLOCK_ID = 21
METADATA_KIND_BLOCK_ID = 22
STRTAB_BLOCK_ID = 23
SYMTAB_BLOCK_ID = 25
SYNC_SCOPE_NAMES_BLOCK_ID = 26

# --------------------------------------------------------------- record codes

IDENTIFICATION_CODE_STRING = 1
IDENTIFICATION_CODE_EPOCH = 2
BITCODE_CURRENT_EPOCH = 0

MODULE_CODE_VERSION = 1
MODULE_CODE_TRIPLE = 2
MODULE_CODE_DATALAYOUT = 3
MODULE_CODE_ASM = 4
MODULE_CODE_SECTIONNAME = 5
MODULE_CODE_GLOBALVAR = 7
MODULE_CODE_FUNCTION = 8
MODULE_CODE_GCNAME = 11
MODULE_CODE_COMDAT = 12
MODULE_CODE_VSTOFFSET = 13
MODULE_CODE_ALIAS = 14
MODULE_CODE_SOURCE_FILENAME = 16
MODULE_CODE_IFUNC = 18

PARAMATTR_CODE_ENTRY = 2
PARAMATTR_GRP_CODE_ENTRY = 3

TYPE_CODE_NUMENTRY = 1
TYPE_CODE_VOID = 2
TYPE_CODE_FLOAT = 3
TYPE_CODE_DOUBLE = 4
TYPE_CODE_LABEL = 5
TYPE_CODE_OPAQUE = 6
TYPE_CODE_INTEGER = 7
TYPE_CODE_POINTER = 8
TYPE_CODE_HALF = 10
TYPE_CODE_ARRAY = 11
TYPE_CODE_VECTOR = 12
TYPE_CODE_X86_FP80 = 13
TYPE_CODE_FP128 = 14
TYPE_CODE_PPC_FP128 = 15
TYPE_CODE_METADATA = 16
TYPE_CODE_STRUCT_ANON = 18
TYPE_CODE_STRUCT_NAME = 19
TYPE_CODE_STRUCT_NAMED = 20
TYPE_CODE_FUNCTION = 21
TYPE_CODE_TOKEN = 22
TYPE_CODE_BFLOAT = 23
TYPE_CODE_OPAQUE_POINTER = 25

OPERAND_BUNDLE_TAG = 1
SYNC_SCOPE_NAME = 1

VST_CODE_ENTRY = 1
VST_CODE_BBENTRY = 2
VST_CODE_FNENTRY = 3

METADATA_VALUE = 2
METADATA_NODE = 3
METADATA_NAME = 4
METADATA_DISTINCT_NODE = 5
METADATA_KIND = 6
METADATA_LOCATION = 7
METADATA_NAMED_NODE = 10
METADATA_ATTACHMENT = 11
METADATA_GENERIC_DEBUG = 12
METADATA_STRINGS = 35
METADATA_GLOBAL_DECL_ATTACHMENT = 36
METADATA_INDEX_OFFSET = 38
METADATA_INDEX = 39

CST_CODE_SETTYPE = 1
CST_CODE_NULL = 2
CST_CODE_UNDEF = 3
CST_CODE_INTEGER = 4
CST_CODE_WIDE_INTEGER = 5
CST_CODE_FLOAT = 6
CST_CODE_AGGREGATE = 7
CST_CODE_STRING = 8
CST_CODE_CSTRING = 9
CST_CODE_CE_BINOP = 10
CST_CODE_CE_CAST = 11
CST_CODE_CE_GEP = 12
CST_CODE_CE_SELECT = 13
CST_CODE_CE_EXTRACTELT = 14
CST_CODE_CE_INSERTELT = 15
CST_CODE_CE_SHUFFLEVEC = 16
CST_CODE_CE_CMP = 17
CST_CODE_CE_SHUFVEC_EX = 19
CST_CODE_CE_INBOUNDS_GEP = 20
CST_CODE_DATA = 22
CST_CODE_CE_UNOP = 25
CST_CODE_POISON = 26
CST_CODE_INLINEASM = 30

FUNC_CODE_DECLAREBLOCKS = 1
FUNC_CODE_INST_BINOP = 2
FUNC_CODE_INST_CAST = 3
FUNC_CODE_INST_EXTRACTELT = 6
FUNC_CODE_INST_INSERTELT = 7
FUNC_CODE_INST_SHUFFLEVEC = 8
FUNC_CODE_INST_RET = 10
FUNC_CODE_INST_BR = 11
FUNC_CODE_INST_SWITCH = 12
FUNC_CODE_INST_UNREACHABLE = 15
FUNC_CODE_INST_PHI = 16
FUNC_CODE_INST_ALLOCA = 19
FUNC_CODE_INST_LOAD = 20
FUNC_CODE_INST_EXTRACTVAL = 26
FUNC_CODE_INST_INSERTVAL = 27
FUNC_CODE_INST_CMP2 = 28
FUNC_CODE_INST_VSELECT = 29
FUNC_CODE_INST_CALL = 34
FUNC_CODE_INST_FENCE = 36
FUNC_CODE_INST_LOADATOMIC = 41
FUNC_CODE_INST_GEP = 43
FUNC_CODE_INST_STORE = 44
FUNC_CODE_INST_STOREATOMIC = 45
FUNC_CODE_INST_CMPXCHG = 46
FUNC_CODE_OPERAND_BUNDLE = 55
FUNC_CODE_INST_UNOP = 56
FUNC_CODE_INST_FREEZE = 58
FUNC_CODE_INST_ATOMICRMW = 59  # [ptrty, ptr, valty, val, op, vol, ordering, ssid, align]

STRTAB_BLOB = 1
SYMTAB_BLOB = 1

# ------------------------------------------------------------ call record bits

CALL_TAIL = 0
CALL_CCONV = 1
CALL_MUSTTAIL = 14
CALL_EXPLICIT_TYPE = 15
CALL_NOTAIL = 16
CALL_FMF = 17

# ------------------------------------------------------------------ encodings

CAST_OPCODES = {
    "trunc": 0, "zext": 1, "sext": 2, "fptoui": 3, "fptosi": 4, "uitofp": 5, "sitofp": 6,
    "fptrunc": 7, "fpext": 8, "ptrtoint": 9, "inttoptr": 10, "bitcast": 11,
    "addrspacecast": 12,
}

BINARY_OPCODES = {
    "add": 0, "fadd": 0, "sub": 1, "fsub": 1, "mul": 2, "fmul": 2, "udiv": 3, "sdiv": 4,
    "fdiv": 4, "urem": 5, "srem": 6, "frem": 6, "shl": 7, "lshr": 8, "ashr": 9, "and": 10,
    "or": 11, "xor": 12,
}

UNARY_OPCODES = {"fneg": 0}

RMW_OPERATIONS = {
    "xchg": 0, "add": 1, "sub": 2, "and": 3, "nand": 4, "or": 5, "xor": 6, "max": 7,
    "min": 8, "umax": 9, "umin": 10, "fadd": 11, "fsub": 12,
}

ORDERINGS = {
    "notatomic": 0, "unordered": 1, "monotonic": 2, "acquire": 3, "release": 4,
    "acq_rel": 5, "seq_cst": 6,
}

PREDICATES = {
    # fcmp
    "false": 0, "oeq": 1, "ogt": 2, "oge": 3, "olt": 4, "ole": 5, "one": 6, "ord": 7,
    "uno": 8, "ueq": 9, "ugt": 10, "uge": 11, "ult": 12, "ule": 13, "une": 14, "true": 15,
}
ICMP_PREDICATES = {
    "eq": 32, "ne": 33, "ugt": 34, "uge": 35, "ult": 36, "ule": 37, "sgt": 38, "sge": 39,
    "slt": 40, "sle": 41,
}

# Optimization flags: overflowing binary operators, exact operators, fast-math flags.
OBO_FLAGS = {"nuw": 1 << 0, "nsw": 1 << 1}
EXACT_FLAGS = {"exact": 1 << 0}
FAST_MATH_FLAGS = {
    "nnan": 1 << 1, "ninf": 1 << 2, "nsz": 1 << 3, "arcp": 1 << 4, "contract": 1 << 5,
    "afn": 1 << 6, "reassoc": 1 << 7,
    "fast": (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7),
}
OBO_OPCODES = frozenset({"add", "sub", "mul", "shl"})
EXACT_OPCODES = frozenset({"udiv", "sdiv", "lshr", "ashr"})

LINKAGES = {
    "": 0, "external": 0, "weak": 16, "appending": 2, "internal": 3, "linkonce": 18,
    "extern_weak": 7, "common": 8, "private": 9, "weak_odr": 17, "linkonce_odr": 19,
    "available_externally": 12,
}
LOCAL_LINKAGES = frozenset({"internal", "private"})

VISIBILITIES = {"default": 0, "hidden": 1, "protected": 2}
DLL_STORAGE = {"dllimport": 1, "dllexport": 2}
UNNAMED_ADDR = {"unnamed_addr": 1, "local_unnamed_addr": 2}
THREAD_LOCAL = {
    "thread_local": 1, "thread_local(generaldynamic)": 1, "thread_local(localdynamic)": 2,
    "thread_local(initialexec)": 3, "thread_local(localexec)": 4,
}

COMDAT_SELECTION = {"any": 1, "exactmatch": 2, "largest": 3, "nodeduplicate": 4,
                    "noduplicates": 4, "samesize": 5}

CALLING_CONVENTIONS = {
    "": 0, "ccc": 0, "fastcc": 8, "coldcc": 9, "ghccc": 10, "webkit_jscc": 12, "anyregcc": 13,
    "preserve_mostcc": 14, "preserve_allcc": 15, "swiftcc": 16, "cxx_fast_tlscc": 17,
    "tailcc": 18, "cfguard_checkcc": 19, "swifttailcc": 20, "x86_stdcallcc": 64,
    "x86_fastcallcc": 65, "arm_apcscc": 66, "arm_aapcscc": 67, "arm_aapcs_vfpcc": 68,
    "msp430_intrcc": 69, "x86_thiscallcc": 70, "ptx_kernel": 71, "ptx_device": 72,
    "spir_func": 75, "spir_kernel": 76, "intel_ocl_bicc": 77, "x86_64_sysvcc": 78,
    "win64cc": 79, "x86_vectorcallcc": 80, "hhvmcc": 81, "hhvm_ccc": 82, "x86_intrcc": 83,
    "avr_intrcc": 84, "avr_signalcc": 85, "amdgpu_vs": 87, "amdgpu_gs": 88, "amdgpu_ps": 89,
    "amdgpu_cs": 90, "amdgpu_kernel": 91, "x86_regcallcc": 92, "amdgpu_hs": 93,
    "amdgpu_ls": 95, "amdgpu_es": 96, "aarch64_vector_pcs": 97, "amdgpu_gfx": 100,
}

FLOAT_TYPE_CODES = {
    "half": TYPE_CODE_HALF, "bfloat": TYPE_CODE_BFLOAT, "float": TYPE_CODE_FLOAT,
    "double": TYPE_CODE_DOUBLE, "x86_fp80": TYPE_CODE_X86_FP80, "fp128": TYPE_CODE_FP128,
    "ppc_fp128": TYPE_CODE_PPC_FP128,
}

# ------------------------------------------------------------------ attributes

# Bitcode attribute kind numbers (ATTR_KIND_*), LLVM 14.
ATTR_KIND_CODES = {
    "align": 1, "alwaysinline": 2, "byval": 3, "inlinehint": 4, "inreg": 5, "minsize": 6,
    "naked": 7, "nest": 8, "noalias": 9, "nobuiltin": 10, "nocapture": 11, "noduplicate": 12,
    "noimplicitfloat": 13, "noinline": 14, "nonlazybind": 15, "noredzone": 16, "noreturn": 17,
    "nounwind": 18, "optsize": 19, "readnone": 20, "readonly": 21, "returned": 22,
    "returns_twice": 23, "signext": 24, "alignstack": 25, "ssp": 26, "sspreq": 27,
    "sspstrong": 28, "sret": 29, "sanitize_address": 30, "sanitize_thread": 31,
    "sanitize_memory": 32, "uwtable": 33, "zeroext": 34, "builtin": 35, "cold": 36,
    "optnone": 37, "inalloca": 38, "nonnull": 39, "jumptable": 40, "dereferenceable": 41,
    "dereferenceable_or_null": 42, "convergent": 43, "safestack": 44, "argmemonly": 45,
    "swiftself": 46, "swifterror": 47, "norecurse": 48, "inaccessiblememonly": 49,
    "inaccessiblemem_or_argmemonly": 50, "allocsize": 51, "writeonly": 52, "speculatable": 53,
    "strictfp": 54, "sanitize_hwaddress": 55, "nocf_check": 56, "optforfuzzing": 57,
    "shadowcallstack": 58, "speculative_load_hardening": 59, "immarg": 60, "willreturn": 61,
    "nofree": 62, "nosync": 63, "sanitize_memtag": 64, "preallocated": 65, "nomerge": 66,
    "null_pointer_is_valid": 67, "noundef": 68, "byref": 69, "mustprogress": 70,
    "nocallback": 71, "hot": 72, "noprofile": 73, "vscale_range": 74, "swiftasync": 75,
    "nosanitize_coverage": 76, "elementtype": 77, "disable_sanitizer_instrumentation": 78,
}

# LLVM 14's in-memory Attribute::AttrKind order (enum attributes, then type
# attributes, then integer attributes, each alphabetical by TableGen name):
# attribute sets are sorted by it, so records list attributes in this order.
ATTR_MEMORY_ORDER = {name: i + 1 for i, name in enumerate("""
alwaysinline argmemonly builtin cold convergent disable_sanitizer_instrumentation hot immarg
inreg inaccessiblememonly inaccessiblemem_or_argmemonly inlinehint jumptable minsize
mustprogress naked nest noalias nobuiltin nocallback nocapture nocf_check noduplicate nofree
noimplicitfloat noinline nomerge noprofile norecurse noredzone noreturn nosanitize_coverage
nosync noundef nounwind nonlazybind nonnull null_pointer_is_valid optforfuzzing optsize
optnone readnone readonly returned returns_twice signext safestack sanitize_address
sanitize_hwaddress sanitize_memtag sanitize_memory sanitize_thread shadowcallstack
speculatable speculative_load_hardening ssp sspreq sspstrong strictfp swiftasync swifterror
swiftself uwtable willreturn writeonly zeroext
byref byval elementtype inalloca preallocated sret
align allocsize dereferenceable dereferenceable_or_null alignstack vscale_range
""".split())}

TYPE_ATTRS = frozenset({"byref", "byval", "elementtype", "inalloca", "preallocated", "sret"})
INT_ATTRS = frozenset({"align", "allocsize", "dereferenceable", "dereferenceable_or_null",
                       "alignstack", "vscale_range"})

# Attribute group record: how each attribute is tagged.
ATTR_ENCODING_ENUM = 0
ATTR_ENCODING_INT = 1
ATTR_ENCODING_STRING = 3
ATTR_ENCODING_STRING_VALUE = 4
ATTR_ENCODING_TYPE_NONE = 5
ATTR_ENCODING_TYPE = 6

# Attribute list index of function attributes (~0U); return is 0, parameter i is i + 1.
FUNCTION_INDEX = 0xFFFFFFFF

# ------------------------------------------------------------ context tables

# Metadata kinds every LLVM 14 context knows, by id (FixedMetadataKinds.def).
FIXED_METADATA_KINDS = (
    "dbg", "tbaa", "prof", "fpmath", "range", "tbaa.struct", "invariant.load", "alias.scope",
    "noalias", "nontemporal", "llvm.mem.parallel_loop_access", "nonnull", "dereferenceable",
    "dereferenceable_or_null", "make.implicit", "unpredictable", "invariant.group", "align",
    "llvm.loop", "type", "section_prefix", "absolute_symbol", "associated", "callees",
    "irr_loop", "llvm.access.group", "callback", "llvm.preserve.access.index",
    "vcall_visibility", "noundef", "annotation",
)

# The kind LLVM 14's StripDebugInfo registers (by clearing it by name on every
# instruction that carries metadata); it follows the module's own kinds.
STRIP_DEBUG_METADATA_KIND = "heapallocsite"

# Operand bundle tags every LLVM 14 context knows, by id.
FIXED_BUNDLE_TAGS = (
    "deopt", "funclet", "gc-transition", "cfguardtarget", "preallocated", "gc-live",
    "clang.arc.attachedcall",
)

# Synchronization scopes every context knows: "singlethread" is 0, the system scope ("") is 1.
FIXED_SYNC_SCOPES = ("singlethread", "")
SYNC_SCOPE_SYSTEM = 1

MODULE_VERSION = 2
