"""The inliner, judged by LLVM 14's verifier and by running the code.

* Every fixture module with calls to defined functions: inlined into its
  kernels and stripped of the other defined functions, it must assemble and
  verify with LLVM 14 (with and without debug info), calling only declarations.
* Host-runnable modules (loops, several returns, phis after calls, allocas in
  callees, calls in loops, nested calls, aggregate and pointer results, byval):
  the original and the inlined module, both JIT-compiled by llvmlite, must
  compute the same results.
* Recursion, indirect calls and variadic callees are CompileErrors naming the construct.
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import llvmlite.binding as llvm
import pytest
from oracles import fixture_id, fixture_modules, llvm_as_14, opt_verify_14

from llvm_to_air.errors import CompileError
from llvm_to_air.ir import WriterOptions, read_module, write_llvm14
from llvm_to_air.ir.legalize14 import legalize_for_llvm14
from llvm_to_air.ir.model import Call, Function, InlineAsm, MDNode, Module, SpecializedMDNode
from llvm_to_air.rewrite.inline import RECURSION_HINT, inline_calls

KERNEL_CCS = ("ptx_kernel", "spir_kernel", "amdgpu_kernel")


# ------------------------------------------------------------------- helpers


def calls(fn: Function) -> Iterator[Call]:
    return (inst for inst in fn.instructions() if isinstance(inst, Call))


def calls_defined(fn: Function) -> bool:
    return any(isinstance(c.callee, Function) and not c.callee.is_declaration for c in calls(fn))


def has_indirect_call(fn: Function) -> bool:
    return any(not isinstance(c.callee, Function | InlineAsm) for c in calls(fn))


def roots_of(module: Module) -> list[Function]:
    """The kernels; for a kernel-less module, the defined functions nothing calls
    (leaving out those with indirect calls, which must fail: see the error tests)."""
    kernels = [f for f in module.functions if f.cc in KERNEL_CCS and not f.is_declaration]
    if kernels:
        return kernels
    called = {id(c.callee) for f in module.functions for c in calls(f)}
    return [f for f in module.functions
            if not f.is_declaration and id(f) not in called and not has_indirect_call(f)]


def drop_non_roots(module: Module, roots: list[Function]) -> None:
    module.functions = [f for f in module.functions if f.is_declaration or f in roots]


def inline_module(text: str, file: str = "<test>") -> tuple[Module, list[Function]]:
    module = read_module(text, file)
    roots = roots_of(module)
    inline_calls(module, roots)
    return module, roots


def assert_flat(roots: list[Function]) -> None:
    for root in roots:
        for call in calls(root):
            callee = call.callee
            assert not (isinstance(callee, Function) and not callee.is_declaration), (
                f"@{root.name} still calls defined @{callee.name}")


def assert_unique_local_names(fn: Function) -> None:
    names = [a.name for a in fn.args if a.name] + [b.name for b in fn.blocks if b.name]
    names += [i.name for i in fn.instructions() if i.name]
    assert len(names) == len(set(names)), f"duplicate local names in @{fn.name}"


# ------------------------------------------------------- 1. fixtures, verifier

FIXTURES_WITH_CALLS = [p for p in fixture_modules()
                       if any(calls_defined(f) for f in read_module(p.read_text(), str(p)).functions)]


def test_fixtures_with_calls_were_found() -> None:
    names = {fixture_id(p) for p in FIXTURES_WITH_CALLS}
    assert {"cuda19-O0/device_helper", "cuda19-g/device_helper", "hand/spir_kernel_stub"} <= names


@pytest.mark.parametrize("path", FIXTURES_WITH_CALLS, ids=fixture_id)
@pytest.mark.parametrize("strip_debug", [True, False], ids=["nodebug", "debug"])
def test_inlined_fixture_is_valid_llvm14(path: Path, strip_debug: bool) -> None:
    module, roots = inline_module(path.read_text(), str(path))
    assert roots
    assert_flat(roots)
    for root in roots:
        assert_unique_local_names(root)
    drop_non_roots(module, roots)
    legalize_for_llvm14(module)
    text = write_llvm14(module, WriterOptions(strip_debug=strip_debug))
    llvm_as_14(text)
    opt_verify_14(text)


def test_device_helper_o0_allocas_stay_in_entry_block() -> None:
    path = Path(__file__).parent / "fixtures" / "cuda19-O0" / "device_helper.ll"
    module, roots = inline_module(path.read_text(), str(path))
    for root in roots:
        later = [i for b in root.blocks[1:] for i in b.instructions if i.opcode == "alloca"]
        assert not later, f"alloca outside the entry block of @{root.name}"
    blend_rows = module.get_function("_Z10blend_rowsPfif")
    assert blend_rows is not None
    # its own 6 allocas, 3 of row_ptr, 3 of lerp_clamp
    assert sum(i.opcode == "alloca" for i in blend_rows.blocks[0].instructions) == 12


def test_inlined_debug_locations_are_inlined_at_the_call() -> None:
    path = Path(__file__).parent / "fixtures" / "cuda19-g" / "device_helper.ll"
    module, _ = inline_module(path.read_text(), str(path))
    kernel = module.get_function("_Z10blend_rowsPfif")
    assert kernel is not None
    subprogram = dict(kernel.metadata)["dbg"]

    def outermost(loc: SpecializedMDNode) -> SpecializedMDNode:
        at = dict(loc.fields).get("inlinedAt")
        return outermost(at) if isinstance(at, SpecializedMDNode) else loc

    for inst in kernel.instructions():
        loc = dict(inst.metadata).get("dbg")
        if isinstance(loc, SpecializedMDNode):
            scope = dict(outermost(loc).fields)["scope"]
            while isinstance(scope, SpecializedMDNode) and scope.kind != "DISubprogram":
                scope = dict(scope.fields)["scope"]
            assert scope is subprogram


def test_non_root_definitions_are_kept_and_clones_are_new_objects() -> None:
    path = Path(__file__).parent / "fixtures" / "cuda19-O0" / "device_helper.ll"
    module, roots = inline_module(path.read_text(), str(path))
    helper = module.get_function("_Z10lerp_clampfff")
    assert helper is not None and not helper.is_declaration
    helper_insts = {id(i) for i in helper.instructions()}
    helper_blocks = {id(b) for b in helper.blocks}
    for root in roots:
        assert not helper_insts & {id(i) for i in root.instructions()}
        assert not helper_blocks & {id(b) for b in root.blocks}
        for block in root.blocks:
            assert all(i.parent is block for i in block.instructions)


def test_spir_kernel_stub_copies_its_byval_argument() -> None:
    path = Path(__file__).parent / "fixtures" / "hand" / "spir_kernel_stub.ll"
    module, roots = inline_module(path.read_text(), str(path))
    assert [r.name for r in roots] == ["scale"]
    entry = roots[0].blocks[0].instructions
    assert entry[0].opcode == "alloca" and str(entry[0].allocated_type) == "%struct.Cfg"
    assert module.get_function("__clang_ocl_kern_imp_scale") is not None


# ------------------------------------------------------ 2. semantics, by running

PROGRAM = """
%pair = type { i32, i32 }

