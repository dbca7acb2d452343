"""From an AIR kernel to JIT-compiled host code.

:func:`kernel_bindings` reads the kernel's ``!air.kernel`` metadata (what a
Metal host binds where); :func:`compile_kernel` applies the
:mod:`~llvm_to_air.runner.hostir` steps to a private copy of the module, adds
a driver written in LLVM IR text (the loop over threadgroups and threads that
computes the built-in inputs and calls the kernel), links the host versions
of the ``air.*`` functions (:mod:`~llvm_to_air.runner.airlib`), optimizes at
``-O3`` for the host CPU and JIT-compiles with llvmlite.

Driver entry points (C ABI, called through ctypes):

* fast path ``__air_run(u64 *args, u32 *dims, u8 *tg, u64 *bounds, i64 g0, i64 g1)``
  runs every thread of threadgroups ``[g0, g1)`` to completion, one after the
  other, reusing the threadgroup block ``tg``;
* step path, rounds in the JIT code ``__air_run_groups(args, dims, tg, bounds, frames,
  fstride, i32 *state, g0, g1)`` runs threadgroups ``[g0, g1)`` one after the other to
  completion, each thread from barrier to barrier and SIMD-group call to SIMD-group
  call, resolving those between rounds (:mod:`.rounds`, :mod:`.lockstep`); ``frames``,
  ``state`` and ``tg`` hold one threadgroup and are reused; ``frames`` holds
  ``LANE_CAP * fstride`` bytes, laid out by lane (:mod:`.lanes`; ``fstride`` is not read);
* step path, rounds in Python (kernels with a SIMD-group operation :mod:`.lockstep`
  has no IR version of) ``__air_run_ready(args, dims, tgbase, tgstride, bounds, frames,
  fstride, i32 *state, cap, gfirst, g0, g1)`` runs each thread of threadgroups
  ``[g0, g1)`` whose state is a resume point (>= 0) until its next barrier or
  SIMD-group call, and stores where it stopped (``-site``, or ``DONE``).

In checked mode a ``groups`` driver may come in two: the entry point runs the kernel's
unchecked version (:mod:`.versioning`) for each threadgroup that passes the range check,
and calls ``__air_run_groups.checked`` (the same driver on the checked kernel) for one
threadgroup that does not.

``args[p]`` is the address bound to kernel parameter ``p`` (for threadgroup
parameters: its offset in the threadgroup block); ``dims`` is grid, threadgroup
size and threadgroups per grid (x, y, z each); ``bounds`` has a ``[lo, hi)``
pair per parameter plus one for the whole threadgroup block (threadgroup
entries relative to the block).
"""

from __future__ import annotations

import ctypes
import sys as _sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llvm_to_air.errors import CompileError
from llvm_to_air.inspect import describe_module
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.model import Function, Module
from llvm_to_air.ir.types import PTR, IntType, StructType, Type, VectorType
from llvm_to_air.runner import airlib, hostir, lanes, lockstep, narrowing, rounds, versioning
from llvm_to_air.runner.lockstep import DONE

VECTOR_ROLES = {
    "thread_position_in_grid", "thread_position_in_threadgroup",
    "threadgroup_position_in_grid", "threads_per_threadgroup", "threadgroups_per_grid",
    "threads_per_grid", "grid_size", "grid_origin", "dispatch_threads_per_threadgroup",
}
SCALAR_ROLES = {
    "thread_index_in_threadgroup", "thread_index_in_simdgroup", "simdgroup_index_in_threadgroup",
    "simdgroups_per_threadgroup", "dispatch_simdgroups_per_threadgroup",
    "threads_per_simdgroup", "thread_execution_width", "thread_index_in_quadgroup",
    "quadgroup_index_in_threadgroup", "quadgroups_per_threadgroup",
    "dispatch_quadgroups_per_threadgroup",
}


@dataclass
class Binding:
    """One kernel parameter as a Metal host sees it."""

    position: int
    kind: str                    # buffer | constant | threadgroup | builtin | texture | sampler
    index: int | None = None     # location index (setBuffer / setThreadgroupMemoryLength /
    #                              setTexture)
    type_name: str = ""
    type_size: int = 0
    buffer_size: int | None = None
    access: str | None = None
    role: str | None = None
    name: str = ""
    unused: bool = False
    llvm_type: Type = PTR


@dataclass
class KernelInfo:
    name: str
    function: Function
    bindings: list[Binding]

    @property
    def roles(self) -> set[str]:
        return {b.role for b in self.bindings if b.role}


def kernel_names(module: Module) -> list[str]:
    return [k["name"] for k in describe_module(module)["kernels"] if k["name"]]


