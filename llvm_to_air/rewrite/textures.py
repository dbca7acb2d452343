"""OpenCL 2D images as AIR textures.

An OpenCL ``image2d_t`` (clang: ``target("spirv.Image", void, 1, 0, 0, 0, 0, 0, A)``, A the
access qualifier) becomes what Apple's compiler gives a ``texture2d<T, access>`` parameter: a
``%struct._texture_2d_t addrspace(1)*`` with an ``air.texture`` argument node (textures have
their own location indices, the host's ``setTexture:atIndex:``). The builtins become the AIR
functions Apple's modules call (AIR 2.6 to 2.8 spell them so; integer forms by analogy with
the ``.u.v4i32`` names of older modules):

=========================================  ===================================================
``read_imagef/i/ui(img, int2)``            ``{<4 x T>, i8} air.read_texture_2d.{v4f32,s.v4i32,
                                           u.v4i32}(tex, <2 x i32>, i32 lod 0, i32 access)``
``write_imagef/i/ui(img, int2, color)``    ``air.write_texture_2d.*(tex, <2 x i32>, <4 x T>,
                                           i32 lod 0, i32 access)``
``get_image_width/height/dim(img)``        ``i32 air.get_{width,height}_texture_2d(tex, i32 0)``
=========================================  ===================================================

(access: 1 read, 2 write, 3 read_write, as Apple's calls on ``read``/``write``/``read_write``
textures pass it.) A read through a *constant* sampler that OpenCL defines without filtering
-- unnormalized coordinates, ``CLK_FILTER_NEAREST`` -- is exact as a ``read`` at the texel
the spec picks: integer coordinates as given, float coordinates ``floor``ed; the address mode
in IR: ``CLK_ADDRESS_NONE`` reads there, ``CLAMP_TO_EDGE`` clamps to the image,
``CLK_ADDRESS_CLAMP`` gives the border colour (0, 0, 0, 0) outside (a warning says that images
of R, RG or RGB channel order have alpha 1 there). Every other ``read_imagef`` through a
sampler -- normalized coordinates, ``CLK_FILTER_LINEAR``, the repeat modes, a ``sampler_t``
kernel parameter -- samples as Apple's compiler writes ``texture.sample(s, coord)``:
``{<4 x float>, i8} air.sample_texture_2d.v4f32(tex, sampler, <2 x float>, i1 true,
<2 x i32> zeroinitializer, i1 false, float 0.0, float 0.0, i32 0)``, the sampler a
``@__air_sampler_state`` constant (:mod:`.samplers`) or the parameter, which becomes a
``%struct._sampler_t addrspace(2)*`` with an ``air.sampler`` argument node (samplers have
their own location indices, the host's ``setSamplerState:atIndex:``). Integer coordinates
through a sampler parameter are sampled at the texel centre (``+ 0.5``, exact for the
unnormalized nearest samplers OpenCL requires there). Integer images through such samplers,
other image types and builtins are refused by name (:mod:`.images`).

Expects: discovered kernels; runs before inlining and before any stage that sizes types.
Guarantees: no image or sampler target type remains in kernels or their callees: images are
``ptr addrspace(1)`` (pointee ``%struct._texture_2d_t``), each kernel's image parameters are in
``kernel.images`` with their access; sampler parameters are ``ptr addrspace(2)`` (pointee
``%struct._sampler_t``), listed in ``kernel.samplers``; other samplers are their ``i32``
initializer; every image builtin is an ``air.*texture*`` call or a :class:`CompileError` at
the call.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import insert_before, remove, replace_all_uses
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantAggregate,
    ConstantFP,
    ConstantInt,
    ConstantZero,
    ExtractElement,
    ExtractValue,
    Function,
    GlobalVariable,
    InsertElement,
    Instruction,
    Load,
    Module,
    Phi,
    Poison,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    F32,
    I1,
    I8,
    I32,
    I64,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    NamedStructType,
    PointerType,
    StructType,
    TargetExtType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite.context import (
    ImageParam,
    KernelArgument,
    KernelSignature,
    LoweringContext,
)
from llvm_to_air.rewrite.images import is_event, opencl_type_name, reachable, refuse_resource
from llvm_to_air.rewrite.samplers import Sampler, from_opencl

TEXTURE_STRUCT = "struct._texture_2d_t"
TEXTURE_POINTEE = NamedStructType(TEXTURE_STRUCT)
TEXTURE_TYPE = PointerType(1)
SAMPLER_STRUCT = "struct._sampler_t"
SAMPLER_POINTEE = NamedStructType(SAMPLER_STRUCT)
SAMPLER_TYPE = PointerType(2)
SAMPLER_STATE = "__air_sampler_state"

# spirv.Image's access-qualifier field -> (OpenCL spelling, AIR access word, access operand)
ACCESS = {"0": ("read", 1), "1": ("write", 2), "2": ("read_write", 3)}
# the builtin's element letter -> (AIR suffix, element type, MSL element name)
ELEMENTS = {"f": ("v4f32", F32, "float"), "i": ("s.v4i32", I32, "int"),
            "ui": ("u.v4i32", I32, "uint")}
_BUILTIN = re.compile(r"_Z\d+(read_image|write_image|get_image_)(ui|f|i|h|\w+?)(?=\d|$)")
_SAMPLER_INIT = "__translate_sampler_initializer"

# OpenCL sampler bits (cl_sampler properties as clang's initializer encodes them)
NORMALIZED = 0x1
ADDRESS_MASK = 0xE
ADDRESS_NONE, ADDRESS_CLAMP_TO_EDGE, ADDRESS_CLAMP = 0x0, 0x2, 0x4
FILTER_LINEAR = 0x20
_ADDRESS_NAMES = {0x0: "CLK_ADDRESS_NONE", 0x2: "CLK_ADDRESS_CLAMP_TO_EDGE",
                  0x4: "CLK_ADDRESS_CLAMP", 0x6: "CLK_ADDRESS_REPEAT",
                  0x8: "CLK_ADDRESS_MIRRORED_REPEAT"}

_V2I32 = VectorType(2, I32)
_HINT = ("read with integer coordinates (read_imagef(image, int2)) or a constant sampler "
         "with CLK_NORMALIZED_COORDS_FALSE | CLK_FILTER_NEAREST")


def image_fields(ty: Type) -> list[str] | None:
    """The fields of a ``target("spirv.Image", ...)`` type after the sampled type."""
    if not isinstance(ty, TargetExtType) or not ty.text.startswith('target("spirv.Image"'):
        return None
    return [f.strip() for f in ty.text[len("target("):-1].split(",")[2:]]


def is_image2d(ty: Type) -> bool:
    """dim 1 (2D), not depth, not arrayed, not multisampled."""
    fields = image_fields(ty)
    return fields is not None and len(fields) >= 7 and fields[:3] == ["1", "0", "0"] and \
        fields[3] == "0"


def _is_sampler(ty: Type) -> bool:
    return isinstance(ty, TargetExtType) and ty.text == 'target("spirv.Sampler")'


def lower_images(module: Module, ctx: LoweringContext) -> None:
    functions: dict[int, Function] = {}
    for kernel in ctx.kernels:
        _kernel_images(kernel)
        for fn in reachable(kernel.function):
            functions[id(fn)] = fn
    if not any(kernel.images for kernel in ctx.kernels) and not any(
            _uses_target_types(fn) for fn in functions.values()):
        return
    air = _Texture(module)
    kernel_samplers: set[int] = set()
    for kernel in ctx.kernels:
        _forward_sampler_slots(kernel.function, kernel.samplers)
        kernel_samplers |= {id(kernel.function.args[i]) for i in kernel.samplers}
    for fn in functions.values():
        _lower_builtins(fn, air, ctx, kernel_samplers)
    for fn in functions.values():
        _retype(fn, kernel_samplers)
    if any(k.images for k in ctx.kernels):
        module.structs.setdefault(TEXTURE_STRUCT, None)
    if kernel_samplers or air.states:
        module.structs.setdefault(SAMPLER_STRUCT, None)


def _kernel_images(kernel: KernelSignature) -> None:
    fn = kernel.function
    for index, arg in enumerate(fn.args):
        if is_image2d(arg.ty):
            fields = image_fields(arg.ty) or []
            access, operand = ACCESS.get(fields[6] if len(fields) > 6 else "0", ("read", 1))
            kernel.images[index] = ImageParam(access, operand)
        elif _is_sampler(arg.ty):
            kernel.samplers.add(index)
        elif isinstance(arg.ty, TargetExtType):
            refuse_resource(kernel, index, arg.ty)


def _forward_sampler_slots(fn: Function, samplers: set[int]) -> None:
    """-O0 parks a sampler parameter in a stack slot: loads of a slot stored once from the
    parameter become the parameter, and the slot goes."""
    params = {id(fn.args[i]) for i in samplers}
    stores = [i for i in fn.instructions() if isinstance(i, Store) and id(i.ops[0]) in params
              and isinstance(i.ops[1], Alloca)]
    for store in stores:
        slot = store.ops[1]
        users = [i for i in fn.instructions() if slot in i.ops]
        if any(not (u is store or (isinstance(u, Load) and u.ops[0] is slot)) for u in users):
            continue
        loads = [u for u in users if u is not store]
        replace_all_uses(fn.instructions(), {u: store.ops[0] for u in loads})
        for dead in (*loads, store, slot):
            remove(dead)  # type: ignore[arg-type]


def _uses_target_types(fn: Function) -> bool:
    return any(isinstance(t, TargetExtType) for inst in fn.instructions()
               for t in (inst.ty, *(op.ty for op in inst.ops)))


# ------------------------------------------------------------------- builtins


class _Texture:
    """Declares the ``air.*texture*`` functions once and builds calls to them."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.states: dict[int, GlobalVariable] = {}

    def call(self, name: str, ret: Type, args: list[Value], readonly: bool,
             params: tuple[Type, ...] | None = None) -> Call:
        fnty = FunctionType(ret, params or tuple(a.ty for a in args))
        fn = self.module.get_function(name)
        attrs = ["nocapture", "readonly"] if readonly else ["nocapture"]
        pointers = {0: TEXTURE_POINTEE, 1: SAMPLER_POINTEE} if params else {0: TEXTURE_POINTEE}
        if fn is None:
            fn = Function(PointerType(0), name=name, function_type=fnty,
                          fn_attrs=["argmemonly", "mustprogress", "nounwind", "willreturn"] +
                          (["readonly"] if readonly else []),
                          args=[Argument(p, attrs=list(attrs) if k in pointers else [],
                                         pointee_hint=pointers.get(k))
                                for k, p in enumerate(fnty.params)])
            self.module.functions.append(fn)
        return Call(ret, opcode="call", ops=[*args, fn], function_type=fnty, tail="tail",
                    arg_attrs=[list(attrs) if k in pointers else [] for k in range(len(args))],
                    fn_attrs=["nounwind", "willreturn"] + (["readonly"] if readonly else []))

    def sampler_state(self, sampler: Sampler) -> GlobalVariable:
        """``@__air_sampler_state``: the state as Apple's AIR 2.7/2.8 modules hold a
        ``constexpr sampler`` (one global per distinct state)."""
        state = sampler.air_state
        gv = self.states.get(state)
        if gv is None:
            name = SAMPLER_STATE + (f".{len(self.states)}" if self.states else "")
            words = ArrayType(2, I64)
            gv = GlobalVariable(SAMPLER_TYPE, name=name, linkage="internal",
                                value_type=words, is_constant=True, align=8,
                                initializer=ConstantAggregate(words, elements=[
                                    ConstantInt(I64, value=state), ConstantInt(I64, value=0)]))
            self.module.globals.append(gv)
            self.states[state] = gv
        return gv


