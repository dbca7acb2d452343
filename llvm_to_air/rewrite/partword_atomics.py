"""Compare-exchange of 8- and 16-bit values, which AIR lacks, on the 32-bit word holding them.

AIR's compare-exchange works on 32-bit words. A ``cmpxchg`` of an ``i8``/``i16`` in device
or threadgroup memory (Triton's loop for a ``half`` ``tl.atomic_add`` on AMD, or the loop
``expand_atomicrmw`` builds for ``atomicrmw fadd half`` from CUDA's ``atomicAdd(__half*)``)
becomes a loop on the aligned word, as LLVM's AtomicExpand pass expands part-word
atomics (``expandPartwordCmpXchg``):

* the word's address is the pointer rounded down to 4 bytes (``ptrtoint``, as Apple's
  compiler accepts for device pointers), the value's bit offset ``8 * (address % 4)``
  (little endian);
* each try compares and exchanges the whole word: the other bytes as last seen, with the
  expected value, for those bytes with the new value;
* a failure that changed only the other bytes (another thread wrote a neighbour) tries
  again with them; a failure on the value's own bits is the ``cmpxchg``'s failure.

The ``{old, success}`` pair is the ``cmpxchg``'s: ``old`` the value's bits of the word last
seen (the expected value on success), ``success`` that try's outcome.

Expects: kernels inlined, address spaces known. Guarantees: the ``cmpxchg`` is gone; the
blocks it was in end in a loop of 32-bit ``cmpxchg``.
"""

from __future__ import annotations

from llvm_to_air.ir.edit import NameSource, replace_all_uses
from llvm_to_air.ir.model import (
    BasicBlock,
    BinaryOp,
    Branch,
    Cast,
    CmpXchg,
    Compare,
    ConstantInt,
    ExtractValue,
    Function,
    GetElementPtr,
    InsertValue,
    Instruction,
    Load,
    Phi,
    Poison,
    Value,
)
from llvm_to_air.ir.types import I1, I8, I32, I64, VOID, IntType, StructType


def is_partword(inst: CmpXchg) -> bool:
    """Whether ``inst`` exchanges a value narrower than AIR's 32-bit word."""
    ty = inst.ops[1].ty
    return isinstance(ty, IntType) and ty.bits in (8, 16)


class _Block:
    """Appends named instructions to one block."""

    def __init__(self, block: BasicBlock, names: NameSource, location: object) -> None:
        self.block, self.names, self.location = block, names, location

    def add(self, inst: Instruction, stem: str = "partword") -> Instruction:
        if inst.ty != VOID and inst.name is None:
            inst.name = self.names(stem)
        inst.parent, inst.location = self.block, self.location  # type: ignore[assignment]
        self.block.instructions.append(inst)
        return inst

    def op(self, opcode: str, a: Value, b: Value | int) -> Instruction:
        other = b if isinstance(b, Value) else ConstantInt(a.ty, value=b)
        return self.add(BinaryOp(a.ty, opcode=opcode, ops=[a, other]))

    def cast(self, opcode: str, value: Value, ty: IntType) -> Instruction:
        return self.add(Cast(ty, opcode=opcode, ops=[value]))


def expand_partword_cmpxchg(fn: Function, block: BasicBlock, index: int,
                            inst: CmpXchg) -> BasicBlock:
    """Replace ``inst`` (at ``block.instructions[index]``) by the word loop; returns the
    block holding what followed it."""
    ptr, expected, desired = inst.ops
    width = expected.ty
    assert isinstance(width, IntType)
    names = NameSource(fn)
    loop = BasicBlock(name=names("partword.loop"), parent=fn)
    retry = BasicBlock(name=names("partword.retry"), parent=fn)
    done = BasicBlock(name=names("partword.done"), parent=fn)
    rest = block.instructions[index + 1:]
    block.instructions[index:] = []
    head = _Block(block, names, inst.location)
    # the word, the value's bit offset in it, and the mask of the other bytes
    address = head.cast("ptrtoint", ptr, I64)
    offset = head.op("and", address, 3)
    back = head.op("sub", ConstantInt(I64, value=0), offset)
    word_ptr = head.add(GetElementPtr(ptr.ty, opcode="getelementptr", source_type=I8,
                                      ops=[ptr, back], flags=()))
    shift = head.cast("trunc", head.op("shl", offset, 3), I32)
    mask = head.op("shl", ConstantInt(I32, value=(1 << width.bits) - 1), shift)
    others_mask = head.op("xor", mask, -1)
    expected_bits = head.op("shl", head.cast("zext", expected, I32), shift)
    desired_bits = head.op("shl", head.cast("zext", desired, I32), shift)
    first = head.add(Load(I32, opcode="load", ops=[word_ptr], align=4,
                          volatile=inst.volatile))
    first_others = head.op("and", first, others_mask)
    head.add(Branch(VOID, opcode="br", targets=[loop]))
    # each try: the other bytes as last seen, around the expected and the new value
    body = _Block(loop, names, inst.location)
    others = body.add(Phi(I32, opcode="phi", ops=[first_others], blocks=[block]))
    pair = body.add(CmpXchg(StructType((I32, I1)), opcode="cmpxchg",
                            ops=[word_ptr, body.op("or", others, expected_bits),
                                 body.op("or", others, desired_bits)],
                            weak=False, volatile=inst.volatile,
                            success_ordering=inst.success_ordering,
                            failure_ordering=inst.failure_ordering,
                            syncscope=inst.syncscope, align=4))
    seen = body.add(ExtractValue(I32, opcode="extractvalue", ops=[pair], indices=[0]))
    success = body.add(ExtractValue(I1, opcode="extractvalue", ops=[pair], indices=[1]))
    body.add(Branch(VOID, opcode="br", ops=[success], targets=[done, retry]))
    # a failure: again if only the other bytes changed
    again = _Block(retry, names, inst.location)
    seen_others = again.op("and", seen, others_mask)
    changed = again.add(Compare(I1, opcode="icmp", predicate="ne", ops=[seen_others, others]))
    again.add(Branch(VOID, opcode="br", ops=[changed], targets=[loop, done]))
    others.ops.append(seen_others)
    others.blocks.append(retry)
    # the pair: the value's bits of the word last seen, and that try's outcome
    end = _Block(done, names, inst.location)
    old = end.cast("trunc", end.op("lshr", seen, shift), width)
    first_half = end.add(InsertValue(inst.ty, opcode="insertvalue",
                                     ops=[Poison(inst.ty), old], indices=[0]))
    result = end.add(InsertValue(inst.ty, opcode="insertvalue", ops=[first_half, success],
                                 indices=[1]), inst.name or "partword")
    for moved in rest:
        moved.parent = done
    done.instructions += rest
    position = fn.blocks.index(block)
    fn.blocks[position + 1:position + 1] = [loop, retry, done]
    for successor in done.successors():
        for phi in successor.instructions:
            if isinstance(phi, Phi):
                phi.blocks = [done if b is block else b for b in phi.blocks]
    replace_all_uses(fn.instructions(), {inst: result})
    return done
