"""AIR conformance verifier: does a module look like AIR that Apple's compiler would produce?

The rules come from AIR_NOTES and from the Apple-built modules in the
reference corpus (AIR 1.6 to 2.8, Xcode 9 to 26, kernels and shaders,
dynamic libraries). A rule is a row of the :data:`RULES` table: an id, a
one-line summary, a check function, the AIR versions it applies to
(``since``/``until``) and its *profile*:

* ``apple``: Apple's dialect as Apple's compiler writes it, the floor every
  Apple-built module meets (``llvm-to-air verify``; zero errors on every
  module of the reference corpus);
* ``ours``: what llvm-to-air promises beyond that floor for its own output
  (``llvm-to-air verify --ours``: every module we emit is checked with it).
  The ``ours`` profile runs every row of both profiles' shared rules plus its
  own stricter rows; where one rule id has an ``apple`` row and an ``ours`` row,
  each profile runs only its own.

Apple's dialect allows what our output never writes: ``fastcc`` helpers and
calls, argument buffers (``air.indirect_buffer``), function-constant
arguments, ``void *`` buffers without a type size, AIR 1.x modules with an
older data layout and no ``air.max_*`` flags, dynamic-library tables
(``air.dyld_*``) and imported functions, mesh address space 7, device
references with ``air.buffer_size``.

Under the ``apple`` profile every Apple-built module of the corpus (1,202: the
modules of 81 libraries, 17 ``.air`` files, 17 AIR texts) gets no diagnostic
at all, not even a warning: what only some Apple versions write is keyed by
AIR version (``frame-pointer`` from 2.6, ``air.address_space`` on buffers from
2.5), and what Apple writes is accepted (``air.max_work_group_size`` nodes after
a kernel's argument list, ``air.struct_type_info`` with nested and
argument-buffer fields, ``air.buffer_size`` of array references, modules that
export nothing). The ``ours`` profile keeps the strict forms. ``llvm.*``
intrinsics outside the allow-list are warnings unless they belong to another
target (``llvm.nvvm.*``, ``llvm.amdgcn.*``...).

The verifier keeps its own copy of the AIR facts (data layout, role types)
instead of importing the generator's, so that it can catch generator bugs.

Public API: :func:`verify_air`, :func:`verify_air_text`, :class:`Diagnostic`,
:data:`RULES`.

Layout (imports run downward only): ``findings`` (diagnostics, metadata helpers),
``facts`` (the AIR facts as tables), ``kernels`` (``!air.kernel`` read into objects),
``context`` (the module under check and shared analyses), the rules by concern
(``module_rules``, ``kernel_rules``, ``code_rules``), and ``table`` (the rows and the
entry points that run them).
"""

from __future__ import annotations

from llvm_to_air.verify.facts import KIND_ADDRESS_SPACES
from llvm_to_air.verify.findings import Diagnostic
from llvm_to_air.verify.kernels import parse_kernels
from llvm_to_air.verify.table import (
    KERNEL,
    PROFILES,
    RULE_IDS,
    RULES,
    Profile,
    Rule,
    errors_of,
    verify_air,
    verify_air_text,
)

__all__ = [
    "KERNEL",
    "KIND_ADDRESS_SPACES",
    "PROFILES",
    "RULES",
    "RULE_IDS",
    "Diagnostic",
    "Profile",
    "Rule",
    "errors_of",
    "parse_kernels",
    "verify_air",
    "verify_air_text",
]