def _lower_builtins(fn: Function, air: _Texture, ctx: LoweringContext,
                    kernel_samplers: set[int]) -> None:
    samplers: dict[int, int] = {}
    for inst in list(fn.instructions()):
        callee = inst.callee_function if isinstance(inst, Call) else None
        if callee is None:
            continue
        if callee.name == _SAMPLER_INIT and isinstance(inst.ops[0], ConstantInt):
            samplers[id(inst)] = inst.ops[0].value
            continue
        m = _BUILTIN.match(callee.name)
        if m is None:
            continue
        assert isinstance(inst, Call)
        new, value = _builtin(inst, m.group(1), m.group(2), air,
                              _Samplers(samplers, kernel_samplers), ctx, fn)
        insert_before(inst, new)
        if value is not None:
            replace_all_uses(fn.instructions(), {inst: value})
        remove(inst)
    # what remains of sampler initializers (-O0 slots) is the i32 they encode
    constants = {inst: ConstantInt(I32, value=v) for inst in list(fn.instructions())
                 if (v := samplers.get(id(inst))) is not None}
    replace_all_uses(fn.instructions(), constants)  # type: ignore[arg-type]
    for inst in constants:
        remove(inst)  # type: ignore[arg-type]


class _Samplers:
    """The samplers a function's reads can name: constant initializers (by call id, their
    OpenCL bits) and the kernels' ``sampler_t`` parameters (by argument id)."""

    def __init__(self, constants: dict[int, int], parameters: set[int]) -> None:
        self.constants = constants
        self.parameters = parameters


