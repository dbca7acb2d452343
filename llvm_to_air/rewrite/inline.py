"""Inline every call to a defined function into the kernels: AIR has no call stack.

``inline_calls(module, roots)`` is the model's counterpart of LLVM's
``always-inline`` run over a whole call graph.

Expects: a module as the reader returns it (opaque pointers, no ``invoke``),
and ``roots`` (normally the kernels) among its functions.

Checks first, before changing anything, every function reachable from a root
through direct calls to defined functions, and raises :class:`CompileError`
(at the offending call) for:

* recursion, direct or mutual: ``'@a' calls itself through '@b'``;
* an indirect call (a callee that is neither a function nor inline asm);
* a call to a variadic defined function;
* a call whose type differs from the defined callee's type.

Then inlines bottom-up (callees before callers, each function once), so that
afterwards no root, and no defined function reachable from one, calls a
defined function: only declarations (intrinsics, builtins) and inline asm are
still called. For each call:

* the caller's block is split at the call; the part after the call moves to a
  continuation block (``<callee>.exit``) and phis in its successors now name
  the continuation block as their predecessor;
* the callee's blocks are cloned (new blocks, new instructions) with its
  arguments replaced by the call's operands; each ``ret`` becomes a branch to
  the continuation block, and the call's value becomes the single returned
  value, a phi over the returned values, or ``poison`` if the callee never
  returns;
* static allocas of the callee's entry block move to the caller's entry block,
  so they stay static; ``byval`` arguments get a private copy there (an
  aggregate load and store before the inlined body);
* value and block names of the callee are kept, made unique in the caller;
* metadata attachments are shared with the callee, except ``!dbg`` locations,
  which get an ``inlinedAt:`` chain ending in the call's location (as the
  verifier requires), and ``!alias.scope``/``!noalias`` scopes, which are
  cloned per inlined call so two inlined copies never claim not to alias;
* tail-call markers of inlined calls are weakened to the call site's
  (LLVM's rule; ``musttail`` becomes ``tail``), and a callee's
  ``llvm.experimental.convergence.entry`` token becomes the call site's
  ``convergencectrl`` token.

Call-site attributes and fast-math flags are not carried to the inlined body.
Defined functions that are not roots are flattened too but NOT deleted: a
later stage drops functions that nothing refers to.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import NameSource, insert_at_entry, phis, replace_all_uses
from llvm_to_air.ir.model import (
    Alloca,
    BasicBlock,
    Branch,
    Call,
    ConstantExpr,
    ConstantInt,
    Function,
    GlobalAlias,
    InlineAsm,
    Instruction,
    Load,
    MDNode,
    MDValue,
    Metadata,
    MetadataValue,
    Module,
    OperandBundle,
    Phi,
    Poison,
    Return,
    SpecializedMDNode,
    Store,
    Switch,
    Value,
)
from llvm_to_air.ir.parser import parse_type_text
from llvm_to_air.ir.types import METADATA, VOID, PointerType, Type

RECURSION_HINT = "AIR has no call stack: make the function non-recursive"
INDIRECT_HINT = ("AIR has no function pointers: call the function directly "
                 "(for example through a switch over the possible callees)")
VARIADIC_HINT = "AIR has no variable argument lists: give the function a fixed parameter list"

_TAIL_RANK = {"": 0, "tail": 1, "musttail": 2}
_CONVERGENCE_ENTRY = "llvm.experimental.convergence.entry"
_SCOPE_DECL = "llvm.experimental.noalias.scope.decl"


def inline_calls(module: Module, roots: list[Function]) -> None:
    """Inline, bottom-up, every call from ``roots`` to a defined function (see module doc)."""
    assert all(root in module.functions for root in roots), "roots must be the module's"
    for fn in _bottom_up_order(roots):
        _inline_calls_in(fn)


# ------------------------------------------------------------------ call graph


def _bottom_up_order(roots: list[Function]) -> list[Function]:
    """Defined functions reachable from ``roots``, callees first; raises on recursion.

    Iterative depth-first search, so deep call chains cannot exhaust Python's stack.
    """
    on_stack, done = 1, 2
    state: dict[Function, int] = {}
    order: list[Function] = []
    for root in roots:
        if root.is_declaration or root in state:
            continue
        state[root] = on_stack
        stack: list[tuple[Function, Iterator[tuple[Call, Function]]]] = [
            (root, _inlinable_calls(root))]
        while stack:
            fn, calls = stack[-1]
            step = next(calls, None)
            if step is None:
                stack.pop()
                state[fn] = done
                order.append(fn)
                continue
            call, callee = step
            seen = state.get(callee)
            if seen is None:
                state[callee] = on_stack
                stack.append((callee, _inlinable_calls(callee)))
            elif seen == on_stack:
                cycle = [f for f, _ in stack]
                raise _recursion_error(call, cycle[cycle.index(callee):])
    return order


def _recursion_error(call: Call, cycle: list[Function]) -> CompileError:
    """``cycle`` starts at the function called again and ends at the caller."""
    head, rest = cycle[0], cycle[1:]
    message = f"recursive call: '@{head.name}' calls itself"
    if rest:
        message += " through " + ", ".join(f"'@{f.name}'" for f in rest)
    return CompileError(message, call.location or head.location, RECURSION_HINT)


def _inlinable_calls(fn: Function) -> Iterator[tuple[Call, Function]]:
    """The calls in ``fn`` to defined functions; raises for calls that can never be lowered."""
    for inst in fn.instructions():
        if not isinstance(inst, Call):
            continue
        callee = _direct_callee(inst, fn)
        if callee is None or callee.is_declaration:
            continue
        if callee.function_type.vararg:
            raise CompileError(
                f"call to variadic function '@{callee.name}' cannot be inlined",
                inst.location or fn.location, VARIADIC_HINT)
        if inst.function_type != callee.function_type:
            raise CompileError(
                f"call to '@{callee.name}' as '{inst.function_type}' does not match its "
                f"definition '{callee.function_type}' and cannot be inlined",
                inst.location or fn.location, "call the function with its own signature")
        yield inst, callee


def _direct_callee(call: Call, fn: Function) -> Function | None:
    """The function a call calls (through aliases and pointer casts); None for inline asm."""
    callee: Value = call.callee
    if isinstance(callee, InlineAsm):
        return None
    seen: set[int] = set()
    while id(callee) not in seen:
        seen.add(id(callee))
        if isinstance(callee, Function):
            return callee
        if isinstance(callee, GlobalAlias) and not callee.is_ifunc and callee.aliasee:
            callee = callee.aliasee
        elif (isinstance(callee, ConstantExpr) and callee.ops
              and callee.opcode in ("bitcast", "addrspacecast")):
            callee = callee.ops[0]
        else:
            break
    what = f"'%{call.callee.name}'" if getattr(call.callee, "name", None) else "a computed pointer"
    raise CompileError(
        f"indirect call through {what} in '@{fn.name}' cannot be lowered to AIR",
        call.location or fn.location, INDIRECT_HINT)


# ------------------------------------------------------------------- inlining


def _inline_calls_in(fn: Function) -> None:
    """Inline every call to a defined function in ``fn`` (its callees are already flat)."""
    sites = list(_inlinable_calls(fn))
    if not sites:
        return
    names = NameSource(fn)
    results: dict[Value, Value] = {}
    for call, callee in sites:
        result = _inline_one(fn, call, callee, names)
        if result is not None:
            results[call] = result
    # A result may itself be an inlined call (f(g(x)) where f returns its argument).
    for call, value in results.items():
        while value in results:
            value = results[value]
        results[call] = value
    replace_all_uses(fn.instructions(), results)


@dataclass
class _Clone:
    """State of one inlined copy of a callee."""

    caller: Function
    call: Call
    callee: Function
    names: NameSource
    values: dict[Value, Value] = field(default_factory=dict)
    blocks: dict[BasicBlock, BasicBlock] = field(default_factory=dict)
    debug: _DebugLocations | None = None
    scopes: _AliasScopes = field(default_factory=lambda: _AliasScopes())


def _inline_one(caller: Function, call: Call, callee: Function,
                names: NameSource) -> Value | None:
    """Inline one call; returns the value that replaces its result (None for void)."""
    state = _Clone(caller, call, callee, names)
    state.debug = _DebugLocations.for_call(call)
    block = call.parent
    assert block is not None
    exit_block = _split_after(caller, block, call, names(f"{callee.name}.exit"))
    entry_allocas = _bind_arguments(state, block)
    new_blocks = _clone_body(state)
    entry_allocas += _static_allocas(new_blocks[0])
    _append(block, Branch(VOID, opcode="br", targets=[new_blocks[0]]), call)
    result = _returns_to(state, new_blocks, exit_block)
    position = caller.blocks.index(block) + 1
    caller.blocks[position:position] = [*new_blocks, exit_block]
    if entry_allocas:
        insert_at_entry(caller, entry_allocas)
    call.parent = None
    return result


def _split_after(fn: Function, block: BasicBlock, call: Call, name: str) -> BasicBlock:
    """Move everything after ``call`` into a new block and drop ``call`` from ``block``."""
    index = block.instructions.index(call)
    rest = BasicBlock(name=name, instructions=block.instructions[index + 1:], parent=fn)
    del block.instructions[index:]
    for inst in rest.instructions:
        inst.parent = rest
    for succ in set(rest.successors()):
        for phi in phis(succ):
            phi.blocks = [rest if b is block else b for b in phi.blocks]
    return rest


def _append(block: BasicBlock, inst: Instruction, site: Call) -> None:
    """Append ``inst`` to ``block`` with the call site's source and debug location."""
    inst.parent = block
    inst.location = site.location
    inst.metadata = [(k, md) for k, md in site.metadata if k == "dbg"]
    block.instructions.append(inst)