declare i32 @llvm.smax.i32(i32, i32)

define internal i32 @sum_to(i32 %n, i32 %k) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %body ]
  %acc = phi i32 [ 0, %entry ], [ %acc.next, %body ]
  %done = icmp sge i32 %i, %n
  br i1 %done, label %exit, label %body
body:
  %t = mul i32 %i, %k
  %acc.next = add i32 %acc, %t
  %i.next = add i32 %i, 1
  br label %loop
exit:
  ret i32 %acc
}

define internal i32 @classify(i32 %x) {
entry:
  %neg = icmp slt i32 %x, 0
  br i1 %neg, label %negative, label %check
negative:
  ret i32 -1
check:
  %zero = icmp eq i32 %x, 0
  br i1 %zero, label %is_zero, label %positive
is_zero:
  ret i32 0
positive:
  %big = icmp sgt i32 %x, 100
  %r = select i1 %big, i32 2, i32 1
  ret i32 %r
}

define internal i32 @scratch(i32 %a, i32 %b) {
entry:
  %buf = alloca [4 x i32], align 4
  %p1 = getelementptr [4 x i32], ptr %buf, i64 0, i64 1
  store i32 %a, ptr %buf, align 4
  store i32 %b, ptr %p1, align 4
  %x = load i32, ptr %buf, align 4
  %y = load i32, ptr %p1, align 4
  %d = sub i32 %x, %y
  %m = call i32 @llvm.smax.i32(i32 %d, i32 -50)
  ret i32 %m
}