def _builtin(call: Call, family: str, kind: str, air: _Texture, samplers: _Samplers,
             ctx: LoweringContext, fn: Function) -> tuple[list[Instruction], Value | None]:
    name = f"{family}{kind}"
    image = call.args[0]
    where = call.location or fn.location
    if not is_image2d(image.ty):
        what = opencl_type_name(image.ty) if isinstance(image.ty, TargetExtType) else "image"
        raise CompileError(f"{name} on '{what}': only image2d_t images are supported", where,
                           hint="use an image2d_t, or pass the data in a buffer")
    access = ACCESS.get((image_fields(image.ty) or [""] * 7)[6], ("read", 1))[1]
    out: list[Instruction] = []
    if family == "get_image_":
        return out, _size(out, air, image, kind, name, where)
    if kind not in ELEMENTS:
        raise CompileError(f"{name} is not supported" + (" (half elements)" if kind == "h"
                                                          else ""), where,
                           hint="read_imagef/read_imagei/read_imageui and their write_ forms "
                                "lower to AIR textures")
    suffix, element, _ = ELEMENTS[kind]
    vec = VectorType(4, element)
    if family == "write_image":
        coord = call.args[1]
        if coord.ty != _V2I32:
            raise CompileError(f"{name} with {coord.ty} coordinates is not supported", where)
        out.append(air.call(f"air.write_texture_2d.{suffix}", VOID,
                            [image, coord, call.args[2], _i32(0), _i32(access)], False))
        return out, None
    coord = call.args[-1]
    if len(call.args) == 3:
        bits = _constant_bits(call.args[1], samplers.constants)
        if bits is None or not _exact_as_read(bits):
            return _sample(out, air, image, call.args[1], bits, coord, kind, samplers, name,
                           where, ctx)
        coord, inside = _address(out, air, image, coord, bits, name, where, ctx)
    else:
        inside = None
        if coord.ty != _V2I32:
            raise CompileError(f"{name} without a sampler takes int2 coordinates", where)
    read = air.call(f"air.read_texture_2d.{suffix}", StructType((vec, I8)),
                    [image, coord, _i32(0), _i32(access)], True)
    value = ExtractValue(vec, opcode="extractvalue", ops=[read], indices=[0])
    out += [read, value]
    if inside is not None:  # CLK_ADDRESS_CLAMP: the border colour outside the image
        value = Select(vec, opcode="select", ops=[inside, value, ConstantZero(vec)])
        out.append(value)
    return out, value