def _bind_arguments(state: _Clone, block: BasicBlock) -> list[Instruction]:
    """Map the callee's arguments to the call's operands; ``byval`` ones to a fresh copy.

    The copy (load and store) goes at the end of ``block``; the returned allocas
    belong in the caller's entry block.
    """
    allocas: list[Instruction] = []
    call = state.call
    for k, (param, arg) in enumerate(zip(state.callee.args, call.args, strict=True)):
        attrs = param.attrs + (call.arg_attrs[k] if k < len(call.arg_attrs) else [])
        byval = _byval_type(attrs)
        if byval is None:
            state.values[param] = arg
            continue
        align = _align_of(attrs)
        addrspace = arg.ty.addrspace if isinstance(arg.ty, PointerType) else 0
        copy_ = Alloca(PointerType(addrspace), opcode="alloca", allocated_type=byval,
                       align=align, addrspace=addrspace,
                       name=state.names(f"{param.name or state.callee.name}.byval"),
                       location=call.location)
        value = Load(byval, opcode="load", ops=[arg], align=align)
        _append(block, value, call)
        _append(block, Store(VOID, opcode="store", ops=[value, copy_], align=align), call)
        allocas.append(copy_)
        state.values[param] = copy_
    return allocas


def _byval_type(attrs: list[str]) -> Type | None:
    for attr in attrs:
        if attr.startswith("byval("):
            return parse_type_text(attr[len("byval("):-1])
    return None


