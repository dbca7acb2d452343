"""The CPU runner: inputs it takes, Metal's binding rules, barrier correctness, checked
mode, and clear errors (``CompileError``, never a traceback) for bad dispatches."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llvm_to_air.api import compile, lower
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call
from llvm_to_air.runner import execute as runner_execute
from llvm_to_air.runner import load_kernel, parse_buffer, run, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
RNG = np.random.default_rng(7)


@functools.cache
def air(rel: str, emit: str = "ll") -> bytes:
    out = compile((FIXTURES / rel).read_text(), rel, emit=emit).output  # type: ignore[arg-type]
    return out.encode() if isinstance(out, str) else out


def vadd_buffers(n: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    a = RNG.random(n, dtype=np.float32)
    b = RNG.random(n, dtype=np.float32)
    c = np.zeros(n, np.float32)
    return a, b, c, {0: a, 1: b, 2: c, 3: np.int32(n)}


# ------------------------------------------------------------------ inputs


@pytest.mark.parametrize("emit", ["ll", "air", "metallib"])
def test_runs_our_output_in_every_format(emit: str) -> None:
    a, b, c, buffers = vadd_buffers()
    run(air("cuda19-O2/vadd.ll", emit), "vadd", (1024,), (256,), buffers)
    np.testing.assert_array_equal(c, a + b)


def test_runs_a_module_a_path_and_raw_gpu_ir(tmp_path: Path) -> None:
    module, _ = lower((FIXTURES / "opencl19/vadd.ll").read_text(), "vadd.ll")
    a, b, c, buffers = vadd_buffers()
    run(module, "vadd", (1000,), (128,), buffers)
    np.testing.assert_array_equal(c, a + b)
    # an input the main command accepts is lowered first; kernels match by mangled or
    # plain name
    for kernel in ("vadd", "_Z4vaddPKfS0_Pfi"):
        c[:] = 0
        run(FIXTURES / "cuda19-O2/vadd.ll", kernel, (1024,), (256,), buffers)
        np.testing.assert_array_equal(c, a + b)
    # a model of GPU IR (no !air.kernel) is lowered too
    from llvm_to_air.ir.reader import read_module

    c[:] = 0
    run(read_module((FIXTURES / "cuda19-O2/vadd.ll").read_text(), "vadd.ll"), "vadd", 1024,
        256, buffers)
    np.testing.assert_array_equal(c, a + b)
    path = tmp_path / "k.metallib"
    path.write_bytes(air("cuda19-O2/vadd.ll", "metallib"))
    c[:] = 0
    run(str(path), "vadd", 1024, 256, buffers)
    np.testing.assert_array_equal(c, a + b)


def test_the_given_module_is_not_modified() -> None:
    module, _ = lower((FIXTURES / "cuda19-O2/reduce_shared.ll").read_text(), "r.ll")
    from llvm_to_air.ir.writer14 import write_llvm14

    before = write_llvm14(module)
    run(module, "reduce_sum", (256,), (256,), {0: np.ones(256, np.float32),
                                              1: np.zeros(1, np.float32), 2: np.int32(256)})
    assert write_llvm14(module) == before


def test_python_scalars_take_the_kernel_parameter_type() -> None:
    a, b, c, buffers = vadd_buffers(300)
    buffers[3] = 300
    run(air("opencl19/vadd.ll"), "vadd", (300,), (64,), buffers)
    np.testing.assert_array_equal(c, a + b)


# ---------------------------------------------------------------- barriers


def _reverse_module(keep_barrier: bool):
    module, _ = lower((FIXTURES / "cuda19-O2/reverse_shared.ll").read_text(), "rev.ll")
    if not keep_barrier:
        for fn in module.functions:
            for block in fn.blocks:
                block.instructions = [
                    i for i in block.instructions
                    if not (isinstance(i, Call) and i.callee_function is not None
                            and i.callee_function.name == "air.wg.barrier")]
    return module


def test_barrier_really_synchronizes() -> None:
    expect = np.arange(1024).reshape(16, 64)[:, ::-1].reshape(-1)
    d = np.arange(1024, dtype=np.int32)
    run(_reverse_module(True), "reverse_block", (1024,), (64,), {0: d})
    np.testing.assert_array_equal(d, expect)
    # without the barrier, threads read slots their partners have not written yet
    d = np.arange(1024, dtype=np.int32)
    run(_reverse_module(False), "reverse_block", (1024,), (64,), {0: d})
    assert not np.array_equal(d, expect)
    wrong = (d != expect).reshape(16, 64)
    assert wrong[:, :32].all()  # the first half of each group read before the writes


def test_barriers_across_many_chunks_and_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_execute, "FRAME_MEMORY_BUDGET", 64 * 1024)
    kernel = load_kernel(air("cuda19-O0/matmul_tiled.ll"), "matmul_tiled")
    n = 96
    a, b = RNG.random((n, n), dtype=np.float32), RNG.random((n, n), dtype=np.float32)
    for workers in (1, 3):
        c = np.zeros((n, n), np.float32)
        kernel.run((n, n), (16, 16), {0: a, 1: b, 2: c, 3: np.int32(n)}, workers=workers)
        np.testing.assert_allclose(c, a @ b, rtol=1e-5)


def test_simd_operations_on_a_partial_simdgroup() -> None:
    # 40 threads per group: SIMD group 1 has 8 lanes; sums and votes cover those lanes only
    n = 80
    x = RNG.random(n, dtype=np.float32) + 0.5
    out, info = np.zeros(n, np.float32), np.zeros(8, np.uint32)
    run(air("opencl19/subgroups.ll"), "subgroups", (n,), (40,), {0: x, 1: out, 2: info})
    groups = [x[0:32], x[32:40], x[40:72], x[72:80]]
    expect = np.concatenate([np.full(len(g), g.sum() + g[0], np.float32) for g in groups])
    np.testing.assert_allclose(out, expect, rtol=1e-5)
    assert list(info.reshape(2, 4)[:, 1]) == [2, 2]  # get_num_sub_groups


def _divergent_expected(trips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """divergent_simd.cu with Metal's SIMD semantics: a shuffle sees the lanes that reach it,
    lanes reconverge after the loop and the branch, so the ballot sees all 32."""
    n = len(trips)
    w = np.arange(n, dtype=np.int64)
    for k in range(int(trips.max())):
        looping = trips > k
        w = np.where(looping, w[np.arange(n) ^ 1] + 1, w)
    lane = np.arange(n) % 32
    low = lane < 16
    w = np.where(low, w + w[np.arange(n) ^ 2] * 1000, w)
    bits = ((w & 1) != 0).reshape(-1, 32) << np.arange(32)
    return w, bits.sum(axis=1).astype(np.uint32)


def test_simd_operations_under_divergence_and_reconvergence() -> None:
    n = 128
    trips = np.repeat(RNG.integers(0, 6, n // 2), 2).astype(np.int32)  # equal per lane pair
    w, ballots = np.zeros(n, np.int32), np.zeros(n // 32, np.uint32)
    run(FIXTURES / "runner/divergent_simd.ll", "divergent_simd", (n,), (64,),
        {0: trips, 1: w, 2: ballots})
    expect_w, expect_ballots = _divergent_expected(trips)
    np.testing.assert_array_equal(w, expect_w)
    np.testing.assert_array_equal(ballots, expect_ballots)


def test_partial_threadgroups_at_the_grid_edge() -> None:
    # dispatchThreads: 1000 threads in groups of 256 -> the last group has 232 threads
    a, b, c, buffers = vadd_buffers(1000)
    run(air("opencl19/vadd.ll"), "vadd", (1000,), (256,), buffers)
    np.testing.assert_array_equal(c, a + b)
    # a kernel reading the threadgroup size needs whole threadgroups
    sizes = np.zeros((1000, 9), np.uint32)
    with pytest.raises(CompileError, match=r"get_local_size.*grid x = 1000 is not a multiple"):
        run(air("opencl19/sizes.ll"), "sizes", (1000,), (256,), {0: sizes})


# ------------------------------------------------------------- checked mode


def test_checked_mode_names_kernel_and_buffer() -> None:
    _a, b, c, buffers = vadd_buffers(1000)
    buffers[1] = b[:500]
    with pytest.raises(CompileError) as info:
        run(air("cuda19-O2/vadd.ll"), "vadd", (1024,), (256,), buffers, check_bounds=True)
    message = str(info.value)
    assert "out-of-bounds load" in message and "buffer index 1" in message
    assert "_Z4vaddPKfS0_Pfi" in message and "2000-byte buffer" in message
    # a failed run writes nothing back: the in-bounds stores went to a copy
    np.testing.assert_array_equal(c, np.zeros_like(c))


def test_checked_mode_pointer_through_private_memory() -> None:
    # -O0: pointers go through allocas (pointer slots), which the check follows back to
    # the parameter, so the message names the binding
    _a, b, c, buffers = vadd_buffers(1000)
    buffers[1] = b[:500].copy()
    with pytest.raises(CompileError, match=r"out-of-bounds load in kernel '_Z4vaddPKfS0_Pfi': "
                                           r"buffer index 1 \('arg1'\): byte offset \d+ of a "
                                           r"2000-byte buffer"):  # the first of racing threads
        run(air("cuda19-O0/vadd.ll"), "vadd", (1024,), (256,), buffers, check_bounds=True)
    np.testing.assert_array_equal(c, np.zeros_like(c))


def test_checked_mode_threadgroup_memory() -> None:
    # 64 threads store tile[lid], but only 64 bytes (16 floats) were set aside
    buffers = {0: np.zeros(64, np.float32), 1: np.zeros(64, np.float32),
               2: np.ones(4, np.float32), 3: np.zeros(2, np.float32)}
    with pytest.raises(CompileError, match=r"out-of-bounds store in kernel 'local_param': "
                                           r"threadgroup memory index 0 \('tile'\)"):
        run(air("opencl19/local_param.ll"), "local_param", (64,), (64,), buffers,
            threadgroup_memory={0: 64}, check_bounds=True)


def test_checked_mode_store_to_a_constant_scalar_is_caught_before_running() -> None:
    _a, _b, _c, buffers = vadd_buffers(64)
    c_read_only = np.zeros(64, np.float32)
    c_read_only.flags.writeable = False
    buffers[2] = c_read_only
    with pytest.raises(CompileError, match="written by the kernel but the array is read-only"):
        run(air("cuda19-O2/vadd.ll"), "vadd", (64,), (64,), buffers)


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize("case, message", [
    ("unknown kernel", r"no kernel 'nope' in .* \(kernels: _Z4vaddPKfS0_Pfi\)"),
    ("missing buffer", r"kernel '_Z4vaddPKfS0_Pfi' needs a buffer at index 1 .*none was bound"),
    ("missing scalar", r"needs a constant buffer at index 3 .*none was bound"),
    ("wrong dtype", r"buffer 0 of kernel '_Z4vaddPKfS0_Pfi' holds float .* dtype is float64"),
    ("scalar dtype", r"constant buffer 3 .* holds int .* dtype is float32"),
    ("too small", r"buffer 2 of kernel .* is too small: float needs 4 bytes, the array has 0"),
    ("threadgroup too big", r"threadgroup 2048x1x1 has 2048 threads; Apple GPUs allow at most "
                            r"1024"),
    ("bad grid", r"grid must be 1 to 3 positive integers"),
])
def test_bad_dispatch_is_a_clear_error(case: str, message: str) -> None:
    a, _b, _c, buffers = vadd_buffers(1000)
    grid, tg, kernel = (1024,), (256,), "vadd"
    if case == "unknown kernel":
        kernel = "nope"
    elif case == "missing buffer":
        del buffers[1]
    elif case == "missing scalar":
        del buffers[3]
    elif case == "wrong dtype":
        buffers[0] = a.astype(np.float64)
    elif case == "scalar dtype":
        buffers[3] = np.float32(1000)
    elif case == "too small":
        buffers[2] = np.zeros(0, np.float32)
    elif case == "threadgroup too big":
        tg = (2048,)
    elif case == "bad grid":
        grid = (0,)
    with pytest.raises(CompileError, match=message):
        run(air("cuda19-O2/vadd.ll"), kernel, grid, tg, buffers)


def test_partial_edge_threadgroup_keeps_cudas_block_size() -> None:
    """blockDim is dispatch_threads_per_threadgroup: a grid of 1000 in groups of 256 works."""
    a, b, c, buffers = vadd_buffers(1000)
    run(air("cuda19-O2/vadd.ll"), "vadd", (1000,), (256,), buffers)
    np.testing.assert_array_equal(c, a + b)


def test_struct_too_small() -> None:
    small = np.zeros(2, np.float32)
    with pytest.raises(CompileError, match=r"constant buffer 2 .* too small: Params needs 12 "
                                           r"bytes, the array has 8"):
        run(air("cuda19-O2/struct_param.ll"), "struct_param", (64,), (64,),
            {0: np.zeros(64, np.float32), 1: np.zeros(64, np.float32), 2: small,
             3: np.int32(64)})


def test_threadgroup_memory_rules() -> None:
    buffers = {0: np.zeros(64, np.float32), 1: np.zeros(64, np.float32),
               2: np.ones(4, np.float32), 3: np.zeros(2, np.float32)}
    lib = air("opencl19/local_param.ll")
    with pytest.raises(CompileError, match=r"needs threadgroup memory at index 0 .*none was "
                                           r"set"):
        run(lib, "local_param", (64,), (64,), buffers)
    with pytest.raises(CompileError, match=r"must be a positive multiple of 16 bytes"):
        run(lib, "local_param", (64,), (64,), buffers, threadgroup_memory={0: 100})
    with pytest.raises(CompileError, match=r"needs 65536 bytes of threadgroup memory; Apple "
                                           r"GPUs have 32768"):
        run(lib, "local_param", (64,), (64,), buffers, threadgroup_memory={0: 65536})


def test_unreadable_input() -> None:
    with pytest.raises(CompileError, match="cannot read input"):
        run("/nonexistent/k.metallib", "k", 1, 1, {})


# ---------------------------------------------------------------- the CLI


def test_run_cli_writes_every_bound_buffer(tmp_path: Path) -> None:
    src = tmp_path / "k.ll"
    src.write_bytes(air("cuda19-O2/vadd.ll"))
    a = RNG.random(1000, dtype=np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", a * 2)
    np.save(tmp_path / "c.npy", np.zeros(1000, np.float32))
    out = tmp_path / "out"
    written = run_cli(str(src), "vadd", "1024", "256",
                      [f"0={tmp_path / 'a.npy'}", f"1={tmp_path / 'b.npy'}",
                       f"2={tmp_path / 'c.npy'}", "3=1000:int32"], [], str(out), False)
    assert sorted(Path(p).name for p in written) == ["0.npy", "1.npy", "2.npy", "3.npy"]
    np.testing.assert_array_equal(np.load(out / "2.npy"), a * 3)
    assert np.load(out / "3.npy").tolist() == [1000]


def test_run_cli_threadgroup_memory_and_structs(tmp_path: Path) -> None:
    src = tmp_path / "k.air"
    src.write_bytes(air("opencl19/local_param.ll", "air"))
    x = RNG.random(128, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.zeros(128, np.float32))
    out = tmp_path / "out"
    # Config {float scale; int shift} as raw words: scale 2.0 (0x40000000), shift 1
    run_cli(str(src), "local_param", "128", "64",
            [f"0={tmp_path / 'x.npy'}", f"1={tmp_path / 'y.npy'}", "2=1,1,1,1:float",
             "3=0x40000000,1:uint32"], ["0=256"], str(out), False)
    lid = np.arange(128) % 64
    expect = x[(np.arange(128) // 64) * 64 + (lid + 1) % 64] * 2
    np.testing.assert_allclose(np.load(out / "1.npy"), expect, rtol=1e-6)


@pytest.mark.parametrize("buffers, tg_memory, message", [
    (["0"], [], r"--buffer '0' must be INDEX=\.\.\."),
    (["x=1:int32"], [], r"--buffer 'x=1:int32' must be INDEX=\.\.\."),
    (["3=1000"], [], r"expected a \.npy file or value:dtype"),
    (["3=1000:int99"], [], r"unknown dtype 'int99'"),
    (["3=abc:int32"], [], r"'abc' is not a valid int32 value"),
    (["3=/nonexistent/a.npy"], [], r"cannot read '/nonexistent/a.npy'"),
    (["3=1:int32", "3=2:int32"], [], r"--buffer index 3 is given twice"),
    ([], ["0=lots"], r"'lots' is not a byte count"),
])
def test_run_cli_bad_specs(tmp_path: Path, buffers: list[str], tg_memory: list[str],
                           message: str) -> None:
    src = tmp_path / "k.ll"
    src.write_bytes(air("cuda19-O2/vadd.ll"))
    with pytest.raises(CompileError, match=message):
        run_cli(str(src), "vadd", "1024", "256", buffers, tg_memory, str(tmp_path / "o"), False)


def test_run_cli_errors_from_the_dispatch(tmp_path: Path) -> None:
    src = tmp_path / "k.ll"
    src.write_bytes(air("cuda19-O2/vadd.ll"))
    np.save(tmp_path / "a.npy", np.zeros(100, np.float32))
    specs = [f"{k}={tmp_path / 'a.npy'}" for k in range(3)] + ["3=1000:int32"]
    with pytest.raises(CompileError, match="grid must be"):
        run_cli(str(src), "vadd", "1024,x", "256", specs, [], str(tmp_path / "o"), False)
    with pytest.raises(CompileError, match="no kernel 'other'"):
        run_cli(str(src), "other", "1024", "256", specs, [], str(tmp_path / "o"), False)
    with pytest.raises(CompileError, match="holds int"):
        run_cli(str(src), "vadd", "1024", "256", [*specs[:3], "3=100:int8"], [],
                str(tmp_path / "o"), False)
    # checked mode: the error names the buffer, and nothing is written
    with pytest.raises(CompileError, match="out-of-bounds load in kernel '_Z4vaddPKfS0_Pfi': "
                                           "buffer index 0"):
        run_cli(str(src), "vadd", "1024", "256", specs, [], str(tmp_path / "o"), True)
    assert not (tmp_path / "o").exists()


def test_parse_buffer_values() -> None:
    index, array = parse_buffer("4=1.5,2:float")
    assert index == 4 and array.dtype == np.float32 and array.tolist() == [1.5, 2.0]
    assert parse_buffer("1=-7:long")[1].dtype == np.int64


def _cli(*args: str) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "llvm_to_air", *args], capture_output=True,
                          timeout=300, check=False)


def test_run_command_from_the_readme(tmp_path: Path) -> None:
    """The README's example: vadd on the shipped example, buffers in and out as .npy."""
    a, b = np.arange(1000, dtype=np.float32), np.ones(1000, np.float32)
    for name, array in (("a", a), ("b", b), ("c", np.zeros(1000, np.float32))):
        np.save(tmp_path / f"{name}.npy", array)
    out = tmp_path / "out"
    result = _cli("run", str(Path(__file__).resolve().parents[1] / "examples" / "vadd.ll"), "--kernel", "vadd", "--grid",
                  "1000", "--threadgroup", "256", "--buffer", f"0={tmp_path / 'a.npy'}",
                  "--buffer", f"1={tmp_path / 'b.npy'}", "--buffer", f"2={tmp_path / 'c.npy'}",
                  "--buffer", "3=1000:int32", "--out-dir", str(out))
    assert result.returncode == 0, result.stderr.decode()
    np.testing.assert_array_equal(np.load(out / "2.npy"), a + b)


