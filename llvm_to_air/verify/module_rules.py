"""Rules about the module as a whole: triple, data layout, versions, module flags."""

from __future__ import annotations

from collections.abc import Iterator

from llvm_to_air.ir.model import (
    MDNode,
)
from llvm_to_air.verify.context import VerifyContext, _single_node
from llvm_to_air.verify.facts import AIR_DATALAYOUT, AIR_OSES, AIR_TO_MSL, MODULE_FLAGS, TRIPLE_RE
from llvm_to_air.verify.findings import Finding, _err, _md_int, _md_repr, _md_text, _warn

# ------------------------------------------------------------------- module checks


def check_triple(ctx: VerifyContext) -> Iterator[Finding]:
    """``air64-apple-<os>`` or ``air64_vNN-apple-<os>``."""
    triple = ctx.module.triple
    match = TRIPLE_RE.match(triple or "")
    if match is None or match["os"] not in AIR_OSES:
        shown = f"'{triple}'" if triple else "missing"
        yield _err(f"target triple is {shown}; AIR needs 'air64-apple-<os>' or "
                   "'air64_vNN-apple-<os>' (e.g. 'air64-apple-macosx14.0.0')", ctx.where)


def check_datalayout(ctx: VerifyContext) -> Iterator[Finding]:
    """The data layout string is exactly Apple's."""
    layout = ctx.module.datalayout
    if layout == AIR_DATALAYOUT:
        return
    if not layout:
        yield _err("module has no target datalayout; AIR needs Apple's", ctx.where)
        return
    ours, theirs = layout.split("-"), AIR_DATALAYOUT.split("-")
    diff = next((f"'{a}' where AIR has '{b}'" for a, b in zip(ours, theirs, strict=False)
                 if a != b), f"{len(ours)} components where AIR has {len(theirs)}")
    yield _err(f"target datalayout differs from AIR's: {diff}", ctx.where)


OLD_DATALAYOUT_COMPONENT = "f80:128:128"


def check_old_datalayout(ctx: VerifyContext) -> Iterator[Finding]:
    """Before AIR 2.1: Apple's layout, or the older one that adds ``f80:128:128``."""
    layout = ctx.module.datalayout or ""
    parts = [p for p in layout.split("-") if p != OLD_DATALAYOUT_COMPONENT]
    if "-".join(parts) != AIR_DATALAYOUT:
        yield from check_datalayout(ctx)


def check_air_version_shape(ctx: VerifyContext) -> Iterator[Finding]:
    """``!air.version`` is one node of three integers, AIR 1.x or 2.x."""
    nmd = ctx.module.get_named_metadata("air.version")
    if nmd is None:
        yield _err("module has no !air.version (expected !{i32 M, i32 N, i32 P})", ctx.where)
        return
    version = ctx.air_version
    if version is None or len(nmd.nodes) != 1 or version[0] not in (1, 2):
        found = ", ".join(_md_repr(n) for n in nmd.nodes) or "no node"
        yield _err(f"!air.version must be one node !{{i32 M, i32 N, i32 P}} with M 1 or 2; "
                   f"found {found}", ctx.where)
        return
    yield from _triple_agrees(ctx, version)


def _triple_agrees(ctx: VerifyContext, version: tuple[int, int, int]) -> Iterator[Finding]:
    match = TRIPLE_RE.match(ctx.module.triple or "")
    if match is not None and match["air"] and match["air"] != f"{version[0]}{version[1]}":
        yield _err(f"triple '{ctx.module.triple}' names AIR {match['air'][0]}."
                   f"{match['air'][1:]} but !air.version is {version[0]}.{version[1]}",
                   ctx.where)