define internal void @bump(ptr %p, i32 %by) {
  %v = load i32, ptr %p, align 4
  %w = add i32 %v, %by
  store i32 %w, ptr %p, align 4
  ret void
}

define internal %pair @divmod(i32 %a, i32 %b) {
  %q = sdiv i32 %a, %b
  %r = srem i32 %a, %b
  %s0 = insertvalue %pair undef, i32 %q, 0
  %s1 = insertvalue %pair %s0, i32 %r, 1
  ret %pair %s1
}

define internal ptr @pick(ptr %a, ptr %b, i32 %c) {
entry:
  %z = icmp eq i32 %c, 0
  br i1 %z, label %first, label %second
first:
  ret ptr %a
second:
  ret ptr %b
}

define internal i32 @id(i32 %a) {
  ret i32 %a
}

define internal i32 @nested(i32 %x) {
entry:
  %c = call i32 @classify(i32 %x)
  %s = call i32 @sum_to(i32 %x, i32 %c)
  %cell = alloca i32, align 4
  store i32 %s, ptr %cell, align 4
  call void @bump(ptr %cell, i32 %c)
  %t = load i32, ptr %cell, align 4
  ret i32 %t
}

define internal i32 @mutate(ptr byval(%pair) align 4 %s) {
  %a = load i32, ptr %s, align 4
  %a2 = mul i32 %a, 2
  store i32 %a2, ptr %s, align 4
  %b.p = getelementptr %pair, ptr %s, i64 0, i32 1
  %b = load i32, ptr %b.p, align 4
  %r = add i32 %a2, %b
  ret i32 %r
}

define internal i32 @spin(i32 %x) {
entry:
  %odd = and i32 %x, 1
  %is = icmp eq i32 %odd, 1
  br i1 %is, label %forever, label %out
forever:
  unreachable
out:
  ret i32 %x
}

; a call in a block whose successor has a phi naming it; the entry block is split too
define i32 @phi_after_calls(i32 %x, i32 %y) {
entry:
  %c = call i32 @classify(i32 %x)
  %pos = icmp sgt i32 %c, 0
  br i1 %pos, label %then, label %join
then:
  %s = call i32 @sum_to(i32 %x, i32 %y)
  br label %join
join:
  %j = phi i32 [ %c, %entry ], [ %s, %then ]
  %k = mul i32 %j, 3
  ret i32 %k
}

; calls in a single-block loop (the block is its own successor)
define i32 @calls_in_loop(i32 %x, i32 %y) {
entry:
  %cell = alloca i32, align 4
  store i32 0, ptr %cell, align 4
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %loop ]
  %acc = phi i32 [ %x, %entry ], [ %acc.next, %loop ]
  %d = call i32 @scratch(i32 %acc, i32 %y)
  call void @bump(ptr %cell, i32 %i)
  %acc.next = add i32 %d, 3
  %i.next = add i32 %i, 1
  %more = icmp slt i32 %i.next, 7
  br i1 %more, label %loop, label %done
done:
  %bumped = load i32, ptr %cell, align 4
  %r = add i32 %acc.next, %bumped
  ret i32 %r
}

define i32 @nested_calls(i32 %x, i32 %y) {
  %a = call i32 @nested(i32 %x)
  %b = call i32 @nested(i32 %y)
  %c = call i32 @id(i32 %a)
  %d = call i32 @id(i32 %c)
  %r = sub i32 %d, %b
  ret i32 %r
}

