"""Code a whole work-group runs in place of one call: :class:`GroupCode`.

The work-group stages (collectives, asynchronous copies) replace a call by straight-line
code, barriers and counted loops over the threads of a group. This builder emits that code
before the call, splits the call's block around loops, and finally puts a value in place of
the call. Thread ids and sizes come from OpenCL's ``get_local_id``/``get_local_size`` (actual
sizes, so a grid's smaller edge threadgroups count only their own threads) and barriers are
NVVM's ``barrier.cta.sync``: the built-ins and intrinsics stages lower both for every
producer, so the builder is used before them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llvm_to_air.ir.edit import NameSource, declare_function, replace_all_uses
from llvm_to_air.ir.model import (
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    Compare,
    ConstantInt,
    Function,
    Instruction,
    Module,
    Phi,
    Value,
)
from llvm_to_air.ir.types import I1, I32, I64, VOID, IntType, Type

BARRIER = "llvm.nvvm.barrier.cta.sync.aligned.all"
LOCAL_ID = "_Z12get_local_idj"
LOCAL_SIZE = "_Z14get_local_sizej"

# the body of a counted loop: (index, carried values, where to emit) -> next carried values
LoopBody = Callable[[Value, list[Value], list[Instruction]], list[Value]]


class GroupCode:
    """Emits code in place of ``call`` in ``fn``; :meth:`finish` splices it in."""

    def __init__(self, module: Module, fn: Function, call: Call, stem: str) -> None:
        self.module, self.fn, self.call, self.stem = module, fn, call, stem
        self.names = NameSource(fn)
        self.out: list[Instruction] = []  # code of the block the call is in
        self.blocks: list[BasicBlock] = []  # blocks of loops, in order
        self.current = call.parent  # the block ``out`` ends up in
        self._rest: list[Instruction] = []  # what followed the call in its block

    # ------------------------------------------------------------- instructions
    def declare(self, name: str, ret: Type, params: tuple[Type, ...],
                attrs: Sequence[str] = ("convergent", "nounwind")) -> Function:
        return declare_function(self.module, name, ret, params, attrs)

    def emit(self, inst: Instruction, into: list[Instruction] | None = None) -> Instruction:
        if inst.ty != VOID and inst.name is None:
            inst.name = self.names(self.stem)
        inst.location = self.call.location
        (self.out if into is None else into).append(inst)
        return inst

    def call_fn(self, fn: Function, args: list[Value],
                into: list[Instruction] | None = None) -> Instruction:
        return self.emit(Call(fn.function_type.ret, opcode="call", ops=[*args, fn],
                              function_type=fn.function_type), into)

    def resize(self, value: Value, ty: IntType, into: list[Instruction] | None = None) -> Value:
        """``value`` (an unsigned integer) as ``ty``."""
        assert isinstance(value.ty, IntType)
        if value.ty.bits == ty.bits:
            return value
        op = "trunc" if value.ty.bits > ty.bits else "zext"
        return self.emit(Cast(ty, opcode=op, ops=[value]), into)

    def binary(self, op: str, a: Value, b: Value | int,
               into: list[Instruction] | None = None) -> Value:
        other = ConstantInt(a.ty, value=b) if isinstance(b, int) else b
        return self.emit(BinaryOp(a.ty, opcode=op, ops=[a, other]), into)

    def barrier(self, into: list[Instruction] | None = None) -> None:
        self.call_fn(self.declare(BARRIER, VOID, (I32,)), [ConstantInt(I32, value=0)], into)

    # ------------------------------------------------------------- the work-group
    def local(self, name: str, dim: int) -> Value:
        fn = self.module.get_function(name) or self.declare(name, I64, (I32,))
        return self.resize(self.call_fn(fn, [ConstantInt(I32, value=dim)]), I32)

    def group(self) -> tuple[list[Value], list[Value]]:
        """This thread's local id and the group's size, per dimension (i32)."""
        return ([self.local(LOCAL_ID, d) for d in range(3)],
                [self.local(LOCAL_SIZE, d) for d in range(3)])

    def linear(self, coords: list[Value], sizes: list[Value]) -> Value:
        """x + size_x * (y + size_y * z): OpenCL's local linear id."""
        inner = self.binary("add", coords[1], self.binary("mul", sizes[1], coords[2]))
        return self.binary("add", coords[0], self.binary("mul", sizes[0], inner))

    def count(self, sizes: list[Value]) -> Value:
        return self.binary("mul", self.binary("mul", sizes[0], sizes[1]), sizes[2])

    # ------------------------------------------------------------- control flow
    def counted_loop(self, start: Value, end: Value, step: Value | int,
                     carried: list[Value], body: LoopBody) -> list[Value]:
        """``for (i = start; i < end; i += step)`` (unsigned compare); returns the carried
        values after the loop. Code emitted afterwards goes to the block after the loop."""
        header = BasicBlock(self.names(f"{self.stem}.loop"), [], self.fn)
        inside = BasicBlock(self.names(f"{self.stem}.body"), [], self.fn)
        done = BasicBlock(self.names(f"{self.stem}.done"), [], self.fn)
        before = self.current
        assert before is not None
        self.emit(Branch(VOID, opcode="br", targets=[header]))
        self._close(before)
        index = Phi(start.ty, opcode="phi", ops=[start], blocks=[before])
        values = [Phi(v.ty, opcode="phi", ops=[v], blocks=[before]) for v in carried]
        head: list[Instruction] = []
        for phi in [index, *values]:
            self.emit(phi, head)
        more = self.emit(Compare(I1, opcode="icmp", predicate="ult", ops=[index, end]), head)
        self.emit(Branch(VOID, opcode="br", ops=[more], targets=[inside, done]), head)
        loop: list[Instruction] = []
        following = body(index, list(values), loop)
        step_value = ConstantInt(index.ty, value=step) if isinstance(step, int) else step
        nxt = self.emit(BinaryOp(index.ty, opcode="add", ops=[index, step_value]), loop)
        self.emit(Branch(VOID, opcode="br", targets=[header]), loop)
        for phi, value in zip([index, *values], [nxt, *following], strict=True):
            phi.ops.append(value)
            phi.blocks.append(inside)
        for block, code in ((header, head), (inside, loop)):
            block.instructions = code
            for inst in code:
                inst.parent = block
        self.blocks += [header, inside, done]
        self.current = done
        return list(values)

    def _close(self, block: BasicBlock) -> None:
        """``out`` so far is the whole code of ``block`` (before the call: the call's
        block up to the call; after a loop: the loop's exit block)."""
        call_block = self.call.parent
        assert call_block is not None
        if block is call_block:
            position = call_block.instructions.index(self.call)
            self._rest = call_block.instructions[position + 1:]
            call_block.instructions[position:] = self.out
        else:
            block.instructions = self.out
        for inst in self.out:
            inst.parent = block
        self.out = []

    def finish(self, result: Value | None) -> None:
        """Put ``result`` in place of the call (None: the call had no uses) and move the
        rest of the call's block after the emitted code."""
        call = self.call
        block = call.parent
        assert block is not None
        if not self.blocks:
            position = block.instructions.index(call)
            block.instructions[position:position + 1] = self.out
            for inst in self.out:
                inst.parent = block
        else:
            last = self.current
            assert last is not None
            rest = self._rest
            self.out += rest
            self._close(last)
            at = self.fn.blocks.index(block)
            self.fn.blocks[at + 1:at + 1] = self.blocks
            for successor in last.successors():
                for phi in successor.instructions:
                    if isinstance(phi, Phi):
                        phi.blocks = [last if b is block else b for b in phi.blocks]
        if result is not None:
            replace_all_uses(self.fn.instructions(), {call: result})