def _size(out: list[Instruction], air: _Texture, image: Value, kind: str, name: str,
          where: object) -> Value:
    def query(axis: str) -> Call:
        call = air.call(f"air.get_{axis}_texture_2d", I32, [image, _i32(0)], True)
        out.append(call)
        return call

    if kind in ("width", "height"):
        return query(kind)
    if kind == "dim":
        vec: Value = Poison(_V2I32)
        for lane, axis in enumerate(("width", "height")):
            vec = InsertElement(_V2I32, opcode="insertelement", ops=[vec, query(axis),
                                                                     _i32(lane)])
            out.append(vec)  # type: ignore[arg-type]
        return vec
    raise CompileError(f"{name} is not supported on AIR textures", where,  # type: ignore
                       hint="get_image_width, get_image_height and get_image_dim are")


def _constant_bits(sampler: Value, constants: dict[int, int]) -> int | None:
    """The sampler's constant bits: its initializer, directly or through an -O0 slot."""
    value = constants.get(id(sampler))
    if value is None and isinstance(sampler, Load) and isinstance(sampler.ops[0], Alloca):
        slot = sampler.ops[0]
        fn = slot.parent.parent if slot.parent is not None else None
        stores = [i for i in (fn.instructions() if fn is not None else ())
                  if isinstance(i, Store) and i.ops[1] is slot]
        if len(stores) == 1:  # -O0: the initializer parked in a slot once
            value = constants.get(id(stores[0].ops[0]))
    return value