define i32 @aggregate_and_pointer(i32 %x, i32 %y) {
entry:
  %one = alloca i32, align 4
  %two = alloca i32, align 4
  store i32 11, ptr %one, align 4
  store i32 22, ptr %two, align 4
  %den = or i32 %y, 1
  %qr = call %pair @divmod(i32 %x, i32 %den)
  %q = extractvalue %pair %qr, 0
  %r = extractvalue %pair %qr, 1
  %p = call ptr @pick(ptr %one, ptr %two, i32 %r)
  %v = load i32, ptr %p, align 4
  %qv = mul i32 %q, %v
  %res = add i32 %qv, %r
  ret i32 %res
}

define i32 @byval_copy(i32 %x, i32 %y) {
  %s = alloca %pair, align 4
  store i32 %x, ptr %s, align 4
  %b.p = getelementptr %pair, ptr %s, i64 0, i32 1
  store i32 %y, ptr %b.p, align 4
  %r = call i32 @mutate(ptr byval(%pair) align 4 %s)
  %a = load i32, ptr %s, align 4
  %sum = add i32 %r, %a
  ret i32 %sum
}

define i32 @never_returns_sometimes(i32 %x, i32 %y) {
  %even = shl i32 %x, 1
  %v = call i32 @spin(i32 %even)
  %r = add i32 %v, %y
  ret i32 %r
}
"""

ROOTS = ["phi_after_calls", "calls_in_loop", "nested_calls", "aggregate_and_pointer",
         "byval_copy", "never_returns_sometimes"]
INPUTS = list(itertools.product([-7, -1, 0, 1, 2, 5, 13, 150], [-3, 0, 1, 4, 9]))


class Jit:
    """One module compiled for the host by llvmlite's MCJIT."""

    _initialized = False

    def __init__(self, text: str) -> None:
        if not Jit._initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            Jit._initialized = True
        self.context = llvm.create_context()
        module = llvm.parse_assembly(text, self.context)
        module.triple = llvm.get_process_triple()
        module.verify()
        machine = llvm.Target.from_triple(module.triple).create_target_machine()
        self.engine: llvm.ExecutionEngine | None = llvm.create_mcjit_compiler(module, machine)
        self.engine.finalize_object()

    def close(self) -> None:
        """Free the engine (which owns the module) before the context the module lives in."""
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def function(self, name: str) -> Callable[[int, int], int]:
        assert self.engine is not None
        address = self.engine.get_function_address(name)
        assert address, f"@{name} not compiled"
        return ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32, ctypes.c_int32)(address)


@pytest.fixture(scope="module")
def jitted() -> Iterator[tuple[Jit, Jit, str]]:
    module = read_module(PROGRAM, "program.ll")
    roots = [f for f in module.functions if f.name in ROOTS]
    inline_calls(module, roots)
    assert_flat(roots)
    drop_non_roots(module, roots)
    text = write_llvm14(module)
    llvm_as_14(text)
    original, inlined = Jit(PROGRAM), Jit(text)
    yield original, inlined, text
    original.close()
    inlined.close()


@pytest.mark.parametrize("root", ROOTS)
def test_inlined_program_computes_the_same(jitted: tuple[Jit, Jit, str], root: str) -> None:
    original, inlined, _ = jitted
    before, after = original.function(root), inlined.function(root)
    for x, y in INPUTS:
        if root == "never_returns_sometimes" and (2 * x) & 1:
            continue  # never happens: 2x is even
        assert after(x, y) == before(x, y), f"@{root}({x}, {y})"


def test_inlined_program_has_no_helpers_left(jitted: tuple[Jit, Jit, str]) -> None:
    _, _, text = jitted
    defined = [ln for ln in text.splitlines() if ln.startswith("define")]
    assert len(defined) == len(ROOTS)
    assert "call i32 @llvm.smax.i32" in text


