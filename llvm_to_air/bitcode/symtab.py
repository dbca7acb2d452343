"""The irsymtab blob of the SYMTAB_BLOCK (``llvm/Object/IRSymtab.h``, version 3).

LLVM 14's bitcode writer appends this symbol table (for linkers and LTO)
after the module whenever it can build one; Apple's modules carry it too.
All strings live in the shared string table, so building the symbol table
adds strings to the :class:`StringTable` the module records use.

Layout (little-endian u32 words; ``Str`` = offset, size into the string
table; ``Range`` = byte offset into the blob, element count)::

    Header   { Version=3, Producer:Str, Modules:Range, Comdats:Range,
               Symbols:Range, Uncommons:Range, TargetTriple:Str,
               SourceFileName:Str, COFFLinkerOpts:Str, DependentLibraries:Range }
    Module   { Begin, End, UncBegin }
    Comdat   { Name:Str, SelectionKind }
    Symbol   { Name:Str, IRName:Str, ComdatIndex, Flags }
    Uncommon { CommonSize, CommonAlign, COFFWeakExternFallbackName:Str, SectionName:Str }
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from llvm_to_air.bitcode.constants import EXPR, ConstantPool, WConst
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.model import Function, GlobalAlias, GlobalValue, GlobalVariable, Module

SYMTAB_VERSION = 3
# irsymtab's kExpectedProducerName in LLVM 14.0.6 (LLVM_VERSION_STRING)
DEFAULT_PRODUCER = "14.0.6"

# storage::Symbol::FlagBits
FB_HAS_UNCOMMON = 2
FB_UNDEFINED = 3
FB_WEAK = 4
FB_COMMON = 5
FB_INDIRECT = 6
FB_USED = 7
FB_TLS = 8
FB_MAY_OMIT = 9
FB_GLOBAL = 10
FB_FORMAT_SPECIFIC = 11
FB_UNNAMED_ADDR = 12
FB_EXECUTABLE = 13

# Comdat::SelectionKind, in-memory numbering
_SELECTION_KIND = {"any": 0, "exactmatch": 1, "largest": 2, "nodeduplicate": 3,
                   "noduplicates": 3, "samesize": 4}
_VISIBILITY = {"hidden": 1, "protected": 2}

# irsymtab marks a symbol "used" when its name is one of LLVM 14's runtime
# library calls (llvm/IR/RuntimeLibcalls.def) or a stack-protector global;
# libcalls LLVM 14 lists without a name make the empty name match too, so
# every unnamed global is "used".
_PRESERVED_SYMBOLS = frozenset("""
_Unwind_Resume __adddf3 __addsf3 __addtf3 __addxf3 __ashldi3 __ashlhi3 __ashlsi3 __ashlti3
__ashrdi3 __ashrhi3 __ashrsi3 __ashrti3 __atomic_compare_exchange
__atomic_compare_exchange_1 __atomic_compare_exchange_16 __atomic_compare_exchange_2
__atomic_compare_exchange_4 __atomic_compare_exchange_8 __atomic_exchange
__atomic_exchange_1 __atomic_exchange_16 __atomic_exchange_2 __atomic_exchange_4
__atomic_exchange_8 __atomic_fetch_add_1 __atomic_fetch_add_16 __atomic_fetch_add_2
__atomic_fetch_add_4 __atomic_fetch_add_8 __atomic_fetch_and_1 __atomic_fetch_and_16
__atomic_fetch_and_2 __atomic_fetch_and_4 __atomic_fetch_and_8 __atomic_fetch_nand_1
__atomic_fetch_nand_16 __atomic_fetch_nand_2 __atomic_fetch_nand_4 __atomic_fetch_nand_8
__atomic_fetch_or_1 __atomic_fetch_or_16 __atomic_fetch_or_2 __atomic_fetch_or_4
__atomic_fetch_or_8 __atomic_fetch_sub_1 __atomic_fetch_sub_16 __atomic_fetch_sub_2
__atomic_fetch_sub_4 __atomic_fetch_sub_8 __atomic_fetch_xor_1 __atomic_fetch_xor_16
__atomic_fetch_xor_2 __atomic_fetch_xor_4 __atomic_fetch_xor_8 __atomic_load __atomic_load_1
__atomic_load_16 __atomic_load_2 __atomic_load_4 __atomic_load_8 __atomic_store
__atomic_store_1 __atomic_store_16 __atomic_store_2 __atomic_store_4 __atomic_store_8
__clzdi2 __clzsi2 __clzti2 __cxa_end_cleanup __divdf3 __divdi3 __divhi3 __divqi3 __divsf3
__divsi3 __divtf3 __divti3 __divxf3 __eqdf2 __eqsf2 __eqtf2 __exp2_finite __exp2f_finite
__exp2l_finite __exp_finite __expf_finite __expl_finite __extenddftf2 __extendhfdf2
__extendhftf2 __extendhfxf2 __extendkftf2 __extendsfdf2 __extendsftf2 __extendxftf2
__fixdfdi __fixdfsi __fixdfti __fixhfdi __fixhfsi __fixhfti __fixsfdi __fixsfsi __fixsfti
__fixtfdi __fixtfsi __fixtfti __fixunsdfdi __fixunsdfsi __fixunsdfti __fixunshfdi
__fixunshfsi __fixunshfti __fixunssfdi __fixunssfsi __fixunssfti __fixunstfdi __fixunstfsi
__fixunstfti __fixunsxfdi __fixunsxfsi __fixunsxfti __fixxfdi __fixxfsi __fixxfti
__floatdidf __floatdihf __floatdisf __floatditf __floatdixf __floatsidf __floatsihf
__floatsisf __floatsitf __floatsixf __floattidf __floattihf __floattisf __floattitf
__floattixf __floatundidf __floatundihf __floatundisf __floatunditf __floatundixf
__floatunsidf __floatunsihf __floatunsisf __floatunsitf __floatunsixf __floatuntidf
__floatuntihf __floatuntisf __floatuntitf __floatuntixf __gcc_dtoq __gcc_itoq __gcc_qadd
__gcc_qdiv __gcc_qeq __gcc_qge __gcc_qgt __gcc_qle __gcc_qlt __gcc_qmul __gcc_qne __gcc_qsub
__gcc_qtod __gcc_qtos __gcc_qtou __gcc_qunord __gcc_stoq __gcc_utoq __gedf2 __gesf2 __getf2
__gnu_f2h_ieee __gnu_h2f_ieee __gtdf2 __gtsf2 __gttf2 __ledf2 __lesf2 __letf2
__llvm_deoptimize __llvm_memcpy_element_unordered_atomic_1
__llvm_memcpy_element_unordered_atomic_16 __llvm_memcpy_element_unordered_atomic_2
__llvm_memcpy_element_unordered_atomic_4 __llvm_memcpy_element_unordered_atomic_8
__llvm_memmove_element_unordered_atomic_1 __llvm_memmove_element_unordered_atomic_16
__llvm_memmove_element_unordered_atomic_2 __llvm_memmove_element_unordered_atomic_4
__llvm_memmove_element_unordered_atomic_8 __llvm_memset_element_unordered_atomic_1
__llvm_memset_element_unordered_atomic_16 __llvm_memset_element_unordered_atomic_2
__llvm_memset_element_unordered_atomic_4 __llvm_memset_element_unordered_atomic_8
__log10_finite __log10f_finite __log10l_finite __log2_finite __log2f_finite __log2l_finite
__log_finite __logf_finite __logl_finite __lshrdi3 __lshrhi3 __lshrsi3 __lshrti3 __ltdf2
__ltsf2 __lttf2 __moddi3 __modhi3 __modqi3 __modsi3 __modti3 __muldf3 __muldi3 __mulhi3
__mulodi4 __mulosi4 __muloti4 __mulqi3 __mulsf3 __mulsi3 __multf3 __multi3 __mulxf3 __nedf2
__negdi2 __negsi2 __nesf2 __netf2 __pow_finite __powf_finite __powidf2 __powisf2 __powitf2
__powixf2 __powl_finite __stack_chk_fail __subdf3 __subsf3 __subtf3 __subxf3
__sync_fetch_and_add_1 __sync_fetch_and_add_16 __sync_fetch_and_add_2 __sync_fetch_and_add_4
__sync_fetch_and_add_8 __sync_fetch_and_and_1 __sync_fetch_and_and_16 __sync_fetch_and_and_2
__sync_fetch_and_and_4 __sync_fetch_and_and_8 __sync_fetch_and_max_1 __sync_fetch_and_max_16
__sync_fetch_and_max_2 __sync_fetch_and_max_4 __sync_fetch_and_max_8 __sync_fetch_and_min_1
__sync_fetch_and_min_16 __sync_fetch_and_min_2 __sync_fetch_and_min_4 __sync_fetch_and_min_8
__sync_fetch_and_nand_1 __sync_fetch_and_nand_16 __sync_fetch_and_nand_2
__sync_fetch_and_nand_4 __sync_fetch_and_nand_8 __sync_fetch_and_or_1 __sync_fetch_and_or_16
__sync_fetch_and_or_2 __sync_fetch_and_or_4 __sync_fetch_and_or_8 __sync_fetch_and_sub_1
__sync_fetch_and_sub_16 __sync_fetch_and_sub_2 __sync_fetch_and_sub_4 __sync_fetch_and_sub_8
__sync_fetch_and_umax_1 __sync_fetch_and_umax_16 __sync_fetch_and_umax_2
__sync_fetch_and_umax_4 __sync_fetch_and_umax_8 __sync_fetch_and_umin_1
__sync_fetch_and_umin_16 __sync_fetch_and_umin_2 __sync_fetch_and_umin_4
__sync_fetch_and_umin_8 __sync_fetch_and_xor_1 __sync_fetch_and_xor_16
__sync_fetch_and_xor_2 __sync_fetch_and_xor_4 __sync_fetch_and_xor_8
__sync_lock_test_and_set_1 __sync_lock_test_and_set_16 __sync_lock_test_and_set_2
__sync_lock_test_and_set_4 __sync_lock_test_and_set_8 __sync_val_compare_and_swap_1
__sync_val_compare_and_swap_16 __sync_val_compare_and_swap_2 __sync_val_compare_and_swap_4
__sync_val_compare_and_swap_8 __truncdfhf2 __truncdfsf2 __trunctfdf2 __trunctfhf2
__trunctfkf2 __trunctfsf2 __trunctfxf2 __truncxfdf2 __truncxfhf2 __truncxfsf2 __udivdi3
__udivhi3 __udivqi3 __udivsi3 __udivti3 __umoddi3 __umodhi3 __umodqi3 __umodsi3 __umodti3
__unorddf2 __unordsf2 __unordtf2 cbrt cbrtf cbrtl ceil ceilf ceill copysign copysignf
copysignl cos cosf cosl exp exp2 exp2f exp2l expf expl floor floorf floorl fma fmaf fmal
fmax fmaxf fmaxl fmin fminf fminl fmod fmodf fmodl llrint llrintf llrintl llround llroundf
llroundl log log10 log10f log10l log2 log2f log2l logf logl lrint lrintf lrintl lround
lroundf lroundl memcpy memmove memset nearbyint nearbyintf nearbyintl pow powf powl rint
rintf rintl round roundeven roundevenf roundevenl roundf roundl sin sinf sinl sqrt sqrtf
sqrtl trunc truncf truncl
__ssp_canary_word __stack_chk_guard __security_cookie
""".split()) | {""}

# DataLayout mangling mode -> (global prefix, private global prefix)
_MANGLING = {"e": ("", ".L"), "m": ("", "$"), "o": ("_", "L"), "w": ("", ".L"),
             "x": ("_", "L"), "l": ("", "@"), "a": ("", "L..")}


class StringTable:
    """LLVM's StringTableBuilder in RAW mode: each distinct string is stored once, in order."""

    def __init__(self) -> None:
        self._offsets: dict[bytes, int] = {}
        self._data = bytearray()

    def add(self, text: bytes) -> int:
        """Offset of ``text`` (added at the end the first time it is seen)."""
        offset = self._offsets.get(text)
        if offset is None:
            offset = len(self._data)
            self._offsets[text] = offset
            self._data += text
        return offset

    def getvalue(self) -> bytes:
        return bytes(self._data)


