"""Unit tests of the LLVM 14 downgrade tables, pointee inference and legalization."""

from __future__ import annotations

import ctypes

import llvmlite.binding as llvm
import pytest
from oracles import llvm_as_14

from llvm_to_air.ir import downgrade, read_module
from llvm_to_air.ir.llvm14 import downgrade_attribute, memory_to_legacy
from llvm_to_air.ir.pointee import PointeeInference, TypeCanon
from llvm_to_air.ir.types import F32, I8, I32, TypedPointerType


@pytest.mark.parametrize(("spec", "legacy"), [
    ("memory(none)", ["readnone"]),
    ("memory(read)", ["readonly"]),
    ("memory(write)", ["writeonly"]),
    ("memory(argmem: readwrite)", ["argmemonly"]),
    ("memory(argmem: read)", ["argmemonly", "readonly"]),
    ("memory(inaccessiblemem: readwrite)", ["inaccessiblememonly"]),
    ("memory(argmem: readwrite, inaccessiblemem: readwrite)",
     ["inaccessiblemem_or_argmemonly"]),
    # claims less than the input: reads and writes of other memory stay possible
    ("memory(read, argmem: readwrite)", []),
    ("memory(readwrite)", []),
])
def test_memory_attribute_maps_to_the_closest_sound_legacy_form(spec: str,
                                                                legacy: list[str]) -> None:
    assert memory_to_legacy(spec) == legacy


@pytest.mark.parametrize(("modern", "legacy"), [
    ("captures(none)", ["nocapture"]),
    ("captures(address)", []),
    ("range(i32 0, 1024)", []),
    ("nofpclass(nan inf)", []),
    ("writable", []),
    ("dead_on_unwind", []),
    ("initializes((0, 4))", []),
    ("uwtable(sync)", ["uwtable"]),
    ("noundef", ["noundef"]),
    ("align 16", ["align 16"]),
    ("byval(%struct.S)", ["byval(%struct.S)"]),
    ('"target-cpu"="sm_70"', ['"target-cpu"="sm_70"']),
])
def test_attribute_downgrade(modern: str, legacy: list[str]) -> None:
    assert downgrade_attribute(modern) == legacy


def test_pointer_intrinsics_are_remangled_for_typed_pointers() -> None:
    text = """
declare void @llvm.memcpy.p1.p3.i64(ptr addrspace(1), ptr addrspace(3), i64, i1 immarg)
declare <4 x float> @llvm.masked.load.v4f32.p0(ptr, i32 immarg, <4 x i1>, <4 x float>)
define void @f(ptr addrspace(1) %d, ptr addrspace(3) %s, ptr %p, <4 x i1> %m) {
  call void @llvm.memcpy.p1.p3.i64(ptr addrspace(1) %d, ptr addrspace(3) %s, i64 16, i1 false)
  %v = call <4 x float> @llvm.masked.load.v4f32.p0(ptr %p, i32 4, <4 x i1> %m, <4 x float> zeroinitializer)
  ret void
}
"""
    out = downgrade(text)
    assert "@llvm.memcpy.p1i8.p3i8.i64(i8 addrspace(1)*" in out
    assert "@llvm.masked.load.v4f32.p0v4f32(<4 x float>*" in out
    llvm_as_14(out)


def test_lifetime_markers_get_back_their_size() -> None:
    text = """
define void @f() {
  %a = alloca [16 x float], align 4
  call void @llvm.lifetime.start.p0(ptr %a)
  call void @llvm.lifetime.end.p0(ptr %a)
  ret void
}
declare void @llvm.lifetime.start.p0(ptr captures(none))
declare void @llvm.lifetime.end.p0(ptr captures(none))
"""
    out = downgrade(text)
    assert "call void @llvm.lifetime.start.p0i8(i64 64, i8* %" in out
    llvm_as_14(out)


def _pointees(text: str) -> dict[str, object]:
    module = read_module(text)
    inference = PointeeInference(module, TypeCanon())
    fn = module.functions[0]
    named = {a.name: a for a in fn.args}
    named.update({i.name: i for i in fn.instructions() if i.name})
    return {name: inference.pointee(v) for name, v in named.items()}