@pytest.mark.parametrize(("args", "words"), [
    (["--kernel", "nope"], "no kernel 'nope'"),
    (["--kernel", "vadd"], "needs a buffer at index 0"),
    (["--kernel", "vadd", "--buffer", "0=1,2:float64"], "holds float"),
])
def test_run_command_errors_exit_1_with_one_line(args: list[str], words: str,
                                                 tmp_path: Path) -> None:
    result = _cli("run", str(Path(__file__).resolve().parents[1] / "examples" / "vadd.ll"), "--grid", "1000",
                  "--threadgroup", "256", "--out-dir", str(tmp_path / "o"), *args)
    err = result.stderr.decode()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert words in lines[0] and ": error: " in lines[0]


def test_compiled_kernels_are_cached_by_content() -> None:
    """Repeated runs of the same kernel in one process pay the JIT once: the same bytes, or
    a module with the same AIR text and source lines, give the same compiled kernel."""
    from llvm_to_air.ir.reader import read_module

    text = air("cuda19-O2/reduce_shared.ll")
    first = load_kernel(text, "reduce_sum")
    assert load_kernel(bytes(text), "reduce_sum") is first
    module = read_module(text.decode(), "reduce.ll")
    again = read_module(text.decode(), "reduce.ll")
    assert load_kernel(module, "reduce_sum") is load_kernel(again, "reduce_sum")
    assert load_kernel(text, "reduce_sum", check_bounds=False) is not first
    other = text.replace(b"fadd", b"fsub")
    assert load_kernel(other, "reduce_sum") is not first


