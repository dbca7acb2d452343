"""The two ways the runner resolves SIMD-group operations must agree: in the JIT code
(:mod:`llvm_to_air.runner.lockstep`, the default) and in Python with numpy
(:mod:`llvm_to_air.runner.simd`, kept for operations without an IR version).

Each case is a small AIR kernel: every thread loads its value and a per-lane operand,
threads whose index is a multiple of 5 or 7 skip the call (inactive lanes), the others
call one SIMD- or quad-group function and store its result. Both paths run it on the same
inputs; integer results must be equal, float results equal up to the order of a sum.
"""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air.ir.reader import read_module
from llvm_to_air.runner import rounds
from llvm_to_air.runner.compile import compile_kernel, kernel_bindings, kernel_names
from llvm_to_air.runner.execute import Kernel

RNG = np.random.default_rng(7)
AIR_LAYOUT = ("e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-f32:32:32-f64:64:64-"
              "v16:16:16-v24:32:32-v32:32:32-v48:64:64-v64:64:64-v96:128:128-v128:128:128-"
              "v192:256:256-v256:256:256-v512:512:512-v1024:1024:1024-n8:16:32")
N = 192  # three threadgroups of 64 (two SIMD groups each)

# AIR type -> (numpy dtype, elements per thread, Metal type name)
TYPES = {"float": (np.float32, 1, "float"), "i32": (np.int32, 1, "int"),
         "half": (np.float16, 1, "half"), "<2 x float>": (np.float32, 2, "float2"),
         "i64": (np.int64, 1, "long"), "i1": (np.int32, 1, "int")}

# (AIR function, value type, result type, call arguments after the value)
CASES = [
    ("air.simd_sum.f32", "float", "float", ""),
    ("air.simd_sum.s.i32", "i32", "i32", ""),
    ("air.simd_sum.v2f32", "<2 x float>", "<2 x float>", ""),
    ("air.simd_product.f32", "float", "float", ""),
    ("air.simd_min.s.i32", "i32", "i32", ""),
    ("air.simd_min.u.i32", "i32", "i32", ""),
    ("air.simd_max.f32", "float", "float", ""),
    ("air.simd_max.f16", "half", "half", ""),
    ("air.simd_and.s.i32", "i32", "i32", ""),
    ("air.simd_or.u.i32", "i32", "i32", ""),
    ("air.simd_xor.s.i32", "i32", "i32", ""),
    ("air.simd_prefix_inclusive_sum.f32", "float", "float", ""),
    ("air.simd_prefix_exclusive_sum.s.i32", "i32", "i32", ""),
    ("air.simd_prefix_exclusive_product.s.i32", "i32", "i32", ""),
    ("air.simd_shuffle.f32", "float", "float", "i16"),
    ("air.simd_shuffle_down.s.i32", "i32", "i32", "i16"),
    ("air.simd_shuffle_up.f32", "float", "float", "i16"),
    ("air.simd_shuffle_xor.s.i32", "i32", "i32", "i16"),
    ("air.simd_shuffle_rotate_down.f32", "float", "float", "i16"),
    ("air.simd_shuffle_rotate_up.s.i32", "i32", "i32", "i16"),
    ("air.simd_broadcast.f32", "float", "float", "i16"),
    ("air.simd_shuffle_xor.f32", "float", "float", "i16 3"),
    ("air.simd_broadcast.s.i32", "i32", "i32", "i16 37"),
    ("air.quad_shuffle_up.s.i32", "i32", "i32", "i16 1"),
    ("air.simd_broadcast_first.s.i32", "i32", "i32", ""),
    ("air.quad_shuffle_down.f32", "float", "float", "i16"),
    ("air.quad_sum.s.i32", "i32", "i32", ""),
    ("air.quad_broadcast.f32", "float", "float", "i16"),
    ("air.simd_ballot.i64", "i1", "i64", ""),
    ("air.simd_all", "i1", "i1", ""),
    ("air.simd_any", "i1", "i1", ""),
    ("air.simd_is_first", None, "i1", ""),
    ("air.simd_active_threads_mask.i64", None, "i64", ""),
]


