"""The AIR conformance verifier: no false positives on Apple's output, one rule per breakage.

Apple-built modules come from ``../shared/reference/apple-air`` (third-party
data, read in place; the tests that need them skip where it is absent). Each
mutation edits one clean Apple module textually, keeps it valid LLVM, and
must make the verifier report errors of exactly the rule it targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from llvm_to_air.verify import RULE_IDS, RULES, Diagnostic, errors_of, verify_air, verify_air_text

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "apple-air"
CORPUS_FILES = sorted(CORPUS.glob("*.ll")) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not CORPUS_FILES,
                                  reason=f"Apple AIR corpus not found at {CORPUS}")

VADD = "JuliaGPU__Metal.jl__test_metallib_constants.14.metallib__vadd.dis14.ll"
SHARED = "sueszli__llvm-to-air__shared.ll"
BUCKET = "kolinko__effort__default.metallib__bucketMulQ8.dis14.ll"

# Anchors in VADD: the first GEP of @vadd and its final store.
VADD_GEP = "  %6 = getelementptr inbounds float, float addrspace(1)* %0, i64 %5\n"
VADD_STORE = ("  store float %14, float addrspace(1)* %15, align 4, !tbaa !24, "
              "!alias.scope !36, !noalias !37\n")
VADD_ARG0 = ('!18 = !{i32 0, !"air.buffer", !"air.location_index", i32 0, i32 1, !"air.read", '
             '!"air.address_space", i32 1, !"air.arg_type_size", i32 4, '
             '!"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"float", '
             '!"air.arg_name", !"a"}')


def _arg0(old: str, new: str) -> tuple[str, str]:
    """An edit of VADD's first argument node only."""
    assert old in VADD_ARG0
    return VADD_ARG0, VADD_ARG0.replace(old, new)


@dataclass(frozen=True)
class Mutation:
    """One textual breakage of a clean Apple module, and the rule that must catch it."""

    name: str
    rule: str
    file: str
    edits: tuple[tuple[str, str], ...]
    append: str = ""

    def apply(self, text: str) -> str:
        for old, new in self.edits:
            assert old in text, f"{self.name}: anchor not found: {old!r}"
            text = text.replace(old, new)
        return text + self.append


