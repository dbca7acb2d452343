"""Constructs of public CUDA code: by-value parameters a kernel writes, device assert,
device printf (refused by name), constant strings."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import FIXTURES

import llvm_to_air
from llvm_to_air import CompileError

VARIANTS = ["cuda19-O0", "cuda19-O2", "cuda14-O2"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_written_by_value_parameter_is_a_private_copy(variant: str) -> None:
    source = FIXTURES / variant / "byvalue_written.ll"
    x = np.linspace(1, 2, 50, dtype=np.float32)
    expected = x * np.float32(1.5) * np.float32(2.5) * np.float32(3.5)
    scale = np.zeros(2, np.float32)
    scale[0] = 1.5
    scale.view(np.int32)[1] = 3
    before = scale.copy()
    [kernel] = llvm_to_air.compile(source).kernels
    [param] = [a for a in kernel.arguments if a.kind == "constant" and a.type_size == 8]
    assert param.access == "air.read"
    llvm_to_air.run(source, "byvalue_written", 64, 32,
                    {0: x, param.location_index: scale, 2: np.int32(50)})
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    np.testing.assert_array_equal(scale, before)  # the host's constant buffer is untouched


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_failed_device_assert_ends_the_thread(variant: str) -> None:
    source = FIXTURES / variant / "device_assert.ll"
    result = llvm_to_air.compile(source)
    assert any("assert" in w.message or "llvm.trap" in w.message for w in result.warnings)
    x = np.arange(40, dtype=np.float32)
    # 64 threads, 40 elements: the 24 extra threads fail the assert and end there
    llvm_to_air.run(source, "device_assert_scale", 64, 32, {0: x, 1: np.int32(40)})
    np.testing.assert_array_equal(x, 2 * np.arange(40, dtype=np.float32))


@pytest.mark.parametrize(("fixture", "callee"), [("device_printf", "@vprintf"),
                                                  ("opencl_printf", "@printf")])
def test_device_printf_is_refused_by_name(fixture: str, callee: str) -> None:
    """CUDA's vprintf and OpenCL's printf (a constant-space format string): the printf is
    named, not the double-precision argument slot or the string."""
    source = FIXTURES / "refused" / f"{fixture}.ll"
    with pytest.raises(CompileError, match="printf is not supported") as info:
        llvm_to_air.compile(source)
    assert info.value.location.line > 0
    assert callee in str(info.value) and "double" not in str(info.value)
