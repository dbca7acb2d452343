"""Device ``printf``, ``assert`` and heap allocation: what Apple GPUs cannot do, said plainly.

Expects: kernels with their helpers inlined (``inline_into_kernels``), before
``legalize_types`` (printf promotes float arguments to ``double``, which would otherwise be
reported as a double-precision value instead of as the printf it is).

Guarantees: a call to a device printf (CUDA ``vprintf``, OpenCL ``printf``, HIP/OCKL
``__ockl_printf_*``) is a located :class:`CompileError` naming printf, and so is a call to
the device heap (CUDA's in-kernel ``malloc``/``free``, HIP's ``__ockl_dm_*``); a CUDA/HIP device
assertion failure call (``__assertfail``, ``__assert_fail``) becomes ``llvm.trap``, which
``legalize`` turns into the end of the failing thread, with a warning: Apple GPUs cannot stop
a kernel and report a message, but a thread whose assertion failed must not go on (in CUDA
it would not), since what follows may read out of bounds.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call, Function, Module
from llvm_to_air.ir.types import VOID, FunctionType, PointerType
from llvm_to_air.rewrite.context import LoweringContext

PRINTF_FUNCTIONS = ("vprintf", "printf", "__ockl_printf_begin", "__ockl_printf_append_args",
                    "__ockl_printf_append_string_n", "__printf_alloc")
ASSERT_FAILURES = ("__assertfail", "__assert_fail", "__ockl_assert_fail")
HEAP_FUNCTIONS = ("malloc", "free", "__ockl_dm_alloc", "__ockl_dm_dealloc")


def lower_device_io(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        for block in fn.blocks:
            kept = []
            for inst in block.instructions:
                callee = inst.callee_function if isinstance(inst, Call) else None
                name = callee.name if callee is not None else ""
                if name in PRINTF_FUNCTIONS or name.startswith("__ockl_printf"):
                    raise CompileError(
                        f"printf is not supported: device printf ('@{name}') in @{fn.name}",
                        inst.location or fn.location,
                        "Apple GPUs have no printf in compute kernels; remove it, or write the "
                        "values to a buffer and print them on the host")
                if name in HEAP_FUNCTIONS and callee is not None and callee.is_declaration:
                    raise CompileError(
                        f"device heap allocation is not supported: '@{name}' in @{fn.name}",
                        inst.location or fn.location,
                        "Metal kernels have no heap; allocate the memory on the host and pass "
                        "it as a buffer (a per-thread slice of one buffer replaces malloc)")
                if name in ASSERT_FAILURES:
                    ctx.warnings.append(CompileError(
                        f"device assert in @{fn.name}: a thread whose assertion fails ends "
                        f"there, without a message ('@{name}' removed)",
                        inst.location or fn.location,
                        "Apple GPUs cannot stop a kernel and report a message; check the "
                        "condition on the host or write a flag to a buffer"))
                    kept.append(_trap(module, inst))
                    continue
                kept.append(inst)
            block.instructions = kept


def _trap(module: Module, call: Call) -> Call:
    """``call void @llvm.trap()`` in place of ``call``."""
    trap = module.get_function("llvm.trap")
    if trap is None:
        trap = Function(PointerType(0), name="llvm.trap", function_type=FunctionType(VOID, ()))
        module.functions.append(trap)
    return Call(VOID, opcode="call", ops=[trap], function_type=trap.function_type,
                parent=call.parent, location=call.location)
