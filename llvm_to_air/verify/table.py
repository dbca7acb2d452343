"""The rule table: each row's id, check, profiles, AIR versions and function kinds;
and the entry points that run it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from llvm_to_air.ir.model import (
    Module,
)
from llvm_to_air.verify.code_rules import (
    check_address_space,
    check_address_space_by_kind,
    check_addrspacecast,
    check_atomic_address_space,
    check_calling_convention,
    check_convergent,
    check_entry_calling_convention,
    check_float_type,
    check_indirect_call,
    check_inline_asm,
    check_int_width,
    check_llvm_atomic,
    check_llvm_intrinsic,
    check_private_pointer,
    check_private_pointer_with_dyld,
    check_trap,
    check_undefined_function,
    check_undefined_function_or_imported,
)
from llvm_to_air.verify.context import VerifyContext
from llvm_to_air.verify.findings import Diagnostic, Finding
from llvm_to_air.verify.kernel_rules import (
    check_arg_node,
    check_arg_role,
    check_buffer_access,
    check_buffer_address_space,
    check_buffer_address_space_if_present,
    check_buffer_location,
    check_buffer_size,
    check_buffer_size_value,
    check_buffer_type_name,
    check_buffer_type_size,
    check_buffer_type_size_unless_void,
    check_builtin_type,
    check_kernel_node,
    check_kernel_node_and_exports,
)
from llvm_to_air.verify.module_rules import (
    check_air_version,
    check_air_version_shape,
    check_datalayout,
    check_language_version,
    check_module_flags,
    check_module_flags_by_version,
    check_old_datalayout,
    check_triple,
)

# ----------------------------------------------------------------------- the table


Profile = Literal["apple", "ours"]
PROFILES: tuple[Profile, ...] = ("apple", "ours")
AirVersion = tuple[int, int]


@dataclass(frozen=True)
class Rule:
    """A verifier rule: its id (what diagnostics and tests name), a summary, its check, the
    profiles it belongs to, the AIR versions (``since`` <= version < ``until``) it covers
    (None covers every version, and a module without ``!air.version`` as well) and the
    function kinds it is about (``kinds``: it runs on modules that list an entry function
    of one of them; None: every module)."""

    id: str
    summary: str
    check: Callable[[VerifyContext], Iterable[Finding]]
    profiles: frozenset[str] = frozenset(PROFILES)
    since: AirVersion | None = None
    until: AirVersion | None = None
    kinds: frozenset[str] | None = None

    def applies(self, profile: str, version: AirVersion | None,
                kinds: frozenset[str] | None = None) -> bool:
        """Whether the row runs; ``kinds`` None (not known) matches every row."""
        if profile not in self.profiles:
            return False
        if kinds is not None and self.kinds is not None and not self.kinds & kinds:
            return False
        if version is None:
            return self.since is None
        return ((self.since is None or version >= self.since)
                and (self.until is None or version < self.until))


def _rule(rule_id: str, check: Callable[[VerifyContext], Iterable[Finding]],
          profiles: tuple[str, ...] = PROFILES, since: AirVersion | None = None,
          until: AirVersion | None = None, kinds: frozenset[str] | None = None) -> Rule:
    summary = (check.__doc__ or "").strip().splitlines()[0] if check.__doc__ else rule_id
    return Rule(rule_id, summary, check, frozenset(profiles), since, until, kinds)


#: Rows about ``!air.kernel`` entries and their argument nodes.
KERNEL: frozenset[str] = frozenset({"kernel"})


APPLE: tuple[str, ...] = ("apple",)
OURS: tuple[str, ...] = ("ours",)
# Buffer nodes name their address space in every Apple module from AIR 2.5 on; 3,016
# buffers of AIR 1.6-2.4 modules in the corpus do not.
ADDRESS_SPACE_SINCE: AirVersion = (2, 5)
# AIR before 2.1 (Xcode 11 and older) has an x86-style data layout (f80:128:128).
MODERN_LAYOUT_SINCE: AirVersion = (2, 1)

RULES: tuple[Rule, ...] = (
    _rule("triple", check_triple),
    _rule("datalayout", check_datalayout, APPLE, since=MODERN_LAYOUT_SINCE),
    _rule("datalayout", check_old_datalayout, APPLE, until=MODERN_LAYOUT_SINCE),
    _rule("datalayout", check_datalayout, OURS),
    _rule("air-version", check_air_version_shape, APPLE),
    _rule("air-version", check_air_version, OURS),
    _rule("language-version", check_language_version),
    _rule("module-flags", check_module_flags_by_version, APPLE),
    _rule("module-flags", check_module_flags, OURS),
    _rule("kernel-node", check_kernel_node, APPLE, kinds=KERNEL),
    _rule("kernel-node", check_kernel_node_and_exports, OURS),
    _rule("arg-node", check_arg_node, kinds=KERNEL),
    _rule("arg-role", check_arg_role, kinds=KERNEL),
    _rule("buffer-location", check_buffer_location, kinds=KERNEL),
    _rule("buffer-access", check_buffer_access, kinds=KERNEL),
    _rule("buffer-address-space", check_buffer_address_space, APPLE, since=ADDRESS_SPACE_SINCE,
          kinds=KERNEL),
    _rule("buffer-address-space", check_buffer_address_space_if_present, APPLE,
          until=ADDRESS_SPACE_SINCE, kinds=KERNEL),
    _rule("buffer-address-space", check_buffer_address_space, OURS, kinds=KERNEL),
    _rule("buffer-type-size", check_buffer_type_size_unless_void, APPLE, kinds=KERNEL),
    _rule("buffer-type-size", check_buffer_type_size, OURS, kinds=KERNEL),
    _rule("buffer-type-name", check_buffer_type_name, kinds=KERNEL),
    _rule("buffer-size", check_buffer_size_value, APPLE, kinds=KERNEL),
    _rule("buffer-size", check_buffer_size, OURS, kinds=KERNEL),
    _rule("builtin-type", check_builtin_type, kinds=KERNEL),
    _rule("calling-convention", check_entry_calling_convention, APPLE),
    _rule("calling-convention", check_calling_convention, OURS),
    _rule("address-space", check_address_space_by_kind, APPLE),
    _rule("address-space", check_address_space, OURS),
    _rule("private-pointer", check_private_pointer_with_dyld, APPLE),
    _rule("private-pointer", check_private_pointer, OURS),
    _rule("addrspacecast", check_addrspacecast),
    _rule("llvm-atomic", check_llvm_atomic),
    _rule("float-type", check_float_type),
    _rule("int-width", check_int_width),
    _rule("inline-asm", check_inline_asm),
    _rule("trap", check_trap),
    _rule("indirect-call", check_indirect_call),
    _rule("llvm-intrinsic", check_llvm_intrinsic),
    _rule("undefined-function", check_undefined_function_or_imported, APPLE),
    _rule("undefined-function", check_undefined_function, OURS),
    _rule("convergent", check_convergent),
    _rule("atomic-address-space", check_atomic_address_space),
)
RULE_IDS: frozenset[str] = frozenset(rule.id for rule in RULES)


def verify_air(module: Module, rules: Iterable[Rule] = RULES,
               profile: str = "apple") -> list[Diagnostic]:
    """Check ``module`` against the rows of ``rules`` for ``profile`` and its AIR version;
    errors and warnings, in rule order."""
    ctx = VerifyContext(module)
    version = ctx.air_version[:2] if ctx.air_version is not None else None
    return [Diagnostic(f.severity, rule.id, f.message, f.location)
            for rule in rules if rule.applies(profile, version, ctx.function_kinds)
            for f in rule.check(ctx)]


def verify_air_text(text: str, file: str = "<input>", profile: str = "apple") -> list[Diagnostic]:
    """Read LLVM IR text (any LLVM 14-22 dialect, typed pointers included) and verify it.

    Raises :class:`llvm_to_air.errors.CompileError` if the text is not valid LLVM IR.
    """
    from llvm_to_air.ir import read_module

    return verify_air(read_module(text, file), profile=profile)


def errors_of(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Only the errors."""
    return [d for d in diagnostics if d.severity == "error"]
