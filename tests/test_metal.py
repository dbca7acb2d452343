"""The Metal path without a Mac: :class:`MetalAPI` on a fake Objective-C runtime.

The fake checks every message the way ``objc_msgSend`` needs it (one C type per
selector argument, each value convertible to its type, a valid ctypes prototype),
keeps Metal's objects (buffers are real memory), and its "GPU" runs the kernel on
the CPU runner from the library bytes and the bindings it was given. So the
call sequence, the bindings by index, copy-in and copy-out, Metal's error paths
and object lifetimes are all tested here; only the real ``objc_msgSend`` into
Metal.framework is not. Tests that need the real thing run only on macOS.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_objc import FakeRuntime

import llvm_to_air
from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.metal import run as metal_run
from llvm_to_air.metal import unavailable
from llvm_to_air.metal.objc import MetalAPI, MTLSize

FIXTURES = Path(__file__).parent / "fixtures"
ON_MAC = sys.platform == "darwin" and unavailable() is None
NEEDS_MAC = pytest.mark.skipif(not ON_MAC, reason="needs macOS with a Metal GPU "
                               f"({unavailable()})")
VADD = "_Z4vaddPKfS0_Pfi"  # clang's name for the kernel, which the library keeps


@functools.cache
def metallib(rel: str) -> bytes:
    output = compile((FIXTURES / rel).read_text(), rel, emit="metallib").output
    assert isinstance(output, bytes)
    return output


def vadd_buffers(n: int = 1000) -> dict[int, Any]:
    rng = np.random.default_rng(3)
    return {0: rng.random(n, dtype=np.float32), 1: rng.random(n, dtype=np.float32),
            2: np.zeros(n, np.float32), 3: np.int32(n)}


# ----------------------------------------------------------------- layout


def test_mtlsize_is_three_nsuintegers() -> None:
    assert ctypes.sizeof(MTLSize) == 3 * ctypes.sizeof(ctypes.c_size_t) == 24
    assert [MTLSize.width.offset, MTLSize.height.offset, MTLSize.depth.offset] == [0, 8, 16]


def test_argument_types_must_match_the_selector() -> None:
    api = MetalAPI(FakeRuntime())
    with pytest.raises(TypeError, match="2 argument types for 1 colons"):
        api._send(1, "setFoo:", None, (ctypes.c_size_t, ctypes.c_size_t), 1, 2)


# --------------------------------------------------------- the sequence


def test_vadd_call_sequence_bindings_and_copy_back() -> None:
    fake = FakeRuntime()
    buffers = vadd_buffers()
    a, b, c = buffers[0].copy(), buffers[1].copy(), buffers[2]
    metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", (1024,), (256,), buffers,
              metal=MetalAPI(fake))
    np.testing.assert_array_equal(c, a + b)
    np.testing.assert_array_equal(buffers[0], a)  # read-only inputs untouched
    sent = [selector for _kind, selector in fake.messages]
    assert sent == [
        "alloc", "init", "supportsFamily:",
        "newLibraryWithData:error:", "stringWithUTF8String:", "newFunctionWithName:",
        "newComputePipelineStateWithFunction:error:", "maxTotalThreadsPerThreadgroup",
        "staticThreadgroupMemoryLength", "newCommandQueue",
        "newBufferWithBytes:length:options:", "newBufferWithBytes:length:options:",
        "newBufferWithBytes:length:options:",
        "commandBuffer", "computeCommandEncoder", "setComputePipelineState:",
        "setBuffer:offset:atIndex:", "setBuffer:offset:atIndex:", "setBuffer:offset:atIndex:",
        "setBytes:length:atIndex:", "dispatchThreads:threadsPerThreadgroup:", "endEncoding",
        "commit", "status", "status", "status", "waitUntilCompleted", "status", "contents",
        *["release"] * 8, "drain"]  # device, library, function, pipeline, queue, 3 buffers
    encoder = fake.objects[fake.kinds("encoder")[0]]
    assert sorted(encoder["buffers"]) == [0, 1, 2]
    assert encoder["bytes"] == {3: np.int32(1000).tobytes()}
    assert encoder["grid"] == (1024, 1, 1) and encoder["threadgroup"] == (256, 1, 1)


def test_every_created_object_is_released_and_the_pool_drained() -> None:
    fake = FakeRuntime()
    metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, vadd_buffers(),
              metal=MetalAPI(fake))
    created = {h for kind in ("device", "library", "function", "pipeline", "queue", "buffer")
               for h in fake.kinds(kind)}
    assert created and set(fake.released) == created
    assert len(fake.released) == len(set(fake.released))
    assert fake.dispatch_released == fake.kinds("dispatch_data")
    assert all(fake.objects[p].get("drained") for p in fake.kinds("pool"))


def test_threadgroup_memory_and_structs() -> None:
    fake = FakeRuntime()
    n, lsz = 256, 64
    x = np.random.default_rng(5).random(n, dtype=np.float32)
    out = np.zeros(n, np.float32)
    weights = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    cfg = np.array([(0.5, 3)], dtype=[("scale", "<f4"), ("shift", "<i4")])
    metal_run(metallib("opencl19/local_param.ll"), "local_param", n, lsz,
              {0: x, 1: out, 2: weights, 3: cfg}, threadgroup_memory={0: lsz * 4},
              metal=MetalAPI(fake))
    lid = np.arange(n) % lsz
    j = (np.arange(n) // lsz) * lsz + (lid + 3) % lsz
    np.testing.assert_allclose(out, x[j] * weights[lid & 3] * np.float32(0.5), rtol=1e-6)
    encoder = fake.objects[fake.kinds("encoder")[0]]
    assert encoder["memory"] == {0: 256}
    assert encoder["bytes"][3] == cfg.tobytes()


def test_gpu_ir_input_is_compiled_first_and_names_match_demangled() -> None:
    buffers = vadd_buffers(300)
    metal_run(FIXTURES / "cuda14-O2/vadd.ll", "vadd", 320, 64, buffers,
              metal=MetalAPI(FakeRuntime()))
    np.testing.assert_array_equal(buffers[2], buffers[0] + buffers[1])


# ------------------------------------------------------------- errors


@pytest.mark.parametrize(("fail", "words"), [
    ("library", "k.metallib: error: Metal refused the library: Invalid library file "
                "(MTLLibraryErrorDomain code 1)"),
    ("pipeline", "k.metallib: error: Metal could not build a compute pipeline for kernel "
                 f"'{VADD}': Compiler encountered an internal error (CompilerError code 2)"),
    ("command", f"k.metallib: error: the GPU did not complete kernel '{VADD}': command buffer "
                "status error, error page fault: Discarded (victim of GPU error/recovery) "
                "(MTLCommandBufferErrorDomain code 3)"),
    ("small", f"threadgroup 512x1x1 has 512 threads; this pipeline for kernel '{VADD}' "
              "allows at most 256"),
])
def test_metal_errors_are_located_and_specific(tmp_path: Path, fail: str, words: str) -> None:
    path = tmp_path / "k.metallib"
    path.write_bytes(metallib("cuda19-O2/vadd.ll"))
    fake = FakeRuntime(fail=fail)
    buffers = vadd_buffers()
    before = buffers[2].copy()
    with pytest.raises(CompileError) as info:
        metal_run(str(path), "vadd", 1024, 512 if fail == "small" else 256, buffers,
                  metal=MetalAPI(fake))
    assert info.value.format().startswith(f"{path.parent}/{words}") or \
        words in info.value.format()
    assert str(path) in info.value.format()
    np.testing.assert_array_equal(buffers[2], before)  # nothing copied back
    created = {h for kind in ("device", "library", "function", "pipeline", "queue", "buffer")
               for h in fake.kinds(kind)}
    assert set(fake.released) == created  # released on the error path too


def test_timeout_stops_waiting_and_copies_nothing_back() -> None:
    fake = FakeRuntime(fail="hang")
    buffers = vadd_buffers()
    with pytest.raises(CompileError, match=f"kernel '{VADD}' did not finish on the GPU within "
                                           "0.05 s"):
        metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, buffers, timeout=0.05,
                  metal=MetalAPI(fake))
    assert not buffers[2].any()
    assert ("command_buffer", "waitUntilCompleted") not in fake.messages
    created = {h for kind in ("device", "library", "function", "pipeline", "queue", "buffer")
               for h in fake.kinds(kind)}
    assert set(fake.released) == created


def test_no_gpu_and_missing_function_and_binding_errors() -> None:
    with pytest.raises(CompileError, match="MTLCreateSystemDefaultDevice returned nil"):
        metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, vadd_buffers(),
                  metal=MetalAPI(FakeRuntime(gpu=False)))
    with pytest.raises(CompileError, match=rf"no kernel 'nope' in <input> \(kernels: {VADD}\)"):
        metal_run(metallib("cuda19-O2/vadd.ll"), "nope", 1024, 256, vadd_buffers(),
                  metal=MetalAPI(FakeRuntime()))
    buffers = vadd_buffers()
    del buffers[1]
    fake = FakeRuntime()
    with pytest.raises(CompileError, match="needs a buffer at index 1"):
        metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, buffers,
                  metal=MetalAPI(fake))
    assert fake.messages == []  # the plan is checked before Metal is touched
    with pytest.raises(CompileError, match="check_bounds is a CPU-runner feature"):
        metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, vadd_buffers(),
                  check_bounds=True, metal=MetalAPI(FakeRuntime()))


def test_missing_function_in_the_library_lists_what_is_there() -> None:
    fake = FakeRuntime()
    api = MetalAPI(fake)
    from llvm_to_air.metal.execute import execute
    from llvm_to_air.plan import DispatchPlan

    plan = DispatchPlan("gone", (), (1, 1, 1), (1, 1, 1), 0)
    with pytest.raises(CompileError, match=r"no function 'gone' in the library "
                                           rf"\(functions: {VADD}\)"):
        execute(api, metallib("cuda19-O2/vadd.ll"), "lib.metallib", "gone", plan)


def test_gpu_without_nonuniform_threadgroups_is_refused() -> None:
    class OldGPU(FakeRuntime):
        def m_supportsFamily_(self, device: dict, family: int) -> int:
            return int(family in (1001, 1002, 1003, 2001, 3001))

    fake = OldGPU()
    with pytest.raises(CompileError, match="'Fake GPU' has no non-uniform threadgroup sizes"):
        metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, vadd_buffers(),
                  metal=MetalAPI(fake))
    asked = [a for kind, a in fake.messages if a == "supportsFamily:"]
    assert len(asked) == 8


def test_device_facts() -> None:
    from llvm_to_air.metal import facts

    found = facts(MetalAPI(FakeRuntime()))
    assert found["gpu"] == "Fake GPU"
    assert found["gpu_families"] == ["apple9", "mac2", "metal3"]
    assert found["metal"] == "Metal 3"


# ------------------------------------------------------ off macOS


@pytest.mark.skipif(ON_MAC, reason="checks the error off macOS")
def test_metal_off_macos_is_a_clear_error() -> None:
    for call in (lambda: metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256,
                                   vadd_buffers()),
                 lambda: llvm_to_air.run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256,
                                         vadd_buffers(), device="metal")):
        with pytest.raises(CompileError, match=r"Metal needs macOS with a Metal GPU.*"
                                               r"no Objective-C runtime, no Metal\.framework"):
            call()


def test_top_level_run_picks_the_device() -> None:
    buffers = vadd_buffers()
    device = None if not ON_MAC else "cpu"
    llvm_to_air.run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, buffers, device=device)
    np.testing.assert_array_equal(buffers[2], buffers[0] + buffers[1])
    with pytest.raises(CompileError, match="unknown device 'gpu'"):
        llvm_to_air.run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, buffers,
                        device="gpu")


# --------------------------------------------------------- on a Mac


@NEEDS_MAC
def test_real_metal_vadd() -> None:
    buffers = vadd_buffers()
    metal_run(metallib("cuda19-O2/vadd.ll"), "vadd", 1024, 256, buffers)
    np.testing.assert_array_equal(buffers[2], buffers[0] + buffers[1])


@NEEDS_MAC
def test_real_metal_refuses_garbage_with_a_located_error() -> None:
    data = bytearray(metallib("cuda19-O2/vadd.ll"))
    data[100:200] = bytes(100)
    with pytest.raises(CompileError, match="Metal refused the library"):
        from llvm_to_air.metal import api
        from llvm_to_air.metal.execute import execute
        from llvm_to_air.plan import DispatchPlan

        execute(api(), bytes(data), "bad.metallib", "vadd",
                DispatchPlan("vadd", (), (1, 1, 1), (1, 1, 1), 0))


# ------------------------------------------------------- shared memory


def test_arrays_sharing_memory_share_one_buffer() -> None:
    from llvm_to_air.metal.execute import memory_groups
    from llvm_to_air.plan import SetBuffer, SetBytes

    x = np.zeros(64, np.float32)
    y = np.zeros(8, np.float32)
    calls = (SetBuffer(0, 0, "alloc", x, False), SetBuffer(1, 1, "aligned", x, True),
             SetBytes(2, 2, "n", np.int64(3) * np.ones(1, np.int64)),
             SetBuffer(3, 3, "tail", x[32:], True), SetBuffer(4, 4, "other", y, False),
             SetBuffer(5, 5, "empty", np.zeros(0, np.float32), False))
    groups = memory_groups(calls)
    base = x.ctypes.data
    assert sorted(groups) == sorted([(base, base + 256, [0, 1, 3]),
                                     (y.ctypes.data, y.ctypes.data + 32, [4])])


def test_mlir_descriptor_binds_one_buffer_twice() -> None:
    fake = FakeRuntime()
    from llvm_to_air.selftest.cases import memref

    rng = np.random.default_rng(9)
    a, b, c = (rng.random(300, dtype=np.float32) for _ in range(3))
    c[:] = 0
    metal_run(metallib("mlir-nvvm/elementwise_add.ll"), "vadd", 320, 64,
              {**memref(a, 0), **memref(b, 5), **memref(c, 10)}, metal=MetalAPI(fake))
    np.testing.assert_array_equal(c, a + b)
    encoder = fake.objects[fake.kinds("encoder")[0]]
    bound = encoder["buffers"]
    for first in (0, 5, 10):
        assert bound[first][0] is bound[first + 1][0] and bound[first][1] == 0
    assert len(fake.kinds("buffer")) == 3


# ------------------------------------------- the real runtime's send path


def _runtime_with(callback: Any, selector: str) -> Any:
    """A :class:`Runtime` whose objc_msgSend is a ctypes callback (no libobjc here)."""
    from llvm_to_air.metal.objc import Runtime

    runtime = Runtime.__new__(Runtime)
    runtime._prototypes = {}
    runtime._selectors = {selector: 0x5E1}
    runtime._msgsend = ctypes.cast(callback, ctypes.c_void_p).value
    return runtime


def test_send_passes_mtlsize_by_value_through_the_exact_prototype() -> None:
    seen = []

    @ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, MTLSize, MTLSize)
    def msgsend(receiver: int, sel: int, grid: MTLSize, group: MTLSize) -> None:
        seen.append((receiver, sel, (grid.width, grid.height, grid.depth),
                     (group.width, group.height, group.depth)))

    selector = "dispatchThreads:threadsPerThreadgroup:"
    api = MetalAPI(_runtime_with(msgsend, selector))
    api.dispatch_threads(0xE7C, (1024, 3, 2), (256, 1, 1))
    assert seen == [(0xE7C, 0x5E1, (1024, 3, 2), (256, 1, 1))]


def test_send_out_parameter_and_results() -> None:
    @ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                      ctypes.POINTER(ctypes.c_void_p))
    def msgsend(receiver: int, sel: int, function: int, error: Any) -> int | None:
        error[0] = 0xE44
        return None

    selector = "newComputePipelineStateWithFunction:error:"
    api = MetalAPI(_runtime_with(msgsend, selector))
    assert api.new_pipeline(0xD, 0xF) == (None, 0xE44)


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the error off macOS")
def test_real_runtime_refuses_to_start_off_macos() -> None:
    from llvm_to_air.metal.objc import Runtime

    with pytest.raises(OSError, match="exist only on macOS"):
        Runtime()
