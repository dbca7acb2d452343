"""Call-site checks: every direct call agrees with its callee's function type.

With opaque pointers LLVM accepts a call whose argument list differs from
the callee's declaration (the call carries its own function type); C's
unprototyped calls produce them. The later stages bind arguments to
parameters one to one, so a mismatch is reported here, at the call.

Expects: a module as the reader returns it. Guarantees: every call to a
function of this module (varargs callees aside) has the callee's parameter
count, parameter types and return type (``device_io`` handles printf and assert).
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call, Module
from llvm_to_air.rewrite.context import LoweringContext


def check_call_signatures(module: Module, ctx: LoweringContext) -> None:
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


__all__ = ["check_call_signatures"]