def _exact_as_read(bits: int) -> bool:
    """Unnormalized, nearest, and no repeat mode: the texel OpenCL picks is computed in IR
    and read exactly, with no sampler (see the module docstring)."""
    return not bits & (NORMALIZED | FILTER_LINEAR) and \
        (bits & ADDRESS_MASK) in (ADDRESS_NONE, ADDRESS_CLAMP_TO_EDGE, ADDRESS_CLAMP)


def _sample(out: list[Instruction], air: _Texture, image: Value, sampler: Value,
            bits: int | None, coord: Value, kind: str, samplers: _Samplers, name: str,
            where: object, ctx: LoweringContext) -> tuple[list[Instruction], Value]:
    """``air.sample_texture_2d.v4f32`` through a sampler state: a constant sampler's
    ``@__air_sampler_state`` or the kernel's sampler parameter, with the trailing operands
    Apple's calls pass for ``sample(s, coord)``: ``i1 true, <2 x i32> zeroinitializer,
    i1 false, float 0.0, float 0.0, i32 0`` (every such call of the corpus; the public
    reverse-engineering calls them offset-enable, offset, LOD option, LOD/bias, min-LOD
    clamp and a flags word, unconfirmed)."""
    loc = where  # type: ignore[assignment]
    if kind != "f":
        raise CompileError(f"{name} through a sampler with normalized coordinates, linear "
                           "filtering, a repeat mode or a sampler_t argument is not supported "
                           "on integer images", loc,  # type: ignore[arg-type]
                           hint="OpenCL requires CLK_NORMALIZED_COORDS_FALSE | "
                                "CLK_FILTER_NEAREST for read_imagei/ui; use read_imagef")
    state: Value
    if bits is not None:
        described = from_opencl(bits, where, name)
        if coord.ty == _V2I32:
            raise CompileError(f"{name} with integer coordinates and a sampler using "
                               f"{described.describe()}: OpenCL allows integer coordinates "
                               "only with unnormalized, nearest samplers", loc,  # type: ignore
                               hint=_HINT)
        if described.linear:
            ctx.warnings.append(CompileError(
                f"{name} with CLK_FILTER_LINEAR: Apple GPUs interpolate with their texture "
                "units, whose weight precision Apple does not document; the CPU runner "
                "computes OpenCL's formula in float32, so GPU results may differ in the last "
                "bits", where))  # type: ignore[arg-type]
        state = air.sampler_state(described)
    elif id(sampler) in samplers.parameters:
        state = sampler
    else:
        raise CompileError(f"{name} with a sampler that is neither a constant sampler nor a "
                           "sampler_t parameter of the kernel is not supported", loc,  # type: ignore
                           hint="declare the sampler at program scope or pass it to the kernel "
                                "directly")
    if coord.ty == _V2I32:  # sampler_t argument: OpenCL requires unnormalized nearest here
        as_float = Cast(VectorType(2, F32), opcode="sitofp", ops=[coord])
        halves = ConstantAggregate(VectorType(2, F32), elements=[_f32("5.000000e-01")] * 2)
        centre = BinaryOp(VectorType(2, F32), opcode="fadd", ops=[as_float, halves])
        out += [as_float, centre]
        coord = centre
    elif coord.ty != VectorType(2, F32):
        raise CompileError(f"{name} with {coord.ty} coordinates is not supported",
                           loc)  # type: ignore[arg-type]
    vec = VectorType(4, F32)
    operands: list[Value] = [image, state, coord, ConstantInt(I1, value=1),
                             ConstantZero(_V2I32), ConstantInt(I1, value=0),
                             _f32("0.000000e+00"), _f32("0.000000e+00"), _i32(0)]
    params = (TEXTURE_TYPE, SAMPLER_TYPE, VectorType(2, F32), I1, _V2I32, I1, F32, F32, I32)
    sample = air.call("air.sample_texture_2d.v4f32", StructType((vec, I8)), operands, True,
                      params)
    value = ExtractValue(vec, opcode="extractvalue", ops=[sample], indices=[0])
    out += [sample, value]
    return out, value