def _kernel_text(calls: list[tuple[str, str]], value: str | None, result: str) -> str:
    """An AIR module: ``out[K * i + j] = calls[j](in[i], amount[i])`` for the threads that
    make the calls (``K = len(calls)``), one SIMD-group call after the other."""
    in_ty = value or "i32"
    stored = "i32" if result == "i1" else result
    loaded = "i32" if in_ty == "i1" else in_ty
    lines = ["%i = extractelement <3 x i32> %pos, i32 0",
             "%i64 = zext i32 %i to i64",
             f"%ip = getelementptr inbounds {loaded}, {loaded} addrspace(1)* %in, i64 %i64",
             f"%x = load {loaded}, {loaded} addrspace(1)* %ip, align 4",
             "%v = icmp ne i32 %x, 0" if in_ty == "i1" else f"%v = bitcast {in_ty} %x to {in_ty}",
             "%ap = getelementptr inbounds i32, i32 addrspace(1)* %amount, i64 %i64",
             "%a = load i32, i32 addrspace(1)* %ap, align 4",
             "%a16 = trunc i32 %a to i16",
             "%q5 = urem i32 %i, 5", "%q7 = urem i32 %i, 7",
             "%m5 = icmp eq i32 %q5, 0", "%m7 = icmp eq i32 %q7, 0",
             "%skip = or i1 %m5, %m7",
             f"%base = mul i64 %i64, {len(calls)}",
             "br i1 %skip, label %end, label %call", "call:"]
    declares = []
    for j, (name, extra) in enumerate(calls):
        lane_arg = extra if " " in extra else f"{extra} %a16"  # "i16 3": a constant
        args = ([f"{in_ty} %v"] if value else []) + ([lane_arg] if extra else [])
        params = ", ".join(a.rsplit(" ", 1)[0] for a in args)
        declares.append(f"declare {result} @{name}({params}) #0")
        lines.append(f"%r{j} = call {result} @{name}({', '.join(args)})")
        out_value = f"%r{j}"
        if result == "i1":
            lines.append(f"%z{j} = zext i1 %r{j} to i32")
            out_value = f"%z{j}"
        lines += [f"%o{j} = add i64 %base, {j}",
                  f"%op{j} = getelementptr inbounds {stored}, {stored} addrspace(1)* %out, "
                  f"i64 %o{j}",
                  f"store {stored} {out_value}, {stored} addrspace(1)* %op{j}, align 4"]
    lines += ["br label %end", "end:", "ret void"]
    body = "\n".join("  " + ln if not ln.endswith(":") else ln for ln in lines)
    in_name, out_name = TYPES[in_ty][2], TYPES[result][2]
    sig = (f"void ({loaded} addrspace(1)*, {stored} addrspace(1)*, i32 addrspace(1)*, "
           "<3 x i32>)* @k")
    return f"""target datalayout = "{AIR_LAYOUT}"
target triple = "air64-apple-macosx14.0.0"

define void @k({loaded} addrspace(1)* %in, {stored} addrspace(1)* %out, i32 addrspace(1)* %amount, <3 x i32> %pos) {{
{body}
}}

{chr(10).join(dict.fromkeys(declares))}

attributes #0 = {{ convergent nounwind }}

!air.kernel = !{{!0}}
!air.version = !{{!6}}
!0 = !{{{sig}, !1, !2}}
!1 = !{{}}
!2 = !{{!3, !4, !5, !7}}
!3 = !{{i32 0, !"air.buffer", !"air.location_index", i32 0, i32 1, !"air.read", !"air.address_space", i32 1, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"{in_name}", !"air.arg_name", !"in"}}
!4 = !{{i32 1, !"air.buffer", !"air.location_index", i32 1, i32 1, !"air.read_write", !"air.address_space", i32 1, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"{out_name}", !"air.arg_name", !"out"}}
!5 = !{{i32 2, !"air.buffer", !"air.location_index", i32 2, i32 1, !"air.read", !"air.address_space", i32 1, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"int", !"air.arg_name", !"amount"}}
!7 = !{{i32 3, !"air.thread_position_in_grid", !"air.arg_type_name", !"uint3", !"air.arg_name", !"pos"}}
!6 = !{{i32 2, i32 6, i32 0}}
"""