def kernel_bindings(module: Module, name: str) -> KernelInfo:
    """The bindings of kernel ``name`` from the module's ``!air.kernel`` metadata."""
    for k in describe_module(module)["kernels"]:
        if k["name"] != name:
            continue
        fn = module.get_function(name)
        assert fn is not None
        bindings = []
        for arg in k["arguments"]:
            pos = arg.get("index")
            if pos is None or pos >= len(fn.args):
                raise CompileError(f"kernel '{name}': malformed !air.kernel argument node")
            kind = arg.get("kind")
            if kind is None:
                raise CompileError(f"kernel '{name}': parameter {pos} has an argument kind "
                                   "the runner does not know")
            bindings.append(Binding(
                position=pos, kind=kind, index=arg.get("location_index"),
                type_name=arg.get("arg_type_name") or "", type_size=arg.get("arg_type_size") or 0,
                buffer_size=arg.get("buffer_size"), access=arg.get("access"),
                role=arg.get("role"), name=arg.get("arg_name") or f"arg{pos}",
                unused=bool(arg.get("unused")), llvm_type=fn.args[pos].ty))
        covered = {b.position for b in bindings}
        missing = [p for p in range(len(fn.args)) if p not in covered]
        if missing:
            raise CompileError(f"kernel '{name}': parameter {missing[0]} has no !air.kernel "
                               "description")
        return KernelInfo(name, fn, sorted(bindings, key=lambda b: b.position))
    raise CompileError(f"no kernel '{name}'")


# ------------------------------------------------------------------- driver IR


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def __call__(self, text: str, name: str | None = None) -> str:
        self.n += 1
        reg = f"%{name or 'v'}{self.n}"
        self.lines.append(f"  {reg} = {text}")
        return reg

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")


def _builtin_value(t: _Text, binding: Binding, env: dict[str, Any]) -> str:
    role = binding.role or ""
    ty = binding.llvm_type
    if role in VECTOR_ROLES:
        comps = env[role]
    elif role in SCALAR_ROLES:
        comps = [env[role]]
    else:
        raise CompileError(f"the runner cannot supply the built-in input '{role}'")
    elem = ty.element if isinstance(ty, VectorType) else ty
    count = ty.count if isinstance(ty, VectorType) else 1
    if not isinstance(elem, IntType) or elem.bits not in (16, 32):
        raise CompileError(f"built-in input '{role}' has type {ty}, which the runner "
                           "does not supply")
    values = []
    for k in range(count):
        v = comps[k] if k < len(comps) else "0"
        if elem.bits == 16:
            v = t(f"trunc i32 {v} to i16") if v.startswith("%") else v
        values.append(v)
    if count == 1:
        return values[0]
    acc = "poison"
    for k, v in enumerate(values):
        acc = t(f"insertelement {ty} {acc}, {elem} {v}, i32 {k}")
    return acc


STOP_FLAG = "__air_stop"


@dataclass
class _Group:
    """Driver registers (``i32`` text) of one threadgroup, and its kernel pointers."""

    ext: dict[str, str]
    origin: dict[str, str]
    count: str
    uniform: dict[str, Any]     # built-in inputs that every thread of the group shares
    pointers: dict[int, str]    # parameter position -> ptr register


# a bound of a built-in input over a group: the sum of some i32 values plus a constant,
# shifted right
_Bound = tuple[tuple[str, ...], int, int]


def _span(low: str, extent: str) -> tuple[_Bound, _Bound]:
    """``[low, low + extent - 1]``."""
    return ((low,), 0, 0), ((low, extent), -1, 0)


def _fixed(low: int, high: int) -> tuple[_Bound, _Bound]:
    return ((), low, 0), ((), high, 0)


# built-in inputs that differ between the threads of a group: (group, lane) -> the
# lowest and highest value over the group
THREAD_RANGES: dict[str, Callable[[_Group, int], tuple[_Bound, _Bound]]] = {
    "thread_position_in_threadgroup": lambda g, k: _span("0", g.ext["xyz"[k]]),
    "thread_position_in_grid": lambda g, k: _span(g.origin["xyz"[k]], g.ext["xyz"[k]]),
    "thread_index_in_threadgroup": lambda g, k: _span("0", g.count),
    "thread_index_in_simdgroup": lambda g, k: _fixed(0, 31),
    "simdgroup_index_in_threadgroup": lambda g, k: (((), 0, 0), ((g.count,), -1, 5)),
    "thread_index_in_quadgroup": lambda g, k: _fixed(0, 3),
    "quadgroup_index_in_threadgroup": lambda g, k: (((), 0, 0), ((g.count,), -1, 2)),
}


