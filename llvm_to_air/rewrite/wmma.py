"""NVVM WMMA (``wmma::load_matrix_sync``/``mma_sync``/``store_matrix_sync``) on Apple's
8x8 ``simdgroup_matrix`` operations.

A WMMA fragment's register layout is opaque in CUDA: code can only load, multiply-add and
store fragments (and fill them with a constant). So a 16x16 fragment is represented as
four 8x8 SIMD-group matrices (tiles ``[i][j]``: rows ``8i..8i+7``, columns ``8j..8j+7``),
AIR values ``<64 x T>``:

- ``load.{a,b,c}.{row,col}[.stride].{f16,f32}`` -> four ``air.simdgroup_matrix_8x8_load``
  (row-major: origin ``(8j, 8i)``; column-major: the transposed load);
- ``mma.*.{f16,f32}.{f16,f32}`` -> eight ``air.simdgroup_matrix_8x8_multiply_accumulate``
  (``D[i][j] = A[i][0] B[0][j] + A[i][1] B[1][j] + C[i][j]``), f16 inputs, f16 or f32
  accumulators, exactly the 16x16x16 product;
- ``store.d.{row,col}[.stride].{f16,f32}`` -> a SIMD-group barrier (the store is
  collective: no lane overwrites memory another lane has still to load from) and four
  ``air.simdgroup_matrix_8x8_store``;
- ``fill_fragment(c, x)`` (every register the constant ``x``) -> a splat ``<64 x T>``;
- a uniform elementwise operation (``c.x[i] = alpha * acc.x[i] + beta * c.x[i]`` for every
  ``i``: the same ``fadd``/``fsub``/``fmul``/``fdiv``/``fneg`` with the same scalar operands
  on every register) -> the operation on the tiles, scalars splatted: exact whatever the
  lane layout, since every element gets the same operation;
  fragments carried around loops (phis of their registers) -> phis of tiles.

Expects: pointers with their AIR address spaces (after ``infer_address_spaces``), before
``lower_intrinsics``. Guarantees: no ``llvm.nvvm.wmma.*`` call remains; a fragment register
used any other way (elementwise arithmetic on ``frag.x[i]``), other shapes (m32n8k16,
m8n32k16), integer, bf16 and tf32 fragments are refused with a located error.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import (
    Argument,
    BasicBlock,
    BinaryOp,
    Call,
    Cast,
    Constant,
    ConstantAggregate,
    ConstantFP,
    ConstantInt,
    ConstantZero,
    ExtractValue,
    Function,
    InsertElement,
    Instruction,
    Module,
    Phi,
    Poison,
    ShuffleVector,
    Store,
    UnaryOp,
    Value,
)
from llvm_to_air.ir.types import (
    F16,
    F32,
    I1,
    I64,
    VOID,
    FunctionType,
    PointerType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite.context import KernelSignature, LoweringContext

_PREFIX = "llvm.nvvm.wmma."
_LOAD = re.compile(r"llvm\.nvvm\.wmma\.m16n16k16\.load\.([abc])\.(row|col)(\.stride)?\."
                   r"(f16|f32)(\.p\d+)?")
_STORE = re.compile(r"llvm\.nvvm\.wmma\.m16n16k16\.store\.d\.(row|col)(\.stride)?\."
                    r"(f16|f32)(\.p\d+)?")
_MMA = re.compile(r"llvm\.nvvm\.wmma\.m16n16k16\.mma\.(row|col)\.(row|col)\.(f16|f32)\."
                  r"(f16|f32)")
_TILES = ((0, 0), (0, 1), (1, 0), (1, 1))
_SUFFIX = {"half": "f16", "float": "f32"}


def _tile_type(elem: Type) -> VectorType:
    return VectorType(64, elem)


def _registers(elem_name: str, operand: str) -> int:
    """Registers of a fragment in NVVM: a/b f16 8 x <2 x half>, f32 c/d 8, f16 c/d 4."""
    return 4 if operand in "cd" and elem_name == "f16" else 8


@dataclass
class _Fragment:
    """One 16x16 fragment value: four tiles (filled in as they are emitted)."""

    elem: Type
    registers: int
    tiles: list[Value] = field(default_factory=list)


@dataclass
class _Lowering:
    module: Module
    ctx: LoweringContext
    kernel: KernelSignature
    fn: Function
    fragments: dict[int, _Fragment] = field(default_factory=dict)   # id(call or root) -> frag
    register: dict[int, tuple[Value, int]] = field(default_factory=dict)  # id(value) -> src, k
    parent: dict[int, Instruction] = field(default_factory=dict)
    members: dict[int, list[Instruction]] = field(default_factory=dict)  # root -> nodes

    # ------------------------------------------------------------- helpers

    def error(self, inst: Instruction, message: str, hint: str | None = None) -> CompileError:
        return CompileError(f"{message} in @{self.fn.name}", inst.location or self.fn.location,
                            hint)

    def find(self, node: Instruction) -> Instruction:
        while self.parent.get(id(node), node) is not node:
            node = self.parent[id(node)]
        return node

    def source(self, value: Value) -> Value | None:
        """The fragment node a register value belongs to (a wmma call or a phi root)."""
        found = self.register.get(id(value))
        if found is None:
            return None
        src = found[0]
        return self.find(src) if (isinstance(src, Instruction) and id(src) in self.parent) or \
            isinstance(src, Phi | BinaryOp | UnaryOp) else src

    def declare(self, name: str, fnty: FunctionType, pointee: Type | None = None) -> Function:
        fn = self.module.get_function(name)
        if fn is None:
            fn = Function(PointerType(0), name=name, function_type=fnty,
                          fn_attrs=["convergent", "nounwind"],
                          args=[Argument(p, pointee_hint=pointee if isinstance(p, PointerType)
                                         else None) for p in fnty.params])
            self.module.functions.append(fn)
        return fn

    def call(self, name: str, ret: Type, args: list[Value], pointee: Type | None = None) -> Call:
        fnty = FunctionType(ret, tuple(a.ty for a in args))
        fn = self.declare(name, fnty, pointee)
        return Call(ret, opcode="call", ops=[*args, fn], function_type=fnty, tail="tail",
                    fn_attrs=["convergent", "nounwind"])

    # ------------------------------------------------------------ analysis

    def analyze(self, calls: list[Call]) -> None:
        for call in calls:
            name = call.callee_function.name  # type: ignore[union-attr]
            m = _LOAD.fullmatch(name)
            if m:
                elem = F16 if m.group(4) == "f16" else F32
                self.fragments[id(call)] = _Fragment(elem, _registers(m.group(4), m.group(1)))
                continue
            m = _MMA.fullmatch(name)
            if m:
                elem = F16 if m.group(3) == "f16" else F32
                self.fragments[id(call)] = _Fragment(elem, _registers(m.group(3), "d"))
                continue
            if _STORE.fullmatch(name):
                continue
            raise self.error(call, f"WMMA operation '@{name}' is not supported",
                             "only m16n16k16 with f16 inputs and f16/f32 accumulators maps "
                             "onto Apple's 8x8 simdgroup matrices")
        insts = list(self.fn.instructions())
        for inst in insts:
            if isinstance(inst, ExtractValue) and id(inst.ops[0]) in self.fragments:
                self.register[id(inst)] = (inst.ops[0], inst.indices[0])
        # phis and elementwise operations of registers: a register index from their
        # register operands, then grouped into fragments (union-find over both)
        nodes = [i for i in insts if isinstance(i, Phi) or _elementwise(i)]
        changed = True
        while changed:
            changed = False
            for inst in nodes:
                if id(inst) in self.register:
                    continue
                ks = {self.register[id(v)][1] for v in inst.ops if id(v) in self.register}
                if len(ks) > 1:
                    raise self.error(inst, "an operation combines different registers of WMMA "
                                     "fragments")
                if ks:
                    self.register[id(inst)] = (inst, ks.pop())  # type: ignore[arg-type]
                    changed = True
        reg_nodes = [i for i in nodes if id(i) in self.register]
        changed = True
        while changed:
            changed = False
            seen: dict[tuple, Instruction] = {}
            for inst in reg_nodes:
                keys = []
                if isinstance(inst, Phi):
                    for value, block in zip(inst.ops, inst.blocks, strict=True):
                        src = self.source(value)
                        if src is not None:
                            keys.append(("phi", id(inst.parent), id(block), id(src)))
                else:
                    keys.append(("op", inst.opcode, getattr(inst, "predicate", ""), tuple(
                        ("f", id(self.source(v))) if id(v) in self.register else ("v", id(v))
                        for v in inst.ops)))
                for key in keys:
                    other = seen.setdefault(key, inst)
                    a, b = self.find(other), self.find(inst)  # type: ignore[arg-type]
                    if a is not b:
                        self.parent[id(b)] = a
                        changed = True
        roots: dict[int, list[Instruction]] = {}
        for inst in reg_nodes:
            roots.setdefault(id(self.find(inst)), []).append(inst)  # type: ignore[arg-type]
        for members in roots.values():
            root = self.find(members[0])  # type: ignore[arg-type]
            ks = sorted(self.register[id(p)][1] for p in members)
            elem_ty = members[0].ty
            elem = F16 if (isinstance(elem_ty, VectorType) or elem_ty == F16) else F32
            if ks != list(range(len(members))) or len(members) not in (4, 8):
                raise self.error(root, f"a WMMA fragment operation ('{root.opcode}') does not "
                                 "treat every register of the fragment alike",
                                 "only uniform elementwise operations map onto simdgroup "
                                 "matrices")
            self.fragments[id(root)] = _Fragment(elem, len(members))
            self.members[id(root)] = members  # type: ignore[assignment]
        # every register value is only merged, multiplied or stored
        wmma_ids = {id(c) for c in calls}
        for inst in insts:
            for op in inst.ops:
                if id(op) in self.fragments and id(op) in wmma_ids and \
                        not isinstance(inst, ExtractValue):
                    raise self.error(inst, "a WMMA fragment is used as a whole value",
                                     "only load/mma/store and fill_fragment are supported")
                if id(op) in self.register and not (id(inst) in self.register or
                                                    id(inst) in wmma_ids):
                    if isinstance(inst, Store | Cast):
                        raise self.error(
                            inst, "a WMMA fragment kept in memory (as -O0 builds keep it) is "
                            "not supported", "build the kernel with -O1 or higher, so that "
                            "fragments stay in registers")
                    raise self.error(
                        inst, f"elementwise '{inst.opcode}' on a WMMA fragment register is "
                        "not supported", "WMMA fragments map onto Apple simdgroup matrices "
                        "whose lane layout differs; scale the result after store_matrix_sync")

    # ---------------------------------------------------------------- emit

    def tiles_of(self, inst: Instruction, regs: list[Value], elem: Type) -> list[Value]:
        srcs = {id(s): s for s in (self.source(v) for v in regs) if s is not None}
        if not srcs:
            return self.splat(inst, regs, elem)
        if len(srcs) != 1:
            raise self.error(inst, "a WMMA operand mixes registers of different fragments")
        src = next(iter(srcs.values()))
        ks = [self.register[id(v)][1] if id(v) in self.register else -1 for v in regs]
        if ks != list(range(len(regs))):
            raise self.error(inst, "WMMA operand registers are out of order")
        frag = self.fragments[id(src)]
        if not frag.tiles:
            raise self.error(inst, "a WMMA fragment is used before it is defined",
                             "the blocks of this kernel are not in dominance order")
        return frag.tiles

    def splat(self, inst: Instruction, regs: list[Value], elem: Type) -> list[Value]:
        texts = set()
        for v in regs:
            if isinstance(v, ConstantZero):
                texts.add("0")
            elif isinstance(v, ConstantFP):
                texts.add(v.text if float(_fp(v.text)) != 0.0 else "0")
            elif isinstance(v, ConstantAggregate) and all(isinstance(e, ConstantFP)
                                                          for e in v.elements):
                texts |= {e.text if _fp(e.text) != 0.0 else "0"  # type: ignore[union-attr]
                          for e in v.elements}
            else:
                raise self.error(inst, "a WMMA fragment register is neither loaded nor a "
                                 "constant")
        if len(texts) != 1:
            raise self.error(inst, "a WMMA fragment filled with different constants")
        text = texts.pop()
        ty = _tile_type(elem)
        if text == "0":
            return [ConstantZero(ty)] * 4
        value = _fp(text)
        spelled = _spell(value, elem)
        return [ConstantAggregate(ty, elements=[ConstantFP(elem, text=spelled)] * 64)] * 4

    def emit_load(self, call: Call, out: list[Instruction]) -> None:
        m = _LOAD.fullmatch(call.callee_function.name)  # type: ignore[union-attr]
        assert m
        frag = self.fragments[id(call)]
        ptr = call.args[0]
        stride = self.stride(call.args[1] if m.group(3) else None, out)
        space = ptr.ty.addrspace if isinstance(ptr.ty, PointerType) else 1
        name = f"air.simdgroup_matrix_8x8_load.v64{_SUFFIX[frag.elem.kind]}." \
               f"p{space}{_SUFFIX[frag.elem.kind]}"  # type: ignore[attr-defined]
        for i, j in _TILES:
            origin, transpose = _origin(i, j, m.group(2) == "col")
            tile = self.call(name, _tile_type(frag.elem), [ptr, stride, origin, transpose],
                             frag.elem)
            out.append(tile)
            frag.tiles.append(tile)

    def emit_store(self, call: Call, out: list[Instruction]) -> None:
        m = _STORE.fullmatch(call.callee_function.name)  # type: ignore[union-attr]
        assert m
        elem = F16 if m.group(3) == "f16" else F32
        n = _registers(m.group(3), "d")
        ptr, regs = call.args[0], list(call.args[1:1 + n])
        tiles = self.tiles_of(call, regs, elem)
        stride = self.stride(call.args[1 + n] if m.group(2) else None, out)
        space = ptr.ty.addrspace if isinstance(ptr.ty, PointerType) else 1
        # store_matrix_sync is collective: every lane has read its operands (the store may
        # overwrite what they were loaded from) before any lane writes
        from llvm_to_air.rewrite import intrinsic_tables as T
        from llvm_to_air.rewrite.intrinsics import Lowering

        out.append(Lowering(self.module, self.ctx, self.kernel).barrier(
            T.MEM_DEVICE | T.MEM_THREADGROUP, simdgroup=True))
        name = f"air.simdgroup_matrix_8x8_store.v64{_SUFFIX[elem.kind]}." \
               f"p{space}{_SUFFIX[elem.kind]}"  # type: ignore[attr-defined]
        for (i, j), tile in zip(_TILES, tiles, strict=True):
            origin, transpose = _origin(i, j, m.group(1) == "col")
            out.append(self.call(name, VOID, [tile, ptr, stride, origin, transpose], elem))

    def emit_mma(self, call: Call, out: list[Instruction]) -> None:
        frag = self.fragments[id(call)]
        args = list(call.args)
        a = self.tiles_of(call, args[0:8], F16)
        b = self.tiles_of(call, args[8:16], F16)
        c = self.tiles_of(call, args[16:16 + frag.registers], frag.elem)
        acc_ty = _tile_type(frag.elem)
        sfx = _SUFFIX[frag.elem.kind]  # type: ignore[attr-defined]
        name = f"air.simdgroup_matrix_8x8_multiply_accumulate.v64{sfx}.v64f16.v64f16.v64{sfx}"
        grid = {(i, j): c[2 * i + j] for i, j in _TILES}
        for i, j in _TILES:
            for kk in (0, 1):
                step = self.call(name, acc_ty, [a[2 * i + kk], b[2 * kk + j], grid[(i, j)]])
                out.append(step)
                grid[(i, j)] = step
        frag.tiles.extend(grid[t] for t in _TILES)

    def emit_elementwise(self, root: Instruction, first: Instruction,
                         out: list[Instruction]) -> None:
        """One vector operation per tile for a uniform elementwise operation on fragments."""
        frag = self.fragments[id(root)]
        ty = _tile_type(frag.elem)
        operands: list[list[Value]] = []
        for value in first.ops:
            if id(value) in self.register:
                src = self.source(value)
                tiles = self.fragments[id(src)].tiles
                if not tiles:
                    raise self.error(first, "a WMMA fragment is used before it is defined")
                operands.append(tiles)
            elif isinstance(value.ty, VectorType):
                raise self.error(first, "a packed-half elementwise operation on a WMMA "
                                 "fragment is not supported", "use a float accumulator")
            else:
                one = InsertElement(ty, opcode="insertelement",
                                    ops=[Poison(ty), value, ConstantInt(I64, value=0)])
                splat = ShuffleVector(ty, opcode="shufflevector", ops=[one, Poison(ty)],
                                      mask=[0] * 64)
                out += [one, splat]
                operands.append([splat] * 4)
        for t in range(4):
            op = copy.copy(first)
            op.ty = ty
            op.ops = [tiles[t] for tiles in operands]
            op.name = None
            op.metadata = []
            out.append(op)
            frag.tiles.append(op)

    def stride(self, value: Value | None, out: list[Instruction]) -> Value:
        if value is None:
            return ConstantInt(I64, value=16)
        if isinstance(value, ConstantInt):
            return ConstantInt(I64, value=value.value)
        wide = Cast(I64, opcode="zext", ops=[value])
        out.append(wide)
        return wide

    def run(self, calls: list[Call]) -> None:
        self.analyze(calls)
        self.kernel.uses_simd = True
        # tile phis for fragments carried through phis
        phi_tiles: dict[int, list[Phi]] = {}
        for key, frag in self.fragments.items():
            root = next((p for p in self.fn.instructions() if id(p) == key and
                         isinstance(p, Phi)), None)
            if root is None:
                continue
            block = root.parent
            assert isinstance(block, BasicBlock)
            new = [Phi(_tile_type(frag.elem), opcode="phi", ops=[], blocks=[],
                       location=root.location) for _ in range(4)]
            for phi in new:
                phi.parent = block
            block.instructions[0:0] = new
            frag.tiles = list(new)
            phi_tiles[key] = new
        for block in self.fn.blocks:
            kept: list[Instruction] = []
            for inst in block.instructions:
                out: list[Instruction] = []
                callee = inst.callee_function if isinstance(inst, Call) else None
                name = callee.name if callee is not None else ""
                if name.startswith(_PREFIX):
                    assert isinstance(inst, Call)
                    if _LOAD.fullmatch(name):
                        self.emit_load(inst, out)
                    elif _MMA.fullmatch(name):
                        self.emit_mma(inst, out)
                    else:
                        self.emit_store(inst, out)
                    for new in out:
                        new.parent = block
                        new.location = inst.location
                    kept.extend(out)
                    continue
                if id(inst) in self.register:
                    root = self.find(inst) if not isinstance(inst, ExtractValue) else None
                    if root is not None and not isinstance(root, Phi) and \
                            not self.fragments[id(root)].tiles:
                        self.emit_elementwise(root, inst, out)
                        for new in out:
                            new.parent = block
                            new.location = inst.location
                        kept.extend(out)
                    continue  # extractvalues, phis and elementwise operations of registers
                kept.append(inst)
            block.instructions = kept
        for key, tiles in phi_tiles.items():
            members = self.members[key]
            assert all(isinstance(m, Phi) for m in members)
            first = members[0]
            for block_index, pred in enumerate(first.blocks):  # type: ignore[attr-defined]
                regs = [None] * len(members)
                for p in members:
                    regs[self.register[id(p)][1]] = p.ops[block_index]  # type: ignore[call-overload]
                incoming = self.tiles_of(first, regs, self.fragments[key].elem)  # type: ignore[arg-type]
                for phi, value in zip(tiles, incoming, strict=True):
                    phi.ops.append(value)
                    phi.blocks.append(pred)


_ELEMENTWISE = ("fadd", "fsub", "fmul", "fdiv", "fneg")


def _elementwise(inst: Instruction) -> bool:
    return isinstance(inst, BinaryOp | UnaryOp) and inst.opcode in _ELEMENTWISE


def _fp(text: str) -> float:
    import struct

    if text.startswith("0xH"):
        return float(struct.unpack("<e", int(text[3:], 16).to_bytes(2, "little"))[0])
    if text.startswith("0x"):
        return float(struct.unpack(">d", bytes.fromhex(text[2:]))[0])
    return float(text)


def _spell(value: float, elem: Type) -> str:
    import struct

    if elem == F16:
        return "0xH" + struct.pack(">e", value).hex().upper()
    return "0x" + struct.pack(">d", struct.unpack("<f", struct.pack("<f", value))[0]).hex().upper()


def _origin(i: int, j: int, column_major: bool) -> tuple[Constant, Constant]:
    """Origin (x = column, y = row, in the source's own orientation) and transpose flag of
    tile [i][j]: a column-major source is read transposed."""
    x, y = (8 * i, 8 * j) if column_major else (8 * j, 8 * i)
    vec = ConstantAggregate(VectorType(2, I64), elements=[ConstantInt(I64, value=x),
                                                          ConstantInt(I64, value=y)])
    return vec, ConstantInt(I1, value=1 if column_major else 0)


def lower_wmma(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        calls = [i for i in fn.instructions() if isinstance(i, Call) and
                 i.callee_function is not None and
                 i.callee_function.name.startswith(_PREFIX)]
        if not calls:
            continue
        _Lowering(module, ctx, kernel, fn).run(calls)
    for fn in list(module.functions):
        if fn.name.startswith(_PREFIX) and fn.is_declaration:
            module.functions.remove(fn)