def _after(anchor: str, *lines: str) -> tuple[str, str]:
    return anchor, anchor + "".join(f"  {line}\n" for line in lines)


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("nvptx triple", "triple", VADD,
             (('target triple = "air64-apple-macosx14.0.0"',
               'target triple = "nvptx64-nvidia-cuda"'),)),
    Mutation("datalayout", "datalayout", VADD, (('-n8:16:32"', '-n8:16:32:64"'),)),
    Mutation("air.version major 3", "air-version", VADD,
             (("!10 = !{i32 2, i32 6, i32 0}", "!10 = !{i32 3, i32 6, i32 0}"),)),
    Mutation("air.version disagrees with air64_v27", "air-version", SHARED,
             (("!21 = !{i32 2, i32 7, i32 0}", "!21 = !{i32 2, i32 6, i32 0}"),)),
    Mutation("language not Metal", "language-version", VADD,
             (('!11 = !{!"Metal", i32 3, i32 1, i32 0}',
               '!11 = !{!"OpenCL", i32 3, i32 1, i32 0}'),)),
    Mutation("no SDK Version flag", "module-flags", VADD,
             (("!llvm.module.flags = !{!0, !1,", "!llvm.module.flags = !{!1,"),)),
    Mutation("no wchar_size flag", "module-flags", VADD,
             (("!llvm.module.flags = !{!0, !1, !2,", "!llvm.module.flags = !{!0, !2,"),)),
    Mutation("argument node missing", "kernel-node", VADD,
             (("!17 = !{!18, !19, !20, !21}", "!17 = !{!18, !19, !20}"),)),
    Mutation("argument node out of order", "kernel-node", VADD,
             (('!21 = !{i32 3, !"air.thread_position_in_grid"',
               '!21 = !{i32 4, !"air.thread_position_in_grid"'),)),
    Mutation("arg_name not a string", "arg-node", VADD,
             (_arg0('!"air.arg_name", !"a"', '!"air.arg_name", i32 5'),)),
    Mutation("unknown built-in role", "arg-role", VADD,
             (('!"air.thread_position_in_grid"', '!"air.thread_position_in_galaxy"'),)),
    Mutation("pointer described as built-in", "arg-role", VADD,
             ((VADD_ARG0, '!18 = !{i32 0, !"air.thread_position_in_grid", '
                          '!"air.arg_type_name", !"uint", !"air.arg_name", !"a"}'),)),
    Mutation("two buffers at index 0", "buffer-location", VADD,
             (('!19 = !{i32 1, !"air.buffer", !"air.location_index", i32 1,',
               '!19 = !{i32 1, !"air.buffer", !"air.location_index", i32 0,'),)),
    Mutation("no location index", "buffer-location", VADD,
             (_arg0('!"air.location_index", i32 0, i32 1, ', ""),)),
    Mutation("no access", "buffer-access", VADD, (_arg0('!"air.read", ', ""),)),
    Mutation("address space 2 on a device buffer", "buffer-address-space", VADD,
             (_arg0('!"air.address_space", i32 1', '!"air.address_space", i32 2'),)),
    Mutation("no arg_type_align_size", "buffer-type-size", VADD,
             (_arg0('!"air.arg_type_align_size", i32 4, ', ""),)),
    Mutation("no arg_type_name", "buffer-type-name", VADD,
             (_arg0('!"air.arg_type_name", !"float", ', ""),)),
    Mutation("buffer_size on a device buffer", "buffer-size", VADD,
             (_arg0('!"air.buffer", ', '!"air.buffer", !"air.buffer_size", i32 4, '),)),
    Mutation("uint built-in made i64", "builtin-type", VADD,
             (("i32 noundef %3)", "i64 noundef %3)"),
              ("%5 = zext i32 %3 to i64", "%5 = add i64 %3, 0"),
              ("float addrspace(1)*, i32)* @vadd", "float addrspace(1)*, i64)* @vadd"))),
    Mutation("spir_kernel calling convention", "calling-convention", VADD,
             (("define void @vadd(", "define spir_kernel void @vadd("),)),
    Mutation("pointer in address space 5", "address-space", VADD,
             (_after(VADD_GEP, "%as5 = addrspacecast float addrspace(1)* %6 to "
                               "float addrspace(5)*"),)),
    Mutation("mutable private global", "private-pointer", VADD,
             (_after(VADD_GEP, "%pv = load float, float* @priv, align 4"),),
             "\n@priv = global float 0.000000e+00, align 4\n"),
    Mutation("private pointer from inttoptr", "private-pointer", VADD,
             (_after(VADD_GEP, "%ip = inttoptr i64 %5 to float*",
                     "%iv = load float, float* %ip, align 4"),)),
    Mutation("generic addrspacecast", "addrspacecast", VADD,
             (_after(VADD_GEP, "%gen = addrspacecast float addrspace(1)* %6 to float*",
                     "%gv = load float, float* %gen, align 4"),)),
    Mutation("atomicrmw", "llvm-atomic", VADD,
             (_after(VADD_GEP, "%rmw = atomicrmw fadd float addrspace(1)* %6, "
                               "float 1.000000e+00 monotonic"),)),
    Mutation("cmpxchg", "llvm-atomic", VADD,
             (_after(VADD_GEP, "%cx = bitcast float addrspace(1)* %6 to i32 addrspace(1)*",
                     "%cas = cmpxchg i32 addrspace(1)* %cx, i32 0, i32 1 monotonic monotonic"),)),
    Mutation("atomic load", "llvm-atomic", VADD,
             (_after(VADD_GEP, "%al = load atomic float, float addrspace(1)* %6 monotonic, "
                               "align 4"),)),
    Mutation("fadd double", "float-type", VADD,
             (_after(VADD_STORE, "%d = fpext float %14 to double",
                     "%d2 = fadd double %d, %d"),)),
    Mutation("i128", "int-width", VADD, (_after(VADD_GEP, "%wide = zext i64 %5 to i128"),)),
    Mutation("inline asm", "inline-asm", VADD,
             (_after(VADD_STORE, 'call void asm sideeffect "trap;", ""()'),)),
    Mutation("llvm.trap", "trap", VADD, (_after(VADD_STORE, "call void @llvm.trap()"),),
             "\ndeclare void @llvm.trap()\n"),
    Mutation("indirect call", "indirect-call", VADD,
             (_after(VADD_STORE, "%fp = inttoptr i64 %5 to void ()*", "call void %fp()"),)),
    Mutation("NVVM intrinsic", "llvm-intrinsic", VADD,
             (_after(VADD_GEP, "%tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()"),),
             "\ndeclare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"),
    Mutation("undeclared external", "undefined-function", VADD,
             (_after(VADD_STORE, "call void @helper()"),), "\ndeclare void @helper()\n"),
    Mutation("kernel calling a barrier not convergent", "convergent", SHARED,
             (("attributes #0 = { convergent mustprogress", "attributes #0 = { mustprogress"),)),
    Mutation("barrier declaration not convergent", "convergent", SHARED,
             (("attributes #1 = { convergent mustprogress nounwind willreturn }",
               "attributes #1 = { mustprogress nounwind willreturn }"),)),
    Mutation("global atomic renamed local", "atomic-address-space", BUCKET,
             (("@air.atomic.global.add.f32", "@air.atomic.local.add.f32"),)),
)