def _leaf_role(info: KernelInfo, kernel_fn: Function, arg: Any, lane: int | None) \
        -> tuple[str, int] | None:
    """How the driver bounds kernel argument ``arg`` (its ``lane``) over a group:
    ``("pointer", position)``, ``("tg", 0)`` or ``("role", lane)``; None when it does
    not."""
    position = next((k for k, a in enumerate(kernel_fn.args) if a is arg), None)
    if position is None:
        return None
    if position == len(info.bindings):
        return ("tg", 0) if arg.name == hostir.TG_PARAM else None
    if position > len(info.bindings):
        return None
    binding = info.bindings[position]
    if binding.kind != "builtin":
        return "pointer", position
    if binding.role not in VECTOR_ROLES | SCALAR_ROLES \
            or isinstance(arg.ty, VectorType) != (lane is not None):
        return None
    return "role", lane or 0  # a scalar of a vector role is its x (_builtin_value)


def _group_leaves(t: _Text, group: _Group, info: KernelInfo, kernel_fn: Function) \
        -> versioning.Leaf:
    """The intervals (``i128``) of the kernel's arguments over the group's threads."""
    def wide(bound: _Bound) -> str:
        terms, constant, shift = bound
        value = str(constant)
        for term in terms:  # i32 values read unsigned, as the driver computes them
            value = t(f"add i128 {value}, " + t(f"zext i32 {term} to i128"))
        return t(f"ashr i128 {value}, {shift}") if shift else value

    def leaf(arg: Any, lane: int | None) -> tuple[str, str] | None:
        found = _leaf_role(info, kernel_fn, arg, lane)
        if found is None:
            return None
        kind, k = found
        if kind != "role":
            pointer = group.pointers[k] if kind == "pointer" else "%tg"
            value = t(f"ptrtoint ptr {pointer} to i128")
            return value, value
        role = info.bindings[kernel_fn.args.index(arg)].role or ""
        if k >= (3 if role in VECTOR_ROLES else 1):  # lanes past the input's are 0
            return "0", "0"
        if role in THREAD_RANGES:
            low, high = THREAD_RANGES[role](group, k)
            return wide(low), wide(high)
        comps = group.uniform[role] if role in VECTOR_ROLES else [group.uniform[role]]
        value = wide(((comps[k],), 0, 0))
        return value, value
    return leaf


# driver entry points by mode: name, parameters (frames, states and threadgroup memory are
# the executor's own blocks: no kernel pointer reaches them but through these parameters)
ENTRIES = {
    "groups": ("__air_run_groups", "ptr %args, ptr %dims, ptr noalias %tgbase, ptr %bin, "
               "ptr noalias %frames, i64 %fstride, ptr noalias %state, i64 %g0, i64 %g1"),
    "ready": ("__air_run_ready", "ptr %args, ptr %dims, ptr %tgbase, i64 %tgstride, ptr %bin, "
              "ptr %frames, i64 %fstride, ptr %state, i64 %cap, i64 %gfirst, i64 %g0, i64 %g1"),
    "fast": ("__air_run", "ptr %args, ptr %dims, ptr %tgbase, ptr %bin, i64 %g0, i64 %g1"),
}
# the checked driver of a versioned kernel (see :mod:`.versioning`): its name's suffix
CHECKED_SUFFIX = ".checked"
# modes whose checked kernels get an unchecked version for groups that pass a range check
VERSIONED_MODES = frozenset({"groups"})