@dataclass
class _Symbol:
    """One SYMTAB entry: name and IR name as (offset, size) in the string table, comdat
    index and symbol flags."""

    name: tuple[int, int]
    ir_name: tuple[int, int]
    comdat: int
    flags: int


def name_bytes(gv: GlobalValue) -> bytes:
    """The IR name of a global value as bytes; numbered (unnamed) globals have the empty name."""
    if gv.name.isdigit() and gv.name.isascii():
        return b""
    return gv.name.encode("utf-8", "surrogateescape")


class _Builder:
    def __init__(self, module: Module, strtab: StringTable, pool: ConstantPool,
                 producer: str) -> None:
        self.module = module
        self.strtab = strtab
        self.pool = pool
        self.producer = producer
        self.symbols: list[_Symbol] = []
        self.uncommons: list[list[int]] = []
        self.comdats: list[tuple[tuple[int, int], int]] = []
        self.comdat_index: dict[str, int] = {}
        self.anon_ids: dict[int, int] = {}
        triple = module.triple or ""
        self.is_darwin = any(os in triple for os in ("apple", "darwin", "macos", "ios"))
        self.is_coff = "windows" in triple or "win32" in triple
        mode = _mangling_mode(module.datalayout or "")
        self.global_prefix, self.private_prefix = _MANGLING.get(mode, ("", ""))

    def str_(self, text: bytes) -> tuple[int, int]:
        return self.strtab.add(text), len(text)

    def build(self) -> bytes | None:
        header_producer = self.str_(self.producer.encode())
        header_triple = self.str_((self.module.triple or "").encode())
        source = self.module.source_filename
        if source is None:
            source = self.module.file  # LLVM: the module identifier
        header_source = self.str_(source.encode("utf-8", "surrogateescape"))
        if not self.module.datalayout:
            return None  # irsymtab::build fails: "input module has no datalayout"
        used = self._used_globals()
        values: list[GlobalValue] = [*self.module.functions, *self.module.globals,
                                     *self.module.aliases]
        dependent: list[tuple[int, int]] = []
        if not self.is_darwin and not self.is_coff:
            dependent = self._dependent_libraries()
        for gv in values:
            self._add_symbol(gv, used)
        coff_opts = self.str_(b"")
        return self._serialize(header_producer, header_triple, header_source, coff_opts,
                               dependent)

    def _dependent_libraries(self) -> list[tuple[int, int]]:
        from llvm_to_air.ir.model import MDNode, MDString

        out = []
        for nmd in self.module.named_metadata:
            if nmd.name != "llvm.dependent-libraries":
                continue
            for node in nmd.nodes:
                if isinstance(node, MDNode) and node.operands and \
                        isinstance(node.operands[0], MDString):
                    out.append(self.str_(node.operands[0].value))
        return out

    def _used_globals(self) -> set[int]:
        used: set[int] = set()
        for gv in self.module.globals:
            if gv.name not in ("llvm.used", "llvm.compiler.used") or gv.initializer is None:
                continue
            init = self.pool.get(gv.initializer)
            if isinstance(init, WConst):
                for op in init.ops:
                    base = _strip_pointer_casts(op)
                    if isinstance(base, GlobalValue):
                        used.add(id(base))
        return used

    def _mangled(self, gv: GlobalValue) -> bytes:
        raw = name_bytes(gv)
        private = gv.linkage == "private"
        if not raw:
            anon = self.anon_ids.setdefault(id(gv), len(self.anon_ids) + 1)
            raw = b"__unnamed_" + str(anon).encode()
        elif raw.startswith(b"\x01"):
            return raw[1:]
        prefix = self.private_prefix.encode() if private else b""
        return prefix + self.global_prefix.encode() + raw

    def _add_symbol(self, gv: GlobalValue, used: set[int]) -> None:
        name = self.str_(self._mangled(gv))
        flags = 0
        linkage = gv.linkage or "external"
        declaration = _is_declaration(gv)
        if declaration or linkage == "available_externally":
            flags |= 1 << FB_UNDEFINED
        base = _base_object(gv, self.pool)
        if isinstance(base, Function):
            flags |= 1 << FB_EXECUTABLE
        if isinstance(gv, GlobalAlias):
            flags |= 1 << FB_INDIRECT
        if linkage == "private":
            flags |= 1 << FB_FORMAT_SPECIFIC
        if linkage not in ("private", "internal"):
            flags |= 1 << FB_GLOBAL
        if linkage == "common":
            flags |= 1 << FB_COMMON
        if linkage in ("linkonce", "linkonce_odr", "weak", "weak_odr", "extern_weak"):
            flags |= 1 << FB_WEAK
        if gv.name.startswith("llvm."):
            flags |= 1 << FB_FORMAT_SPECIFIC
        elif isinstance(gv, GlobalVariable) and gv.section == "llvm.metadata":
            flags |= 1 << FB_FORMAT_SPECIFIC
        raw_name = name_bytes(gv)
        ir_name = self.str_(raw_name)
        if id(gv) in used or raw_name.decode("utf-8", "surrogateescape") in _PRESERVED_SYMBOLS:
            flags |= 1 << FB_USED
        if any(q.startswith("thread_local") for q in gv.qualifiers):
            flags |= 1 << FB_TLS
        if "unnamed_addr" in gv.qualifiers:
            flags |= 1 << FB_UNNAMED_ADDR
        if _can_omit(gv):
            flags |= 1 << FB_MAY_OMIT
        for word, bits in _VISIBILITY.items():
            if word in gv.qualifiers:
                flags |= bits
        uncommon: list[int] | None = None

        def get_uncommon() -> list[int]:
            nonlocal uncommon, flags
            if uncommon is None:
                flags |= 1 << FB_HAS_UNCOMMON
                coff = self.str_(b"")
                section = self.str_(b"")
                uncommon = [0, 0, *coff, *section]
                self.uncommons.append(uncommon)
            return uncommon

        if linkage == "common":
            if not isinstance(gv, GlobalVariable):
                raise CompileError("only variables can have common linkage")
            layout = DataLayout.parse(self.module.datalayout)
            unc = get_uncommon()
            unc[0] = layout.alloc_size(gv.value_type, self.module.structs)
            unc[1] = gv.align or 0
        if base is None:
            raise CompileError(f"cannot find the object alias @{gv.name} refers to")
        comdat = -1
        comdat_name = getattr(base, "comdat", None)
        if comdat_name is not None:
            comdat = self._comdat_index(comdat_name)
        section = getattr(base, "section", None)
        if section:
            unc = get_uncommon()
            unc[4], unc[5] = self.str_(section.encode("utf-8", "surrogateescape"))
        self.symbols.append(_Symbol(name, ir_name, comdat, flags))

    def _comdat_index(self, name: str) -> int:
        index = self.comdat_index.get(name)
        if index is None:
            index = len(self.comdats)
            self.comdat_index[name] = index
            kind = _SELECTION_KIND.get(self.module.comdats.get(name, "any"), 0)
            self.comdats.append((self.str_(name.encode("utf-8", "surrogateescape")), kind))
        return index

    def _serialize(self, producer: tuple[int, int], triple: tuple[int, int],
                   source: tuple[int, int], coff: tuple[int, int],
                   dependent: list[tuple[int, int]]) -> bytes:
        header_size = 19 * 4
        body = bytearray()

        def add_range(words_per_item: list[list[int]]) -> tuple[int, int]:
            offset = header_size + len(body)
            for words in words_per_item:
                body.extend(struct.pack(f"<{len(words)}I", *[w & 0xFFFFFFFF for w in words]))
            return offset, len(words_per_item)

        modules = add_range([[0, len(self.symbols), 0]])
        comdats = add_range([[*n, k] for n, k in self.comdats])
        symbols = add_range([[*s.name, *s.ir_name, s.comdat, s.flags] for s in self.symbols])
        uncommons = add_range(self.uncommons)
        deps = add_range([list(d) for d in dependent])
        header = [SYMTAB_VERSION, *producer, *modules, *comdats, *symbols, *uncommons,
                  *triple, *source, *coff, *deps]
        return struct.pack("<19I", *header) + bytes(body)