def _corpus_text(name: str) -> str:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"Apple AIR module {name} not found in {CORPUS}")
    return path.read_text()


def _format(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.format() for d in diagnostics)


# ------------------------------------------------------------------ no false positives


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_apple_module_has_no_errors(path: Path) -> None:
    diagnostics = verify_air_text(path.read_text(), str(path))
    assert errors_of(diagnostics) == [], _format(diagnostics)
    assert {d.rule for d in diagnostics} <= RULE_IDS


@needs_corpus
def test_corpus_warnings_are_the_known_gaps() -> None:
    """Only the gaps the corpus documents warn: frame-pointer and AIR 2.3's address space."""
    rules = {d.rule for path in CORPUS_FILES
             for d in verify_air_text(path.read_text(), str(path))}
    assert rules <= {"module-flags", "buffer-address-space"}


# ---------------------------------------------------------------------- mutations


@needs_corpus
@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_mutation_is_caught_by_its_rule(mutation: Mutation) -> None:
    text = mutation.apply(_corpus_text(mutation.file))
    diagnostics = verify_air_text(text, mutation.file, profile="ours")
    errors = errors_of(diagnostics)
    assert errors, f"{mutation.name}: no error\n{_format(diagnostics)}"
    assert {d.rule for d in errors} == {mutation.rule}, _format(errors)


def test_every_rule_has_a_mutation() -> None:
    assert {m.rule for m in MUTATIONS} == RULE_IDS


SAMPLE_VERSIONS = [None, (1, 6), (1, 11), (2, 0), (2, 2), (2, 3), (2, 5), (2, 8), (2, 9)]


def test_rule_rows_never_overlap_and_are_documented() -> None:
    """For any profile and AIR version, each rule id has at most one row (two rows of one id
    split it by profile or by version)."""
    for profile in ("apple", "ours"):
        for version in SAMPLE_VERSIONS:
            ids = [r.id for r in RULES if r.applies(profile, version)]
            assert len(ids) == len(set(ids)), (profile, version)
    assert {r.id for r in RULES if r.applies("apple", (2, 8))} == RULE_IDS
    assert {r.id for r in RULES if r.applies("ours", (2, 8))} == RULE_IDS
    assert all(rule.summary and rule.summary != rule.id for rule in RULES)


@needs_corpus
def test_message_names_parameter_and_types() -> None:
    mutation = next(m for m in MUTATIONS if m.rule == "buffer-address-space")
    text = mutation.apply(_corpus_text(VADD))
    [diag] = verify_air_text(text, "vadd.ll")
    assert diag.message == ("kernel @vadd parameter 0: air.buffer node has address space 2 "
                            "but the parameter is 'ptr addrspace(1)'")
    assert diag.location is not None and diag.location.file == "vadd.ll"
    assert diag.format().startswith("vadd.ll:")
    assert diag.format().endswith("[buffer-address-space]")