def _driver(info: KernelInfo, kernel_fn: Function, mode: str,
            sites: list[hostir.Site] | None = None,
            plan: versioning.VersionPlan | None = None, suffix: str = "",
            layout: tuple[DataLayout, dict[str, Any]] | None = None) -> str:
    """The driver loop in LLVM IR text (see the module docstring for its ABI).

    ``mode``: ``"fast"`` (threads run to completion), ``"ready"`` (the step path with
    rounds resolved by the executor) or ``"groups"`` (the step path with rounds resolved
    here, with ``@__air_settle`` of :mod:`.lockstep` for SIMD-group calls at ``sites``).
    With a ``plan``, ``kernel_fn`` is its unchecked version: a group whose accesses the
    plan's range check cannot clear runs through the checked driver (the one named with
    ``suffix`` :data:`CHECKED_SUFFIX`) instead; ``layout`` is the host's data layout and
    the module's structs.
    """
    step = mode != "fast"
    sites = sites or []
    n = len(info.bindings)
    entries = n + 1
    tg_entries = [b.position for b in info.bindings if b.kind == "threadgroup"] + [n]
    t = _Text()
    fnty = kernel_fn.function_type
    params_text = ", ".join(str(p) for p in fnty.params)
    decl = f"declare {fnty.ret} @{_quote(kernel_fn.name)}({params_text})"
    entry_name, params = ENTRIES[mode]
    head = f"define void @{entry_name}{suffix}({params}) nounwind {{"
    t.label("entry")
    bounds = t(f"alloca [{2 * entries} x i64], align 16", "bounds")
    t.do(f"call void @llvm.memcpy.p0.p0.i64(ptr {bounds}, ptr %bin, i64 {16 * entries}, "
         "i1 false)")
    dims = {}
    for k, nm in enumerate(["gridx", "gridy", "gridz", "tx", "ty", "tz", "ngx", "ngy", "ngz"]):
        p = t(f"getelementptr i32, ptr %dims, i64 {k}")
        dims[nm] = t(f"load i32, ptr {p}", nm)
    args: dict[int, str] = {}
    offsets: dict[int, str] = {}
    for b in info.bindings:
        if b.kind == "builtin":
            continue
        p = t(f"getelementptr i64, ptr %args, i64 {b.position}")
        if b.kind == "threadgroup":
            offsets[b.position] = t(f"load i64, ptr {p}")
        else:
            args[b.position] = t(f"load ptr, ptr {p}", f"arg{b.position}_")
    rel = {}
    for e in tg_entries:
        lo_p = t(f"getelementptr i64, ptr %bin, i64 {2 * e}")
        hi_p = t(f"getelementptr i64, ptr %bin, i64 {2 * e + 1}")
        rel[e] = (t(f"load i64, ptr {lo_p}"), t(f"load i64, ptr {hi_p}"))
    t.do("br label %gloop")
    t.label("gloop")
    t.lines.append("  %g = phi i64 [ %g0, %entry ], [ %gnext, %gend ]")
    t.do("%gmore = icmp slt i64 %g, %g1")
    # the executor sets @__air_stop to end a run early (Ctrl-C, --timeout): checked once
    # per threadgroup, so the cost is nil and a run stops within one threadgroup's work
    t.do(f"%stopv = load atomic i32, ptr @{STOP_FLAG} monotonic, align 4")
    t.do("%nostop = icmp eq i32 %stopv, 0")
    t.do("%go = and i1 %gmore, %nostop")
    t.do("br i1 %go, label %gsetup, label %exit")
    t.label("gsetup")
    if mode == "ready":
        t.do("%c = sub i64 %g, %gfirst")
        t.do("%tgoff = mul i64 %c, %tgstride")
        t.do("%tg = getelementptr i8, ptr %tgbase, i64 %tgoff")
    else:
        t.do("%tg = getelementptr i8, ptr %tgbase, i64 0")
    tgint = t("ptrtoint ptr %tg to i64")
    for e, (lo, hi) in rel.items():
        lo2 = t(f"add i64 {lo}, {tgint}")
        hi2 = t(f"add i64 {hi}, {tgint}")
        t.do(f"store i64 {lo2}, ptr " + t(f"getelementptr i64, ptr {bounds}, i64 {2 * e}"))
        t.do(f"store i64 {hi2}, ptr " + t(f"getelementptr i64, ptr {bounds}, i64 {2 * e + 1}"))
    for pos, off in offsets.items():
        args[pos] = t(f"getelementptr i8, ptr %tg, i64 {off}", f"arg{pos}_")
    g32 = t("trunc i64 %g to i32")
    gx = t(f"urem i32 {g32}, {dims['ngx']}", "gx")
    gq = t(f"udiv i32 {g32}, {dims['ngx']}")
    gy = t(f"urem i32 {gq}, {dims['ngy']}", "gy")
    gz = t(f"udiv i32 {gq}, {dims['ngy']}", "gz")
    ext = {}
    origin = {}
    for axis, gv in zip("xyz", (gx, gy, gz), strict=True):
        o = t(f"mul i32 {gv}, {dims['t' + axis]}")
        rem = t(f"sub i32 {dims['grid' + axis]}, {o}")
        ext[axis] = t(f"call i32 @llvm.umin.i32(i32 {dims['t' + axis]}, i32 {rem})", "e" + axis)
        origin[axis] = o
    exy = t(f"mul i32 {ext['x']}, {ext['y']}")
    count = t(f"mul i32 {exy}, {ext['z']}", "count")
    simd_count = t(f"lshr i32 {t(f'add i32 {count}, 31')}, 5")
    quad_count = t(f"lshr i32 {t(f'add i32 {count}, 3')}, 2")
    dtx = t(f"mul i32 {dims['tx']}, {dims['ty']}")
    dcount = t(f"mul i32 {dtx}, {dims['tz']}")
    dsimd = t(f"lshr i32 {t(f'add i32 {dcount}, 31')}, 5")
    dquad = t(f"lshr i32 {t(f'add i32 {dcount}, 3')}, 2")

    uniform: dict[str, Any] = {  # the built-in inputs that all threads of the group share
        "threadgroup_position_in_grid": [gx, gy, gz],
        "threads_per_threadgroup": [ext["x"], ext["y"], ext["z"]],
        "dispatch_threads_per_threadgroup": [dims["tx"], dims["ty"], dims["tz"]],
        "threadgroups_per_grid": [dims["ngx"], dims["ngy"], dims["ngz"]],
        "threads_per_grid": [dims["gridx"], dims["gridy"], dims["gridz"]],
        "grid_size": [dims["gridx"], dims["gridy"], dims["gridz"]],
        "grid_origin": ["0", "0", "0"],
        "simdgroups_per_threadgroup": simd_count,
        "dispatch_simdgroups_per_threadgroup": dsimd,
        "threads_per_simdgroup": "32", "thread_execution_width": "32",
        "quadgroups_per_threadgroup": quad_count,
        "dispatch_quadgroups_per_threadgroup": dquad,
    }
    if plan is not None:
        assert layout is not None
        leaves = _group_leaves(t, _Group(ext, origin, count, uniform, args), info,
                               plan.checked)
        ok = versioning.emit_group_check(t, plan, leaves, bounds, *layout)
        t.do(f"br i1 {ok}, label %gbody, label %gchecked")
        t.label("gchecked")  # the group runs checked, with today's errors
        call_params = ", ".join(
            p.replace("noalias ", "").replace("%g0", "%g").replace("%g1", "%gafter")
            for p in params.split(", "))
        t.do("%gafter = add i64 %g, 1")
        t.do(f"call void @{entry_name}{CHECKED_SUFFIX}({call_params})")
        t.do("br label %gend")
    else:
        t.do("br label %gbody")
    t.label("gbody")

    def thread_body(lx: str, ly: str, lz: str, tid: str, call_extra: list[str]) -> str:
        env: dict[str, Any] = {
            **uniform,
            "thread_position_in_threadgroup": [lx, ly, lz],
            "thread_index_in_threadgroup": tid,
        }
        roles = info.roles
        if "thread_position_in_grid" in roles:
            env["thread_position_in_grid"] = [t(f"add i32 {origin[a]}, {lv}")
                                              for a, lv in zip("xyz", (lx, ly, lz), strict=True)]
        if "thread_index_in_simdgroup" in roles:
            env["thread_index_in_simdgroup"] = t(f"and i32 {tid}, 31")
        if "simdgroup_index_in_threadgroup" in roles:
            env["simdgroup_index_in_threadgroup"] = t(f"lshr i32 {tid}, 5")
        if "thread_index_in_quadgroup" in roles:
            env["thread_index_in_quadgroup"] = t(f"and i32 {tid}, 3")
        if "quadgroup_index_in_threadgroup" in roles:
            env["quadgroup_index_in_threadgroup"] = t(f"lshr i32 {tid}, 2")
        call_args = []
        for b in info.bindings:
            ty = str(b.llvm_type)
            if b.kind == "builtin":
                call_args.append(f"{ty} {_builtin_value(t, b, env)}")
            else:
                call_args.append(f"ptr {args[b.position]}")
        call_args += ["ptr %tg", f"ptr {bounds}", *call_extra]
        ret = "i32" if step else "void"
        call = f"call {ret} @{_quote(kernel_fn.name)}({', '.join(call_args)})"
        if step:
            return t(call, "r")
        t.do(call)
        return ""

    if mode == "groups":
        size = sum(len(b.instructions) for b in kernel_fn.blocks)
        # threadgroup barriers first: after one, every thread resumes at the same point
        stops = sorted((s.kind != "threadgroup_barrier", s.id) for s in sites)
        rounds.emit_group_rounds(t, ext, count, simd_count, [k for _, k in stops], size,
                                 thread_body, _narrowed_rounds(t, info, kernel_fn, sites,
                                                               uniform))
    elif step:
        t.do("br label %tloop")
        t.label("tloop")
        t.lines.append("  %t = phi i32 [ 0, %gbody ], [ %tnext, %tnext_bb ]")
        t.do(f"%tmore = icmp ult i32 %t, {count}")
        t.do("br i1 %tmore, label %tbody, label %gend")
        t.label("tbody")
        t.do("%cc = mul i64 %c, %cap")
        t.do("%t64 = zext i32 %t to i64")
        t.do("%slot = add i64 %cc, %t64")
        t.do("%sp = getelementptr i32, ptr %state, i64 %slot")
        t.do("%s = load i32, ptr %sp")
        t.do("%ready = icmp sge i32 %s, 0")
        t.do("br i1 %ready, label %run, label %tnext_bb")
        t.label("run")
        lx = t(f"urem i32 %t, {ext['x']}", "lx")
        tq = t(f"udiv i32 %t, {ext['x']}")
        ly = t(f"urem i32 {tq}, {ext['y']}", "ly")
        lz = t(f"udiv i32 {tq}, {ext['y']}", "lz")
        foff = t("mul i64 %slot, %fstride")
        frame = t(f"getelementptr i8, ptr %frames, i64 {foff}", "frame")
        r = thread_body(lx, ly, lz, "%t", [f"ptr {frame}", "i32 %s"])
        done = t(f"icmp eq i32 {r}, 0")
        neg = t(f"sub i32 0, {r}")
        new = t(f"select i1 {done}, i32 {DONE}, i32 {neg}")
        t.do(f"store i32 {new}, ptr %sp")
        t.do("br label %tnext_bb")
        t.label("tnext_bb")
        t.do("%tnext = add i32 %t, 1")
        t.do("br label %tloop")
    else:
        t.do("br label %zloop")
        t.label("zloop")
        t.lines.append("  %lz = phi i32 [ 0, %gbody ], [ %lz1, %zend ]")
        t.do(f"%zmore = icmp ult i32 %lz, {ext['z']}")
        t.do("br i1 %zmore, label %yhead, label %gend")
        t.label("yhead")
        t.do("br label %yloop")
        t.label("yloop")
        t.lines.append("  %ly = phi i32 [ 0, %yhead ], [ %ly1, %yend ]")
        t.do(f"%ymore = icmp ult i32 %ly, {ext['y']}")
        t.do("br i1 %ymore, label %xhead, label %zend")
        t.label("xhead")
        rowz = t(f"mul i32 %lz, {ext['y']}")
        row = t(f"add i32 {rowz}, %ly")
        base = t(f"mul i32 {row}, {ext['x']}", "base")
        t.do("br label %xloop")
        t.label("xloop")
        t.lines.append("  %lx = phi i32 [ 0, %xhead ], [ %lx1, %xloop ]")
        tid = t(f"add i32 {base}, %lx", "tid")
        thread_body("%lx", "%ly", "%lz", tid, [])
        t.do("%lx1 = add i32 %lx, 1")
        t.do(f"%xmore = icmp ult i32 %lx1, {ext['x']}")
        t.do("br i1 %xmore, label %xloop, label %yend")
        t.label("yend")
        t.do("%ly1 = add i32 %ly, 1")
        t.do("br label %yloop")
        t.label("zend")
        t.do("%lz1 = add i32 %lz, 1")
        t.do("br label %zloop")
    t.label("gend")
    t.do("%gnext = add i64 %g, 1")
    t.do("br label %gloop")
    t.label("exit")
    t.do("ret void")
    body = "\n".join([head, *t.lines, "}"])
    decls = [f"@{STOP_FLAG} = global i32 0, align 4"] if not suffix else []
    decls += ["declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)",
             "declare i32 @llvm.umin.i32(i32, i32)", "declare i32 @llvm.umax.i32(i32, i32)",
             "declare i128 @llvm.ctlz.i128(i128, i1)",
             decl]
    return "\n".join([*decls, body])


