"""Our typed IR model -> LLVM 14 bitcode, structured the way LLVM 14's BitcodeWriter writes it.

Stream layout (LLVM 14, ``ModuleBitcodeWriter::write``)::

    'BC' 0xC0DE
    IDENTIFICATION_BLOCK   producer string (empty, as Apple's tools write it), epoch 0
    MODULE_BLOCK
      VERSION 2, BLOCKINFO, TYPE_BLOCK_NEW, PARAMATTR_GROUP, PARAMATTR, COMDATs,
      TRIPLE, DATALAYOUT, ASM, SECTIONNAMEs, GCNAMEs, SOURCE_FILENAME,
      GLOBALVARs, FUNCTIONs, ALIASes, VSTOFFSET (backpatched),
      CONSTANTS, METADATA_KIND, METADATA, OPERAND_BUNDLE_TAGS, SYNC_SCOPE_NAMES,
      FUNCTION_BLOCKs (constants, metadata, instructions, VST, attachments),
      VALUE_SYMTAB (function offsets)
    SYMTAB_BLOCK           irsymtab, when LLVM would write one
    STRTAB_BLOCK           names of globals, comdats and symtab strings

Values inside functions are numbered relative to the instruction being
written (forward references wrap as unsigned 32-bit numbers; PHIs use
signed VBR), exactly as LLVM 14 does, so ``llvm-dis-14`` and any LLVM 14
reader (Apple's included) read the result.

This module writes the module-level blocks; instruction records are
:mod:`llvm_to_air.bitcode.function_writer`'s, value symbol table order and entries
:mod:`llvm_to_air.bitcode.value_symtab`'s, and the small shared encodings
:mod:`llvm_to_air.bitcode.records`', the options and library cache
:mod:`llvm_to_air.bitcode.options`' (their public names are importable from here too).
"""

from __future__ import annotations

from llvm_to_air.bitcode import attributes as attrs
from llvm_to_air.bitcode import bitstream as bs
from llvm_to_air.bitcode import codes as c
from llvm_to_air.bitcode.constants import (
    AGGREGATE,
    ASM,
    DATA,
    EXPR,
    FP,
    INT,
    POISON,
    UNDEF,
    WConst,
)
from llvm_to_air.bitcode.enumerator import Enumerator, log2_ceil
from llvm_to_air.bitcode.function_writer import (
    _HANDLERS,
    _calling_convention,
    _InstructionWriter,
    _optimization_flags,
)
from llvm_to_air.bitcode.metadata import NODE, WMD
from llvm_to_air.bitcode.options import LibraryCache, WriterOptions
from llvm_to_air.bitcode.records import (
    _MASK32,
    BLOB_DEFS,
    METADATA_GENERIC_DEBUG_DEF,
    METADATA_INDEX_DEF,
    METADATA_INDEX_OFFSET_DEF,
    METADATA_LOCATION_DEF,
    METADATA_NAME_DEF,
    METADATA_STRINGS_DEF,
    VST_FNENTRY_DEF,
    VSTOFFSET_DEF,
    _bytes,
    _dll,
    _dso_local,
    _fp_record,
    _function_addrspace,
    _last_per_kind,
    _linkage,
    _sorted_attachments,
    _thread_local,
    _unnamed_addr,
    _visibility,
    _wide_words,
)
from llvm_to_air.bitcode.records import (
    CONSTANTS_CE_CAST_ABBREV as CONSTANTS_CE_CAST_ABBREV,
)
from llvm_to_air.bitcode.records import (
    CONSTANTS_INTEGER_ABBREV as CONSTANTS_INTEGER_ABBREV,
)
from llvm_to_air.bitcode.records import (
    CONSTANTS_NULL_ABBREV as CONSTANTS_NULL_ABBREV,
)
from llvm_to_air.bitcode.records import (
    CONSTANTS_SETTYPE_ABBREV as CONSTANTS_SETTYPE_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_BINOP_ABBREV as FUNCTION_INST_BINOP_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_BINOP_FLAGS_ABBREV as FUNCTION_INST_BINOP_FLAGS_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_CAST_ABBREV as FUNCTION_INST_CAST_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_GEP_ABBREV as FUNCTION_INST_GEP_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_LOAD_ABBREV as FUNCTION_INST_LOAD_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_RET_VAL_ABBREV as FUNCTION_INST_RET_VAL_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_RET_VOID_ABBREV as FUNCTION_INST_RET_VOID_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_UNOP_ABBREV as FUNCTION_INST_UNOP_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_UNOP_FLAGS_ABBREV as FUNCTION_INST_UNOP_FLAGS_ABBREV,
)
from llvm_to_air.bitcode.records import (
    FUNCTION_INST_UNREACHABLE_ABBREV as FUNCTION_INST_UNREACHABLE_ABBREV,
)
from llvm_to_air.bitcode.records import (
    METADATA_INDEX_THRESHOLD as METADATA_INDEX_THRESHOLD,
)
from llvm_to_air.bitcode.records import (
    SE_CHAR6 as SE_CHAR6,
)
from llvm_to_air.bitcode.records import (
    SE_FIXED7 as SE_FIXED7,
)
from llvm_to_air.bitcode.records import (
    SE_FIXED8 as SE_FIXED8,
)
from llvm_to_air.bitcode.records import (
    VST_BBENTRY_6_ABBREV as VST_BBENTRY_6_ABBREV,
)
from llvm_to_air.bitcode.records import (
    VST_ENTRY_6_ABBREV as VST_ENTRY_6_ABBREV,
)
from llvm_to_air.bitcode.records import (
    VST_ENTRY_7_ABBREV as VST_ENTRY_7_ABBREV,
)
from llvm_to_air.bitcode.records import (
    VST_ENTRY_8_ABBREV as VST_ENTRY_8_ABBREV,
)
from llvm_to_air.bitcode.records import (
    chars32 as chars32,
)
from llvm_to_air.bitcode.records import (
    encoded_align as encoded_align,
)
from llvm_to_air.bitcode.records import (
    signed64 as signed64,
)
from llvm_to_air.bitcode.records import (
    source_filename as source_filename,
)
from llvm_to_air.bitcode.records import (
    string_encoding as string_encoding,
)
from llvm_to_air.bitcode.records import (
    struct_name as struct_name,
)
from llvm_to_air.bitcode.symtab import StringTable, build_symtab, name_bytes
from llvm_to_air.bitcode.value_symtab import (
    _vst_entry,
)
from llvm_to_air.bitcode.value_symtab import (
    string_map_order as string_map_order,
)
from llvm_to_air.bitcode.value_symtab import (
    vst_insertion_order as vst_insertion_order,
)
from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.model import (
    BasicBlock,
    Function,
    GlobalAlias,
    GlobalValue,
    GlobalVariable,
    Module,
)
from llvm_to_air.ir.types import (
    LABEL,
    METADATA,
    TOKEN,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    NamedStructType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
    VoidType,
)