def _align_of(attrs: list[str]) -> int | None:
    for attr in attrs:
        if attr.startswith("align "):
            return int(attr.split()[1])
    return None


def _clone_body(state: _Clone) -> list[BasicBlock]:
    """Clone the callee's blocks into the caller (not yet placed); operands remapped."""
    token = _convergence_token(state.call)
    new_blocks: list[BasicBlock] = []
    for old in state.callee.blocks:
        new = BasicBlock(name=state.names(old.name) if old.name else None,
                         parent=state.caller)
        state.blocks[old] = new
        new_blocks.append(new)
    clones: list[Instruction] = []
    for old in state.callee.blocks:
        new = state.blocks[old]
        for inst in old.instructions:
            if token is not None and _calls_named(inst, _CONVERGENCE_ENTRY):
                state.values[inst] = token
                continue
            clone = _shallow_copy(inst)
            clone.parent = new
            clone.name = state.names(inst.name) if inst.name else None
            state.values[inst] = clone
            new.instructions.append(clone)
            clones.append(clone)
    for clone in clones:
        _remap(state, clone)
    return new_blocks


def _shallow_copy(inst: Instruction) -> Instruction:
    """A new instruction object with the same fields; lists are copied, not shared."""
    clone = copy.copy(inst)
    for key, value in vars(clone).items():
        if isinstance(value, list):
            setattr(clone, key, list(value))
    if isinstance(clone, Call):
        clone.arg_attrs = [list(a) for a in clone.arg_attrs]
        clone.bundles = [OperandBundle(b.tag, list(b.inputs)) for b in clone.bundles]
    return clone


def _remap(state: _Clone, inst: Instruction) -> None:
    """Point a cloned instruction at cloned values and blocks, and adapt its metadata."""
    values, blocks = state.values, state.blocks
    inst.ops = [_remap_operand(state, inst, op) for op in inst.ops]
    if isinstance(inst, Phi):
        inst.blocks = [blocks[b] for b in inst.blocks]
    elif isinstance(inst, Branch | Switch):
        inst.targets = [blocks[b] for b in inst.targets]
    elif isinstance(inst, Call):
        for bundle in inst.bundles:
            bundle.inputs = [values.get(v, v) for v in bundle.inputs]
        inst.tail = _weaker_tail(state.call.tail, inst.tail)
    inst.metadata = [(kind, _remap_attachment(state, kind, md)) for kind, md in inst.metadata]


def _remap_operand(state: _Clone, inst: Instruction, op: Value) -> Value:
    mapped = state.values.get(op)
    if mapped is not None:
        return mapped
    if isinstance(op, MetadataValue):
        if isinstance(op.md, MDValue) and op.md.value in state.values:
            return MetadataValue(METADATA, MDValue(state.values[op.md.value]))
        if _calls_named(inst, _SCOPE_DECL) and op.md is not None:
            return MetadataValue(METADATA, state.scopes.scope_list(op.md))
    return op


def _remap_attachment(state: _Clone, kind: str, md: Metadata) -> Metadata:
    if kind == "dbg" and state.debug is not None:
        return state.debug.inlined(md)
    if kind in ("alias.scope", "noalias"):
        return state.scopes.scope_list(md)
    return md