def test_arguments_take_the_pointee_of_their_accesses() -> None:
    pointees = _pointees("""
define void @k(ptr %a, ptr %b, ptr %c) {
  %g = getelementptr inbounds float, ptr %a, i64 1
  %x = load i32, ptr %b
  %y = getelementptr inbounds i8, ptr %b, i64 4
  ret void
}""")
    assert pointees["a"] == F32
    assert pointees["b"] == I32  # a load says more than a byte-offset GEP
    assert pointees["c"] == I8   # unused: the canonical i8


def test_pointer_slots_of_unoptimized_code_keep_the_pointee() -> None:
    pointees = _pointees("""
define void @k(ptr %a) {
  %a.addr = alloca ptr, align 8
  store ptr %a, ptr %a.addr
  %p = load ptr, ptr %a.addr
  %g = getelementptr inbounds float, ptr %p, i64 1
  ret void
}""")
    assert pointees["a"] == F32
    assert pointees["p"] == F32
    assert pointees["a.addr"] == TypedPointerType(F32, 0)


def test_phi_of_pointers_shares_one_pointee_and_output_assembles() -> None:
    text = """
define float @k(ptr %a, ptr %b, i1 %c) {
entry:
  br i1 %c, label %l, label %r
l:
  %ga = getelementptr inbounds i32, ptr %a, i64 1
  br label %j
r:
  br label %j
j:
  %p = phi ptr [ %ga, %l ], [ %b, %r ]
  %v = load float, ptr %p
  ret float %v
}"""
    assert _pointees(text)["p"] == F32
    llvm_as_14(downgrade(text))


# ------------------------------------------------------------- legalization, executed

_ATOMICS = """
define i32 @inc(ptr %p, i32 %v) {
  %old = atomicrmw uinc_wrap ptr %p, i32 %v seq_cst
  ret i32 %old
}
define i32 @dec(ptr %p, i32 %v) {
  %old = atomicrmw udec_wrap ptr %p, i32 %v seq_cst
  ret i32 %old
}
define i32 @subc(ptr %p, i32 %v) {
  %old = atomicrmw usub_cond ptr %p, i32 %v monotonic
  ret i32 %old
}
define i32 @subs(ptr %p, i32 %v) {
  %old = atomicrmw usub_sat ptr %p, i32 %v monotonic
  ret i32 %old
}
define float @fmax(ptr %p, float %v) {
  %old = atomicrmw fmax ptr %p, float %v seq_cst
  ret float %old
}
define float @fmin(ptr %p, float %v) {
  %old = atomicrmw fmin ptr %p, float %v seq_cst
  ret float %old
}
"""


def _jit(text: str) -> tuple[object, dict[str, int]]:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    module = llvm.parse_assembly(text, llvm.create_context())
    module.triple = llvm.get_process_triple()
    module.verify()
    target = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(module, target)
    engine.finalize_object()
    names = ["inc", "dec", "subc", "subs", "fmax", "fmin"]
    return engine, {n: engine.get_function_address(n) for n in names}


def _call(address: int, kind: type, start: float, operand: float) -> tuple[float, float]:
    cell = kind(start)
    fn = ctypes.CFUNCTYPE(kind, ctypes.POINTER(kind), kind)(address)
    old = fn(ctypes.byref(cell), kind(operand))
    return old, cell.value


@pytest.mark.parametrize(("name", "start", "operand"), [
    ("inc", 3, 10), ("inc", 10, 10), ("inc", 11, 10),
    ("dec", 0, 7), ("dec", 5, 7), ("dec", 9, 7),
    ("subc", 9, 4), ("subc", 3, 4), ("subs", 3, 4), ("subs", 9, 4),
    ("fmax", 1.5, 2.5), ("fmax", 3.0, -1.0), ("fmin", 1.5, 2.5), ("fmin", 3.0, -1.0),
])
def test_expanded_atomics_compute_what_the_originals_do(name: str, start: float,
                                                         operand: float) -> None:
    """Run the original (LLVM 22 expands it natively) and our LLVM 14 loop on the host."""
    kind = ctypes.c_float if name.startswith("f") else ctypes.c_uint32
    original_engine, original = _jit(_ATOMICS)
    ours_text = downgrade(_ATOMICS)
    assert "atomicrmw uinc_wrap" not in ours_text and "cmpxchg" in ours_text
    llvm_as_14(ours_text)
    ours_engine, ours = _jit(ours_text)
    assert _call(ours[name], kind, start, operand) == _call(original[name], kind, start,
                                                            operand)
    del original_engine, ours_engine
