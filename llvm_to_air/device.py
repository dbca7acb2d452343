"""``llvm_to_air.run``: run a kernel on the CPU runner or on the Apple GPU.

``device="cpu"`` is :func:`llvm_to_air.runner.run`, ``device="metal"`` is
:func:`llvm_to_air.metal.run` (same arguments, same bindings, one binding plan);
without ``device``, Metal where it is available and the CPU elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llvm_to_air.errors import CompileError


def run(module_or_path: Any, kernel: str, grid: Sequence[int] | int,
        threadgroup: Sequence[int] | int, buffers: Mapping[int, Any],
        threadgroup_memory: Mapping[int, int] | None = None,
        check_bounds: bool | None = None, timeout: float | None = None, *,
        device: str | None = None, textures: Mapping[int, Any] | None = None) -> None:
    """Run ``kernel`` over ``grid`` threads in threadgroups of ``threadgroup`` on ``device``
    ("cpu" or "metal"); numpy arrays in ``buffers`` (by location index) change in place.

    ``check_bounds`` None is the device's default (checked on the CPU; Metal has no
    checks and refuses True). ``textures``: numpy images by texture index (CPU only, for
    now). See :func:`llvm_to_air.runner.run` for the rest.
    """
    if device is None:
        from llvm_to_air.metal import unavailable

        device = "cpu" if unavailable() else "metal"
    if device == "metal":
        from llvm_to_air.metal import run as run_metal

        if textures:
            raise CompileError("textures run on the CPU runner only for now",
                               hint="pass device='cpu'")
        run_metal(module_or_path, kernel, grid, threadgroup, buffers, threadgroup_memory,
                  check_bounds, timeout)
        return
    if device != "cpu":
        raise CompileError(f"unknown device '{device}'", hint="use 'cpu' or 'metal'")
    from llvm_to_air.runner import run as run_cpu

    extra: dict[str, Any] = {} if check_bounds is None else {"check_bounds": check_bounds}
    run_cpu(module_or_path, kernel, grid, threadgroup, buffers, threadgroup_memory,
            timeout=timeout, textures=textures, **extra)


__all__ = ["run"]
