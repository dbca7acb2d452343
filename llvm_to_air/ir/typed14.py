"""Typed LLVM 14 view of a lowered module: the bitcode writer's input, built without text.

Stage ``typed_module14(module) -> Module``.

Expects: a lowered module in our model (opaque pointers), left untouched.
Guarantees: a new module with every pointer a :class:`TypedPointerType`,
the same module that ``parse_llvm14_module(write_llvm14(module))`` reads
back from the LLVM 14 printer's text, so ``write_bitcode`` of either gives
identical bytes (``tests/test_typed14.py`` holds the two routes to that).

Every decision (pointees, where a ``bitcast`` goes and its ``.tpN`` name,
intrinsic names, declaration order, restored ``immarg`` operands, which
metadata survives) comes from :class:`llvm_to_air.ir.plan14.Plan14`, the
object the printer asks too; this module only builds what the printer
would print, in the order it prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir import llvm14
from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    BlockAddress,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    Constant,
    ConstantAggregate,
    ConstantExpr,
    ConstantFP,
    ConstantInt,
    ConstantString,
    ExtractElement,
    ExtractValue,
    Fence,
    Freeze,
    Function,
    GetElementPtr,
    GlobalAlias,
    GlobalValue,
    GlobalVariable,
    InlineAsm,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    MetadataValue,
    Module,
    NamedMetadata,
    OperandBundle,
    Phi,
    Return,
    Select,
    ShuffleVector,
    SpecializedMDNode,
    Store,
    Switch,
    UnaryOp,
    Unreachable,
    Value,
    result_type_of_cmpxchg,
)
from llvm_to_air.ir.plan14 import (
    INSTRUCTION_HANDLERS,
    Plan14,
    PlanShared,
    WriterOptions,
    adapts,
    pointer_to,
    produces_value,
)
from llvm_to_air.ir.types import (
    VOID,
    FunctionType,
    IntType,
    PointerType,
    Type,
    TypedPointerType,
    VectorType,
)


@dataclass
class Typed14Cache:
    """What building the typed views of several modules that share model metadata (a
    library's kernel modules, split from one lowered module) can share: whether a model
    metadata node types as itself, per options (a function of the node and the options
    alone). ``keep`` holds those nodes alive, so their ids stay theirs. ``plan``: what
    their plans share (:class:`~llvm_to_air.ir.plan14.PlanShared`)."""

    metadata_unchanged: dict[WriterOptions, dict[int, bool]] = field(default_factory=dict)
    keep: list[Metadata] = field(default_factory=list)
    plan: PlanShared = field(default_factory=PlanShared)


def typed_module14(module: Module, options: WriterOptions | None = None,
                   cache: Typed14Cache | None = None) -> Module:
    """The typed LLVM 14 view of ``module`` (see the module docstring); ``cache``: shared
    by the modules of one library."""
    with gc_paused():
        try:
            return _Builder(module, options or WriterOptions(), cache or Typed14Cache()).build()
        except CompileError:
            raise
        except Exception as exc:  # a construct no check names: still a CompileError
            raise CompileError(
                f"the LLVM 14 view of this module cannot be built ({type(exc).__name__}: {exc})",
                SourceLocation(module.file), hint="please report this input") from exc


def release_view14(view: Module) -> None:
    """Break the reference cycles of a typed view its user is done with.

    Expects a module :func:`typed_module14` built that nothing will read again (its
    functions, blocks and instructions are the view's own). Guarantees reference
    counting frees it at once: instructions point to their blocks, blocks to their
    function, branches to blocks and phis along loops, so otherwise the view waits
    for the cyclic collector, which the packaging pauses; a library's kernel modules
    then leave one pass over ~600k objects (1,111 kernels) for the end, about a tenth
    of writing the library.
    """
    for fn in view.functions:
        for block in fn.blocks:
            for inst in block.instructions:
                inst.ops.clear()  # a phi's loop, and a user's path back to its phi
            block.instructions.clear()
        fn.blocks.clear()


class _Builder(Plan14):
    def __init__(self, module: Module, options: WriterOptions, cache: Typed14Cache) -> None:
        super().__init__(module, options, cache.plan)
        self.out = Module(source_filename=module.source_filename, triple=module.triple,
                          datalayout=module.datalayout, module_asm=list(module.module_asm),
                          comdats=dict(module.comdats), file=module.file)
        self.globals_map: dict[GlobalValue, GlobalValue] = {}
        self.md_map: dict[int, Metadata | None] = {}
        self.md_unchanged = cache.metadata_unchanged.setdefault(options, {})
        self.md_keep = cache.keep
        self._md_in_progress: set[int] = set()
        self._md_cycle = False
        # per-function state
        self.locals: dict[object, Value] = {}
        self.blocks: dict[BasicBlock, BasicBlock] = {}
        self.pre: list[Instruction] = []
        self.tail: dict[BasicBlock, list[Instruction]] = {}
        self.phi_casts_made: dict[tuple[int, int, int], Value] = {}
        self._local_mds: list[MDValue] = []

    # ----------------------------------------------------------------- module

    def build(self) -> Module:
        m, out = self.m, self.out
        functions = self.ordered_functions()
        out.structs = {name: None if body is None else self.canon(body)  # type: ignore[misc]
                       for name, body in m.structs.items()}
        # globals first (as objects), so initializers and bodies can refer to any of them
        for gv in m.globals:
            self.globals_map[gv] = self._global_shell(gv)
        for ga in m.aliases:
            self.globals_map[ga] = self._alias_shell(ga)
        for fn in functions:
            self.globals_map[fn] = self._function_shell(fn)
        for gv in m.globals:
            self._global_body(gv)
        for ga in m.aliases:
            self._alias_body(ga)
        for fn in functions:
            self._function_body(fn)
        out.globals = [self.globals_map[gv] for gv in m.globals]  # type: ignore[misc]
        out.aliases = [self.globals_map[ga] for ga in m.aliases]  # type: ignore[misc]
        out.functions = [self.globals_map[fn] for fn in functions]  # type: ignore[misc]
        for nmd in m.named_metadata:
            if self.keep_named_metadata(nmd.name):
                nodes = [self.metadata(n) for n in nmd.nodes if self.keep_md(n)]
                out.named_metadata.append(NamedMetadata(nmd.name, nodes))  # type: ignore[arg-type]
        return out

    def _name(self, gv: GlobalValue) -> str:
        return self.global_names[gv].name

    def _global_shell(self, gv: GlobalVariable) -> GlobalVariable:
        vty = self.canon(gv.value_type)
        return GlobalVariable(TypedPointerType(vty, gv.addrspace), name=self._name(gv),
                              linkage=gv.linkage, qualifiers=list(gv.qualifiers),
                              location=gv.location, value_type=vty, is_constant=gv.is_constant,
                              externally_initialized=gv.externally_initialized,
                              section=gv.section, comdat=gv.comdat, align=gv.align,
                              partition=gv.partition,
                              attrs_group=self.attrs14(gv.attrs_group))

    def _global_body(self, gv: GlobalVariable) -> None:
        new = self.globals_map[gv]
        assert isinstance(new, GlobalVariable)
        if gv.initializer is not None:
            new.initializer = self.const_as(gv.initializer, new.value_type)
        new.metadata = self._attachments(gv.metadata)

    def _alias_shell(self, ga: GlobalAlias) -> GlobalAlias:
        if ga.is_ifunc:
            raise CompileError(f"ifunc @{ga.name} has no meaning on GPUs", ga.location)
        vty = self.canon(ga.value_type)
        target = TypedPointerType(vty, ga.ty.addrspace if isinstance(ga.ty, PointerType) else 0)
        return GlobalAlias(target, name=self._name(ga), linkage=ga.linkage,
                           qualifiers=list(ga.qualifiers), location=ga.location, value_type=vty)

    def _alias_body(self, ga: GlobalAlias) -> None:
        new = self.globals_map[ga]
        assert isinstance(new, GlobalAlias) and ga.aliasee is not None
        new.aliasee = self.const_as(ga.aliasee, new.ty)

    def _function_shell(self, fn: Function) -> Function:
        sig = self.pointees.signature(fn)
        linkage = fn.linkage if not (fn.is_declaration and fn.linkage == "external") else ""
        unnamed = [q for q in fn.qualifiers if q in ("unnamed_addr", "local_unnamed_addr")]
        qualifiers = [q for q in fn.qualifiers if q not in unnamed] + unnamed
        args = [Argument(pty, name=None if fn.is_declaration else arg.name,
                         attrs=self.attrs14(arg.attrs))
                for arg, pty in zip(fn.args, sig.params, strict=True)]
        params = list(sig.params)
        restored = self.restored(fn)
        if restored is not None:
            rty = _restored_type(restored)
            args.insert(restored.position, Argument(rty, attrs=["immarg"]))
            params.insert(restored.position, rty)
        fnty = FunctionType(sig.ret, tuple(params), sig.vararg)
        return Function(TypedPointerType(fnty, 0), name=self._name(fn), linkage=linkage,
                        qualifiers=qualifiers, location=fn.location, function_type=fnty,
                        args=args, cc=fn.cc, ret_attrs=self.attrs14(fn.ret_attrs),
                        fn_attrs=self.attrs14(fn.fn_attrs), section=fn.section,
                        comdat=fn.comdat, align=fn.align, gc=fn.gc, partition=fn.partition,
                        prefix_words=list(fn.prefix_words))

    def _function_body(self, fn: Function) -> None:
        new = self.globals_map[fn]
        assert isinstance(new, Function)
        self.current = fn
        if fn.personality is not None:
            new.personality = self.typed(fn.personality)
        new.metadata = self._attachments(fn.metadata)
        if not fn.is_declaration:
            self._body(fn, new)
        self.current = None
        self.current_inst = None

    # ------------------------------------------------------------------ bodies

    def _body(self, fn: Function, new: Function) -> None:
        self.locals = dict(zip(fn.args, new.args, strict=False))
        self.blocks = {block: BasicBlock(name=block.name, parent=new) for block in fn.blocks}
        self.begin_function(fn)
        self.tail = {}
        self.phi_casts_made = {}
        built: list[Instruction] = []
        self._plan_phi_casts(fn)
        for block in fn.blocks:
            out_block = self.blocks[block]
            for inst in block.instructions:
                self.pre = []
                self.current_inst = inst
                made = self._instruction(inst)
                if inst.is_terminator:
                    out_block.instructions.extend(self.tail.get(block, []))
                out_block.instructions.extend(self.pre)
                if made is not None:
                    self.locals[inst] = made
                    out_block.instructions.append(made)
            for inst in out_block.instructions:
                inst.parent = out_block
            built.extend(out_block.instructions)
        # operands that referred forward (to values built later) now get their typed form
        local = self.locals
        for inst in built:
            inst.ops = [local.get(op, op) for op in inst.ops]
            if isinstance(inst, Call) and inst.bundles:
                for bundle in inst.bundles:
                    bundle.inputs = [local.get(v, v) for v in bundle.inputs]
        for md in self._local_mds:
            md.value = local.get(md.value, md.value)
        self._local_mds = []
        new.blocks = [self.blocks[b] for b in fn.blocks]

    def _plan_phi_casts(self, fn: Function) -> None:
        made: dict[str, Cast] = {}
        for planned in self.phi_casts(fn):
            cast = made.get(planned.name)
            if cast is None:
                cast = made[planned.name] = Cast(planned.want, opcode="bitcast",
                                                 ops=[planned.value], name=planned.name)
                self.tail.setdefault(planned.pred, []).append(cast)
            self.phi_casts_made[(id(planned.phi), id(planned.value), id(planned.pred))] = cast

    # ---------------------------------------------------------------- operands

    def local(self, value: Value) -> Value:
        """A value as its own typed type (no cast): locals map later, constants now."""
        if isinstance(value, Constant):
            return self.typed(value)
        if isinstance(value, MetadataValue):
            return MetadataValue(value.ty, md=self.metadata_inline(value.md))
        if isinstance(value, InlineAsm):
            return InlineAsm(PointerType(0), asm=value.asm, constraints=value.constraints,
                             flags=value.flags)
        return self.locals.get(value, value)

    def operand(self, value: Value, want: Type | None = None) -> Value:
        """``value`` as typed type ``want`` (cast when its typed type differs)."""
        if want is None:
            return self.local(value)
        have = self.vtype(value)
        if want == have:
            return self.local(value)
        return self.coerce(value, have, want)

    def coerce(self, value: Value, have: Type, want: Type) -> Value:
        if adapts(value):
            return self.adapted(value, want)  # type: ignore[arg-type]
        if isinstance(value, Constant):
            return ConstantExpr(want, opcode="bitcast", ops=[self.typed(value)])
        cast = Cast(want, opcode="bitcast", ops=[value], name=self.fresh_cast_name())
        self.pre.append(cast)
        return cast

    def as_type(self, value: Value, want: Type) -> Value:
        have = self.vtype(value)
        if have == want:
            return self.local(value)
        return self.coerce(value, have, want)

    # --------------------------------------------------------------- constants

    def typed(self, c: Constant) -> Constant:
        """A constant as its own typed type."""
        return self.const_body(c, None)

    def adapted(self, c: Constant, want: Type) -> Constant:
        """null/undef/poison/zeroinitializer of typed type ``want``."""
        return type(c)(want)

    def const_as(self, c: Constant, want: Type) -> Constant:
        """A constant as a value of typed type ``want``."""
        if adapts(c):
            return self.adapted(c, want)
        have = self.vtype(c)
        if have == want:
            return self.const_body(c, want)
        return ConstantExpr(want, opcode="bitcast", ops=[self.const_body(c, None)])

    def const_body(self, c: Constant, want: Type | None) -> Constant:
        if isinstance(c, GlobalValue):
            return self.globals_map[c]
        if isinstance(c, ConstantInt | ConstantFP | ConstantString):
            return c  # no pointer inside: the same constant
        if adapts(c):
            return self.adapted(c, want if want is not None else self.vtype(c))
        if isinstance(c, ConstantAggregate):
            return self._aggregate(c, want)
        if isinstance(c, ConstantExpr):
            return self._constant_expr(c)
        if isinstance(c, BlockAddress):
            assert c.function is not None
            return BlockAddress(self.vtype(c), function=self.globals_map[c.function],
                                block=c.block)
        raise CompileError(f"constant {type(c).__name__} cannot be printed", self.location())

    def _aggregate(self, c: ConstantAggregate, want: Type | None) -> Constant:
        ty, fields = self.aggregate_fields(c, want)
        elements = [self.const_as(e, ft) for ft, e in zip(fields, c.elements, strict=True)]
        return ConstantAggregate(ty, elements=elements)

    def _constant_expr(self, c: ConstantExpr) -> Constant:
        op = c.opcode
        if op == "getelementptr":
            assert c.source_type is not None
            source = self.canon(c.source_type)
            base, *indices = c.ops
            ops = [self.const_as(base, pointer_to(source, base.ty)),
                   *(self.typed(i) for i in indices)]
            flags = ("inbounds",) if "inbounds" in c.flags else ()
            return ConstantExpr(self.vtype(c), opcode=op, ops=ops, flags=flags,
                                source_type=source)
        if op == "ptrtoaddr":
            op = "ptrtoint"
        if len(c.ops) == 1:
            return ConstantExpr(self.vtype(c), opcode=op, ops=[self.typed(c.ops[0])])
        if op in ("extractelement", "insertelement", "shufflevector", "select"):
            return ConstantExpr(self.vtype(c), opcode=op, ops=[self.typed(x) for x in c.ops])
        allowed = llvm14.ALLOWED_FLAGS.get(op, ())
        want = self.vtype(c.ops[0])
        ops = [self.typed(c.ops[0]), *(self.const_as(x, want) for x in c.ops[1:])]
        return ConstantExpr(self.vtype(c), opcode=op, ops=ops,
                            flags=tuple(f for f in c.flags if f in allowed),
                            predicate=c.predicate)

    # ---------------------------------------------------------------- metadata

    def _attachments(self, pairs: list[tuple[str, Metadata]]) -> list[tuple[str, Metadata]]:
        return [(kind, self.metadata(md)) for kind, md in pairs  # type: ignore[misc]
                if self.keep_attachment(kind, md)]

    def metadata_inline(self, md: Metadata | None) -> Metadata | None:
        return None if md is None else self.metadata(md)

    def metadata(self, md: Metadata) -> Metadata | None:
        found = self.md_map.get(id(md), _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        if isinstance(md, MDString) or self._unchanged(md):
            return md  # most metadata (strings, integers and nodes of them) types as it is
        if isinstance(md, MDValue):
            value = self.local(md.value)
            made = MDValue(value)
            if not isinstance(value, Constant):
                self._local_mds.append(made)
            return made
        if isinstance(md, MDNode):
            node = MDNode(distinct=md.distinct)
            self.md_map[id(md)] = node
            node.operands = [self.metadata_inline(op) for op in md.operands
                             if self.keep_md(op)]
            return node
        assert isinstance(md, SpecializedMDNode)
        spec = SpecializedMDNode(md.kind, distinct=md.distinct)
        self.md_map[id(md)] = spec
        spec.fields = [(name, self.metadata(value) if isinstance(value, Metadata) else value)
                       for name, value in md.fields
                       if name not in llvm14.DEBUG_FIELDS_UNKNOWN_TO_LLVM14]
        return spec

    def _unchanged(self, md: Metadata) -> bool:
        """Whether ``md``'s typed view is ``md`` itself: nothing in it holds a pointer or a
        value of this module, and no operand is dropped. Nodes on a cycle count as changed
        (the copy handles cycles), so the answer never rests on an assumption."""
        known = self.md_unchanged.get(id(md))
        if known is not None:
            return known
        if isinstance(md, MDString):
            return True
        if isinstance(md, MDValue):
            return isinstance(md.value, ConstantInt | ConstantFP | ConstantString)
        if not isinstance(md, MDNode):
            return False
        if id(md) in self._md_in_progress:
            self._md_cycle = True
            return False
        self._md_in_progress.add(id(md))
        outer_cycle, self._md_cycle = self._md_cycle, False
        same = all(op is None or (self.keep_md(op) and self._unchanged(op))
                   for op in md.operands)
        on_cycle = self._md_cycle
        self._md_cycle = outer_cycle or on_cycle
        self._md_in_progress.discard(id(md))
        same = same and not on_cycle  # every node that reaches a cycle is copied
        self.md_unchanged[id(md)] = same
        self.md_keep.append(md)
        return same

    # ------------------------------------------------------------ instructions

    def _instruction(self, inst: Instruction) -> Instruction | None:
        handler = _HANDLERS.get(type(inst))
        if handler is None:
            raise CompileError(f"instruction '{inst.opcode}' cannot be written as LLVM 14",
                               self.location())
        made = handler(self, inst)
        if made is None:
            return None
        made.name = inst.name if produces_value(inst) else None
        made.location = inst.location
        made.metadata = self._attachments(inst.metadata)
        return made

    def _flags(self, opcode: str, flags: tuple[str, ...]) -> tuple[str, ...]:
        allowed = llvm14.ALLOWED_FLAGS.get(opcode, frozenset())
        return tuple(f for f in flags if f in allowed)

    def _binary(self, inst: BinaryOp) -> Instruction:
        lhs, rhs = inst.ops
        return BinaryOp(self.canon(inst.ty), opcode=inst.opcode,
                        ops=[self.local(lhs), self.local(rhs)],
                        flags=self._flags(inst.opcode, inst.flags))

    def _unary(self, inst: UnaryOp) -> Instruction:
        return UnaryOp(self.canon(inst.ty), opcode="fneg", ops=[self.local(inst.ops[0])],
                       flags=self._flags("fneg", inst.flags))

    def _cast(self, inst: Cast) -> Instruction:
        op = "ptrtoint" if inst.opcode == "ptrtoaddr" else inst.opcode
        return Cast(self.vtype(inst), opcode=op, ops=[self.local(inst.ops[0])])

    def _compare(self, inst: Compare) -> Instruction:
        lhs, rhs = inst.ops
        ty = self.vtype(lhs) if not adapts(lhs) else self.vtype(rhs)
        return Compare(self.canon(inst.ty), opcode=inst.opcode,
                       ops=[self.as_type(lhs, ty), self.as_type(rhs, ty)],
                       predicate=inst.predicate, flags=self._flags(inst.opcode, inst.flags))

    def _select(self, inst: Select) -> Instruction:
        cond, tval, fval = inst.ops
        want = self.vtype(inst)
        return Select(want, opcode="select", ops=[self.local(cond), self.operand(tval, want),
                                                 self.operand(fval, want)],
                      flags=self._flags("select", inst.flags))

    def _phi(self, inst: Phi) -> Instruction:
        want = self.vtype(inst)
        ops: list[Value] = []
        for value, pred in zip(inst.ops, inst.blocks, strict=True):
            cast = self.phi_casts_made.get((id(inst), id(value), id(pred)))
            if cast is not None:
                ops.append(cast)
            elif isinstance(value, Constant):
                ops.append(self.const_as(value, want))
            else:
                ops.append(self.local(value))
        return Phi(want, opcode="phi", ops=ops, blocks=[self.blocks[b] for b in inst.blocks],
                   flags=self._flags("phi", inst.flags))

    def _alloca(self, inst: Alloca) -> Instruction:
        allocated = self.pointees.pointee(inst) or self.canon(inst.allocated_type)
        return Alloca(TypedPointerType(allocated, inst.addrspace), opcode="alloca",
                      ops=[self.local(op) for op in inst.ops], allocated_type=allocated,
                      align=inst.align, addrspace=inst.addrspace, inalloca=inst.inalloca)

    def _load(self, inst: Load) -> Instruction:
        ty = self.vtype(inst)
        ptr = inst.ops[0]
        return Load(ty, opcode="load", ops=[self.operand(ptr, pointer_to(ty, ptr.ty))],
                    align=inst.align, volatile=inst.volatile, ordering=inst.ordering,
                    syncscope=inst.syncscope if inst.ordering is not None else None)

    def _store(self, inst: Store) -> Instruction:
        value, ptr = inst.ops
        ty = self.vtype(value)
        stored = self.local(value) if not adapts(value) else self.adapted(value, ty)  # type: ignore[arg-type]
        return Store(VOID, opcode="store",
                     ops=[stored, self.operand(ptr, pointer_to(ty, ptr.ty))],
                     align=inst.align, volatile=inst.volatile, ordering=inst.ordering,
                     syncscope=inst.syncscope if inst.ordering is not None else None)

    def _gep(self, inst: GetElementPtr) -> Instruction:
        source = self.canon(inst.source_type)
        base, *indices = inst.ops
        ops = [self.operand(base, pointer_to(source, base.ty)),
               *(self.local(i) for i in indices)]
        flags = ("inbounds",) if "inbounds" in inst.flags else ()
        return GetElementPtr(self.vtype(inst), opcode="getelementptr", ops=ops,
                             source_type=source, flags=flags)

    def _call(self, inst: Call) -> Instruction | None:
        callee = inst.callee
        if isinstance(callee, Function) and self.is_dropped_declaration(callee):
            return None
        sig, callee_type = self.call_signature(inst)
        restored = self.restored(callee) if isinstance(callee, Function) else None
        new_callee: Value
        if isinstance(callee, Function):
            new_callee = self.globals_map[callee]
        elif callee_type is None:
            new_callee = self.local(callee)  # inline asm
        else:
            new_callee = self.as_type(callee, callee_type)
        arg_attrs = [list(a) for a in inst.arg_attrs]
        restored_value = self.restored_value(restored, inst, arg_attrs) if restored else None
        args: list[Value] = []
        arg_types: list[Type] = []
        out_attrs: list[list[str]] = []
        for k, arg in enumerate(inst.args):
            want = self.call_arg_type(sig, k, arg, arg_attrs)
            made = self.operand(arg, want)
            args.append(made)
            arg_types.append(want if want is not None else made.ty)
            out_attrs.append(self.attrs14(arg_attrs[k])
                             if k < len(arg_attrs) else [])
        if restored is not None and restored_value is not None:
            rty = _restored_type(restored)
            args.insert(restored.position, ConstantInt(rty, value=restored_value))
            arg_types.insert(restored.position, rty)
            out_attrs.insert(restored.position, [])
        if sig.vararg or isinstance(callee, InlineAsm):
            fnty = sig
        else:
            fnty = FunctionType(sig.ret, tuple(arg_types))
        bundles = [OperandBundle(b.tag, [self.local(v) for v in b.inputs])
                   for b in inst.bundles]
        return Call(fnty.ret, opcode="call", ops=[*args, new_callee], function_type=fnty,
                    cc=inst.cc, tail=inst.tail, flags=self._flags("call", inst.flags),
                    ret_attrs=self.attrs14(inst.ret_attrs), arg_attrs=out_attrs,
                    fn_attrs=self.attrs14(inst.fn_attrs), bundles=bundles,
                    addrspace=inst.addrspace)

    def _atomicrmw(self, inst: AtomicRMW) -> Instruction:
        self.check_atomicrmw(inst.operation)
        ptr, value = inst.ops
        ty = self.canon(value.ty)
        return AtomicRMW(ty, opcode="atomicrmw",
                         ops=[self.operand(ptr, pointer_to(ty, ptr.ty)), self.as_type(value, ty)],
                         operation=inst.operation, volatile=inst.volatile,
                         ordering=inst.ordering, syncscope=inst.syncscope, align=inst.align)

    def _cmpxchg(self, inst: CmpXchg) -> Instruction:
        ptr, cmp, new = inst.ops
        ty = self.canon(cmp.ty)
        return CmpXchg(result_type_of_cmpxchg(ty), opcode="cmpxchg",
                       ops=[self.operand(ptr, pointer_to(ty, ptr.ty)), self.as_type(cmp, ty),
                            self.as_type(new, ty)],
                       weak=inst.weak, volatile=inst.volatile,
                       success_ordering=inst.success_ordering,
                       failure_ordering=inst.failure_ordering, syncscope=inst.syncscope,
                       align=inst.align)

    def _fence(self, inst: Fence) -> Instruction:
        return Fence(VOID, opcode="fence", ordering=inst.ordering, syncscope=inst.syncscope)

    def _extractvalue(self, inst: ExtractValue) -> Instruction:
        return ExtractValue(self.vtype(inst), opcode="extractvalue",
                            ops=[self.local(inst.ops[0])], indices=list(inst.indices))

    def _insertvalue(self, inst: InsertValue) -> Instruction:
        agg, value = inst.ops
        return InsertValue(self.vtype(agg), opcode="insertvalue",
                           ops=[self.local(agg), self.operand(value, self.canon(value.ty))],
                           indices=list(inst.indices))

    def _extractelement(self, inst: ExtractElement) -> Instruction:
        vec, idx = inst.ops
        vty = self.vtype(vec)
        assert isinstance(vty, VectorType)
        return ExtractElement(vty.element, opcode="extractelement",
                              ops=[self.local(vec), self.local(idx)])

    def _insertelement(self, inst: InsertElement) -> Instruction:
        vec, elt, idx = inst.ops
        vty = self.vtype(vec)
        assert isinstance(vty, VectorType)
        made_vec = self.local(vec) if not adapts(vec) else self.adapted(vec, vty)  # type: ignore[arg-type]
        return InsertElement(vty, opcode="insertelement",
                             ops=[made_vec, self.operand(elt, vty.element), self.local(idx)])

    def _shufflevector(self, inst: ShuffleVector) -> Instruction:
        v1, v2 = inst.ops
        vty = self.vtype(v1)
        assert isinstance(vty, VectorType)
        return ShuffleVector(VectorType(len(inst.mask), vty.element, vty.scalable),
                             opcode="shufflevector",
                             ops=[self.as_type(v1, vty), self.as_type(v2, vty)],
                             mask=list(inst.mask))

    def _freeze(self, inst: Freeze) -> Instruction:
        ty = self.vtype(inst)
        return Freeze(ty, opcode="freeze", ops=[self.operand(inst.ops[0], ty)])

    def _ret(self, inst: Return) -> Instruction:
        if not inst.ops:
            return Return(VOID, opcode="ret")
        assert self.current is not None
        want = self.pointees.signature(self.current).ret
        return Return(VOID, opcode="ret", ops=[self.operand(inst.ops[0], want)])

    def _br(self, inst: Branch) -> Instruction:
        return Branch(VOID, opcode="br", ops=[self.local(op) for op in inst.ops],
                      targets=[self.blocks[b] for b in inst.targets])

    def _switch(self, inst: Switch) -> Instruction:
        return Switch(VOID, opcode="switch", ops=[self.local(op) for op in inst.ops],
                      targets=[self.blocks[b] for b in inst.targets])

    def _unreachable(self, inst: Unreachable) -> Instruction:
        return Unreachable(VOID, opcode="unreachable")


_MISSING = object()


def _restored_type(rule: llvm14.RestoredOperand) -> Type:
    assert rule.type.startswith("i"), rule.type
    return IntType(int(rule.type[1:]))


_HANDLERS = {cls: getattr(_Builder, "_" + name) for cls, name in INSTRUCTION_HANDLERS.items()}

__all__ = ["release_view14", "typed_module14"]