def test_names_stay_unique_and_callee_is_untouched() -> None:
    text = """
define internal i32 @leaf(i32 %x) {
entry:
  %t = add i32 %x, 1
  br label %next
next:
  ret i32 %t
}
define i32 @root(i32 %t) {
entry:
  %a = call i32 @leaf(i32 %t)
  %b = call i32 @leaf(i32 %a)
  br label %next
next:
  ret i32 %b
}
"""
    module = read_module(text)
    leaf = module.get_function("leaf")
    root = module.get_function("root")
    assert leaf is not None and root is not None
    before = write_llvm14(module)
    inline_calls(module, [root])
    assert_unique_local_names(root)
    assert sum(i.opcode == "add" for i in root.instructions()) == 2
    after = write_llvm14(module)
    leaf_text = before[before.index("define internal i32 @leaf"):before.index("define i32 @root")]
    assert leaf_text in after
    llvm_as_14(after)


def test_alias_scopes_are_fresh_for_each_inlined_copy() -> None:
    text = """
define internal void @copy(ptr %a, ptr %b) {
  %v = load float, ptr %a, align 4, !alias.scope !2, !noalias !3
  store float %v, ptr %b, align 4, !alias.scope !3, !noalias !2
  ret void
}
define void @root(ptr %p, ptr %q) {
  call void @copy(ptr %p, ptr %q)
  call void @copy(ptr %q, ptr %p)
  ret void
}
!0 = distinct !{!0, !"copy"}
!1 = distinct !{!1, !0, !"copy: a"}
!4 = distinct !{!4, !0, !"copy: b"}
!2 = !{!1}
!3 = !{!4}
"""
    module = read_module(text)
    root = module.get_function("root")
    assert root is not None
    inline_calls(module, [root])
    loads = [i for i in root.instructions() if i.opcode == "load"]
    scopes = [dict(i.metadata)["alias.scope"] for i in loads]
    assert len(loads) == 2
    assert all(isinstance(s, MDNode) for s in scopes)
    assert scopes[0] is not scopes[1]
    assert scopes[0].operands[0] is not scopes[1].operands[0]  # type: ignore[union-attr]
    drop_non_roots(module, [root])
    opt_verify_14(write_llvm14(module))


# ---------------------------------------------------------------- 3. errors


def inline_error(text: str, root: str = "root") -> CompileError:
    module = read_module(text, "bad.ll")
    fn = module.get_function(root)
    assert fn is not None
    with pytest.raises(CompileError) as info:
        inline_calls(module, [fn])
    return info.value


def test_direct_recursion_is_an_error() -> None:
    error = inline_error("""
define internal i32 @fact(i32 %n) {
entry:
  %z = icmp eq i32 %n, 0
  br i1 %z, label %base, label %rec
base:
  ret i32 1
rec:
  %m = sub i32 %n, 1
  %f = call i32 @fact(i32 %m)
  %r = mul i32 %n, %f
  ret i32 %r
}
define i32 @root(i32 %n) {
  %r = call i32 @fact(i32 %n)
  ret i32 %r
}
""")
    assert "'@fact' calls itself" in error.message and "through" not in error.message
    assert error.hint == RECURSION_HINT
    assert error.location.file == "bad.ll" and error.location.line > 0


def test_mutual_recursion_is_an_error_naming_the_cycle() -> None:
    error = inline_error("""
define internal i32 @a(i32 %n) {
  %r = call i32 @b(i32 %n)
  ret i32 %r
}
define internal i32 @b(i32 %n) {
  %r = call i32 @a(i32 %n)
  ret i32 %r
}
define i32 @root(i32 %n) {
  %r = call i32 @a(i32 %n)
  ret i32 %r
}
""")
    assert "'@a' calls itself through '@b'" in error.message
    assert error.hint == RECURSION_HINT


def test_errors_leave_the_module_unchanged() -> None:
    text = """
define internal i32 @leaf(i32 %n) {
  ret i32 %n
}
define internal i32 @loop(i32 %n) {
  %r = call i32 @loop(i32 %n)
  ret i32 %r
}
define i32 @root(i32 %n) {
  %a = call i32 @leaf(i32 %n)
  %r = call i32 @loop(i32 %a)
  ret i32 %r
}
"""
    module = read_module(text)
    before = write_llvm14(module)
    with pytest.raises(CompileError):
        inline_calls(module, [f for f in module.functions if f.name == "root"])
    assert write_llvm14(module) == before


