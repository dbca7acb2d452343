"""Numbering of types, values, attributes and metadata, as LLVM 14's ValueEnumerator does it.

Bitcode refers to everything by number, and the numbers come from the order
in which LLVM's ``ValueEnumerator`` meets things. :class:`Enumerator`
repeats that walk over our model:

* types: depth first, named structs before their bodies may recurse;
* module values: global variables, functions, aliases, then constants
  (initializers, metadata-wrapped constants), sorted by type plane and use
  count, integers first (``OptimizeConstants``);
* function values: arguments, function-local constants (sorted the same
  way), then the instructions that produce a value;
* attribute lists and groups in first-use order;
* metadata: post-order through uniqued nodes, distinct nodes delayed,
  then partitioned by function and kind (``organizeMetadata``); metadata
  used by one function only goes into that function's block.

Expects a typed module (``parse_llvm14_module``). Raises CompileError for
constructs the bitcode writer does not support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvm_to_air.bitcode import attributes as attrs
from llvm_to_air.bitcode import codes
from llvm_to_air.bitcode.constants import ASM, EXPR, ConstantPool, WConst, refolds
from llvm_to_air.bitcode.metadata import LOCAL, NODE, STRING, WMD, MetadataPool
from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    BasicBlock,
    Branch,
    Call,
    Constant,
    Function,
    GetElementPtr,
    GlobalVariable,
    InlineAsm,
    Instruction,
    Metadata,
    MetadataValue,
    Module,
    ShuffleVector,
    Switch,
    Value,
)
from llvm_to_air.ir.types import (
    LABEL,
    METADATA,
    ArrayType,
    FunctionType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
    VoidType,
)

I32 = IntType(32)


@dataclass
class FunctionInfo:
    """What the writer needs about one function body, computed once."""

    function: Function
    blocks: list[BasicBlock]
    instructions: list[Instruction]
    # per instruction (in order): its LLVM operand list, operands canonicalized
    operands: list[list[object]]
    # what incorporateFunction enumerates, in its order: constant operands (and
    # shuffle masks), value-producing instructions, function-local metadata
    constants: list[WConst] = field(default_factory=list)
    results: list[Instruction] = field(default_factory=list)
    local_mds: list[WMD] = field(default_factory=list)
    attr_lists: list[int] = field(default_factory=list)  # call attribute list id per call


@dataclass
class _MDIndex:
    """Where a metadata node is numbered: module level or one function, and its id."""

    function: int  # 0: module level; else the function's value id + 1
    id: int = 0  # 1-based; 0 while unassigned


@dataclass
class SharedPools:
    """Uniqued constants, uniqued metadata and parsed attribute sets, shareable by the
    modules of one file in one library: each is a function of the objects or spellings
    alone, and the enumerator never reads a pool's contents, so a shared pool numbers
    each module as its own pool would."""

    constants: ConstantPool
    metadata: MetadataPool
    attr_sets: dict[tuple[str, ...], attrs.AttrSet]

    @classmethod
    def of(cls, file: str) -> SharedPools:
        constants = ConstantPool(file)
        return cls(constants, MetadataPool(constants, file), {})


class Enumerator:
    """Numbers everything in a module (see the module docstring)."""

    def __init__(self, module: Module, pools: SharedPools | None = None) -> None:
        """``pools``: shared by the modules of one library (see :class:`SharedPools`)."""
        self.module = module
        self.file = module.file
        pools = pools or SharedPools.of(module.file)
        self.constants = pools.constants
        self.metadata = pools.metadata
        # types
        self.types: list[Type] = []
        self.type_ids: dict[Type, int] = {}
        self._known_types: dict[int, int] = {}
        self._type_refs: list[Type] = []
        # values: object -> 0-based id; use counts drive constant ordering
        self.values: list[object] = []
        self.counts: list[int] = []
        self.value_ids: dict[object, int] = {}
        self.num_module_values = 0
        self.first_function_constant = 0
        self.first_instruction = 0
        self.block_ids: dict[int, int] = {}
        self.instruction_ids: dict[int, int] = {}
        # attributes
        self.attr_lists: list[attrs.AttrList] = []
        self.attr_list_ids: dict[attrs.AttrList, int] = {}
        self.attr_groups: list[tuple[int, attrs.AttrSet]] = []
        self.attr_group_ids: dict[tuple[int, attrs.AttrSet], int] = {}
        self._fn_attr_lists: dict[int, attrs.AttrList] = {}
        self._call_attr_lists: dict[int, attrs.AttrList] = {}
        self._set_cache = pools.attr_sets
        # comdats (names, in first-use order)
        self.comdats: list[str] = []
        self.comdat_ids: dict[str, int] = {}
        # metadata
        self.mds: list[WMD] = []
        self.md_index: dict[WMD, _MDIndex] = {}
        self.num_module_mds = 0
        self.num_md_strings = 0
        self._function_mds: dict[int, tuple[list[WMD], int]] = {}
        self.md_kinds: dict[str, int] = {n: i for i, n in enumerate(codes.FIXED_METADATA_KINDS)}
        self.bundle_tags: dict[str, int] = {n: i for i, n in enumerate(codes.FIXED_BUNDLE_TAGS)}
        self.sync_scopes: dict[str, int] = {n: i for i, n in enumerate(codes.FIXED_SYNC_SCOPES)}
        # functions
        self.function_infos: dict[int, FunctionInfo] = {}
        self._any_instruction_metadata = False
        self._enumerate_module()

    # ------------------------------------------------------------------ errors

    def error(self, message: str, hint: str | None = None,
              location: SourceLocation | None = None) -> CompileError:
        return CompileError(message, location or SourceLocation(self.file), hint)

    # ------------------------------------------------------------------- types

    def type_id(self, ty: Type) -> int:
        """The type's number; remembered by object identity too (type hashing is slow)."""
        known = self._known_types.get(id(ty))
        if known is None:
            known = self.type_ids[ty]
            self._known_types[id(ty)] = known
            self._type_refs.append(ty)  # keeps the id valid
        return known

    def struct_body(self, ty: NamedStructType) -> StructType | None:
        if ty.name not in self.module.structs:
            raise self.error(f"use of undefined type %{ty.name}")
        return self.module.structs[ty.name]

    def enumerate_type(self, ty: Type) -> None:
        """``ValueEnumerator::EnumerateType``."""
        if id(ty) in self._known_types:
            return
        ids = self.type_ids
        known = ids.get(ty)
        if known is not None:
            if known != -1:
                self._known_types[id(ty)] = known
                self._type_refs.append(ty)
            return
        named = isinstance(ty, NamedStructType)
        if named:
            ids[ty] = -1  # in progress: named structs may be referenced recursively
        for sub in self._subtypes(ty):
            self.enumerate_type(sub)
        current = ids.get(ty)
        if current is not None and current != -1:
            return
        ids[ty] = len(self.types)
        self.types.append(ty)

    def _subtypes(self, ty: Type) -> tuple[Type, ...]:
        if isinstance(ty, TypedPointerType):
            return (ty.pointee,)
        if isinstance(ty, FunctionType):
            return (ty.ret, *ty.params)
        if isinstance(ty, StructType):
            return ty.fields
        if isinstance(ty, NamedStructType):
            body = self.struct_body(ty)
            return body.fields if body is not None else ()
        if isinstance(ty, ArrayType | VectorType):
            return (ty.element,)
        if isinstance(ty, PointerType):
            raise self.error("opaque pointer type in typed (LLVM 14) IR",
                             hint="print the module with typed pointers first")
        return ()

    # ------------------------------------------------------------------ values

    def value_type(self, value: object) -> Type:
        """The type of an operand (blocks have none in our model: label)."""
        return getattr(value, "ty", LABEL)  # type: ignore[no-any-return]

    def enumerate_value(self, value: object) -> None:
        """``ValueEnumerator::EnumerateValue`` (constants' operands first)."""
        vid = self.value_ids.get(value)
        if vid is not None:
            self.counts[vid] += 1
            return
        if isinstance(value, GlobalVariable | Function) and value.comdat is not None:
            if value.comdat not in self.comdat_ids:
                self.comdats.append(value.comdat)
                self.comdat_ids[value.comdat] = len(self.comdats)
        self.enumerate_type(self.value_type(value))
        if isinstance(value, WConst) and value.ops:
            for op in value.ops:
                self.enumerate_value(op)
            if value.kind == EXPR:
                opcode = value.payload[0]  # type: ignore[index]
                if opcode == "getelementptr":
                    self.enumerate_type(value.payload[2])  # type: ignore[index]
        self.value_ids[value] = len(self.values)
        self.values.append(value)
        self.counts.append(1)

    def enumerate_operand_type(self, value: object) -> None:
        """``ValueEnumerator::EnumerateOperandType``: types only, through unseen constants."""
        self.enumerate_type(self.value_type(value))
        if not isinstance(value, WConst) or value in self.value_ids:
            return
        for op in value.ops:
            self.enumerate_operand_type(op)
        if value.kind == EXPR and value.payload[0] == "getelementptr":  # type: ignore[index]
            self.enumerate_type(value.payload[2])  # type: ignore[index]
        if value.kind == ASM:
            pass

    def value_id(self, value: object) -> int:
        """0-based value id; a block's index; a metadata operand's metadata id."""
        vid = self.value_ids.get(value)
        if vid is not None:
            return vid
        if isinstance(value, WMD):
            return self.metadata_id(value)
        if isinstance(value, BasicBlock):
            return self.block_ids[id(value)]
        raise KeyError(value)

    def optimize_constants(self, start: int, end: int) -> None:
        """Sort values[start:end] by type id, then by falling use count; integers first."""
        if end - start < 2:
            return
        tid = self.type_ids
        span = list(zip(self.values[start:end], self.counts[start:end], strict=True))
        span.sort(key=lambda vc: (tid[vc[0].ty], -vc[1]))  # type: ignore[attr-defined]
        ints = [vc for vc in span if _is_int_or_int_vector(vc[0].ty)]  # type: ignore[attr-defined]
        rest = [vc for vc in span if not _is_int_or_int_vector(vc[0].ty)]  # type: ignore[attr-defined]
        span = _operands_first(ints + rest, self.module.structs)
        for offset, (value, count) in enumerate(span):
            self.values[start + offset] = value
            self.counts[start + offset] = count
            self.value_ids[value] = start + offset

    # -------------------------------------------------------------- attributes

    def attr_set(self, spellings: list[str]) -> attrs.AttrSet:
        key = tuple(spellings)
        found = self._set_cache.get(key)
        if found is None:
            found = attrs.attribute_set(spellings)
            self._set_cache[key] = found
        return found

    def enumerate_attributes(self, attr_list: attrs.AttrList) -> None:
        """``ValueEnumerator::EnumerateAttributes``."""
        if not attr_list:
            return
        if attr_list not in self.attr_list_ids:
            self.attr_lists.append(attr_list)
            self.attr_list_ids[attr_list] = len(self.attr_lists)
        for pair in attr_list:
            if pair not in self.attr_group_ids:
                self.attr_groups.append(pair)
                self.attr_group_ids[pair] = len(self.attr_groups)
                for ty in attrs.attribute_types(pair[1]):
                    self.enumerate_type(ty)

    def attr_list_id(self, attr_list: attrs.AttrList) -> int:
        return self.attr_list_ids[attr_list] if attr_list else 0

    def function_attrs(self, fn: Function) -> attrs.AttrList:
        found = self._fn_attr_lists.get(id(fn))
        if found is None:
            found = attrs.attribute_list(self.attr_set(fn.fn_attrs), self.attr_set(fn.ret_attrs),
                                         [self.attr_set(a.attrs) for a in fn.args])
            self._fn_attr_lists[id(fn)] = found
        return found

    def call_attrs(self, call: Call) -> attrs.AttrList:
        found = self._call_attr_lists.get(id(call))
        if found is None:
            found = attrs.attribute_list(self.attr_set(call.fn_attrs),
                                         self.attr_set(call.ret_attrs),
                                         [self.attr_set(a) for a in call.arg_attrs])
            self._call_attr_lists[id(call)] = found
        return found

    def global_attrs(self, gv: GlobalVariable) -> attrs.AttrList:
        found = self.attr_set(gv.attrs_group)
        return ((codes.FUNCTION_INDEX, found),) if found else ()

    # ---------------------------------------------------------------- metadata

    def md_kind(self, name: str) -> int:
        kind = self.md_kinds.get(name)
        if kind is None:
            kind = len(self.md_kinds)
            self.md_kinds[name] = kind
        return kind

    def function_md_tag(self, fn: Function) -> int:
        return self.value_ids[fn] + 1

    def enumerate_metadata(self, function: int, md: WMD | None) -> None:
        """``ValueEnumerator::EnumerateMetadata``: post-order, distinct nodes delayed."""
        delayed: list[WMD] = []
        worklist: list[list[object]] = []
        first = self._enumerate_md_impl(function, md)
        if first is not None:
            worklist.append([first, 0])
        while worklist:
            entry = worklist[-1]
            node: WMD = entry[0]  # type: ignore[assignment]
            pos: int = entry[1]  # type: ignore[assignment]
            ops = node.ops
            nxt = None
            while pos < len(ops):
                candidate = self._enumerate_md_impl(function, ops[pos])
                pos += 1
                if candidate is not None:
                    nxt = candidate
                    break
            entry[1] = pos
            if nxt is not None:
                if nxt.distinct and not node.distinct:
                    delayed.append(nxt)
                else:
                    worklist.append([nxt, 0])
                continue
            worklist.pop()
            self.mds.append(node)
            self.md_index[node].id = len(self.mds)
            if not worklist or worklist[-1][0].distinct:  # type: ignore[attr-defined]
                for d in delayed:
                    worklist.append([d, 0])
                delayed.clear()

    def _enumerate_md_impl(self, function: int, md: WMD | None) -> WMD | None:
        if md is None:
            return None
        entry = self.md_index.get(md)
        if entry is not None:
            if entry.function and entry.function != function:
                self._drop_function(md)
            return None
        entry = _MDIndex(function)
        self.md_index[md] = entry
        if md.kind == NODE:
            return md
        self.mds.append(md)
        entry.id = len(self.mds)
        if md.kind != STRING:
            self.enumerate_value(md.data)
        return None

    def _drop_function(self, first: WMD) -> None:
        worklist: list[WMD] = []

        def push(md: WMD) -> None:
            entry = self.md_index[md]
            if not entry.function:
                return
            entry.function = 0
            if entry.id and md.kind == NODE:
                worklist.append(md)

        push(first)
        while worklist:
            for op in worklist.pop().ops:
                if op is not None and op in self.md_index:
                    push(op)

    def organize_metadata(self) -> None:
        """``ValueEnumerator::organizeMetadata``: module metadata first, then per function."""
        if not self.mds:
            return
        index = self.md_index
        order = sorted(self.mds, key=lambda md: (index[md].function, _md_type_order(md),
                                                 index[md].id))
        module_mds: list[WMD] = []
        strings = 0
        pos = 0
        while pos < len(order) and index[order[pos]].function == 0:
            md = order[pos]
            module_mds.append(md)
            index[md].id = pos + 1
            strings += md.kind == STRING
            pos += 1
        self.mds = module_mds
        self.num_md_strings = strings
        base = len(module_mds)
        while pos < len(order):
            function = index[order[pos]].function
            group: list[WMD] = []
            group_strings = 0
            while pos < len(order) and index[order[pos]].function == function:
                md = order[pos]
                group.append(md)
                index[md].id = base + len(group)
                group_strings += md.kind == STRING
                pos += 1
            self._function_mds[function] = (group, group_strings)

    def metadata_id(self, md: WMD) -> int:
        """0-based metadata id (LLVM's getMetadataID)."""
        return self.md_index[md].id - 1

    def metadata_or_null_id(self, md: WMD | None) -> int:
        return 0 if md is None else self.md_index[md].id

    # ---------------------------------------------------------- module walk

    def _enumerate_module(self) -> None:
        m = self.module
        for gv in m.globals:
            self.enumerate_value(gv)
            self.enumerate_type(gv.value_type)
        for fn in m.functions:
            self.enumerate_value(fn)
            self.enumerate_type(fn.function_type)
            self.enumerate_attributes(self.function_attrs(fn))
        for ga in m.aliases:
            if ga.is_ifunc:
                raise self.error(f"ifunc @{ga.name} is not supported by the bitcode writer",
                                 location=ga.location)
            self.enumerate_value(ga)
            self.enumerate_type(ga.value_type)
        first_constant = len(self.values)
        for gv in m.globals:
            if gv.initializer is not None:
                self.enumerate_value(self.constants.get(gv.initializer))
            if gv.attrs_group:
                self.enumerate_attributes(self.global_attrs(gv))
        for ga in m.aliases:
            if ga.aliasee is None:
                raise self.error(f"alias @{ga.name} has no aliasee", location=ga.location)
            self.enumerate_value(self.constants.get(ga.aliasee))
        for fn in m.functions:
            for op in self.function_operands(fn):
                self.enumerate_value(op)
        self.enumerate_type(METADATA)
        for nmd in m.named_metadata:
            for node in nmd.nodes:
                wmd = self.metadata.get(node)
                if wmd.kind != NODE:
                    raise self.error(f"named metadata !{nmd.name} lists a non-node")
                self.enumerate_metadata(0, wmd)
        for gv in m.globals:
            for kind, md in gv.metadata:
                self.md_kind(kind)
                self.enumerate_metadata(0, self._attachment(md))
        for fn in m.functions:
            self._enumerate_function_types(fn)
        if self._any_instruction_metadata and _debug_info_version(m) != 3:
            # LLVM 14 strips debug info from modules without a current "Debug Info
            # Version" flag (UpgradeDebugInfo -> StripDebugInfo), and that clears the
            # "heapallocsite" attachment of every instruction carrying metadata,
            # registering the kind by name: llvm-as-14's and Apple's modules list it.
            self.md_kind(codes.STRIP_DEBUG_METADATA_KIND)
        self.optimize_constants(first_constant, len(self.values))
        self.organize_metadata()
        self.num_module_values = len(self.values)
        self.num_module_mds = len(self.mds)

    def _attachment(self, md: Metadata) -> WMD:
        wmd = self.metadata.get(md)
        if wmd.kind != NODE:
            raise self.error("a metadata attachment must be a node")
        return wmd

    def function_operands(self, fn: Function) -> list[object]:
        """Function operands LLVM enumerates: personality, prefix and prologue slots."""
        if fn.personality is None:
            return []
        placeholder = self.constants.null_pointer(TypedPointerType(IntType(1), 0))
        return [self.constants.get(fn.personality), placeholder, placeholder]

    def _enumerate_function_types(self, fn: Function) -> None:
        for arg in fn.args:
            self.enumerate_type(arg.ty)
        tag = 0 if fn.is_declaration else self.function_md_tag(fn)
        for kind, md in fn.metadata:
            self.md_kind(kind)
            self.enumerate_metadata(tag, self._attachment(md))
        if fn.is_declaration:
            return
        info = self._function_info(fn)
        known = self._known_types
        value_ids = self.value_ids
        enumerate_type = self.enumerate_type
        for inst, ops in zip(info.instructions, info.operands, strict=True):
            for op in ops:
                cls = op.__class__
                if cls is WMD:
                    if op.kind != LOCAL:  # type: ignore[attr-defined]
                        self.enumerate_metadata(tag, op)  # type: ignore[arg-type]
                    continue
                ty = getattr(op, "ty", LABEL)
                if id(ty) not in known:
                    enumerate_type(ty)
                if cls is WConst and op not in value_ids:
                    self.enumerate_operand_type(op)
            cls = inst.__class__
            if cls is ShuffleVector:
                enumerate_type(self._shuffle_mask(inst).ty)  # type: ignore[arg-type]
            elif cls is GetElementPtr:
                enumerate_type(inst.source_type)  # type: ignore[attr-defined]
            elif cls is Alloca:
                enumerate_type(inst.allocated_type)  # type: ignore[attr-defined]
            if id(inst.ty) not in known:
                enumerate_type(inst.ty)
            if cls is Call:
                self.enumerate_attributes(self.call_attrs(inst))  # type: ignore[arg-type]
                enumerate_type(inst.function_type)  # type: ignore[attr-defined]
            if inst.metadata:
                for kind, md in inst.metadata:
                    self.md_kind(kind)
                    self.enumerate_metadata(tag, self._attachment(md))

    def _shuffle_mask(self, inst: ShuffleVector) -> WConst:
        scalable = isinstance(inst.ty, VectorType) and inst.ty.scalable
        return self.constants.shuffle_mask(inst.mask, scalable)

    # ------------------------------------------------------------ operands

    def _function_info(self, fn: Function) -> FunctionInfo:
        info = self.function_infos.get(id(fn))
        if info is None:
            instructions = [inst for block in fn.blocks for inst in block.instructions]
            ops = [self._operands(inst) for inst in instructions]
            info = FunctionInfo(fn, list(fn.blocks), instructions, ops)
            for inst, inst_ops in zip(instructions, ops, strict=True):
                for op in inst_ops:
                    cls = op.__class__
                    if cls is WConst:
                        info.constants.append(op)  # type: ignore[arg-type]
                    elif cls is WMD and op.kind == LOCAL:  # type: ignore[attr-defined]
                        info.local_mds.append(op)  # type: ignore[arg-type]
                if inst.__class__ is ShuffleVector:
                    info.constants.append(self._shuffle_mask(inst))  # type: ignore[arg-type]
                if inst.ty.__class__ is not VoidType:
                    info.results.append(inst)
            self.function_infos[id(fn)] = info
            self._register_names(fn)
        return info

    def _register_names(self, fn: Function) -> None:
        for inst in fn.instructions():
            for kind, _ in inst.metadata:
                self.md_kind(kind)
                self._any_instruction_metadata = True
            if isinstance(inst, Call):
                for bundle in inst.bundles:
                    if bundle.tag not in self.bundle_tags:
                        self.bundle_tags[bundle.tag] = len(self.bundle_tags)
            scope = getattr(inst, "syncscope", None)
            if scope is not None and scope not in self.sync_scopes:
                self.sync_scopes[scope] = len(self.sync_scopes)

    def canonical(self, value: Value) -> object:
        """The uniqued object for an operand: constants through the pool, others as they are."""
        cls = value.__class__
        if cls in _LOCAL_VALUE_CLASSES:
            return value
        if cls is MetadataValue:
            assert value.md is not None  # type: ignore[attr-defined]
            return self.metadata.get(value.md)  # type: ignore[attr-defined]
        if isinstance(value, Constant):
            return self.constants.get(value)
        if isinstance(value, Argument | Instruction):
            return value
        raise self.error(f"unsupported operand {type(value).__name__}")

    def _operands(self, inst: Instruction) -> list[object]:
        """The instruction's operands in LLVM's order (blocks and implicit ones included)."""
        special = _SPECIAL_OPERANDS.get(inst.__class__)
        if special is not None:
            return special(self, inst)
        canon = self.canonical
        return [canon(v) for v in inst.ops]

    def _branch_operands(self, inst: Branch) -> list[object]:
        if inst.ops:
            return [self.canonical(inst.ops[0]), inst.targets[1], inst.targets[0]]
        return [inst.targets[0]]

    def _switch_operands(self, inst: Switch) -> list[object]:
        canon = self.canonical
        out: list[object] = [canon(inst.ops[0]), inst.targets[0]]
        for value, target in zip(inst.ops[1:], inst.targets[1:], strict=True):
            out.append(canon(value))
            out.append(target)
        return out

    def _alloca_operands(self, inst: Alloca) -> list[object]:
        if inst.ops:
            return [self.canonical(inst.ops[0])]
        return [self.constants.int_constant(I32, 1)]  # LLParser's implicit "i32 1"

    def _call_operands(self, inst: Call) -> list[object]:
        canon = self.canonical
        args = [canon(a) for a in inst.args]
        bundle_ops = [canon(v) for b in inst.bundles for v in b.inputs]
        callee = inst.callee
        if isinstance(callee, InlineAsm):
            pointer = TypedPointerType(inst.function_type, inst.addrspace or 0)
            target: object = self.constants.inline_asm(callee, pointer)
        else:
            target = canon(callee)
        return [*args, *bundle_ops, target]

    # ------------------------------------------------------- function bodies

    def incorporate_function(self, fn: Function) -> FunctionInfo:
        """``ValueEnumerator::incorporateFunction``: number the body's values and metadata."""
        info = self._function_info(fn)
        self.num_module_values = len(self.values)
        tag = self.function_md_tag(fn)
        group, strings = self._function_mds.get(tag, ([], 0))
        self.num_module_mds = len(self.mds)
        self.mds.extend(group)
        self.num_md_strings = strings
        for arg in fn.args:
            self.enumerate_value(arg)
        self.first_function_constant = len(self.values)
        self.block_ids = {id(block): k for k, block in enumerate(info.blocks)}
        enumerate_value = self.enumerate_value
        for constant in info.constants:
            enumerate_value(constant)
        self.optimize_constants(self.first_function_constant, len(self.values))
        self.enumerate_attributes(self.function_attrs(fn))
        self.first_instruction = len(self.values)
        values = self.values
        counts = self.counts
        value_ids = self.value_ids
        known = self._known_types
        for inst in info.results:
            # a new instruction: enumerate_value without the lookups
            if id(inst.ty) not in known:
                self.enumerate_type(inst.ty)
            value_ids[inst] = len(values)
            values.append(inst)
            counts.append(1)
        locals_ = info.local_mds
        for md in locals_:
            if md in self.md_index and self.md_index[md].id:
                continue
            self.mds.append(md)
            self.md_index[md] = _MDIndex(tag, len(self.mds))
            self.enumerate_value(md.data)
        return info

    def purge_function(self) -> None:
        """``ValueEnumerator::purgeFunction``: forget the body's values and metadata."""
        for value in self.values[self.num_module_values:]:
            del self.value_ids[value]
        for md in self.mds[self.num_module_mds:]:
            if md.kind == LOCAL:
                del self.md_index[md]
        del self.values[self.num_module_values:]
        del self.counts[self.num_module_values:]
        del self.mds[self.num_module_mds:]
        self.block_ids = {}
        self.num_md_strings = 0

    def shuffle_mask(self, inst: ShuffleVector) -> WConst:
        return self._shuffle_mask(inst)

    def bits_for_type_ids(self) -> int:
        """``computeBitsRequiredForTypeIndicies``: Log2_32_Ceil(#types + 1)."""
        return log2_ceil(len(self.types) + 1)