def _weaker_tail(site: str, inner: str) -> str:
    """LLVM's rule: an inlined call is at most as much a tail call as the call site."""
    if inner not in _TAIL_RANK:  # "notail" stays
        return inner
    rank = min(_TAIL_RANK.get(site, 0), _TAIL_RANK[inner])
    return "tail" if rank else ""


def _calls_named(inst: Instruction, name: str) -> bool:
    return isinstance(inst, Call) and isinstance(inst.callee, Function) \
        and inst.callee.name == name


def _convergence_token(call: Call) -> Value | None:
    for bundle in call.bundles:
        if bundle.tag == "convergencectrl" and bundle.inputs:
            return bundle.inputs[0]
    return None


def _static_allocas(entry: BasicBlock) -> list[Instruction]:
    """Remove and return the fixed-size allocas of a cloned entry block."""
    static = [inst for inst in entry.instructions
              if isinstance(inst, Alloca) and not inst.inalloca
              and all(isinstance(op, ConstantInt) for op in inst.ops)]
    if static:
        entry.instructions = [inst for inst in entry.instructions if inst not in static]
    return static


def _returns_to(state: _Clone, new_blocks: list[BasicBlock],
                exit_block: BasicBlock) -> Value | None:
    """Turn cloned ``ret``s into branches to ``exit_block``; the call's replacement value."""
    incoming: list[tuple[Value, BasicBlock]] = []
    for block in new_blocks:
        ret = block.terminator
        if not isinstance(ret, Return):
            continue
        branch = Branch(VOID, opcode="br", targets=[exit_block], location=ret.location,
                        metadata=[(k, md) for k, md in ret.metadata if k == "dbg"],
                        parent=block)
        block.instructions[-1] = branch
        if ret.ops:
            incoming.append((ret.ops[0], block))
    call = state.call
    if call.ty == VOID:
        return None
    if not incoming:
        return Poison(call.ty)
    if len(incoming) == 1:
        return incoming[0][0]
    phi = Phi(call.ty, opcode="phi", ops=[v for v, _ in incoming],
              blocks=[b for _, b in incoming], name=call.name, location=call.location,
              metadata=[(k, md) for k, md in call.metadata if k == "dbg"], parent=exit_block)
    exit_block.instructions.insert(0, phi)
    return phi


# ------------------------------------------------------------------- metadata


class _DebugLocations:
    """``!dbg`` locations of one inlined copy: the same places, inlined at the call."""

    def __init__(self, site: SpecializedMDNode) -> None:
        self.site = site
        self.memo: dict[int, SpecializedMDNode] = {}

    @classmethod
    def for_call(cls, call: Call) -> _DebugLocations | None:
        for kind, md in call.metadata:
            if kind == "dbg" and isinstance(md, SpecializedMDNode) and md.kind == "DILocation":
                return cls(md)
        return None

    def inlined(self, md: Metadata) -> Metadata:
        if not (isinstance(md, SpecializedMDNode) and md.kind == "DILocation"):
            return md
        done = self.memo.get(id(md))
        if done is None:
            fields = dict(md.fields)
            outer = fields.get("inlinedAt")
            at = self.inlined(outer) if isinstance(outer, Metadata) else self.site
            new_fields = [(k, v) for k, v in md.fields if k != "inlinedAt"]
            scope_at = next((i + 1 for i, (k, _) in enumerate(new_fields) if k == "scope"),
                            len(new_fields))
            new_fields.insert(scope_at, ("inlinedAt", at))
            done = SpecializedMDNode("DILocation", new_fields, distinct=md.distinct)
            self.memo[id(md)] = done
        return done


class _AliasScopes:
    """Fresh ``!alias.scope``/``!noalias`` scopes for one inlined copy (as LLVM does)."""

    def __init__(self) -> None:
        self.memo: dict[int, Metadata] = {}

    def scope_list(self, md: Metadata) -> Metadata:
        if not isinstance(md, MDNode):
            return md
        done = self.memo.get(id(md))
        if done is None:
            done = MDNode([self._scope(s) for s in md.operands], distinct=md.distinct)
            self.memo[id(md)] = done
        return done

    def _scope(self, scope: Metadata | None) -> Metadata | None:
        """A scope is ``distinct !{!self, !domain, !"name"}``; anything else is kept."""
        if not (isinstance(scope, MDNode) and scope.operands and scope.operands[0] is scope):
            return scope
        done = self.memo.get(id(scope))
        if done is None:
            fresh = MDNode([], distinct=True)
            fresh.operands = [fresh, *scope.operands[1:]]
            self.memo[id(scope)] = done = fresh
        return done


__all__ = ["INDIRECT_HINT", "RECURSION_HINT", "VARIADIC_HINT", "inline_calls"]