def build_symtab(module: Module, strtab: StringTable, pool: ConstantPool,
                 producer: str = DEFAULT_PRODUCER) -> bytes | None:
    """The irsymtab blob for ``module``, or None where LLVM 14 writes none.

    Like LLVM, it adds its strings to ``strtab`` even when it ends up
    writing nothing (a module without a datalayout); modules with
    module-level inline asm get none (LLVM would need the target's asm
    parser, which the AIR target does not have).
    """
    if module.module_asm:
        return None
    try:
        return _Builder(module, strtab, pool, producer).build()
    except CompileError:
        return None  # LLVM swallows irsymtab errors: the table is optional


def _mangling_mode(datalayout: str) -> str:
    for spec in datalayout.split("-"):
        if spec.startswith("m:") and len(spec) == 3:
            return spec[2]
    return ""


def _is_declaration(gv: GlobalValue) -> bool:
    if isinstance(gv, Function):
        return gv.is_declaration
    if isinstance(gv, GlobalVariable):
        return gv.initializer is None
    return False


def _can_omit(gv: GlobalValue) -> bool:
    """``GlobalValue::canBeOmittedFromSymbolTable``."""
    if gv.linkage != "linkonce_odr":
        return False
    if "unnamed_addr" in gv.qualifiers:
        return True
    if isinstance(gv, GlobalVariable) and not gv.is_constant:
        return False
    return "local_unnamed_addr" in gv.qualifiers