def test_an_air_function_only_another_kernel_calls_needs_no_host_definition() -> None:
    """Apple's libraries declare every AIR function any of their kernels calls (texture
    sampling, say): running one kernel must not need the others' functions."""
    text = air("cuda19-O2/device_helper.ll").decode()
    entry = text.index("{", text.index("@_Z10blend_rowsPfif(")) + 1
    text = (text[:entry] + "\n  %unknown = call float @air.future_operation(float 1.0)" +
            text[entry:] + "\ndeclare float @air.future_operation(float)\n")
    n = 300
    a, b = RNG.random(n, dtype=np.float32), RNG.random(n, dtype=np.float32)
    out = np.zeros(n, np.float32)
    run(text, "_Z5blendPKfS0_Pffi", (n,), (64,), {0: a, 1: b, 2: out, 3: np.float32(0.25),
                                                 4: np.int32(n)})
    np.testing.assert_allclose(out, a + (b - a) * np.float32(0.25), rtol=1e-6)
    with pytest.raises(CompileError, match=r"air\.future_operation"):
        run(text, "_Z10blend_rowsPfif", (8,), (8,), {0: np.zeros(64, np.float32),
                                                     1: np.int32(8), 2: np.float32(1)})


def test_out_of_bounds_error_points_at_the_input_line_of_the_access() -> None:
    """The runner works on a re-read copy of the AIR; its errors name the input's line of
    the store (``transfer_locations`` maps the copy's instructions back)."""
    path = FIXTURES / "cuda19-O2" / "vadd.ll"
    store_line = next(k for k, line in enumerate(path.read_text().splitlines(), 1)
                      if line.lstrip().startswith("store float"))
    buffers = {0: np.zeros(64, np.float32), 1: np.zeros(64, np.float32),
               2: np.zeros(8, np.float32), 3: np.int32(64)}
    with pytest.raises(CompileError, match=rf"out-of-bounds store .*vadd\.ll:{store_line}:3\)"):
        run(path, "vadd", (64,), (64,), buffers)