def _narrowed_rounds(t: _Text, info: KernelInfo, kernel_fn: Function,
                     sites: list[hostir.Site], uniform: dict[str, Any]) \
        -> dict[int, rounds.NarrowRound]:
    """The specialized rounds that run only the threads their guard admits
    (:mod:`.narrowing`), with the group's uniform built-in inputs ``uniform``."""
    def role(arg: Any, lane: int | None) -> str | None:
        found = _leaf_role(info, kernel_fn, arg, lane)
        if found is None or found[0] != "role":
            return None
        return info.bindings[kernel_fn.args.index(arg)].role

    def value_of(name: str, lane: int) -> str:
        value = uniform[name]
        if not isinstance(value, list):
            return value
        return value[lane] if lane < len(value) else "0"

    barriers = frozenset(s.id for s in sites if s.kind != "simd")
    plans = narrowing.plan_narrowing(kernel_fn, role, frozenset(uniform), barriers)
    return {k: rounds.NarrowRound(
        plan.lane, lambda plan=plan: narrowing.emit_limit(t, plan, role, value_of),
        plan.skipped) for k, plan in plans.items()}


def _quote(name: str) -> str:
    import re

    if re.fullmatch(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*", name):
        return name
    return '"' + name.replace("\\", "\\5C").replace('"', "\\22") + '"'


# -------------------------------------------------------------------- compile


@dataclass
class CompiledKernel:
    """JIT code for one kernel, and what the executor needs to drive it."""

    info: KernelInfo
    step: bool
    entry: Any                       # ctypes function
    mode: str = "fast"               # driver: "fast", "ready" or "groups" (see _driver)
    frame_size: int = 0
    sites: list[hostir.Site] = field(default_factory=list)
    slots: hostir.SimdSlots = field(default_factory=hostir.SimdSlots)
    checks: list[hostir.CheckSite] = field(default_factory=list)
    tg_static: int = 0
    err_address: int = 0
    checked: bool = False            # compiled with bounds checks
    stop_address: int = 0            # @__air_stop: non-zero ends the run at a threadgroup
    jit: Any = None                  # keeps the engine (and its LLVM context) alive
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Jit:
    """An execution engine and its LLVM context, released in that order."""

    def __init__(self, engine: Any, context: Any) -> None:
        self.engine = engine
        self.context = context

    def __del__(self) -> None:
        engine = self.__dict__.pop("engine", None)
        if engine is not None and not _sys.is_finalizing():
            try:
                engine.close()
            except Exception:  # pragma: no cover - llvmlite already torn down
                pass
        self.__dict__.pop("context", None)


_LLVM_READY = False
_TRIPLE_LAYOUT: tuple[str, str] | None = None


def _target_machine() -> Any:
    """A new host target machine (an execution engine takes ownership of its own)."""
    global _LLVM_READY
    import llvmlite.binding as llvm

    if not _LLVM_READY:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _LLVM_READY = True
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, codemodel="jitdefault", jit=True)