def check_air_version(ctx: VerifyContext) -> Iterator[Finding]:
    """``!air.version = !{!{i32 2, i32 N, i32 0}}``, agreeing with an ``air64_vNN`` triple."""
    nmd = ctx.module.get_named_metadata("air.version")
    if nmd is None:
        yield _err("module has no !air.version (expected !{i32 2, i32 N, i32 0})", ctx.where)
        return
    version = ctx.air_version
    if version is None or len(nmd.nodes) != 1 or version[0] != 2 or version[2] != 0:
        found = ", ".join(_md_repr(n) for n in nmd.nodes) or "no node"
        yield _err(f"!air.version must be one node !{{i32 2, i32 N, i32 0}}; found {found}",
                   ctx.where)
        return
    if version[:2] not in AIR_TO_MSL:
        yield _warn(f"!air.version 2.{version[1]} is not a known AIR version", ctx.where)
    yield from _triple_agrees(ctx, version)


def check_language_version(ctx: VerifyContext) -> Iterator[Finding]:
    """``!air.language_version = !{!{!"Metal", i32 x, i32 y, i32 z}}``."""
    nmd = ctx.module.get_named_metadata("air.language_version")
    if nmd is None:
        yield _err('module has no !air.language_version (expected !{!"Metal", i32 x, i32 y, '
                   "i32 z})", ctx.where)
        return
    node = _single_node(ctx.module, "air.language_version")
    ops = node.operands if node is not None else []
    numbers = [_md_int(op) for op in ops[1:]]
    if (node is None or len(ops) != 4 or _md_text(ops[0]) != "Metal"
            or any(n is None for n in numbers)):
        found = ", ".join(_md_repr(n) for n in nmd.nodes) or "no node"
        yield _err(f'!air.language_version must be one node !{{!"Metal", i32 x, i32 y, i32 z}}; '
                   f"found {found}", ctx.where)
        return
    msl = (numbers[0], numbers[1])
    air = ctx.air_version
    expected = AIR_TO_MSL.get(air[:2]) if air is not None else None
    if expected is not None and msl != expected:
        yield _warn(f"MSL {msl[0]}.{msl[1]} with AIR {air[0]}.{air[1]}: Apple pairs AIR "
                    f"{air[0]}.{air[1]} with MSL {expected[0]}.{expected[1]}", ctx.where)


def check_module_flags(ctx: VerifyContext) -> Iterator[Finding]:
    """Required flags (SDK Version, wchar_size, air.max_*) present and well-formed."""
    yield from _module_flag_findings(ctx, by_version=False)


def check_module_flags_by_version(ctx: VerifyContext) -> Iterator[Finding]:
    """Flags well-formed; each required from the AIR version Apple always writes it."""
    yield from _module_flag_findings(ctx, by_version=True)


def _module_flag_findings(ctx: VerifyContext, by_version: bool) -> Iterator[Finding]:
    nmd = ctx.module.get_named_metadata("llvm.module.flags")
    flags: dict[str, MDNode] = {}
    for node in nmd.nodes if nmd is not None else []:
        ops = node.operands if isinstance(node, MDNode) else []
        name = _md_text(ops[1]) if len(ops) == 3 else None
        if name is None or _md_int(ops[0]) is None:
            yield _err(f"malformed !llvm.module.flags entry {_md_repr(node)} (expected "
                       '!{i32 behavior, !"name", value})', ctx.where)
            continue
        flags[name] = node  # type: ignore[assignment]
    for name, spec in MODULE_FLAGS.items():
        node = flags.get(name)
        if node is None:
            version = ctx.air_version[:2] if ctx.air_version is not None else None
            too_old = by_version and (version is None or version < spec.since)
            if spec.missing is not None and not too_old:
                yield Finding(spec.missing, f"!llvm.module.flags has no '{name}' flag", ctx.where)
            continue
        behavior, value = _md_int(node.operands[0]), node.operands[2]
        if not spec.value_ok(value):
            yield _err(f"module flag '{name}' has value {_md_repr(value)}; expected "
                       f"{spec.value_shape}", ctx.where)
        if behavior != spec.behavior:
            yield _warn(f"module flag '{name}' has behavior {behavior}; Apple writes "
                        f"{spec.behavior}", ctx.where)