def _f32(text: str) -> ConstantFP:
    return ConstantFP(F32, text=text)


def _address(out: list[Instruction], air: _Texture, image: Value, coord: Value, mode: int,
             name: str, where: object, ctx: LoweringContext) -> tuple[Value, Value | None]:
    """The texel OpenCL's nearest, unnormalized sampling picks, and (CLK_ADDRESS_CLAMP)
    whether it lies inside the image."""
    if isinstance(coord.ty, VectorType) and isinstance(coord.ty.element, FloatType):
        floor = _intrinsic(air.module, "llvm.floor.v2f32", VectorType(2, F32))
        rounded = Call(coord.ty, opcode="call", ops=[coord, floor],
                       function_type=floor.function_type)
        coord = Cast(_V2I32, opcode="fptosi", ops=[rounded])
        out += [rounded, coord]  # type: ignore[list-item]
    elif coord.ty != _V2I32:
        raise CompileError(f"{name} with {coord.ty} coordinates is not supported",
                           where)  # type: ignore[arg-type]
    address = mode & ADDRESS_MASK
    if address == ADDRESS_NONE:
        return coord, None
    limit: Value = Poison(_V2I32)
    for lane, axis in enumerate(("width", "height")):
        size = air.call(f"air.get_{axis}_texture_2d", I32, [image, _i32(0)], True)
        last = BinaryOp(I32, opcode="add", ops=[size, _i32(-1)])
        limit = InsertElement(_V2I32, opcode="insertelement", ops=[limit, last, _i32(lane)])
        out += [size, last, limit]  # type: ignore[list-item]
    zero = ConstantZero(_V2I32)
    low = Compare(VectorType(2, I1), opcode="icmp", predicate="slt", ops=[coord, zero])
    high = Compare(VectorType(2, I1), opcode="icmp", predicate="sgt", ops=[coord, limit])
    floored = Select(_V2I32, opcode="select", ops=[low, zero, coord])
    clamped = Select(_V2I32, opcode="select", ops=[high, limit, floored])
    out += [low, high, floored, clamped]
    if address == ADDRESS_CLAMP_TO_EDGE:
        return clamped, None
    ctx.warnings.append(CompileError(
        f"{name} with CLK_ADDRESS_CLAMP: outside the image it returns (0, 0, 0, 0), OpenCL's "
        "border colour for RGBA/BGRA images (images with R, RG or RGB channel order have "
        "alpha 1 there)", where))  # type: ignore[arg-type]
    outside = BinaryOp(VectorType(2, I1), opcode="or", ops=[low, high])
    lanes = [ExtractElement(I1, opcode="extractelement", ops=[outside, _i32(k)])
             for k in range(2)]
    either = BinaryOp(I1, opcode="or", ops=lanes)  # type: ignore[arg-type]
    inside = BinaryOp(I1, opcode="xor", ops=[either, ConstantInt(I1, value=1)])
    out += [outside, *lanes, either, inside]
    return clamped, inside


def _intrinsic(module: Module, name: str, ty: Type) -> Function:
    fn = module.get_function(name)
    if fn is None:
        fn = Function(PointerType(0), name=name, function_type=FunctionType(ty, (ty,)),
                      args=[Argument(ty)], fn_attrs=["nounwind", "readnone"])
        module.functions.append(fn)
    return fn


def _i32(value: int) -> ConstantInt:
    return ConstantInt(I32, value=value)


# --------------------------------------------------------------------- types


