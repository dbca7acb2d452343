"""``!air.kernel`` entries and their argument nodes, read into :class:`Kernel` objects."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from llvm_to_air.errors import SourceLocation
from llvm_to_air.ir.model import (
    Argument,
    Function,
    MDNode,
    MDValue,
    Metadata,
    Module,
)
from llvm_to_air.ir.types import (
    VOID,
)
from llvm_to_air.verify.facts import FUNCTION_CONSTANT_ROLE, PROPERTY_SCHEMA, STRUCT_INFO_FIELD_LEN
from llvm_to_air.verify.findings import (
    _KIND_CHECKS,
    Finding,
    _err,
    _is_property_name,
    _md_int,
    _md_repr,
    _md_text,
    _warn,
)

# ---------------------------------------------------------------------- kernel table


@dataclass
class ArgNode:
    """One parsed argument node of a kernel: ``props`` maps a property to its value operands."""

    position: int
    param: Argument
    role: str
    props: dict[str, list[Metadata | None]]
    label: str

    def int_prop(self, key: str, index: int = 0) -> int | None:
        values = self.props.get(key)
        return _md_int(values[index]) if values and len(values) > index else None

    def text_prop(self, key: str) -> str | None:
        values = self.props.get(key)
        return _md_text(values[0]) if values else None


@dataclass
class Kernel:
    function: Function
    args: list[ArgNode] = field(default_factory=list)

    @property
    def location(self) -> SourceLocation | None:
        return self.function.location


@dataclass
class KernelTable:
    kernels: list[Kernel] = field(default_factory=list)
    problems: dict[str, list[Finding]] = field(default_factory=lambda: defaultdict(list))


def _parse_properties(ops: list[Metadata | None], label: str,
                      loc: SourceLocation | None,
                      problems: list[Finding]) -> dict[str, list[Metadata | None]]:
    """Read ``!"key", values...`` pairs per :data:`PROPERTY_SCHEMA`; record syntax problems."""
    props: dict[str, list[Metadata | None]] = {}
    i = 0
    while i < len(ops):
        key = _md_text(ops[i])
        schema = PROPERTY_SCHEMA.get(key) if key is not None else None
        if schema is None:
            if key is None:
                problems.append(_err(f"{label}: expected a property name, found "
                                     f"{_md_repr(ops[i])}", loc))
            else:
                problems.append(_warn(f"{label}: unknown property '{key}'", loc))
            i += 1
            while i < len(ops) and not _is_property_name(ops[i]):
                i += 1
            continue
        values = ops[i + 1:i + 1 + len(schema)]
        if len(values) < len(schema) or not all(_KIND_CHECKS[kind](v)
                                                for kind, v in zip(schema, values, strict=False)):
            found = ", ".join(_md_repr(v) for v in values) or "nothing"
            problems.append(_err(f"{label}: '{key}' must be followed by "
                                 f"{', '.join(schema)}; found {found}", loc))
            i += 1
            while i < len(ops) and not _is_property_name(ops[i]):
                i += 1
            continue
        if key in props:
            problems.append(_err(f"{label}: property '{key}' appears twice", loc))
        props[key] = list(values)
        i += 1 + len(schema)
    return props


def _check_struct_info(arg: ArgNode, loc: SourceLocation | None,
                       problems: list[Finding]) -> None:
    values = arg.props.get("air.struct_type_info")
    if values and isinstance(values[0], MDNode):
        bad = _struct_info_problem(values[0].operands)
        if bad is not None:
            problems.append(_warn(f"{arg.label}: air.struct_type_info {bad}", loc))


def _struct_info_problem(ops: list[Metadata | None]) -> str | None:
    """Fields are (offset, size, array length, type name, field name), with
    ``!"air.<key>", value`` pairs between them (argument-buffer fields are followed by
    ``!"air.indirect_argument", !N``; a struct field is preceded by its own
    ``!"air.struct_type_info", !N``); the problem, or None."""
    i, field_count = 0, 0
    while i < len(ops):
        while i + 1 < len(ops) and (_md_text(ops[i]) or "").startswith("air."):
            i += 2
        if i >= len(ops):
            break
        head = ops[i:i + STRUCT_INFO_FIELD_LEN]
        kinds = [_md_int(op) is not None for op in head[:3]] + \
            [_md_text(op) is not None for op in head[3:]]
        if len(head) < STRUCT_INFO_FIELD_LEN or not all(kinds):
            return (f"field {field_count} (operand {i}) is not (offset, size, array length, "
                    "type name, field name)")
        i += STRUCT_INFO_FIELD_LEN
        field_count += 1
    return None


def _parse_arg_node(kernel: Kernel, position: int, node: Metadata | None,
                    table: KernelTable) -> ArgNode | None:
    fn = kernel.function
    label = f"kernel @{fn.name} parameter {position}"
    loc = kernel.location
    if not isinstance(node, MDNode) or len(node.operands) < 2:
        table.problems["kernel-node"].append(_err(
            f"{label}: argument node must be !{{i32 {position}, !\"air.<role>\", ...}}; found "
            f"{_md_repr(node)}", loc))
        return None
    index = _md_int(node.operands[0])
    role = _md_text(node.operands[1])
    if index != position:
        table.problems["kernel-node"].append(_err(
            f"{label}: argument node starts with {_md_repr(node.operands[0])}, expected "
            f"i32 {position} (nodes must be in parameter order)", loc))
        return None
    if role is None:
        table.problems["kernel-node"].append(_err(
            f"{label}: argument node has no role string; found {_md_repr(node.operands[1])}",
            loc))
        return None
    rest = node.operands[2:]
    if role == FUNCTION_CONSTANT_ROLE and len(rest) >= 2 and isinstance(rest[0], MDNode):
        # !{i32 N, !"air.function_constant", !{predicate}, !"air.buffer", ...}: an argument
        # that exists only when a function constant is true; its own role follows
        role = _md_text(rest[1]) or role
        rest = rest[2:]
    arg = ArgNode(position, fn.args[position], role, {}, label)
    arg.props = _parse_properties(rest, label, loc, table.problems["arg-node"])
    _check_struct_info(arg, loc, table.problems["arg-node"])
    return arg


def _parse_kernel(entry: int, node: Metadata | None, file: str,
                  table: KernelTable) -> Kernel | None:
    problems = table.problems["kernel-node"]
    where = SourceLocation(file)
    shape = "!{ptr @kernel, !{}, !{argument nodes}}"
    if not isinstance(node, MDNode) or len(node.operands) < 3:
        problems.append(_err(f"!air.kernel entry {entry} must be {shape}; found {_md_repr(node)}",
                             where))
        return None
    head = node.operands[0]
    fn = head.value if isinstance(head, MDValue) else None
    if not isinstance(fn, Function):
        problems.append(_err(f"!air.kernel entry {entry} does not start with a function; found "
                             f"{_md_repr(head)}", where))
        return None
    loc = fn.location
    if fn.is_declaration:
        problems.append(_err(f"kernel @{fn.name} is declared but not defined", loc))
        return None
    if fn.function_type.ret != VOID:
        problems.append(_err(f"kernel @{fn.name} returns '{fn.function_type.ret}'; kernels "
                             "return void", loc))
    if fn.linkage in ("internal", "private"):
        problems.append(_err(f"kernel @{fn.name} has {fn.linkage} linkage; the Metal runtime "
                             "looks kernels up by name", loc))
    if not isinstance(node.operands[1], MDNode):
        problems.append(_err(f"kernel @{fn.name}: second operand of its !air.kernel node must "
                             f"be !{{}}; found {_md_repr(node.operands[1])}", loc))
    elif node.operands[1].operands:
        problems.append(_warn(f"kernel @{fn.name}: second operand of its !air.kernel node is "
                              "not empty (Apple writes !{} for kernels)", loc))
    for extra in node.operands[3:]:
        # Apple appends attribute nodes such as !{!"air.max_work_group_size", i32 256}
        # ([[max_total_threads_per_threadgroup]]); anything else is unknown
        ops = extra.operands if isinstance(extra, MDNode) else []
        if not ops or not (_md_text(ops[0]) or "").startswith("air."):
            problems.append(_warn(f"kernel @{fn.name}: !air.kernel node operand "
                                  f"{_md_repr(extra)} is not an !{{!\"air.<attribute>\", ...}} "
                                  "node", loc))
    args_node = node.operands[2]
    if not isinstance(args_node, MDNode):
        problems.append(_err(f"kernel @{fn.name}: third operand of its !air.kernel node must be "
                             f"a node of argument nodes; found {_md_repr(args_node)}", loc))
        return None
    kernel = Kernel(fn)
    if len(args_node.operands) != len(fn.args):
        problems.append(_err(f"kernel @{fn.name} has {len(fn.args)} parameters but "
                             f"{len(args_node.operands)} argument nodes", loc))
    for position, arg_md in enumerate(args_node.operands[:len(fn.args)]):
        arg = _parse_arg_node(kernel, position, arg_md, table)
        if arg is not None:
            kernel.args.append(arg)
    return kernel


def parse_kernels(module: Module) -> KernelTable:
    """Read ``!air.kernel`` into :class:`Kernel` objects, recording structural problems."""
    table = KernelTable()
    nmd = module.get_named_metadata("air.kernel")
    if nmd is None or not nmd.nodes:
        return table
    seen: set[str] = set()
    for entry, node in enumerate(nmd.nodes):
        kernel = _parse_kernel(entry, node, module.file, table)
        if kernel is None:
            continue
        if kernel.function.name in seen:
            table.problems["kernel-node"].append(_err(
                f"kernel @{kernel.function.name} is listed twice in !air.kernel", kernel.location))
            continue
        seen.add(kernel.function.name)
        table.kernels.append(kernel)
    return table