def host_layout() -> tuple[str, str]:
    """The host triple and data layout."""
    global _TRIPLE_LAYOUT
    import llvmlite.binding as llvm

    if _TRIPLE_LAYOUT is None:
        tm = _target_machine()
        _TRIPLE_LAYOUT = (llvm.get_process_triple(), str(tm.target_data))
    return _TRIPLE_LAYOUT


def compile_kernel(module: Module, info: KernelInfo, check_bounds: bool,
                   dump: dict[str, str] | None = None,
                   rounds_in_ir: bool = True) -> CompiledKernel:
    """JIT-compile kernel ``info`` of ``module`` (a private copy: it is edited).

    ``rounds_in_ir=False`` keeps the rounds of a kernel with barriers or SIMD-group calls
    in Python even where :mod:`.lockstep` could compile them (to test one against the
    other)."""
    import llvmlite.binding as llvm

    from llvm_to_air.ir.writer14 import write_llvm14

    fn = info.function
    air_layout = DataLayout.parse(module.datalayout)
    hostir.keep_kernel(module, fn)
    prologue = hostir.add_prologue(fn)
    nparams = len(fn.args)
    tg = hostir.add_param(fn, hostir.PointerType(3), hostir.TG_PARAM)
    bounds = hostir.add_param(fn, PTR, hostir.BOUNDS_PARAM)
    checks: list[hostir.CheckSite] = []
    if check_bounds:
        checks = hostir.instrument_bounds(module, fn, prologue, bounds, nparams, air_layout)
    tg_layout = hostir.replace_threadgroup_globals(module, fn, prologue, tg, air_layout)
    hostir.relax_alignment(module)
    hostir.erase_address_spaces(module)
    step = any(hostir.is_yield(i) for i in fn.instructions())
    sites: list[hostir.Site] = []
    slots = hostir.SimdSlots()
    fields: list[Type] = []
    if step:
        step_info = hostir.make_step_function(module, fn, prologue)
        sites, slots, fields = step_info.sites, step_info.slots, step_info.frame_fields
    mode = "fast" if not step else \
        "groups" if rounds_in_ir and lockstep.compiles(sites) else "ready"
    triple, datalayout = host_layout()
    module.triple = triple
    module.datalayout = datalayout
    frame_size = _frame_size(fields, module) if step else 0
    # lanes first: the unchecked version is a copy of the laid-out step function
    lane_layout = lanes.lay_out_lanes(module, fn, slots, fields) if mode == "groups" else None
    plan = None
    if check_bounds and mode in VERSIONED_MODES:
        plan = versioning.plan_versions(
            module, fn, bounds, lambda arg, lane: _leaf_role(info, fn, arg, lane) is not None)
    kernel_text = write_llvm14(module)
    if plan is None:
        drivers = [_driver(info, fn, mode, sites)]
    else:
        layout = (DataLayout.parse(module.datalayout), module.structs)
        drivers = [_driver(info, plan.unchecked, mode, sites, plan=plan,
                           layout=layout),  # type: ignore[arg-type]
                   _driver(info, fn, mode, sites, suffix=CHECKED_SUFFIX)]
    runtime = [airlib.RUNTIME, *drivers]
    if lane_layout is not None:
        runtime.append(lockstep.settle_function(sites, lane_layout))
    for decl in module.functions:
        if not decl.is_declaration or decl is fn:
            continue
        if decl.name in hostir.BARRIERS or decl.name.startswith(hostir.SIMD_PREFIXES):
            continue
        if decl.name.startswith("air."):
            runtime.append(airlib.define(decl.name, decl.function_type))
        elif decl.name.startswith("__air_"):
            continue
        elif not decl.name.startswith("llvm."):
            raise CompileError(f"kernel '{info.name}' calls '@{decl.name}', which the CPU "
                               "runner cannot provide")
    runtime_text = _dedupe_declarations("\n\n".join(runtime))
    if dump is not None:
        dump["kernel"] = kernel_text
        dump["runtime"] = runtime_text
    # A context takes its modules down with it, so nothing may outlive it: on an error
    # _jit_engine disposes its module first; once made, _Jit releases the engine (which
    # owns the module) before the context. (A module left in an exception's traceback,
    # freed after its context by the collector, crashed the process.)
    context = llvm.create_context()
    try:
        engine = _jit_engine(llvm, context, kernel_text, runtime_text, info.name, step,
                             frame_size, dump)
    except BaseException:
        context.close()
        raise
    jit = _Jit(engine, context)
    engine.finalize_object()
    if mode == "groups":
        addr = engine.get_function_address("__air_run_groups")
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                 ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
    elif step:
        addr = engine.get_function_address("__air_run_ready")
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                 ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
    else:
        addr = engine.get_function_address("__air_run")
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
    entry = proto(addr)
    return CompiledKernel(info=info, step=step, entry=entry, frame_size=frame_size, mode=mode, slots=slots,
                          checked=check_bounds,
                          sites=sites, checks=checks, tg_static=tg_layout.size,
                          err_address=engine.get_global_value_address("__air_err"),
                          stop_address=engine.get_global_value_address(STOP_FLAG),
                          jit=jit)