_SPECIAL_OPERANDS = {
    Branch: Enumerator._branch_operands,
    Switch: Enumerator._switch_operands,
    Alloca: Enumerator._alloca_operands,
    Call: Enumerator._call_operands,
}


def _all_subclasses(cls: type) -> set[type]:
    out = {cls}
    for sub in cls.__subclasses__():
        out |= _all_subclasses(sub)
    return out


# Operand classes that are their own uniqued object (function-local values).
_LOCAL_VALUE_CLASSES = frozenset(_all_subclasses(Instruction) | {Argument})


def log2_ceil(value: int) -> int:
    """LLVM's Log2_32_Ceil for value >= 1."""
    return (value - 1).bit_length()


def _is_int_or_int_vector(ty: Type) -> bool:
    if isinstance(ty, VectorType):
        ty = ty.element
    return isinstance(ty, IntType)


def _operands_first(span: list[tuple[object, int]],
                    structs: dict[str, StructType | None]) -> list[tuple[object, int]]:
    """Move constants after the constants they use, keeping the order otherwise.

    LLVM's sort by type can put a constant expression before an operand
    that is itself an expression; LLVM's reader then builds the user on a
    placeholder and may fold it differently from the way LLParser folded the
    text (``bitcast (addrspacecast ...)`` becomes a different but equivalent
    expression). Our constants are not folded, so an operand that would fold
    with its user (:func:`refolds`) moves ahead of it: the reader then
    rebuilds exactly the constants LLParser builds from the same text. All
    other forward references keep LLVM's order (text LLVM printed is already
    folded, so its bitcode keeps LLVM's order exactly).
    """
    counts = {id(v): (v, n) for v, n in span}
    placed: set[int] = set()
    out: list[tuple[object, int]] = []
    for value, _ in span:
        _place(value, counts, placed, out, structs)
    return out


