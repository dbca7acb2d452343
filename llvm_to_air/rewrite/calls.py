"""Call-site checks: every direct call agrees with its callee's function type, and
calls to runtime services Apple GPUs lack are named.

With opaque pointers LLVM accepts a call whose argument list differs from
the callee's declaration (the call carries its own function type); C's
unprototyped calls produce them. The later stages bind arguments to
parameters one to one, so a mismatch is reported here, at the call.

Expects: a module as the reader returns it. Guarantees: every call to a
function of this module (varargs callees aside) has the callee's parameter
count, parameter types and return type; no call to device ``printf`` remains (an
error), and a failed ``assert`` (CUDA's ``__assertfail``) is an ``llvm.trap``, which
``legalize`` turns into the end of the thread, with a warning.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call, Function, Module
from llvm_to_air.ir.types import VOID, FunctionType, PointerType
from llvm_to_air.rewrite.context import LoweringContext

# device printf of each producer: CUDA's vprintf, OpenCL's and HIP's printf
PRINTF_FUNCTIONS = frozenset({"vprintf", "printf", "__ockl_printf_begin"})
# a failed assert: CUDA's __assertfail, glibc-style __assert_fail in C device code
ASSERT_FUNCTIONS = frozenset({"__assertfail", "__assert_fail"})


def check_call_signatures(module: Module, ctx: LoweringContext) -> None:
    for fn in module.functions:
        for block in fn.blocks:
            for index, inst in enumerate(block.instructions):
                callee = inst.callee_function if isinstance(inst, Call) else None
                if callee is not None and callee.name in PRINTF_FUNCTIONS:
                    raise CompileError(f"device printf ('@{callee.name}') in @{fn.name} is not "
                                       "supported: Apple GPUs have no printf", inst.location or
                                       fn.location, hint="remove it, or write values to a "
                                                         "buffer and print them on the host")
                if callee is not None and callee.name in ASSERT_FUNCTIONS:
                    block.instructions[index] = _trap_call(module, inst)
    for fn in module.functions:
        for inst in fn.instructions():
            if not isinstance(inst, Call):
                continue
            callee = inst.callee_function
            if callee is None or callee.function_type.vararg:
                continue
            if inst.function_type == callee.function_type:
                continue
            raise CompileError(
                f"call to '@{callee.name}' as {inst.function_type} does not match its "
                f"{'declaration' if callee.is_declaration else 'definition'} "
                f"{callee.function_type} (in @{fn.name})", inst.location or fn.location,
                hint="declare the function with the parameters it is called with")


def _trap_call(module: Module, call: Call) -> Call:
    """``llvm.trap()`` in place of a failed assert's report (its strings go unused)."""
    trap = module.get_function("llvm.trap")
    if trap is None:
        trap = Function(PointerType(0), name="llvm.trap", function_type=FunctionType(VOID, ()))
        module.functions.append(trap)
    return Call(VOID, opcode="call", ops=[trap], function_type=trap.function_type,
                parent=call.parent, location=call.location)


__all__ = ["check_call_signatures"]