def _jit_engine(llvm: Any, context: Any, kernel_text: str, runtime_text: str, name: str,
                step: bool, frame_size: int, dump: dict[str, str] | None) -> Any:
    """Parse, link, verify and optimize the host module in ``context``; an MCJIT engine
    that owns it. On an error the module is disposed here, before the caller disposes
    ``context``."""
    kmod = llvm.parse_assembly(kernel_text, context)
    try:
        rmod = llvm.parse_assembly(runtime_text, context)
        kmod.link_in(rmod)  # consumes rmod
        del rmod
        kmod.verify()
    except RuntimeError as exc:
        kmod.close()
        lines = [ln for ln in str(exc).splitlines() if "error" in ln] or [str(exc)]
        raise CompileError(f"the CPU runner produced invalid host IR for kernel '{name}': "
                           f"{lines[-1].strip()}",
                           hint="this is a bug in llvm-to-air's runner") from None
    try:
        tm = _target_machine()
        if step:
            _check_frame_size(kmod, tm, frame_size)
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = False
        pb = llvm.create_pass_builder(tm, pto)
        mpm = pb.getModulePassManager()
        mpm.run(kmod, pb)
        if dump is not None:
            dump["optimized"] = str(kmod)
        return llvm.create_mcjit_compiler(kmod, tm)  # the engine owns kmod from here
    except BaseException:
        kmod.close()
        raise