def _place(value: object, counts: dict[int, tuple[object, int]], placed: set[int],
           out: list[tuple[object, int]], structs: dict[str, StructType | None]) -> None:
    """Append ``value``'s entry to ``out`` after the operands it refolds with (once).

    A module-level function, not a closure: a recursive closure is a reference cycle,
    left to the cyclic collector (paused while packaging) after every module."""
    key = id(value)
    if key in placed or key not in counts:
        return
    placed.add(key)
    if isinstance(value, WConst) and value.kind == EXPR:
        for op in value.ops:
            if isinstance(op, WConst) and refolds(value, op, structs):
                _place(op, counts, placed, out, structs)
    out.append(counts[key])


def _debug_info_version(module: Module) -> int:
    """The module's "Debug Info Version" flag (0 when absent), as getDebugMetadataVersionFromModule."""
    from llvm_to_air.ir.model import ConstantInt, MDNode, MDString, MDValue

    for nmd in module.named_metadata:
        if nmd.name != "llvm.module.flags":
            continue
        for node in nmd.nodes:
            if isinstance(node, MDNode) and len(node.operands) == 3:
                key, value = node.operands[1], node.operands[2]
                if isinstance(key, MDString) and key.value == b"Debug Info Version" and \
                        isinstance(value, MDValue) and isinstance(value.value, ConstantInt):
                    return value.value.value
    return 0


def _md_type_order(md: WMD) -> int:
    if md.kind == STRING:
        return 0
    if md.kind != NODE:
        return 1
    return 2 if md.distinct else 3