@needs_corpus
def test_unknown_llvm_intrinsic_only_warns() -> None:
    text = _corpus_text(VADD).replace(
        VADD_STORE, VADD_STORE + "  %fa = call float @llvm.fabs.f32(float %14)\n")
    text += "\ndeclare float @llvm.fabs.f32(float)\n"
    diagnostics = verify_air_text(text, VADD)
    assert errors_of(diagnostics) == []
    assert [(d.severity, d.rule) for d in diagnostics] == [("warning", "llvm-intrinsic")]


@needs_corpus
def test_missing_address_space_is_an_error_from_air_2_5() -> None:
    text = _corpus_text(VADD).replace(VADD_ARG0, VADD_ARG0.replace(
        '!"air.address_space", i32 1, ', ""))
    [diag] = verify_air_text(text, VADD)
    assert (diag.severity, diag.rule) == ("error", "buffer-address-space")


@needs_corpus
def test_missing_frame_pointer_only_warns() -> None:
    text = _corpus_text(VADD).replace("!llvm.module.flags = !{!0, !1, !2,",
                                      "!llvm.module.flags = !{!0, !1,")
    [diag] = verify_air_text(text, VADD)
    assert (diag.severity, diag.rule) == ("warning", "module-flags")
    assert "'frame-pointer'" in diag.message


# ---------------------------------------------- a self-contained module (no corpus needed)

# Written for these tests in LLVM 22 syntax (opaque pointers), shaped like Apple's output.
OWN_KERNEL = """\
target datalayout = "e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-f32:32:32-f64:64:64-v16:16:16-v24:32:32-v32:32:32-v48:64:64-v64:64:64-v96:128:128-v128:128:128-v192:256:256-v256:256:256-v512:512:512-v1024:1024:1024-n8:16:32"
target triple = "air64-apple-macosx14.0.0"

define void @scale(ptr addrspace(1) noundef %out, ptr addrspace(2) noundef %k, ptr addrspace(3) noundef %tg, <3 x i32> noundef %gid) #0 {
  %i = extractelement <3 x i32> %gid, i64 0
  %idx = zext i32 %i to i64
  %tmp = alloca [4 x float], align 4
  %slot = getelementptr inbounds [4 x float], ptr %tmp, i64 0, i64 1
  %kv = load i32, ptr addrspace(2) %k, align 4
  %f = call float @air.convert.f.f32.u.i32(i32 %kv)
  store float %f, ptr %slot, align 4
  %p = getelementptr inbounds float, ptr addrspace(3) %tg, i64 %idx
  store float %f, ptr addrspace(3) %p, align 4
  call void @air.wg.barrier(i32 2, i32 1) #1
  %v = load float, ptr addrspace(3) %p, align 4
  %w = load float, ptr %slot, align 4
  %s = fadd float %v, %w
  %q = getelementptr inbounds float, ptr addrspace(1) %out, i64 %idx
  %old = call float @air.atomic.global.add.f32(ptr addrspace(1) %q, float %s, i32 0, i32 2, i1 true)
  ret void
}

declare float @air.convert.f.f32.u.i32(i32) #2
declare void @air.wg.barrier(i32, i32) #1
declare float @air.atomic.global.add.f32(ptr addrspace(1), float, i32, i32, i1) #2

attributes #0 = { convergent nounwind }
attributes #1 = { convergent nounwind willreturn }
attributes #2 = { nounwind }

!llvm.module.flags = !{!0, !1, !2, !3, !4, !5, !6, !7, !8}
!air.kernel = !{!9}
!air.version = !{!16}
!air.language_version = !{!17}

!0 = !{i32 2, !"SDK Version", [2 x i32] [i32 14, i32 0]}
!1 = !{i32 1, !"wchar_size", i32 4}
!2 = !{i32 7, !"frame-pointer", i32 2}
!3 = !{i32 7, !"air.max_device_buffers", i32 31}
!4 = !{i32 7, !"air.max_constant_buffers", i32 31}
!5 = !{i32 7, !"air.max_threadgroup_buffers", i32 31}
!6 = !{i32 7, !"air.max_textures", i32 128}
!7 = !{i32 7, !"air.max_read_write_textures", i32 8}
!8 = !{i32 7, !"air.max_samplers", i32 16}
!9 = !{ptr @scale, !10, !11}
!10 = !{}
!11 = !{!12, !13, !14, !15}
!12 = !{i32 0, !"air.buffer", !"air.location_index", i32 0, i32 1, !"air.read_write", !"air.address_space", i32 1, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"float", !"air.arg_name", !"out"}
!13 = !{i32 1, !"air.buffer", !"air.buffer_size", i32 4, !"air.location_index", i32 1, i32 1, !"air.read", !"air.address_space", i32 2, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"uint", !"air.arg_name", !"k"}
!14 = !{i32 2, !"air.buffer", !"air.location_index", i32 0, i32 1, !"air.read_write", !"air.address_space", i32 3, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"float", !"air.arg_name", !"tg"}
!15 = !{i32 3, !"air.thread_position_in_grid", !"air.arg_type_name", !"uint3", !"air.arg_name", !"gid"}
!16 = !{i32 2, i32 6, i32 0}
!17 = !{!"Metal", i32 3, i32 1, i32 0}
"""