def _compiled(text: str, rounds_in_ir: bool) -> Kernel:
    module = read_module(text, "lockstep.ll")
    compiled = compile_kernel(module, kernel_bindings(module, "k"), True,
                              rounds_in_ir=rounds_in_ir)
    assert compiled.mode == ("groups" if rounds_in_ir else "ready")
    return Kernel(compiled, "lockstep.ll")


def _inputs(value: str | None) -> np.ndarray:
    dtype, count, _ = TYPES[value or "i32"]
    if value == "i1":
        return (RNG.random(N) < 0.6).astype(np.int32)
    if np.issubdtype(dtype, np.floating):
        return RNG.uniform(0.5, 1.5, N * count).astype(dtype)  # products stay finite
    return RNG.integers(-50, 50, N * count).astype(dtype)


GROUPS: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
for _name, _value, _result, _extra in CASES:
    GROUPS.setdefault((_value, _result), []).append((_name, _extra))


@pytest.mark.parametrize(("value", "result"), list(GROUPS),
                         ids=[f"{v}->{r}" for v, r in GROUPS])
def test_simd_operations_in_ir_match_numpy(value: str | None, result: str) -> None:
    calls = GROUPS[(value, result)]
    text = _kernel_text(calls, value, result)
    data = _inputs(value)
    amount = RNG.integers(0, 40, N).astype(np.int32)  # some lanes beyond the group
    dtype, count, _ = TYPES[result]
    outs = []
    for in_ir in (True, False):
        out = np.full(N * len(calls) * count, 77, dtype)
        _compiled(text, in_ir).run((N,), (64,), {0: data.copy(), 1: out, 2: amount})
        outs.append(out.reshape(N, len(calls), count))
    ours, reference = outs
    skipped = (np.arange(N) % 5 == 0) | (np.arange(N) % 7 == 0)
    assert (reference[skipped] == 77).all() and (reference[~skipped] != 77).any()
    for j, (name, _) in enumerate(calls):
        if np.issubdtype(dtype, np.floating) and ("sum" in name or "product" in name):
            np.testing.assert_allclose(ours[:, j], reference[:, j], err_msg=name,
                                       rtol=2e-3 if dtype == np.float16 else 1e-5)
        else:
            np.testing.assert_array_equal(ours[:, j], reference[:, j], err_msg=name)


