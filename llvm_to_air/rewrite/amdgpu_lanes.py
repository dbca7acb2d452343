"""Wave32 AMD cross-lane operations and buffer resources, rewritten for the common lowering.

* ``update.dpp``/``mov.dpp`` (quad_perm, row_shl/shr/ror, row_mirror, row_half_mirror,
  row_share, row_xmask, with row and bank masks), ``mov.dpp8``, ``permlane16``,
  ``permlanex16`` and ``readlane`` become a source-lane computation and
  ``llvm.amdgcn.ds.bpermute`` (which ``lower_intrinsics`` turns into ``simd_shuffle``),
  then a ``select`` of the DPP rules for lanes whose source lies outside their row of 16
  (0 with ``bound_ctrl``, else ``old``) and for lanes the masks disable (``old``). A
  32-lane wavefront is exactly an Apple SIMD group, so this is exact. The gfx8/9
  controls (``row_bcast:15/31``, wave shifts and rotations) do not exist on the gfx10+
  targets that run wave32 and are refused.
* ``make.buffer.rsrc`` + ``raw.ptr.buffer.load/store/atomic.*`` become bounds-checked
  global accesses: an access whose ``offset + size`` passes ``num_records`` loads 0 and
  stores nothing (an atomic: returns 0, changes nothing), as the hardware does (Triton
  masks by pushing offsets out of range).

Expects: wave64 cross-lane code already refused (``refuse_wave64_cross_lane``).
Guarantees: no ``update.dpp``, ``mov.dpp``, ``permlanex16``, ``readlane`` or buffer
resource intrinsic remains; unsupported DPP controls are a CompileError naming them.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import NameSource, declare_function, replace_all_uses
from llvm_to_air.ir.model import (
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    Call,
    Cast,
    CmpXchg,
    Compare,
    ConstantFP,
    ConstantInt,
    ExtractValue,
    Function,
    GetElementPtr,
    Instruction,
    Load,
    Module,
    Phi,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    I1,
    I8,
    I32,
    I64,
    VOID,
    FloatType,
    IntType,
    StructType,
    Type,
)
from llvm_to_air.rewrite.context import LoweringContext

# DPP_CTRL values (AMDGPU ISA, "DPP"; LLVM's AMDGPUModifierSyntax) of gfx10+ wave32 code.
_DPP_CONTROLS: tuple[tuple[range, str], ...] = (
    (range(0x000, 0x100), "quad_perm"), (range(0x101, 0x110), "row_shl"),
    (range(0x111, 0x120), "row_shr"), (range(0x121, 0x130), "row_ror"),
    (range(0x140, 0x141), "row_mirror"), (range(0x141, 0x142), "row_half_mirror"),
    (range(0x150, 0x160), "row_share"), (range(0x160, 0x170), "row_xmask"),
)
# Controls of gfx8/gfx9 only: wave-wide shifts and rotations and the row broadcasts.
_GFX9_ONLY_CONTROLS = {0x130: "wave_shl:1", 0x134: "wave_rol:1", 0x138: "wave_shr:1",
                       0x13C: "wave_ror:1", 0x142: "row_bcast:15", 0x143: "row_bcast:31"}
_PREFIXES = ("llvm.amdgcn.update.dpp", "llvm.amdgcn.mov.dpp", "llvm.amdgcn.permlanex16",
             "llvm.amdgcn.permlane16",
             "llvm.amdgcn.readlane", "llvm.amdgcn.make.buffer.rsrc",
             "llvm.amdgcn.raw.ptr.buffer.load", "llvm.amdgcn.raw.ptr.buffer.store",
             "llvm.amdgcn.raw.ptr.buffer.atomic.")


def lower_amdgpu_lanes(module: Module, ctx: LoweringContext) -> None:
    """Rewrite DPP, permlanex16, readlane and buffer resources (see the module docstring)."""
    for fn in module.functions:
        if fn.is_declaration or not any(_name(i).startswith(_PREFIXES)
                                         for i in fn.instructions()):
            continue
        _Rewriter(module, fn).run()


def _name(inst: Instruction) -> str:
    callee = inst.callee_function if isinstance(inst, Call) else None
    return callee.name if callee is not None else ""


class _Rewriter:
    def __init__(self, module: Module, fn: Function) -> None:
        self.module, self.fn = module, fn
        self.names = NameSource(fn)
        self.out: list[Instruction] = []
        self.call: Call | None = None
        self.resources: dict[Value, tuple[Value, Value]] = {}

    def declare(self, name: str, ret: Type, params: tuple[Type, ...]) -> Function:
        return declare_function(self.module, name, ret, params)

    def emit(self, inst: Instruction) -> Instruction:
        if inst.ty != VOID and inst.name is None:
            inst.name = self.names("amd")
        inst.location = self.call.location if self.call else None
        self.out.append(inst)
        return inst

    def i32(self, op: str, a: Value, b: Value | int) -> Value:
        other = ConstantInt(I32, b) if isinstance(b, int) else b
        return self.emit(BinaryOp(I32, opcode=op, ops=[a, other]))

    def lane(self) -> Value:
        mbcnt = self.declare("llvm.amdgcn.mbcnt.lo", I32, (I32, I32))
        return self.emit(Call(I32, opcode="call", ops=[ConstantInt(I32, -1), ConstantInt(I32, 0),
                                                       mbcnt],
                              function_type=mbcnt.function_type))

    def shuffle(self, value: Value, src_lane: Value) -> Value:
        as_int = value if value.ty == I32 else self.emit(Cast(I32, opcode="bitcast", ops=[value]))
        bperm = self.declare("llvm.amdgcn.ds.bpermute", I32, (I32, I32))
        got = self.emit(Call(I32, opcode="call", ops=[self.i32("shl", src_lane, 2), as_int, bperm],
                             function_type=bperm.function_type))
        return got if value.ty == I32 else self.emit(Cast(value.ty, opcode="bitcast", ops=[got]))

    def run(self) -> None:
        index = 0
        while index < len(self.fn.blocks):
            block = self.fn.blocks[index]
            for position, inst in enumerate(block.instructions):
                name = _name(inst)
                if name.startswith(_PREFIXES):
                    assert isinstance(inst, Call)
                    self.rewrite(block, position, inst, name)
                    break
            else:
                index += 1

    def rewrite(self, block: BasicBlock, position: int, call: Call, name: str) -> None:
        self.call, self.out = call, []
        if name.startswith("llvm.amdgcn.raw.ptr.buffer."):
            access = name.removeprefix("llvm.amdgcn.raw.ptr.buffer.").split(".")
            kind = access[1] if access[0] == "atomic" else access[0]
            self.buffer_access(block, position, call, kind)
            return
        if name.startswith("llvm.amdgcn.make.buffer.rsrc"):
            base, _stride, records, _flags = call.args
            self.resources[call] = (base, records)
            result: Value | None = None
        elif name.startswith("llvm.amdgcn.readlane"):
            value, lane = call.args
            result = self.shuffle(value, lane)
        elif name.endswith(".var") or ".var." in name:
            raise CompileError(f"'@{name}' (gfx12 variable-selector permute) is not "
                               "translated", call.location)
        elif name.startswith("llvm.amdgcn.permlanex16"):
            result = self.permlanex16(call)
        elif name.startswith("llvm.amdgcn.permlane16"):
            result = self.permlanex16(call, same_row=True)
        elif name.startswith("llvm.amdgcn.mov.dpp8"):
            result = self.dpp8(call)
        else:
            result = self.dpp(call, name)
        block.instructions[position:position + 1] = self.out
        for inst in self.out:
            inst.parent = block
        if result is not None:
            replace_all_uses(self.fn.instructions(), {call: result})

    def dpp(self, call: Call, name: str) -> Value:
        """``update.dpp``/``mov.dpp``: the source lane of the control (``_DPP_CONTROLS``);
        lanes whose source leaves their row of 16 get 0 (``bound_ctrl``) or ``old``, and
        lanes of a row or bank that ``row_mask``/``bank_mask`` disables keep ``old``."""
        if name.startswith("llvm.amdgcn.mov.dpp"):
            src, ctrl, row_mask, bank_mask, bound = call.args
            old: Value = _zero(src.ty)
        else:
            old, src, ctrl, row_mask, bank_mask, bound = call.args
        if not all(isinstance(v, ConstantInt) for v in (ctrl, row_mask, bank_mask, bound)):
            raise CompileError(f"'@{name}' with non-constant controls", call.location)
        c = ctrl.value  # type: ignore[attr-defined]
        kind = next((k for codes, k in _DPP_CONTROLS if c in codes), None)
        if kind is None:
            gfx9 = _GFX9_ONLY_CONTROLS.get(c)
            raise CompileError(
                f"'@{name}' with DPP control 0x{c:x}"
                + (f" ({gfx9}): it exists only on gfx8/gfx9 (wave64); gfx10+ wave32 targets "
                   "have no such control (LLVM's AMDGPU backend rejects it there)" if gfx9
                   else ": not a DPP control"), call.location,
                hint="use row_share, row_xmask or permlanex16 for cross-row exchanges")
        lane = self.lane()
        row = self.i32("and", lane, ~15 & 0xFFFFFFFF)
        i = self.i32("and", lane, 15)
        n = c & 15
        valid: Value | None = None
        if kind == "quad_perm":
            shift = self.i32("shl", self.i32("and", lane, 3), 1)
            sel = self.i32("and", self.i32("lshr", ConstantInt(I32, c), shift), 3)
            src_lane = self.i32("or", self.i32("and", lane, ~3 & 0xFFFFFFFF), sel)
        elif kind in ("row_shl", "row_shr", "row_ror"):
            j = self.i32("add", i, n) if kind == "row_shl" else self.i32("sub", i, n)
            if kind != "row_ror":  # a rotation never leaves the row
                valid = self.emit(Compare(I1, opcode="icmp", predicate="ult",
                                          ops=[j, ConstantInt(I32, 16)]))
            src_lane = self.i32("or", row, self.i32("and", j, 15))
        elif kind == "row_mirror":
            src_lane = self.i32("or", row, self.i32("sub", ConstantInt(I32, 15), i))
        elif kind == "row_half_mirror":
            src_lane = self.i32("xor", lane, 7)
        elif kind == "row_share":
            src_lane = self.i32("or", row, n)
        else:  # row_xmask
            src_lane = self.i32("xor", lane, n)
        result = self.shuffle(src, src_lane)
        if valid is not None:
            fallback = _zero(src.ty) if bound.value & 1 else old  # type: ignore[attr-defined]
            result = self.emit(Select(src.ty, opcode="select", ops=[valid, result, fallback]))
        return self.masked(result, old, lane, row_mask.value, bank_mask.value)  # type: ignore

    def masked(self, result: Value, old: Value, lane: Value, row_mask: int,
               bank_mask: int) -> Value:
        """``old`` in lanes of a disabled row (lane / 16) or bank (lane / 4 % 4)."""
        rows, banks = row_mask & 3, bank_mask & 15  # a wave32 has rows 0 and 1
        if rows == 3 and banks == 15:
            return result
        enabled = self.i32("and", self.i32("lshr", ConstantInt(I32, rows), self.i32(
            "lshr", lane, 4)), self.i32("lshr", ConstantInt(I32, banks), self.i32(
                "and", self.i32("lshr", lane, 2), 3)))
        on = self.emit(Compare(I1, opcode="icmp", predicate="ne",
                               ops=[self.i32("and", enabled, 1), ConstantInt(I32, 0)]))
        return self.emit(Select(result.ty, opcode="select", ops=[on, result, old]))

    def dpp8(self, call: Call) -> Value:
        """``mov.dpp8``: lane i of each group of 8 reads lane ``sel >> 3 (i % 8) & 7``."""
        src, sel = call.args
        if not isinstance(sel, ConstantInt):
            raise CompileError("'@llvm.amdgcn.mov.dpp8' with a non-constant selector",
                               call.location)
        lane = self.lane()
        shift = self.i32("mul", self.i32("and", lane, 7), 3)
        pick = self.i32("and", self.i32("lshr", ConstantInt(I32, sel.value & 0xFFFFFF), shift),
                        7)
        return self.shuffle(src, self.i32("or", self.i32("and", lane, ~7 & 0xFFFFFFFF), pick))

    def permlanex16(self, call: Call, same_row: bool = False) -> Value:
        """``permlanex16`` (``permlane16`` with ``same_row``): lane i of a row reads lane
        ``sel[i]`` (4 bits each, lanes 0-7 from ``sel_lo``) of the other (same) row."""
        _old, src, sel_lo, sel_hi, _fi, _bc = call.args
        lane = self.lane()
        i = self.i32("and", lane, 15)
        high = self.emit(Compare(I1, opcode="icmp", predicate="ugt", ops=[i, ConstantInt(I32, 7)]))
        sel = self.emit(Select(I32, opcode="select", ops=[high, sel_hi, sel_lo]))
        shift = self.i32("shl", self.i32("and", i, 7), 2)
        pick = self.i32("and", self.i32("lshr", sel, shift), 15)
        other_row = self.i32("and", self.i32("xor", lane, 0 if same_row else 16), 16)
        return self.shuffle(src, self.i32("or", other_row, pick))

    def buffer_access(self, block: BasicBlock, position: int, call: Call, kind: str) -> None:
        """``kind``: ``load``, ``store``, an atomic operation (``swap``, ``add``...) or
        ``cmpswap``; an atomic out of range changes nothing and returns 0, like a load."""
        args = call.args
        store = kind == "store"
        operands = {"load": 0, "store": 1, "cmpswap": 2}.get(kind, 1)  # data before rsrc
        if kind not in ("load", "store", "cmpswap") and kind not in _BUFFER_ATOMICS:
            raise CompileError(f"buffer atomic '{kind}' ('@{call.callee_function.name}') is "  # type: ignore[union-attr]
                               "not translated", call.location)
        value = args[0] if operands else None
        rsrc, voffset, soffset = args[operands:operands + 3]
        found = self.resources.get(rsrc)
        if found is None:
            raise CompileError("buffer access through a resource not made by "
                               "llvm.amdgcn.make.buffer.rsrc in this function", call.location)
        base, records = found
        ty = value.ty if value is not None else call.ty
        size = _bytes(ty)
        offset = self.i32("add", voffset, soffset)
        end = self.emit(BinaryOp(I64, opcode="add", ops=[
            self.emit(Cast(I64, opcode="zext", ops=[offset])), ConstantInt(I64, size)]))
        limit = records if records.ty == I64 else self.emit(Cast(I64, opcode="zext",
                                                                ops=[records]))
        inside = self.emit(Compare(I1, opcode="icmp", predicate="ule", ops=[end, limit]))
        ptr = self.emit(GetElementPtr(base.ty, opcode="getelementptr", ops=[
            base, self.emit(Cast(I64, opcode="zext", ops=[offset]))], source_type=I8))
        then = BasicBlock(self.names("buf.in"), [], self.fn)
        join = BasicBlock(self.names("buf.join"), [], self.fn)
        from llvm_to_air.ir.model import Branch

        self.out.append(Branch(VOID, opcode="br", ops=[inside], targets=[then, join]))
        tail = block.instructions[position + 1:]
        block.instructions[position:] = self.out
        for inst in self.out:
            inst.parent = block
        self.out = []
        if store:
            self.emit(Store(VOID, opcode="store", ops=[value, ptr], align=min(size, 4)))
        elif kind == "load":
            loaded = self.emit(Load(ty, opcode="load", ops=[ptr], align=min(size, 4)))
        elif kind == "cmpswap":
            pair = self.emit(CmpXchg(StructType((ty, I1)), opcode="cmpxchg",
                                     ops=[ptr, args[1], value], success_ordering="monotonic",
                                     failure_ordering="monotonic", align=size))
            loaded = self.emit(ExtractValue(ty, opcode="extractvalue", ops=[pair],
                                            indices=[0]))
        else:
            loaded = self.emit(AtomicRMW(ty, opcode="atomicrmw", ops=[ptr, value],
                                         operation=_BUFFER_ATOMICS[kind],
                                         ordering="monotonic", align=size))
        self.out.append(Branch(VOID, opcode="br", ops=[], targets=[join]))
        then.instructions = self.out
        for inst in self.out:
            inst.parent = then
        self.out = []
        if not store:
            phi = Phi(ty, opcode="phi", ops=[loaded, _zero(ty)], blocks=[then, block],
                      name=self.names("buf"))
            phi.location, phi.parent = call.location, join
            join.instructions.append(phi)
        for inst in tail:
            inst.parent = join
        join.instructions.extend(tail)
        at = self.fn.blocks.index(block) + 1
        self.fn.blocks[at:at] = [then, join]
        for succ in join.successors():
            for p in succ.instructions:
                if isinstance(p, Phi):
                    p.blocks = [join if b is block else b for b in p.blocks]
        if not store:
            replace_all_uses(self.fn.instructions(), {call: phi})


# raw.ptr.buffer.atomic.<op> -> atomicrmw operation (AMDGPU inc/dec wrap as LLVM's do)
_BUFFER_ATOMICS = {"swap": "xchg", "add": "add", "sub": "sub", "smin": "min", "umin": "umin",
                   "smax": "max", "umax": "umax", "and": "and", "or": "or", "xor": "xor",
                   "inc": "uinc_wrap", "dec": "udec_wrap", "fadd": "fadd", "fmin": "fmin",
                   "fmax": "fmax"}


def _zero(ty: Type) -> Value:
    if isinstance(ty, FloatType):
        return ConstantFP(ty, text="0.000000e+00")
    return ConstantInt(ty, 0)


def _bytes(ty: Type) -> int:
    if isinstance(ty, IntType):
        return max(ty.bits // 8, 1)
    if isinstance(ty, FloatType):
        return {"half": 2, "bfloat": 2, "float": 4, "double": 8}[ty.kind]
    count = getattr(ty, "count", None)
    element = getattr(ty, "element", None)
    if count and element is not None:
        return count * _bytes(element)
    raise CompileError(f"buffer access of type {ty} is not translated")
