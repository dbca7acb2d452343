"""NVVM WMMA (``wmma::load_matrix_sync``/``mma_sync``/``store_matrix_sync``) on Apple's
8x8 ``simdgroup_matrix`` operations.

A WMMA fragment's register layout is opaque in CUDA: code can only load, multiply-add and
store fragments (and fill them with a constant). So an R x C fragment is represented as
(R/8) x (C/8) 8x8 SIMD-group matrices (tiles ``[i][j]``: rows ``8i..8i+7``, columns
``8j..8j+7``, kept in row-major order), AIR values ``<64 x T>``. Shapes m16n16k16,
m32n8k16, m8n32k16 (A is M x K, B K x N, C and D M x N) and m16n16k8 (tf32):

- ``load.{a,b,c}.{row,col}[.stride].{f16,f32,bf16,tf32}`` -> one
  ``air.simdgroup_matrix_8x8_load`` per tile (row-major: origin ``(8j, 8i)``; column-major:
  the transposed load). bf16 tiles are loaded as 16-bit data (a ``half`` load moves the
  bits) and widened to float exactly (the bits shifted into a float's top half); tf32 tiles
  are float loads with the low 13 mantissa bits cleared, since the tensor cores ignore them;
- ``mma`` -> ``air.simdgroup_matrix_8x8_multiply_accumulate`` per tile pair
  (``D[i][j] = sum_k A[i][k] B[k][j] + C[i][j]``): f16 inputs with f16 or f32
  accumulators; bf16 and tf32 inputs (as float tiles, whose products are exact in float)
  with f32 accumulators;
- ``store.d.{row,col}[.stride].{f16,f32}`` -> a SIMD-group barrier (the store is
  collective: no lane overwrites memory another lane has still to load from) and one
  ``air.simdgroup_matrix_8x8_store`` per tile;
- ``fill_fragment(c, x)`` (every register the constant ``x``) -> a splat ``<64 x T>``;
- a uniform elementwise operation (``c.x[i] = alpha * acc.x[i] + beta * c.x[i]`` for every
  ``i``: the same ``fadd``/``fsub``/``fmul``/``fdiv``/``fneg`` with the same scalar operands
  on every register) -> the operation on the tiles, scalars splatted: exact whatever the
  lane layout, since every element gets the same operation;
  fragments carried around loops (phis of their registers) -> phis of tiles.

Expects: pointers with their AIR address spaces (after ``infer_address_spaces``), before
``lower_intrinsics``. Guarantees: no ``llvm.nvvm.wmma.*`` call remains; a fragment register
used any other way (elementwise arithmetic on ``frag.x[i]``), other shapes and integer
fragments (s8, u8, s4, u4, b1: Apple GPUs have no integer simdgroup matrix) are refused
with a located error.
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
    I16,
    I32,
    I64,
    VOID,
    FunctionType,
    PointerType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite.context import KernelSignature, LoweringContext

_PREFIX = "llvm.nvvm.wmma."
_LOAD = re.compile(r"llvm\.nvvm\.wmma\.(m\d+n\d+k\d+)\.load\.([abc])\.(row|col)(\.stride)?\."
                   r"([a-z0-9]+)(\.p\d+)?")
_STORE = re.compile(r"llvm\.nvvm\.wmma\.(m\d+n\d+k\d+)\.store\.d\.(row|col)(\.stride)?\."
                    r"([a-z0-9]+)(\.p\d+)?")
_MMA = re.compile(r"llvm\.nvvm\.wmma\.(m\d+n\d+k\d+)\.mma\.(row|col)\.(row|col)\."
                  r"([a-z0-9]+)(?:\.([a-z0-9]+))?(\.satfinite)?")
# shape -> (M, N, K)
SHAPES = {"m16n16k16": (16, 16, 16), "m32n8k16": (32, 8, 16), "m8n32k16": (8, 32, 16),
          "m16n16k8": (16, 16, 8)}
# fragment element formats that map onto float/half simdgroup matrices, and the tile type
_TILE_ELEMENTS = {"f16": F16, "f32": F32, "bf16": F32, "tf32": F32}
_INTEGER = ("s8", "u8", "s4", "u4", "b1", "s32")
_SUFFIX = {"half": "f16", "float": "f32"}


def _tile_type(elem: Type) -> VectorType:
    return VectorType(64, elem)


def _dims(shape: tuple[int, int, int], operand: str) -> tuple[int, int]:
    """Rows and columns of operand ``a`` (M x K), ``b`` (K x N), ``c``/``d`` (M x N)."""
    m, n, k = shape
    return {"a": (m, k), "b": (k, n)}.get(operand, (m, n))


def _registers(kind: str, operand: str, shape: tuple[int, int, int]) -> int:
    """Registers of a fragment in NVVM (PTX ISA, WMMA fragments): f16 a/b 8 x <2 x half>,
    f16 c/d 4, f32 c/d 8; bf16 two and tf32 one element per i32 register."""
    rows, cols = _dims(shape, operand)
    if kind == "bf16":
        return rows * cols // 64
    if kind == "tf32":
        return rows * cols // 32
    return 4 if operand in "cd" and kind == "f16" else 8


@dataclass
class _Fragment:
    """One fragment value: its tile grid (rows x cols of 8x8 tiles, None until known for
    phis and elementwise results) and tiles, row-major (filled in as they are emitted)."""

    elem: Type
    registers: int
    grid: tuple[int, int] | None = None
    tiles: list[Value] = field(default_factory=list)

    @property
    def count(self) -> int:
        assert self.grid is not None
        return self.grid[0] * self.grid[1]


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

    def check(self, call: Call, shape: str, kind: str) -> tuple[int, int, int]:
        """The shape's (M, N, K); integer and unknown fragment formats are refused."""
        name = call.callee_function.name  # type: ignore[union-attr]
        if kind in _INTEGER:
            raise self.error(call, f"integer WMMA ('@{name}', {kind} fragments) is not "
                             "supported: Apple GPUs have no integer simdgroup matrix",
                             "compute the integer GEMM with ordinary arithmetic (dp4a-style "
                             "dot products) or convert the operands to half")
        if shape not in SHAPES or kind not in _TILE_ELEMENTS:
            raise self.error(call, f"WMMA operation '@{name}' is not supported",
                             f"the shapes {', '.join(SHAPES)} with f16, bf16 or tf32 inputs "
                             "map onto Apple's 8x8 simdgroup matrices")
        return SHAPES[shape]

    def analyze(self, calls: list[Call]) -> None:
        for call in calls:
            name = call.callee_function.name  # type: ignore[union-attr]
            m = _LOAD.fullmatch(name)
            if m:
                shape = self.check(call, m.group(1), m.group(5))
                rows, cols = _dims(shape, m.group(2))
                self.fragments[id(call)] = _Fragment(
                    _TILE_ELEMENTS[m.group(5)], _registers(m.group(5), m.group(2), shape),
                    (rows // 8, cols // 8))
                continue
            m = _MMA.fullmatch(name)
            if m:
                shape = self.check(call, m.group(1), m.group(4))
                if m.group(6):
                    raise self.error(call, f"WMMA '@{name}' saturates to finite values "
                                     "(.satfinite), which simdgroup matrices do not",
                                     "drop satfinite, or clamp the stored result")
                d_kind = m.group(4) if m.group(4) in ("f16", "f32") else "f32"
                self.fragments[id(call)] = _Fragment(
                    _TILE_ELEMENTS[d_kind], _registers(d_kind, "d", shape),
                    (shape[0] // 8, shape[1] // 8))
                continue
            m = _STORE.fullmatch(name)
            if m:
                self.check(call, m.group(1), m.group(4))
                continue
            raise self.error(call, f"WMMA operation '@{name}' is not supported",
                             "WMMA load, mma and store of f16, bf16 and tf32 fragments map "
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
            if ks != list(range(len(members))) or len(members) not in (1, 2, 4, 8):
                raise self.error(root, f"a WMMA fragment operation ('{root.opcode}') does not "
                                 "treat every register of the fragment alike",
                                 "only uniform elementwise operations map onto simdgroup "
                                 "matrices")
            self.fragments[id(root)] = _Fragment(elem, len(members))
            self.members[id(root)] = members  # type: ignore[assignment]
        self.resolve_grids()
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

    def resolve_grids(self) -> None:
        """Phis and elementwise results take the tile grid of the fragments they combine."""
        changed = True
        while changed:
            changed = False
            for key, members in self.members.items():
                frag = self.fragments[key]
                if frag.grid is not None:
                    continue
                for op in (op for m in members for op in m.ops if id(op) in self.register):
                    src = self.source(op)
                    grid = self.fragments[id(src)].grid if src is not None else None
                    if grid is not None:
                        frag.grid = grid
                        changed = True
                        break
        for key, members in self.members.items():
            if self.fragments[key].grid is None:
                raise self.error(members[0], "a WMMA fragment's shape cannot be told from "
                                 "the fragments it is made of")

    # ---------------------------------------------------------------- emit

    def tiles_of(self, inst: Instruction, regs: list[Value], elem: Type,
                 count: int) -> list[Value]:
        srcs = {id(s): s for s in (self.source(v) for v in regs) if s is not None}
        if not srcs:
            return self.splat(inst, regs, elem, count)
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
        if len(frag.tiles) != count:
            raise self.error(inst, "a WMMA fragment of one shape is used as another")
        return frag.tiles

    def splat(self, inst: Instruction, regs: list[Value], elem: Type,
              count: int) -> list[Value]:
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
            return [ConstantZero(ty)] * count
        value = _fp(text)
        spelled = _spell(value, elem)
        return [ConstantAggregate(ty, elements=[ConstantFP(elem, text=spelled)] * 64)] * count

    def emit_load(self, call: Call, out: list[Instruction]) -> None:
        m = _LOAD.fullmatch(call.callee_function.name)  # type: ignore[union-attr]
        assert m
        frag = self.fragments[id(call)]
        kind, column_major = m.group(5), m.group(3) == "col"
        rows, cols = _dims(SHAPES[m.group(1)], m.group(2))
        ptr = call.args[0]
        stride = self.stride(call.args[1] if m.group(4) else None, rows if column_major
                             else cols, out)
        space = ptr.ty.addrspace if isinstance(ptr.ty, PointerType) else 1
        memory = F16 if kind in ("f16", "bf16") else F32  # bf16: 16-bit data, moved as half
        sfx = _SUFFIX[memory.kind]  # type: ignore[attr-defined]
        name = f"air.simdgroup_matrix_8x8_load.v64{sfx}.p{space}{sfx}"
        assert frag.grid is not None
        for i, j in _tile_positions(frag.grid):
            origin, transpose = _origin(i, j, column_major)
            tile: Value = self.call(name, _tile_type(memory), [ptr, stride, origin, transpose],
                                    memory)
            out.append(tile)  # type: ignore[arg-type]
            if kind == "bf16":
                tile = _bf16_to_float(tile, out)
            elif kind == "tf32":
                tile = _as_tf32(tile, out)
            frag.tiles.append(tile)

    def emit_store(self, call: Call, out: list[Instruction]) -> None:
        m = _STORE.fullmatch(call.callee_function.name)  # type: ignore[union-attr]
        assert m
        shape, kind = SHAPES[m.group(1)], m.group(4)
        elem = _TILE_ELEMENTS[kind]
        n = _registers(kind, "d", shape)
        grid = (shape[0] // 8, shape[1] // 8)
        ptr, regs = call.args[0], list(call.args[1:1 + n])
        tiles = self.tiles_of(call, regs, elem, grid[0] * grid[1])
        column_major = m.group(2) == "col"
        stride = self.stride(call.args[1 + n] if m.group(3) else None,
                             shape[0] if column_major else shape[1], out)
        space = ptr.ty.addrspace if isinstance(ptr.ty, PointerType) else 1
        # store_matrix_sync is collective: every lane has read its operands (the store may
        # overwrite what they were loaded from) before any lane writes
        from llvm_to_air.rewrite import intrinsic_tables as T
        from llvm_to_air.rewrite.intrinsics import Lowering

        out.append(Lowering(self.module, self.ctx, self.kernel).barrier(
            T.MEM_DEVICE | T.MEM_THREADGROUP, simdgroup=True))
        name = f"air.simdgroup_matrix_8x8_store.v64{_SUFFIX[elem.kind]}." \
               f"p{space}{_SUFFIX[elem.kind]}"  # type: ignore[attr-defined]
        for (i, j), tile in zip(_tile_positions(grid), tiles, strict=True):
            origin, transpose = _origin(i, j, column_major)
            out.append(self.call(name, VOID, [tile, ptr, stride, origin, transpose], elem))

    def emit_mma(self, call: Call, out: list[Instruction]) -> None:
        m = _MMA.fullmatch(call.callee_function.name)  # type: ignore[union-attr]
        assert m
        frag = self.fragments[id(call)]
        shape = SHAPES[m.group(1)]
        kinds = (m.group(4), m.group(5) or m.group(4))
        # f16 inputs name the D and C types (.f32.f16); bf16/tf32 name the inputs (f32 C, D)
        inputs, c_kind = ("f16", kinds[1]) if kinds[0] in ("f16", "f32") else (kinds[0], "f32")
        mt, nt, kt = shape[0] // 8, shape[1] // 8, shape[2] // 8
        na, nb = _registers(inputs, "a", shape), _registers(inputs, "b", shape)
        nc = _registers(c_kind, "c", shape)
        args = list(call.args)
        in_elem = _TILE_ELEMENTS[inputs]
        a = self.tiles_of(call, args[0:na], in_elem, mt * kt)
        b = self.tiles_of(call, args[na:na + nb], in_elem, kt * nt)
        c = self.tiles_of(call, args[na + nb:na + nb + nc], _TILE_ELEMENTS[c_kind], mt * nt)
        acc_ty = _tile_type(frag.elem)
        c = [_convert_tile(t, frag.elem, out) for t in c]
        sd = _SUFFIX[frag.elem.kind]  # type: ignore[attr-defined]
        si = _SUFFIX[in_elem.kind]  # type: ignore[attr-defined]
        name = f"air.simdgroup_matrix_8x8_multiply_accumulate.v64{sd}.v64{si}.v64{si}.v64{sd}"
        for i in range(mt):
            for j in range(nt):
                acc = c[i * nt + j]
                for kk in range(kt):
                    step = self.call(name, acc_ty, [a[i * kt + kk], b[kk * nt + j], acc])
                    out.append(step)
                    acc = step
                frag.tiles.append(acc)

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
                operands.append([splat] * frag.count)
        for t in range(frag.count):
            op = copy.copy(first)
            op.ty = ty
            op.ops = [tiles[t] for tiles in operands]
            op.name = None
            op.metadata = []
            out.append(op)
            frag.tiles.append(op)

    def stride(self, value: Value | None, default: int, out: list[Instruction]) -> Value:
        if value is None:  # the fragment's own leading dimension
            return ConstantInt(I64, value=default)
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
                       location=root.location) for _ in range(frag.count)]
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
                incoming = self.tiles_of(first, regs, self.fragments[key].elem,  # type: ignore
                                         self.fragments[key].count)
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


def _tile_positions(grid: tuple[int, int]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(grid[0]) for j in range(grid[1])]


def _splat_i32(value: int) -> ConstantAggregate:
    return ConstantAggregate(VectorType(64, I32), elements=[ConstantInt(I32, value=value)] * 64)


def _bf16_to_float(tile: Value, out: list[Instruction]) -> Value:
    """bf16 bits (moved as half) to float, exactly: the 16 bits become a float's top half."""
    bits = Cast(VectorType(64, I16), opcode="bitcast", ops=[tile])
    wide = Cast(VectorType(64, I32), opcode="zext", ops=[bits])
    high = BinaryOp(VectorType(64, I32), opcode="shl", ops=[wide, _splat_i32(16)])
    value = Cast(_tile_type(F32), opcode="bitcast", ops=[high])
    out += [bits, wide, high, value]
    return value


def _as_tf32(tile: Value, out: list[Instruction]) -> Value:
    """A float tile as the tensor cores read tf32: the low 13 mantissa bits ignored."""
    bits = Cast(VectorType(64, I32), opcode="bitcast", ops=[tile])
    kept = BinaryOp(VectorType(64, I32), opcode="and", ops=[bits, _splat_i32(-(1 << 13))])
    value = Cast(_tile_type(F32), opcode="bitcast", ops=[kept])
    out += [bits, kept, value]
    return value


def _convert_tile(tile: Value, elem: Type, out: list[Instruction]) -> Value:
    """A C tile in the accumulator's type (``mma...f32.f16``: f16 C, f32 D)."""
    ty = tile.ty
    if not isinstance(ty, VectorType) or ty.element == elem:
        return tile
    if isinstance(tile, ConstantZero):
        return ConstantZero(_tile_type(elem))
    opcode = "fpext" if elem == F32 else "fptrunc"
    converted = Cast(_tile_type(elem), opcode=opcode, ops=[tile])
    out.append(converted)
    return converted


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