def _strip_pointer_casts(value: object) -> object:
    while isinstance(value, WConst) and value.kind == EXPR:
        opcode = value.payload[0]  # type: ignore[index]
        if opcode in ("bitcast", "addrspacecast"):
            value = value.ops[0]
        elif opcode == "getelementptr" and all(
                isinstance(o, WConst) and o.is_null_value for o in value.ops[1:]):
            value = value.ops[0]
        else:
            break
    return value


def _base_object(gv: GlobalValue, pool: ConstantPool) -> GlobalValue | None:
    """``GlobalValue::getAliaseeObject``: the function or variable behind ``gv``."""
    return _find_base(gv, pool, set())


def _find_base(value: object, pool: ConstantPool, aliases: set[int]) -> GlobalValue | None:
    """LLVM 14's ``findBaseObject``: through aliases, casts, GEPs and add/sub expressions."""
    if isinstance(value, Function | GlobalVariable):
        return value
    if isinstance(value, GlobalAlias):
        if id(value) in aliases or value.aliasee is None:
            return None
        aliases.add(id(value))
        return _find_base(pool.get(value.aliasee), pool, aliases)
    if not (isinstance(value, WConst) and value.kind == EXPR and value.ops):
        return None
    opcode = value.payload[0]  # type: ignore[index]
    if opcode == "add":
        left = _find_base(value.ops[0], pool, aliases)
        right = _find_base(value.ops[1], pool, aliases)
        if left is not None and right is not None:
            return None
        return left if left is not None else right
    if opcode == "sub":
        if _find_base(value.ops[1], pool, aliases) is not None:
            return None
        return _find_base(value.ops[0], pool, aliases)
    if opcode in ("inttoptr", "ptrtoint", "bitcast", "getelementptr"):
        return _find_base(value.ops[0], pool, aliases)
    return None