def _dedupe_declarations(text: str) -> str:
    seen: set[str] = set()
    out = []
    for line in text.splitlines():
        if line.startswith("declare "):
            name = line.split("@", 1)[1].split("(", 1)[0]
            if name in seen:
                continue
            seen.add(name)
        out.append(line)
    return "\n".join(out)


def _frame_size(fields: list[Type], module: Module) -> int:
    """Bytes from one thread's frame to the next: the frame struct's size, rounded up to
    its alignment (16 at least; the blocks holding frames are 64-byte aligned). A constant
    in the driver, so LLVM sees that threads' frames never overlap (on the groups path,
    frames laid out by lane take ``LANE_CAP`` times this)."""
    layout = DataLayout.parse(module.datalayout)
    frame = StructType(tuple(fields))
    structs = module.structs  # type: ignore[arg-type]
    size = layout.alloc_size(frame, structs)
    align = max(16, layout.abi_align(frame, structs))
    return max(16, (size + align - 1) // align * align)


def _check_frame_size(kmod: Any, tm: Any, frame_size: int) -> None:
    """LLVM's size of the frame struct must fit the stride the driver was written with."""
    td = tm.target_data
    for st in kmod.struct_types:
        if st.name.startswith(hostir.FRAME_TYPE) and td.get_abi_size(st) > frame_size:
            raise CompileError(f"the runner's frame of {td.get_abi_size(st)} bytes does not "
                               f"fit its {frame_size}-byte stride",
                               hint="this is a bug in llvm-to-air's runner")


__all__ = ["DONE", "Binding", "CompiledKernel", "KernelInfo", "compile_kernel",
           "kernel_bindings", "kernel_names"]