def write_bitcode(module: Module, options: WriterOptions | None = None,
                  cache: LibraryCache | None = None) -> bytes:
    """Raw LLVM 14 bitcode (starting with ``BC 0xC0DE``, no wrapper) for a typed module.

    Expects a module from ``parse_llvm14_module`` (every pointer typed).
    Guarantees output that LLVM 14 reads back as the same module. Raises
    CompileError naming the construct for anything it cannot write (debug
    info nodes, opaque pointers, blockaddress, ifuncs, ...). ``cache``: shared by
    the modules of one library, so their common blocks are written once (same bytes).
    """
    with gc_paused():
        try:
            return _ModuleWriter(module, options or WriterOptions(),
                                 cache or LibraryCache()).write()
        except CompileError:
            raise
        except Exception as exc:  # a construct no check above names: still a CompileError
            raise CompileError(
                f"the bitcode writer cannot write this module ({type(exc).__name__}: {exc})",
                SourceLocation(module.file), hint="please report this input") from exc


def llvm14_text_to_bitcode(text: str, file: str = "<llvm14>",
                           options: WriterOptions | None = None,
                           cache: LibraryCache | None = None) -> bytes:
    """Parse LLVM 14 text (as our LLVM 14 printer writes it) and write it as bitcode."""
    from llvm_to_air.ir.parser import parse_llvm14_module

    with gc_paused():
        try:
            module = parse_llvm14_module(text, file)
        except CompileError:
            raise
        except Exception as exc:  # the parser's contract is CompileError too
            raise CompileError(f"cannot read this LLVM 14 text ({type(exc).__name__}: {exc})",
                               SourceLocation(file)) from exc
        return write_bitcode(module, options, cache)