@pytest.mark.parametrize("specialized", ["all", "first stop", "none"])
def test_barriers_and_simd_calls_in_a_loop_match_the_python_rounds(
        specialized: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """divergent_simd.cu (a shuffle in a loop of per-lane trip counts, then a ballot after
    a divergent branch) through both paths; with the rounds' loops specialized to one
    resume point at every stop, at the start and the first stop only, or nowhere."""
    if specialized == "none":
        monkeypatch.setattr(rounds, "SPECIALIZED_INSTRUCTIONS", 0)
    elif specialized == "first stop":
        emit = rounds.emit_group_rounds

        def first_stop(t: object, ext: object, count: str, simd: str, stops: list[int],
                       *rest: object) -> None:
            emit(t, ext, count, simd, stops[:1], *rest)  # type: ignore[arg-type]

        monkeypatch.setattr(rounds, "emit_group_rounds", first_stop)
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "runner" / "divergent_simd.ll"
    from llvm_to_air.api import lower

    module, _ = lower(path.read_text(), str(path))
    from llvm_to_air.ir.writer14 import write_llvm14

    text = write_llvm14(module)
    n = 128
    trips = np.repeat(RNG.integers(0, 6, n // 2), 2).astype(np.int32)
    results = []
    for in_ir in (True, False):
        copy = read_module(text, "d.ll")
        name = kernel_names(copy)[0]
        compiled = compile_kernel(copy, kernel_bindings(copy, name), True,
                                  rounds_in_ir=in_ir)
        w, ballots = np.zeros(n, np.int32), np.zeros(n // 32, np.uint32)
        Kernel(compiled, "d.ll").run((n,), (64,), {0: trips, 1: w, 2: ballots})
        results.append((w, ballots))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


BARRIER_SPIN = """target triple = "nvptx64-nvidia-cuda"
define ptx_kernel void @barrier_spin(ptr addrspace(1) %out, i32 %n) {
entry:
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i1, %loop ]
  %v = load volatile i32, ptr addrspace(1) %out
  %v1 = add i32 %v, %tid
  store volatile i32 %v1, ptr addrspace(1) %out
  call void @llvm.nvvm.barrier0()
  %i1 = add i32 %i, 1
  %more = icmp ult i32 %i1, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare void @llvm.nvvm.barrier0()
"""


def test_a_timeout_stops_threads_that_keep_meeting_at_barriers() -> None:
    """The rounds read the stop flag: a kernel whose threads loop through a barrier
    (almost) forever ends at the timeout, with no thread left running."""
    import time

    from llvm_to_air.errors import CompileError
    from llvm_to_air.runner import run

    out = np.zeros(1, np.int32)
    start = time.monotonic()
    with pytest.raises(CompileError, match="did not finish within") as error:
        run(BARRIER_SPIN.encode(), "barrier_spin", (64,), (64,),
            {0: out, 1: np.int32(2**31 - 1)}, timeout=0.5)
    assert "still running" not in str(error.value)
    assert time.monotonic() - start < 30


# ------------------------------------------------ shuffles with a constant lane operand

SHUFFLE_KINDS = ["shuffle", "shuffle_down", "shuffle_up", "shuffle_xor", "broadcast",
                 "shuffle_rotate_down", "shuffle_rotate_up"]
# amounts around the segment's edges; -1 is 0xFFFF as the low 16 bits
AMOUNTS = {"simd": [0, 1, 3, 16, 31, 32, 40, -1], "quad": [0, 1, 2, 3, 4, 9, -1]}
SUFFIX = {"float": "f32", "i32": "s.i32", "half": "f16", "i64": "u.i64",
          "<2 x float>": "v2f32"}


def _shuffle_reference(kind: str, width: int, amount: int, values: np.ndarray,
                       active: np.ndarray) -> np.ndarray:
    """Each active thread's result of a shuffle (rows of ``values``): the source lane's
    value where the source is in the segment and active, else its own."""
    a16 = amount & 0xFFFF
    out = values.copy()
    for i in np.flatnonzero(active):
        lane, seg = i % width, i - i % width
        src, valid = {"shuffle": (a16, a16 < width), "broadcast": (a16, a16 < width),
                      "shuffle_down": (lane + a16, lane + a16 < width),
                      "shuffle_up": (lane - a16, lane >= a16),
                      "shuffle_xor": (lane ^ a16, lane ^ a16 < width),
                      "shuffle_rotate_down": ((lane + a16) % width, True),
                      "shuffle_rotate_up": ((lane - a16) % width, True)}[kind]
        if valid and active[seg + src]:
            out[i] = values[seg + src]
    return out


@pytest.mark.parametrize("family", ["simd", "quad"])
@pytest.mark.parametrize("value", ["float", "i32", "half", "i64", "<2 x float>"])
def test_shuffles_with_a_constant_lane_match_numpy_and_the_python_rounds(
        family: str, value: str) -> None:
    """Every shuffle kind with constant lane operands (in and beyond the segment, 16-bit
    wrap-around), lanes inactive where the thread index is a multiple of 5 or 7: the JIT
    path resolves scalar values with ``<32 x T>`` shufflevectors over the lane arrays (a
    vector value keeps the loop), and both agree with numpy and the Python rounds."""
    calls = [(f"air.{family}_{kind}.{SUFFIX[value]}", f"i16 {amount}")
             for kind in SHUFFLE_KINDS for amount in AMOUNTS[family]]
    text = _kernel_text(calls, value, value)
    data = _inputs(value)
    dtype, count, _ = TYPES[value]
    outs = []
    for in_ir in (True, False):
        module = read_module(text, "lockstep.ll")
        dump: dict[str, str] = {}
        compiled = compile_kernel(module, kernel_bindings(module, "k"), True,
                                  rounds_in_ir=in_ir, dump=dump)
        if in_ir:  # two shufflevectors (values, flags) per site, for scalar values
            vectorized = dump["runtime"].count(f"shufflevector <{32} x ")
            assert vectorized == (2 * len(calls) if count == 1 else 0)
        out = np.full(N * len(calls) * count, 77, dtype)
        Kernel(compiled, "lockstep.ll").run((N,), (64,), {0: data.copy(), 1: out,
                                                          2: np.zeros(N, np.int32)})
        outs.append(out.reshape(N, len(calls), count))
    ours, python_rounds = outs
    np.testing.assert_array_equal(ours, python_rounds)
    active = ~((np.arange(N) % 5 == 0) | (np.arange(N) % 7 == 0))
    width = 32 if family == "simd" else 4
    values = data.reshape(N, count)
    for j, (name, lane) in enumerate(calls):
        kind = name.split(".")[1].split("_", 1)[1]
        expected = _shuffle_reference(kind, width, int(lane.split()[1]), values, active)
        np.testing.assert_array_equal(ours[active, j], expected[active], err_msg=f"{name} {lane}")
        assert (ours[~active, j] == 77).all()


def test_lane_layout_with_1024_threads_and_a_partial_last_simd_group() -> None:
    """The lane layout holds up to 1,024 threads per threadgroup (Metal's most), and a
    threadgroup whose last SIMD group is partial (1,000 threads): warp_reduce's shuffle
    sums against numpy on the full SIMD groups, and against the Python rounds on all."""
    from pathlib import Path

    from llvm_to_air.api import compile as compile_air

    path = Path(__file__).parent / "fixtures" / "cuda19-O2" / "warp_reduce.ll"
    air = compile_air(path.read_text(), str(path)).output
    assert isinstance(air, str)
    for n, group in ((4096, 1024), (1000, 1000)):
        x = RNG.standard_normal(n).astype(np.float32)
        ix = RNG.integers(-1000, 1000, n).astype(np.int32)
        results = []
        for in_ir in (True, False):
            module = read_module(air, "warp_reduce.ll")
            name = kernel_names(module)[0]
            compiled = compile_kernel(module, kernel_bindings(module, name), True,
                                      rounds_in_ir=in_ir)
            assert compiled.mode == ("groups" if in_ir else "ready")
            out, iout = np.zeros(-(-n // 32), np.float32), np.zeros(-(-n // 32), np.int32)
            Kernel(compiled, "warp_reduce.ll").run((n,), (group,), {0: x, 1: ix, 2: out,
                                                                    3: iout})
            results.append((out, iout))
        (out, iout), (py_out, py_iout) = results
        np.testing.assert_array_equal(out, py_out)
        np.testing.assert_array_equal(iout, py_iout)
        full = n // 32
        np.testing.assert_allclose(out[:full], x[:full * 32].reshape(-1, 32).sum(1),
                                   rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(iout[:full], ix[:full * 32].reshape(-1, 32).sum(1))