def test_indirect_call_is_an_error() -> None:
    error = inline_error("""
define i32 @root(ptr %f, i32 %x) {
  %r = call i32 %f(i32 %x)
  ret i32 %r
}
""")
    assert "indirect call" in error.message and "cannot be lowered to AIR" in error.message
    assert error.hint


def test_indirect_call_in_a_fixture_is_an_error() -> None:
    path = Path(__file__).parent / "fixtures" / "hand" / "calls_attributes.ll"
    module = read_module(path.read_text(), str(path))
    calls_fn = module.get_function("calls")
    assert calls_fn is not None
    with pytest.raises(CompileError, match="indirect call through '%fnptr'") as info:
        inline_calls(module, [calls_fn])
    assert info.value.location.file == str(path)


def test_variadic_callee_is_an_error() -> None:
    error = inline_error("""
define internal i32 @first(i32 %n, ...) {
  ret i32 %n
}
define i32 @root(i32 %x) {
  %r = call i32 (i32, ...) @first(i32 %x, i32 2)
  ret i32 %r
}
""")
    assert "variadic" in error.message and "'@first'" in error.message


def test_calls_to_declarations_and_inline_asm_are_left_alone() -> None:
    text = """
declare i32 @external(i32)
define i32 @root(i32 %x) {
  %a = call i32 @external(i32 %x)
  %b = call i32 asm "mov $0, $1", "=r,r"(i32 %a)
  ret i32 %b
}
"""
    module = read_module(text)
    before = write_llvm14(module)
    inline_calls(module, list(module.functions))
    assert write_llvm14(module) == before


def test_calls_through_an_alias_are_inlined() -> None:
    text = """
@twice_alias = internal alias i32 (i32), ptr @twice
define internal i32 @twice(i32 %x) {
  %r = shl i32 %x, 1
  ret i32 %r
}
define i32 @root(i32 %x) {
  %r = call i32 @twice_alias(i32 %x)
  ret i32 %r
}
"""
    module = read_module(text)
    root = module.get_function("root")
    assert root is not None
    inline_calls(module, [root])
    assert not list(calls(root))
    assert any(i.opcode == "shl" for i in root.instructions())
    llvm_as_14(write_llvm14(module))


def test_tail_markers_and_convergence_tokens_follow_the_call_site() -> None:
    text = """
declare i32 @ext(i32)
declare token @llvm.experimental.convergence.entry()
declare i32 @llvm.nvvm.shfl.sync.idx.i32(i32, i32, i32, i32)
define internal i32 @helper(i32 %x) convergent {
  %t = call token @llvm.experimental.convergence.entry()
  %s = call i32 @llvm.nvvm.shfl.sync.idx.i32(i32 -1, i32 %x, i32 0, i32 31) [ "convergencectrl"(token %t) ]
  %r = musttail call i32 @ext(i32 %s)
  ret i32 %r
}
define i32 @root(i32 %x) convergent {
  %t = call token @llvm.experimental.convergence.entry()
  %r = call i32 @helper(i32 %x) [ "convergencectrl"(token %t) ]
  ret i32 %r
}
"""
    module = read_module(text)
    root = module.get_function("root")
    assert root is not None
    inline_calls(module, [root])
    by_callee = {c.callee.name: c for c in calls(root) if isinstance(c.callee, Function)}
    entries = [c for c in calls(root)
               if isinstance(c.callee, Function) and c.callee.name.endswith("convergence.entry")]
    assert len(entries) == 1  # the helper's entry token became the call site's token
    assert by_callee["llvm.nvvm.shfl.sync.idx.i32"].bundles[0].inputs == [entries[0]]
    assert by_callee["ext"].tail == ""  # musttail under a plain call site: no tail call