class _ModuleWriter:
    def __init__(self, module: Module, options: WriterOptions, cache: LibraryCache) -> None:
        self.module = module
        self.options = options
        self.blocks = cache.content.blocks
        self.ve = Enumerator(module, cache.pools_of(module.file))
        self.w = bs.BitstreamWriter()
        self.strtab = StringTable()
        self.section_ids: dict[str, int] = {}
        self.gc_ids: dict[str, int] = {}
        self.vst_offset_placeholder = 0
        self.function_offsets: dict[int, int] = {}
        self._layout: DataLayout | None = None
        self._vst_entries = cache.content.vst_entries
        self.string_records = cache.content.string_records
        self._types_key: tuple[Type, ...] = ()  # the type table, once enumerated

    # ----------------------------------------------------------------- driver

    def write(self) -> bytes:
        w = self.w
        for byte, width in ((ord("B"), 8), (ord("C"), 8), (0x0, 4), (0xC, 4), (0xE, 4),
                            (0xD, 4)):
            w.emit(byte, width)
        self.write_identification()
        w.enter_block(c.MODULE_BLOCK_ID, 3)
        w.emit_record(c.MODULE_CODE_VERSION, [c.MODULE_VERSION])
        self.write_blockinfo()
        self._types_key = tuple(self.ve.types)
        self.write_type_table()
        self.write_attribute_groups()
        self.write_attribute_lists()
        self.write_comdats()
        self.write_module_info()
        self.write_module_constants()
        self.write_metadata_kinds()
        self.write_module_metadata()
        self.write_operand_bundle_tags()
        self.write_sync_scope_names()
        for fn in self.module.functions:
            if not fn.is_declaration:
                self.write_function(fn)
        self.write_module_vst()
        w.exit_block()
        if self.options.write_symtab:
            blob = build_symtab(self.module, self.strtab, self.ve.constants,
                                self.options.symtab_producer)
            if blob is not None:
                self.write_blob(c.SYMTAB_BLOCK_ID, c.SYMTAB_BLOB, blob)
        self.write_blob(c.STRTAB_BLOCK_ID, c.STRTAB_BLOB, self.strtab.getvalue())
        return w.getvalue()

    def error(self, message: str, location: SourceLocation | None = None) -> CompileError:
        return CompileError(message, location or SourceLocation(self.module.file))

    def layout(self) -> DataLayout:
        if self._layout is None:
            self._layout = DataLayout.parse(self.module.datalayout)
        return self._layout

    def write_blob(self, block: int, code: int, blob: bytes) -> None:
        w = self.w
        w.enter_block(block, 3)
        abbrev = w.define_abbrev(BLOB_DEFS[code])
        w.emit_record_with_blob(abbrev, [code], blob)
        w.exit_block()

    # ---------------------------------------------------------- identification

    def write_identification(self) -> None:
        producer = self.options.producer
        self.w.cached_block(self.blocks, ("identification", producer),
                            c.IDENTIFICATION_BLOCK_ID, 5,
                            lambda: self._identification_contents(producer))

    def _identification_contents(self, producer: str) -> None:
        w = self.w
        string_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.IDENTIFICATION_CODE_STRING),
                                                  bs.ARRAY_OP, bs.CHAR6_OP))
        self.write_string_record(c.IDENTIFICATION_CODE_STRING, _bytes(producer), string_abbrev)
        epoch_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.IDENTIFICATION_CODE_EPOCH),
                                                 bs.vbr(6)))
        w.emit_record(c.IDENTIFICATION_CODE_EPOCH, [c.BITCODE_CURRENT_EPOCH], epoch_abbrev)

    def write_string_record(self, code: int, data: bytes, abbrev: int) -> None:
        """``writeStringRecord``: Char6 through ``abbrev`` when possible, else unabbreviated."""
        if abbrev and not bs.all_char6(data):
            abbrev = 0
        if abbrev:
            self.w.emit_record(code, list(data), abbrev)
            return
        key = (code, data)  # the triple, the datalayout, ...: in every module of a library
        body = self.string_records.get(key)
        if body is None:
            body = self.string_records[key] = bs.unabbreviated_body(code, chars32(data))
        self.w.emit_unabbreviated_body(body)

    # --------------------------------------------------------------- blockinfo

    def write_blockinfo(self) -> None:
        tbits = self.ve.bits_for_type_ids()
        self.w.cached_block(self.blocks, ("blockinfo", tbits), bs.BLOCKINFO_BLOCK_ID, 2,
                            lambda: self._blockinfo_contents(tbits))

    def _blockinfo_contents(self, tbits: int) -> None:
        w = self.w
        vst = c.VALUE_SYMTAB_BLOCK_ID
        define = w.define_blockinfo_abbrev
        define(vst, bs.abbrev(bs.fixed(3), bs.vbr(8), bs.ARRAY_OP, bs.fixed(8)))
        define(vst, bs.abbrev(bs.literal(c.VST_CODE_ENTRY), bs.vbr(8), bs.ARRAY_OP, bs.fixed(7)))
        define(vst, bs.abbrev(bs.literal(c.VST_CODE_ENTRY), bs.vbr(8), bs.ARRAY_OP, bs.CHAR6_OP))
        define(vst, bs.abbrev(bs.literal(c.VST_CODE_BBENTRY), bs.vbr(8), bs.ARRAY_OP,
                              bs.CHAR6_OP))
        cst = c.CONSTANTS_BLOCK_ID
        define(cst, bs.abbrev(bs.literal(c.CST_CODE_SETTYPE), bs.fixed(tbits)))
        define(cst, bs.abbrev(bs.literal(c.CST_CODE_INTEGER), bs.vbr(8)))
        define(cst, bs.abbrev(bs.literal(c.CST_CODE_CE_CAST), bs.fixed(4), bs.fixed(tbits),
                              bs.vbr(8)))
        define(cst, bs.abbrev(bs.literal(c.CST_CODE_NULL)))
        fb = c.FUNCTION_BLOCK_ID
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_LOAD), bs.vbr(6), bs.fixed(tbits),
                             bs.vbr(4), bs.fixed(1)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_UNOP), bs.vbr(6), bs.fixed(4)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_UNOP), bs.vbr(6), bs.fixed(4),
                             bs.fixed(8)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_BINOP), bs.vbr(6), bs.vbr(6),
                             bs.fixed(4)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_BINOP), bs.vbr(6), bs.vbr(6),
                             bs.fixed(4), bs.fixed(8)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_CAST), bs.vbr(6), bs.fixed(tbits),
                             bs.fixed(4)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_RET)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_RET), bs.vbr(6)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_UNREACHABLE)))
        define(fb, bs.abbrev(bs.literal(c.FUNC_CODE_INST_GEP), bs.fixed(1), bs.fixed(tbits),
                             bs.ARRAY_OP, bs.vbr(6)))

    # ------------------------------------------------------------------- types

    def write_type_table(self) -> None:
        """TYPE_BLOCK_NEW, written once per library for each distinct table (the kernel
        modules of one library mostly number the same types the same way)."""
        ve = self.ve
        bodies = tuple(ve.struct_body(ty) for ty in ve.types if isinstance(ty, NamedStructType))
        key = ("types", self._types_key, bodies)
        self.w.cached_block(self.blocks, key, c.TYPE_BLOCK_ID_NEW, 4, self._type_table_contents)

    def _type_table_contents(self) -> None:
        w = self.w
        ve = self.ve
        tbits = ve.bits_for_type_ids()
        ptr_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_POINTER),
                                               bs.fixed(tbits), bs.literal(0)))
        w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_OPAQUE_POINTER), bs.literal(0)))
        fn_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_FUNCTION), bs.fixed(1),
                                              bs.ARRAY_OP, bs.fixed(tbits)))
        anon_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_STRUCT_ANON),
                                                bs.fixed(1), bs.ARRAY_OP, bs.fixed(tbits)))
        name_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_STRUCT_NAME),
                                                bs.ARRAY_OP, bs.CHAR6_OP))
        named_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_STRUCT_NAMED),
                                                 bs.fixed(1), bs.ARRAY_OP, bs.fixed(tbits)))
        array_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.TYPE_CODE_ARRAY), bs.vbr(8),
                                                 bs.fixed(tbits)))
        w.emit_record(c.TYPE_CODE_NUMENTRY, [len(ve.types)])
        tid = ve.type_ids
        for ty in ve.types:
            abbrev = 0
            if isinstance(ty, IntType):
                code, ops = c.TYPE_CODE_INTEGER, [ty.bits]
            elif isinstance(ty, FloatType):
                code, ops = c.FLOAT_TYPE_CODES[ty.kind], []
            elif isinstance(ty, TypedPointerType):
                code, ops = c.TYPE_CODE_POINTER, [tid[ty.pointee], ty.addrspace]
                if ty.addrspace == 0:
                    abbrev = ptr_abbrev
            elif isinstance(ty, FunctionType):
                code = c.TYPE_CODE_FUNCTION
                ops = [int(ty.vararg), tid[ty.ret], *(tid[p] for p in ty.params)]
                abbrev = fn_abbrev
            elif isinstance(ty, StructType):
                code = c.TYPE_CODE_STRUCT_ANON
                ops = [int(ty.packed), *(tid[f] for f in ty.fields)]
                abbrev = anon_abbrev
            elif isinstance(ty, NamedStructType):
                body = ve.struct_body(ty)
                if body is None:
                    code, ops = c.TYPE_CODE_OPAQUE, [0]
                else:
                    code = c.TYPE_CODE_STRUCT_NAMED
                    ops = [int(body.packed), *(tid[f] for f in body.fields)]
                    abbrev = named_abbrev
                name = struct_name(ty.name)
                if name:
                    self.write_string_record(c.TYPE_CODE_STRUCT_NAME, name, name_abbrev)
            elif isinstance(ty, ArrayType):
                code, ops = c.TYPE_CODE_ARRAY, [ty.count, tid[ty.element]]
                abbrev = array_abbrev
            elif isinstance(ty, VectorType):
                code, ops = c.TYPE_CODE_VECTOR, [ty.count, tid[ty.element]]
                if ty.scalable:
                    ops.append(1)
            else:
                code, ops = _SIMPLE_TYPE_CODES.get(type(ty), (0, []))
                if not code:
                    raise self.error(f"type {ty} cannot be written as LLVM 14 bitcode")
            w.emit_record(code, ops, abbrev)

    # -------------------------------------------------------------- attributes

    def write_attribute_groups(self) -> None:
        """PARAMATTR_GROUP_BLOCK, written once per library for each distinct list of groups
        (type attributes name type ids: the type table is part of the key)."""
        ve = self.ve
        if not ve.attr_groups:
            return
        key = ("attribute groups", tuple(ve.attr_groups), self._types_key)
        self.w.cached_block(self.blocks, key, c.PARAMATTR_GROUP_BLOCK_ID, 3,
                            self._attribute_groups_contents)

    def _attribute_groups_contents(self) -> None:
        ve = self.ve
        for group_id, (index, attr_set) in enumerate(ve.attr_groups, 1):
            self.w.emit_record(c.PARAMATTR_GRP_CODE_ENTRY,
                               [group_id, index, *attrs.group_record(attr_set, ve.type_ids)])

    def write_attribute_lists(self) -> None:
        ve = self.ve
        if not ve.attr_lists:
            return
        w = self.w
        w.enter_block(c.PARAMATTR_BLOCK_ID, 3)
        for attr_list in ve.attr_lists:
            w.emit_record(c.PARAMATTR_CODE_ENTRY, [ve.attr_group_ids[p] for p in attr_list])
        w.exit_block()

    def write_comdats(self) -> None:
        for name in self.ve.comdats:
            data = _bytes(name)
            kind = self.module.comdats.get(name)
            if kind is None:
                raise self.error(f"use of undefined comdat ${name}")
            selection = c.COMDAT_SELECTION.get(kind)
            if selection is None:
                raise self.error(f"unknown comdat selection kind '{kind}'")
            self.w.emit_record(c.MODULE_CODE_COMDAT,
                               [self.strtab.add(data), len(data), selection])

    # ------------------------------------------------------------- module info

    def write_module_info(self) -> None:
        w = self.w
        m = self.module
        ve = self.ve
        if m.triple:
            self.write_string_record(c.MODULE_CODE_TRIPLE, _bytes(m.triple), 0)
        if m.datalayout:
            self.write_string_record(c.MODULE_CODE_DATALAYOUT, _bytes(m.datalayout), 0)
        if m.module_asm:
            # Module::appendModuleInlineAsm ends every piece with a newline
            text = "".join(a if a.endswith("\n") else a + "\n" for a in m.module_asm)
            self.write_string_record(c.MODULE_CODE_ASM, _bytes(text), 0)
        max_align = 0
        max_global_type = 0
        for gv in m.globals:
            max_align = max(max_align, gv.align or 0)
            max_global_type = max(max_global_type, ve.type_id(gv.value_type))
            if gv.section is not None:
                self._section_id(gv.section)
        for fn in m.functions:
            max_align = max(max_align, fn.align or 0)
            if fn.section is not None:
                self._section_id(fn.section)
            if fn.gc is not None and fn.gc not in self.gc_ids:
                self.write_string_record(c.MODULE_CODE_GCNAME, _bytes(fn.gc), 0)
                self.gc_ids[fn.gc] = len(self.gc_ids) + 1
        simple_gv_abbrev = 0
        if m.globals:
            align_op = bs.literal(0) if not max_align else \
                bs.fixed(log2_ceil(encoded_align(max_align) + 1))
            section_op = bs.literal(0) if not self.section_ids else \
                bs.fixed(log2_ceil(len(self.section_ids) + 1))
            simple_gv_abbrev = w.define_abbrev(bs.abbrev(
                bs.literal(c.MODULE_CODE_GLOBALVAR), bs.vbr(8), bs.vbr(8),
                bs.fixed(log2_ceil(max_global_type + 1)), bs.vbr(6), bs.vbr(6), bs.fixed(5),
                align_op, section_op))
        source = _bytes(source_filename(m))
        encoding = string_encoding(source)
        element = {SE_CHAR6: bs.CHAR6_OP, SE_FIXED7: bs.fixed(7)}.get(encoding, bs.fixed(8))
        filename_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.MODULE_CODE_SOURCE_FILENAME),
                                                    bs.ARRAY_OP, element))
        w.emit_record(c.MODULE_CODE_SOURCE_FILENAME, list(source), filename_abbrev)
        for gv in m.globals:
            self.write_global_var(gv, simple_gv_abbrev)
        for fn in m.functions:
            self.write_function_record(fn)
        for ga in m.aliases:
            self.write_alias(ga)
        vst_abbrev = w.define_abbrev(VSTOFFSET_DEF)
        w.emit_record(c.MODULE_CODE_VSTOFFSET, [0], vst_abbrev)
        self.vst_offset_placeholder = w.bit_position - 32

    def _section_id(self, section: str) -> int:
        found = self.section_ids.get(section)
        if found is None:
            self.write_string_record(c.MODULE_CODE_SECTIONNAME, _bytes(section), 0)
            found = len(self.section_ids) + 1
            self.section_ids[section] = found
        return found

    def _name(self, gv: GlobalValue) -> list[int]:
        data = name_bytes(gv)
        return [self.strtab.add(data), len(data)]

    def _partition(self, partition: str | None) -> list[int]:
        data = _bytes(partition or "")
        return [self.strtab.add(data), len(data)]

    def write_global_var(self, gv: GlobalVariable, simple_abbrev: int) -> None:
        ve = self.ve
        ty = gv.ty
        addrspace = ty.addrspace if isinstance(ty, TypedPointerType) else 0
        init = 0 if gv.initializer is None else \
            ve.value_id(ve.constants.get(gv.initializer)) + 1
        ops = [*self._name(gv), ve.type_id(gv.value_type),
               addrspace << 2 | 2 | int(gv.is_constant), init, _linkage(gv),
               encoded_align(gv.align), self.section_ids.get(gv.section or "", 0)]
        q = gv.qualifiers
        visibility = _visibility(gv)
        tls = _thread_local(gv)
        unnamed = _unnamed_addr(gv)
        dll = _dll(gv)
        attr_list = ve.global_attrs(gv) if gv.attrs_group else ()
        dso_local = _dso_local(gv)
        if tls or visibility or unnamed or gv.externally_initialized or dll or \
                gv.comdat is not None or attr_list or dso_local or gv.partition:
            ops += [visibility, tls, unnamed, int(gv.externally_initialized), dll,
                    ve.comdat_ids[gv.comdat] if gv.comdat is not None else 0,
                    ve.attr_list_id(attr_list), int(dso_local), *self._partition(gv.partition)]
            abbrev = 0
        else:
            abbrev = simple_abbrev
        del q
        self.w.emit_record(c.MODULE_CODE_GLOBALVAR, ops, abbrev)

    def write_function_record(self, fn: Function) -> None:
        ve = self.ve
        personality = 0
        if fn.personality is not None:
            personality = ve.value_id(ve.constants.get(fn.personality)) + 1
        ops = [*self._name(fn), ve.type_id(fn.function_type), _calling_convention(fn.cc, self),
               int(fn.is_declaration), _linkage(fn), ve.attr_list_id(ve.function_attrs(fn)),
               encoded_align(fn.align), self.section_ids.get(fn.section or "", 0),
               _visibility(fn), self.gc_ids.get(fn.gc or "", 0), _unnamed_addr(fn), 0,
               _dll(fn), ve.comdat_ids[fn.comdat] if fn.comdat is not None else 0, 0,
               personality, int(_dso_local(fn)), _function_addrspace(fn),
               *self._partition(fn.partition)]
        self.w.emit_record(c.MODULE_CODE_FUNCTION, ops)

    def write_alias(self, ga: GlobalAlias) -> None:
        ve = self.ve
        ty = ga.ty
        addrspace = ty.addrspace if isinstance(ty, TypedPointerType) else 0
        assert ga.aliasee is not None
        ops = [*self._name(ga), ve.type_id(ga.value_type), addrspace,
               ve.value_id(ve.constants.get(ga.aliasee)), _linkage(ga), _visibility(ga),
               _dll(ga), _thread_local(ga), _unnamed_addr(ga), int(_dso_local(ga)),
               *self._partition(None)]
        self.w.emit_record(c.MODULE_CODE_ALIAS, ops)

    # --------------------------------------------------------------- constants

    def write_module_constants(self) -> None:
        ve = self.ve
        for i, value in enumerate(ve.values):
            if not isinstance(value, GlobalValue):
                self.write_constants(i, len(ve.values), True)
                return

    def write_constants(self, first: int, last: int, is_global: bool) -> None:
        if first == last:
            return
        w = self.w
        ve = self.ve
        w.enter_block(c.CONSTANTS_BLOCK_ID, 4)
        aggregate_abbrev = string8_abbrev = cstring7_abbrev = cstring6_abbrev = 0
        if is_global:
            aggregate_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.CST_CODE_AGGREGATE),
                                                         bs.ARRAY_OP,
                                                         bs.fixed(log2_ceil(last + 1))))
            string8_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.CST_CODE_STRING),
                                                       bs.ARRAY_OP, bs.fixed(8)))
            cstring7_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.CST_CODE_CSTRING),
                                                        bs.ARRAY_OP, bs.fixed(7)))
            cstring6_abbrev = w.define_abbrev(bs.abbrev(bs.literal(c.CST_CODE_CSTRING),
                                                        bs.ARRAY_OP, bs.CHAR6_OP))
        last_type: Type | None = None
        tid = ve.type_ids
        vid = ve.value_id
        for value in ve.values[first:last]:
            assert isinstance(value, WConst)
            ty = value.ty
            if ty != last_type:
                last_type = ty
                w.emit_record(c.CST_CODE_SETTYPE, [tid[ty]], CONSTANTS_SETTYPE_ABBREV)
            kind = value.kind
            abbrev = 0
            if kind == ASM:
                data, constraints, flags, fnty = value.payload  # type: ignore[misc]
                ops = [tid[fnty], flags, len(data), *attrs.signed_chars64(data),
                       len(constraints), *attrs.signed_chars64(constraints)]
                w.emit_record(c.CST_CODE_INLINEASM, ops)
                continue
            if value.is_null_value:
                code, ops = c.CST_CODE_NULL, []
            elif kind == POISON:
                code, ops = c.CST_CODE_POISON, []
            elif kind == UNDEF:
                code, ops = c.CST_CODE_UNDEF, []
            elif kind == INT:
                assert isinstance(ty, IntType)
                number: int = value.payload  # type: ignore[assignment]
                if ty.bits <= 64:
                    if number >> (ty.bits - 1):
                        number -= 1 << ty.bits
                    code, ops = c.CST_CODE_INTEGER, [signed64(number)]
                    abbrev = CONSTANTS_INTEGER_ABBREV
                else:
                    code, ops = c.CST_CODE_WIDE_INTEGER, _wide_words(number)
            elif kind == FP:
                code, ops = c.CST_CODE_FLOAT, _fp_record(ty, value.payload)  # type: ignore[arg-type]
            elif kind == DATA:
                elements: tuple[int, ...] = value.payload  # type: ignore[assignment]
                element_ty = ty.element  # type: ignore[attr-defined]
                if isinstance(ty, ArrayType) and element_ty == IntType(8):
                    if elements[-1] == 0 and 0 not in elements[:-1]:
                        code = c.CST_CODE_CSTRING
                        ops = list(elements[:-1])
                        if is_global and bs.all_char6(ops):
                            abbrev = cstring6_abbrev
                        elif is_global and all(b < 128 for b in ops):
                            abbrev = cstring7_abbrev
                    else:
                        code, ops = c.CST_CODE_STRING, list(elements)
                        abbrev = string8_abbrev
                else:
                    code, ops = c.CST_CODE_DATA, list(elements)
            elif kind == AGGREGATE:
                code, ops = c.CST_CODE_AGGREGATE, [vid(o) for o in value.ops]
                abbrev = aggregate_abbrev
            elif kind == EXPR:
                code, ops, abbrev = self._constant_expr(value)
            else:
                raise self.error(f"cannot write constant of kind {kind}")
            w.emit_record(code, ops, abbrev)
        w.exit_block()

    def _constant_expr(self, value: WConst) -> tuple[int, list[int], int]:
        ve = self.ve
        tid = ve.type_ids
        vid = ve.value_id
        opcode, flags, source_type, predicate = value.payload  # type: ignore[misc]
        ops = value.ops
        if opcode in c.CAST_OPCODES:
            return (c.CST_CODE_CE_CAST,
                    [c.CAST_OPCODES[opcode], tid[ve.value_type(ops[0])], vid(ops[0])],
                    CONSTANTS_CE_CAST_ABBREV)
        if opcode in c.BINARY_OPCODES:
            record = [c.BINARY_OPCODES[opcode], vid(ops[0]), vid(ops[1])]
            flag_bits = _optimization_flags(opcode, flags, ve.value_type(ops[0]))
            if flag_bits:
                record.append(flag_bits)
            return c.CST_CODE_CE_BINOP, record, 0
        if opcode == "fneg":
            record = [c.UNARY_OPCODES[opcode], vid(ops[0])]
            return c.CST_CODE_CE_UNOP, record, 0
        if opcode == "getelementptr":
            code = c.CST_CODE_CE_INBOUNDS_GEP if "inbounds" in flags else c.CST_CODE_CE_GEP
            bad = [f for f in flags if f != "inbounds"]
            if bad:
                raise self.error(f"getelementptr flag '{bad[0]}' does not exist in LLVM 14")
            record = [tid[source_type]]
            for op in ops:
                record += (tid[ve.value_type(op)], vid(op))
            return code, record, 0
        if opcode == "select":
            return c.CST_CODE_CE_SELECT, [vid(o) for o in ops], 0
        if opcode == "extractelement":
            return (c.CST_CODE_CE_EXTRACTELT,
                    [tid[ve.value_type(ops[0])], vid(ops[0]), tid[ve.value_type(ops[1])],
                     vid(ops[1])], 0)
        if opcode == "insertelement":
            return (c.CST_CODE_CE_INSERTELT,
                    [vid(ops[0]), vid(ops[1]), tid[ve.value_type(ops[2])], vid(ops[2])], 0)
        if opcode == "shufflevector":
            if value.ty == ve.value_type(ops[0]):
                return c.CST_CODE_CE_SHUFFLEVEC, [vid(o) for o in ops], 0
            return (c.CST_CODE_CE_SHUFVEC_EX,
                    [tid[ve.value_type(ops[0])], *(vid(o) for o in ops)], 0)
        if opcode in ("icmp", "fcmp"):
            table = c.ICMP_PREDICATES if opcode == "icmp" else c.PREDICATES
            return (c.CST_CODE_CE_CMP,
                    [tid[ve.value_type(ops[0])], vid(ops[0]), vid(ops[1]), table[predicate]], 0)
        raise self.error(f"constant expression '{opcode}' cannot be written as LLVM 14 bitcode")

    # ---------------------------------------------------------------- metadata

    def write_metadata_kinds(self) -> None:
        kinds = tuple(sorted(self.ve.md_kinds.items(), key=lambda kv: kv[1]))
        self.w.cached_block(self.blocks, ("metadata kinds", kinds), c.METADATA_KIND_BLOCK_ID, 3,
                            lambda: self._named_records(c.METADATA_KIND, kinds, True))

    def _named_records(self, code: int, names: tuple[tuple[str, int], ...],
                       with_id: bool) -> None:
        """One record per name (in id order): its id when ``with_id``, then its bytes."""
        for name, number in names:
            chars = attrs.signed_chars64(_bytes(name))
            self.w.emit_record(code, [number, *chars] if with_id else chars)

    def write_module_metadata(self) -> None:
        ve = self.ve
        m = self.module
        if not ve.mds and not m.named_metadata:
            return
        w = self.w
        w.enter_block(c.METADATA_BLOCK_ID, 4)
        w.define_abbrev(METADATA_LOCATION_DEF)
        w.define_abbrev(METADATA_GENERIC_DEBUG_DEF)
        offset_abbrev = w.define_abbrev(METADATA_INDEX_OFFSET_DEF)
        index_abbrev = w.define_abbrev(METADATA_INDEX_DEF)
        strings = ve.mds[:ve.num_md_strings]
        others = ve.mds[ve.num_md_strings:]
        self.write_metadata_strings(strings)
        with_index = len(others) > METADATA_INDEX_THRESHOLD
        if with_index:
            w.emit_record(c.METADATA_INDEX_OFFSET, [0, 0], offset_abbrev)
        index_position = w.bit_position
        positions: list[int] = []
        self.write_metadata_records(others, positions)
        if with_index:
            delta = w.bit_position - index_position
            w.backpatch(index_position - 64, delta & _MASK32, 32)
            w.backpatch(index_position - 32, delta >> 32, 32)
            previous = index_position
            deltas = []
            for pos in positions:
                deltas.append(pos - previous)
                previous = pos
            w.emit_record(c.METADATA_INDEX, deltas, index_abbrev)
        if m.named_metadata:
            name_abbrev = w.define_abbrev(METADATA_NAME_DEF)
            for nmd in m.named_metadata:
                w.emit_record(c.METADATA_NAME, list(_bytes(nmd.name)), name_abbrev)
                w.emit_record(c.METADATA_NAMED_NODE,
                              [ve.metadata_id(ve.metadata.get(n)) for n in nmd.nodes])
        for fn in m.functions:
            if fn.is_declaration and fn.metadata:
                self._global_decl_attachment(fn, fn.metadata)
        for gv in m.globals:
            if gv.metadata:
                self._global_decl_attachment(gv, gv.metadata)
        w.exit_block()

    def _global_decl_attachment(self, gv: GlobalValue, mds: list) -> None:
        ve = self.ve
        record = [ve.value_id(gv), *self._attachment_pairs(mds)]
        self.w.emit_record(c.METADATA_GLOBAL_DECL_ATTACHMENT, record)

    def _attachment_pairs(self, mds: list) -> list[int]:
        ve = self.ve
        pairs = _sorted_attachments([(ve.md_kind(k), ve.metadata.get(md)) for k, md in mds])
        out: list[int] = []
        for kind, wmd in pairs:
            out += (kind, ve.metadata_id(wmd))
        return out

    def write_metadata_strings(self, strings: list[WMD]) -> None:
        if not strings:
            return
        lengths = bs.BitstreamWriter()
        for md in strings:
            lengths.emit_vbr(len(md.data), 6)  # type: ignore[arg-type]
        lengths.align32()
        prefix = lengths.getvalue()
        blob = prefix + b"".join(md.data for md in strings)  # type: ignore[misc]
        w = self.w
        abbrev = w.define_abbrev(METADATA_STRINGS_DEF)
        w.emit_record_with_blob(abbrev, [c.METADATA_STRINGS, len(strings), len(prefix)], blob)

    def write_metadata_records(self, mds: list[WMD], positions: list[int] | None) -> None:
        w = self.w
        ve = self.ve
        for md in mds:
            if positions is not None:
                positions.append(w.bit_position)
            if md.kind == NODE:
                ops = [ve.metadata_or_null_id(op) for op in md.ops]
                w.emit_record(c.METADATA_DISTINCT_NODE if md.distinct else c.METADATA_NODE, ops)
            else:
                value = md.data
                w.emit_record(c.METADATA_VALUE,
                              [ve.type_ids[ve.value_type(value)], ve.value_id(value)])

    def write_function_metadata(self) -> None:
        ve = self.ve
        if ve.num_module_mds >= len(ve.mds):
            return
        w = self.w
        w.enter_block(c.METADATA_BLOCK_ID, 3)
        start = ve.num_module_mds
        strings = ve.mds[start:start + ve.num_md_strings]
        self.write_metadata_strings(strings)
        self.write_metadata_records(ve.mds[start + ve.num_md_strings:], None)
        w.exit_block()

    def write_operand_bundle_tags(self) -> None:
        tags = tuple(sorted(self.ve.bundle_tags.items(), key=lambda kv: kv[1]))
        self.w.cached_block(self.blocks, ("bundle tags", tags), c.OPERAND_BUNDLE_TAGS_BLOCK_ID,
                            3, lambda: self._named_records(c.OPERAND_BUNDLE_TAG, tags, False))

    def write_sync_scope_names(self) -> None:
        names = tuple(sorted(self.ve.sync_scopes.items(), key=lambda kv: kv[1]))
        self.w.cached_block(self.blocks, ("sync scopes", names), c.SYNC_SCOPE_NAMES_BLOCK_ID, 2,
                            lambda: self._named_records(c.SYNC_SCOPE_NAME, names, False))

    # ---------------------------------------------------------------- functions

    def write_function(self, fn: Function) -> None:
        w = self.w
        ve = self.ve
        self.function_offsets[id(fn)] = w.bit_position
        w.enter_block(c.FUNCTION_BLOCK_ID, 4)
        info = ve.incorporate_function(fn)
        w.emit_record(c.FUNC_CODE_DECLAREBLOCKS, [len(info.blocks)])
        first_constant = ve.first_function_constant
        self.write_constants(first_constant, ve.first_instruction, False)
        self.write_function_metadata()
        inst_id = ve.first_instruction
        needs_attachments = bool(fn.metadata)
        writer = _InstructionWriter(self, info)
        handlers = _HANDLERS
        for inst, ops in zip(info.instructions, info.operands, strict=True):
            handler = handlers.get(inst.__class__)
            if handler is None:
                raise self.error(f"instruction '{inst.opcode}' cannot be written as bitcode",
                                 inst.location)
            writer.inst_id = inst_id
            handler(writer, inst, ops)
            if inst.ty.__class__ is not VoidType:
                inst_id += 1
            if inst.metadata:
                needs_attachments = True
        self.write_function_vst(fn)
        if needs_attachments:
            self.write_metadata_attachments(fn)
        ve.purge_function()
        w.exit_block()

    def write_function_vst(self, fn: Function) -> None:
        """The function's VALUE_SYMTAB: named arguments, blocks and instructions.

        Entries come in the order LLVM 14 iterates its StringMap after
        LLParser filled it (see :func:`vst_insertion_order`). Each entry is
        ``[abbrev, value id VBR8, name array]`` through the blockinfo VST
        abbreviations; the name part is encoded once per distinct name.
        """
        ve = self.ve
        names: list[bytes] = []
        ids: list[int] = []
        blocks: list[bool] = []
        for arg in fn.args:
            if arg.name is not None:
                names.append(_bytes(arg.name))
                ids.append(ve.value_id(arg))
                blocks.append(False)
        block_ids = ve.block_ids
        value_ids = ve.value_ids
        for name, obj in vst_insertion_order(fn):
            names.append(name)
            if obj.__class__ is BasicBlock:
                ids.append(block_ids[id(obj)])
                blocks.append(True)
            else:
                ids.append(value_ids[obj])
                blocks.append(False)
        if not names:
            return
        w = self.w
        emit = w.emit
        cache = self._vst_entries
        w.enter_block(c.VALUE_SYMTAB_BLOCK_ID, 4)
        for k in string_map_order(names):
            key = (names[k], blocks[k])
            entry = cache.get(key)
            if entry is None:
                entry = cache[key] = _vst_entry(*key)
            head, head_len, tail, tail_len = entry
            emit(head, head_len)
            value_id = ids[k]
            if value_id < 128:
                emit(value_id, 8)
            else:
                emit(*bs.vbr_bits(value_id, 8))
            emit(tail, tail_len)
        w.exit_block()

    def write_metadata_attachments(self, fn: Function) -> None:
        w = self.w
        w.enter_block(c.METADATA_ATTACHMENT_ID, 3)
        if fn.metadata:
            w.emit_record(c.METADATA_ATTACHMENT, self._attachment_pairs(fn.metadata))
        for index, inst in enumerate(fn.instructions()):
            if not inst.metadata:
                continue
            w.emit_record(c.METADATA_ATTACHMENT,
                          [index, *self._attachment_pairs(_last_per_kind(inst.metadata))])
        w.exit_block()

    # ---------------------------------------------------------------- module VST

    def write_module_vst(self) -> None:
        w = self.w
        offset = w.bit_position
        w.backpatch(self.vst_offset_placeholder, offset // 32, 32)
        w.enter_block(c.VALUE_SYMTAB_BLOCK_ID, 4)
        abbrev = w.define_abbrev(VST_FNENTRY_DEF)
        for fn in self.module.functions:
            if fn.is_declaration:
                continue
            w.emit_record(c.VST_CODE_FNENTRY,
                          [self.ve.value_id(fn), self.function_offsets[id(fn)] // 32], abbrev)
        w.exit_block()


_SIMPLE_TYPE_CODES: dict[type, tuple[int, list[int]]] = {
    type(VOID): (c.TYPE_CODE_VOID, []),
    type(LABEL): (c.TYPE_CODE_LABEL, []),
    type(METADATA): (c.TYPE_CODE_METADATA, []),
    type(TOKEN): (c.TYPE_CODE_TOKEN, []),
}