def test_own_kernel_is_clean() -> None:
    diagnostics = verify_air_text(OWN_KERNEL, "own.ll")
    assert diagnostics == [], _format(diagnostics)


@pytest.mark.parametrize(("old", "new", "rule"), [
    ("!\"air.location_index\", i32 1, i32 1", "!\"air.location_index\", i32 0, i32 1",
     "buffer-location"),
    ('!"uint3", !"air.arg_name", !"gid"', '!"uint2", !"air.arg_name", !"gid"', "builtin-type"),
    ("attributes #0 = { convergent nounwind }", "attributes #0 = { nounwind }", "convergent"),
    ("%w = load float, ptr %slot, align 4",
     "%w = load float, ptr %slot, align 4\n  %bad = fpext float %w to double", "float-type"),
    ("%p = getelementptr inbounds float, ptr addrspace(3) %tg, i64 %idx",
     "%p = getelementptr inbounds float, ptr addrspace(3) %tg, i64 %idx\n"
     "  %g = addrspacecast ptr addrspace(3) %p to ptr\n  %gl = load float, ptr %g, align 4",
     "addrspacecast"),
])
def test_own_kernel_mutations(old: str, new: str, rule: str) -> None:
    assert old in OWN_KERNEL
    errors = errors_of(verify_air_text(OWN_KERNEL.replace(old, new), "own.ll"))
    assert {d.rule for d in errors} == {rule}, _format(errors)


def test_threadgroup_buffers_have_their_own_location_counter() -> None:
    # !14 (threadgroup) and !12 (device) both use index 0 in OWN_KERNEL, and that is fine.
    assert '!"air.location_index", i32 0' in OWN_KERNEL.split("!14 = ")[1]
    assert errors_of(verify_air_text(OWN_KERNEL, "own.ll")) == []


def test_private_pointer_traced_through_helper_call() -> None:
    """An address-space-0 parameter of a helper is private when every caller passes an alloca."""
    helper = ("define internal void @zero(ptr %p) {\n  store float 0.0, ptr %p, align 4\n"
              "  ret void\n}\n")
    text = OWN_KERNEL.replace("  %w = load float, ptr %slot, align 4\n",
                              "  call void @zero(ptr %slot)\n"
                              "  %w = load float, ptr %slot, align 4\n") + helper
    assert errors_of(verify_air_text(text, "own.ll")) == []
    bad = text.replace("call void @zero(ptr %slot)",
                       "%ip = inttoptr i64 %idx to ptr\n  call void @zero(ptr %ip)")
    errors = errors_of(verify_air_text(bad, "own.ll"))
    assert {d.rule for d in errors} == {"private-pointer"}, _format(errors)


def test_verify_air_on_a_module_object() -> None:
    from llvm_to_air.ir import read_module

    module = read_module(OWN_KERNEL, "own.ll")
    assert verify_air(module) == []