def _new_type(ty: Type) -> Type:
    if is_image2d(ty):
        return TEXTURE_TYPE
    if _is_sampler(ty):
        return I32
    return ty


def _retype(fn: Function, kernel_samplers: set[int]) -> None:
    """Images become texture pointers, the kernels' sampler parameters sampler pointers,
    other samplers their ``i32`` bits, everywhere in ``fn``."""
    for arg in fn.args:
        if is_image2d(arg.ty):
            arg.ty = TEXTURE_TYPE
            arg.pointee_hint = TEXTURE_POINTEE
        elif id(arg) in kernel_samplers:
            arg.ty = SAMPLER_TYPE
            arg.pointee_hint = SAMPLER_POINTEE
        arg.ty = _new_type(arg.ty)
    fnty = fn.function_type
    fn.function_type = FunctionType(_new_type(fnty.ret), tuple(a.ty for a in fn.args),
                                    fnty.vararg)
    for inst in fn.instructions():
        inst.ty = _new_type(inst.ty)
        if isinstance(inst, Alloca):
            inst.allocated_type = _new_type(inst.allocated_type)
        if isinstance(inst, Call):
            t = inst.function_type
            inst.function_type = FunctionType(_new_type(t.ret), tuple(map(_new_type, t.params)),
                                              t.vararg)
        for op in inst.ops:
            if isinstance(op.ty, TargetExtType) and not isinstance(op, Function):
                if is_image2d(op.ty) or _is_sampler(op.ty):
                    op.ty = _new_type(op.ty)
                elif not is_event(op.ty):  # events go in lower_async_copies
                    raise CompileError(f"@{fn.name} uses the OpenCL type "
                                       f"'{opencl_type_name(op.ty)}', which is not supported",
                                       inst.location or fn.location)


# ----------------------------------------------------------------------- ABI


_ELEMENT_OF_SUFFIX = {suffix: msl for suffix, _, msl in ELEMENTS.values()}


def texture_argument(fn: Function, arg: Argument, image: ImageParam, name: str,
                     table: dict[Value, list[tuple[Instruction, int]]]) -> KernelArgument:
    """The ``air.texture`` description of image parameter ``arg`` (after inlining): its
    element type is what the kernel reads or writes it as (float when it only asks sizes)."""
    elements = sorted(_elements(arg, table))
    if len(elements) > 1:
        raise CompileError(f"image parameter '{name}' of @{fn.name} is read or written as "
                           f"{' and '.join(elements)}: a texture has one element type",
                           fn.location, hint="use one of read_imagef/i/ui per image")
    element = elements[0] if elements else "float"
    arg.attrs = []
    return KernelArgument(
        kind="texture", name=name, llvm_type=TEXTURE_TYPE,
        type_name=f"texture2d<{element}, {image.access}>", access=f"air.{image.access}",
        address_space=1, element_type=TEXTURE_POINTEE, unused=arg not in table)


def sampler_argument(arg: Argument, name: str,
                     table: dict[Value, list[tuple[Instruction, int]]]) -> KernelArgument:
    """The ``air.sampler`` description of sampler parameter ``arg``: samplers have their own
    location indices (``setSamplerState:atIndex:``)."""
    arg.attrs = []
    return KernelArgument(kind="sampler", name=name, llvm_type=SAMPLER_TYPE, type_name="sampler",
                          address_space=2, element_type=SAMPLER_POINTEE,
                          unused=arg not in table)


def _elements(root: Value, table: dict[Value, list[tuple[Instruction, int]]]) -> set[str]:
    found: set[str] = set()
    seen: set[int] = set()
    work = [root]
    while work:
        value = work.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        for user, k in table.get(value, []):
            callee = user.callee_function if isinstance(user, Call) else None
            if callee is not None and "_texture_2d." in callee.name:
                suffix = callee.name.split("_texture_2d.", 1)[1]
                found.add(_ELEMENT_OF_SUFFIX.get(suffix, "float"))
            elif isinstance(user, Store) and k == 0 and isinstance(user.ops[1], Alloca):
                work += [u for u, _ in table.get(user.ops[1], []) if isinstance(u, Load)]
            elif isinstance(user, Select | Phi | Cast):
                work.append(user)
    return found
