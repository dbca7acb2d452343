#!/usr/bin/env python3
"""Generate docs/coverage.md: which NVVM and AMDGPU intrinsics (LLVM 19's lists plus the
newer spellings of LLVM 20-22 that the compiler handles) and which OpenCL C 3.0 builtins (clang 19's opencl-c.h)
llvm-to-air maps to AIR, emulates, or refuses, and why.

    python3 tools/coverage_table.py [--llvm-include DIR] [--opencl-header FILE] [-o OUT]

Inputs: the generated ``IntrinsicsNVPTX.h``/``IntrinsicsAMDGPU.h`` of the llvm-19-dev
package (every intrinsic name with its enum) and clang-19's ``opencl-c.h``. The
classification reads the compiler's own tables (``intrinsic_tables``, ``builtins``,
``nvvm_rounding``, ``opencl_dot``) and the name rules of the lowering, so the table follows
the code; each rule below says which part of the code handles the names it matches.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.builtins import BUILTIN_READS
from llvm_to_air.rewrite.libdevice import LIBDEVICE_TO_NVVM
from llvm_to_air.rewrite.nvvm_rounding import (
    _ARITH_RE,
    _F2I_RE,
    _FABS_RE,
    _I2F_RE,
    _INT_RE,
)
from llvm_to_air.rewrite.workgroup_collectives import OPENCL_COLLECTIVES

Rule = tuple[str, str, str]  # regex, status, note

MAPPED, EMULATED, REFUSED, ERASED = "mapped", "emulated", "refused", "erased"

NVVM_RULES: list[Rule] = [
    (r"llvm\.nvvm\.read\.ptx\.sreg\.(tid|ctaid|ntid|nctaid)\.[xyz]|"
     r"llvm\.nvvm\.read\.ptx\.sreg\.(laneid|warpsize)", MAPPED,
     "kernel built-in parameters (builtins.py)"),
    (r"llvm\.nvvm\.read\.ptx\.sreg\.lanemask\.(lt|le|gt|ge)", EMULATED, "from the SIMD lane id"),
    (r"llvm\.nvvm\.read\.ptx\.sreg\.(clock|clock64|globaltimer)", REFUSED,
     "Apple GPUs expose no clock to kernels"),
    (r"llvm\.nvvm\.read\.ptx\.sreg\..*", REFUSED,
     "no AIR equivalent (SM ids, cluster registers, performance counters)"),
    (r"llvm\.nvvm\.(barrier0|barrier\.cta\.sync.*|bar\.sync|barrier\.sync|barrier\.n)", MAPPED,
     "air.wg.barrier"),
    (r"llvm\.nvvm\.barrier\.cta\.red\.\w+\.(aligned\.)?count", REFUSED,
     "barrier reductions over part of a block (a thread count): no Metal equivalent"),
    (r"llvm\.nvvm\.barrier0\.(and|or|popc)|llvm\.nvvm\.barrier\.cta\.red.*", EMULATED,
     "__syncthreads_count/_and/_or: threadgroup array, barriers, fold "
     "(workgroup_collectives.py)"),
    (r"llvm\.nvvm\.bar\.warp\.sync", MAPPED, "air.simdgroup.barrier"),
    (r"llvm\.nvvm\.(membar\.(cta|gl|sys)|fence\.sc\.cluster)", MAPPED, "air.atomic.fence"),
    (r"llvm\.nvvm\.shfl\.sync\.(down|up|bfly|idx)\.(i32|f32)p?", MAPPED,
     "air.simd_shuffle* (segmented widths with PTX's lane arithmetic)"),
    (r"llvm\.nvvm\.vote\.(any|all|uni|ballot)\.sync", MAPPED, "air.simd_any/all/ballot"),
    (r"llvm\.nvvm\.redux\.sync\..*", MAPPED, "air.simd_sum/min/max/and/or/xor"),
    (r"llvm\.nvvm\.activemask", MAPPED, "ballot of the lanes that reach it"),
    (r"llvm\.nvvm\.prmt", EMULATED, "byte selection in integer IR (default mode)"),
    (r"llvm\.nvvm\.fns", EMULATED, "n-th set bit: rank selection over air.popcount "
     "(nvvm_rounding.py)"),
    (r"llvm\.nvvm\.(ldg|ldu)\.global\..*", MAPPED, "a plain load"),
    (r"llvm\.nvvm\.wmma\.(m16n16k16|m32n8k16|m8n32k16)\.(load\.[abc]\.(row|col)(\.stride)?\."
     r"(f16|f32)|store\.d\.(row|col)(\.stride)?\.(f16|f32)|mma\.(row|col)\.(row|col)\."
     r"(f16|f32)\.(f16|f32))(\.p\d+)?", MAPPED,
     "8x8 air.simdgroup_matrix tiles per fragment (wmma.py)"),
    (r"llvm\.nvvm\.wmma\.(m16n16k16|m32n8k16|m8n32k16)\.(load\.[ab]\.(row|col)(\.stride)?\."
     r"bf16|mma\.(row|col)\.(row|col)\.bf16)(\.p\d+)?", EMULATED,
     "bf16 tiles loaded as 16-bit data and widened to float exactly; float multiply-add"),
    (r"llvm\.nvvm\.wmma\.m16n16k8\.(load\.[ab]\.(row|col)(\.stride)?\.tf32|load\.c\.(row|col)"
     r"(\.stride)?\.f32|store\.d\.(row|col)(\.stride)?\.f32|mma\.(row|col)\.(row|col)\.tf32)"
     r"(\.p\d+)?", EMULATED,
     "tf32 tiles: float loads with the 13 low mantissa bits cleared; float multiply-add"),
    (r"llvm\.nvvm\.wmma\..*\.(s8|u8|s4|u4|b1|s32)(\..*)?", REFUSED,
     "integer WMMA: Apple GPUs have no integer simdgroup matrix"),
    (r"llvm\.nvvm\.wmma\..*", REFUSED,
     "other WMMA forms (f64, .satfinite): not mapped"),
    (r"llvm\.nvvm\.mma\..*|llvm\.nvvm\.ldmatrix.*|llvm\.nvvm\.stmatrix.*",
     REFUSED, "mma.sync/ldmatrix with defined register layouts: not lowered in this change"),
    (r"llvm\.nvvm\.(cp\.async.*|cp\.async\.bulk.*|mbarrier.*|tcgen05.*|wgmma.*|"
     r"elect\.sync|griddepcontrol.*|setmaxnreg.*|stacksave|stackrestore|"
     r"cluster.*|mapa.*|getctarank.*|is_explicit_cluster|fence\.proxy.*|"
     r"prefetch.*|applypriority.*|discard.*)",
     REFUSED, "Hopper/Blackwell asynchronous-copy, cluster and tensor-memory features: no "
     "Apple equivalent"),
    (r"llvm\.nvvm\.atomic\.(add|exch|max|min|inc|dec|and|or|xor|cas)\.gen\.[if]\."
     r"(cta|sys)", MAPPED, "scoped atomics: atomicrmw/cmpxchg, then air.atomic.* "
     "(nvvm_atomics.py)"),
    (r"llvm\.nvvm\.(atomic\..*)", REFUSED,
     "NVVM atomics other than the scoped ones: not lowered (LLVM atomicrmw/cmpxchg are)"),
    (r"llvm\.nvvm\.(tex|tld4|suld|sust|suq|txq|istypep|texsurf).*", REFUSED,
     "textures and surfaces: not supported"),
    (r"llvm\.nvvm\.match\.(any|all)\.sync\.i(32|64)p?", EMULATED,
     "a loop of 32 air.simd_shuffle reads and compares (nvvm_match.py)"),
    (r"llvm\.nvvm\.match\..*", REFUSED, "warp match: no AIR equivalent yet"),
    (r"llvm\.nvvm\.(ptr\.gen\.to|ptr\.(global|shared|local|constant)\.to).*", MAPPED,
     "address-space casts (upgraded by LLVM 22 to addrspacecast)"),
    (r"llvm\.nvvm\.isspacep\..*", REFUSED, "AIR pointers carry their address space"),
    (r"llvm\.nvvm\.(d2f|f2h|f2bf16|ff2bf16x2|ff2f16x2|f2tf32|bf2h|h2f|e4m3|e5m2|e2m1|e3m2|"
     r"e2m3|ue8m0|ff\.to|f16x2\.to|bf16x2\.to|d2i|d2ui|d2ll|d2ull|ll2d|ull2d|i2d|ui2d|lohi|"
     r"d2i_lo|d2i_hi).*", REFUSED,
     "conversions of fp64, packed fp8/fp6/fp4 or tf32 formats: not lowered yet"),
]
AMDGPU_RULES: list[Rule] = [
    (r"llvm\.amdgcn\.(workitem|workgroup)\.id\.[xyz]", MAPPED, "kernel built-in parameters"),
    (r"llvm\.amdgcn\.s\.barrier", MAPPED, "air.wg.barrier"),
    (r"llvm\.amdgcn\.wave\.barrier", MAPPED, "air.simdgroup.barrier"),
    (r"llvm\.amdgcn\.(ballot|readfirstlane|mbcnt\.(lo|hi)|ds\.bpermute|wavefrontsize)", MAPPED,
     "SIMD-group operations (32-wide)"),
    (r"llvm\.amdgcn\.(dispatch\.ptr|implicitarg\.ptr)", EMULATED,
     "size fields at constant offsets from Metal's grid and threadgroup sizes; other fields "
     "refused by name (amdgpu_implicitargs.py)"),
    (r"llvm\.amdgcn\.(kernarg\.segment\.ptr|queue\.ptr)", REFUSED,
     "the AMD kernarg segment and queue have no Metal equivalent"),
    (r"llvm\.amdgcn\.wmma\.(f32|f16|bf16|i32)\.16x16x16\.(f16|bf16|iu8|iu4)(\.tied)?", EMULATED,
     "gfx11 wave32: exact, A rows fetched with SIMD shuffles, dot products per lane "
     "(amdgpu_wmma.py, lane_matrix.py); gfx12 layouts and wave64 refused"),
    (r"llvm\.amdgcn\.(mfma|smfmac|wmma|swmmac).*", REFUSED,
     "MFMA is wave64 only (64-lane exchanges); other WMMA/SWMMAC forms: not mapped yet"),
    (r"llvm\.amdgcn\.(make\.buffer\.rsrc|raw\.ptr\.buffer\.(load|store|atomic\.(swap|add|sub|"
     r"smin|umin|smax|umax|and|or|xor|inc|dec|fadd|fmin|fmax|cmpswap)))", EMULATED,
     "global accesses checked against num_records (amdgpu_lanes.py)"),
    (r"llvm\.amdgcn\.(raw|struct)\.(ptr\.)?(buffer|tbuffer).*|llvm\.amdgcn\.s\.buffer.*", REFUSED,
     "other buffer-resource forms: not lowered yet"),
    (r"llvm\.amdgcn\.(update\.dpp|mov\.dpp|mov\.dpp8|permlane16|permlanex16|readlane)", EMULATED,
     "wave32: source lane computed, SIMD shuffle, DPP row/bank/bound rules (amdgpu_lanes.py); "
     "gfx8/9-only controls refused"),
    (r"llvm\.amdgcn\.(sqrt|rcp|rsq|exp2|log)", EMULATED,
     "llvm.sqrt, 1.0 / x, 1.0 / llvm.sqrt, llvm.exp2, llvm.log2 (amdgpu_math.py)"),
    (r"llvm\.amdgcn\.fmed3", EMULATED, "maxnum/fcmp/select as LLVM folds it (amdgpu_math.py)"),
    (r"llvm\.amdgcn\.(permlane.*|ds\.swizzle)", REFUSED,
     "other cross-lane moves (permlane64, .var forms, swizzle): not lowered yet"),
    (r"llvm\.amdgcn\.(image|s\.sample|sample).*", REFUSED, "images: not supported"),
    (r"llvm\.amdgcn\.(s\.(sleep|setprio|getreg|setreg|memtime|memrealtime|sendmsg.*|"
     r"waitcnt|dcache.*|icache.*|trap|ttracedata.*)|s_.*|exp.*|interp.*|kill|"
     r"ds\.(gws|ordered|append|consume).*|global\.load\.lds|load\.to\.lds.*)", REFUSED,
     "hardware control, graphics or LDS-DMA operations with no Apple equivalent"),
]


def _nvvm_code_rules(name: str) -> tuple[str, str] | None:
    """Names the compiler's tables answer directly."""
    if name in BUILTIN_READS:
        return MAPPED, "kernel built-in parameters (builtins.py)"
    if name in T.NVVM_MATH or name.removesuffix("32") in T.NVVM_MATH:
        op, fast = T.NVVM_MATH.get(name, T.NVVM_MATH.get(name.removesuffix("32"), ("", False)))
        return MAPPED, f"air.{'fast_' if fast else ''}{op}"
    if name in T.NVVM_DIVIDES:
        return MAPPED, "fdiv"
    if _FABS_RE.fullmatch(name):
        return MAPPED, "air.fabs"
    m = _ARITH_RE.fullmatch(name)
    if m:
        if m.group(2) == "rn":
            return MAPPED, "IEEE round-to-nearest instruction / air.fma"
        if m.group(1) == "fma":
            return EMULATED, "computed to nearest with a warning (no directed rounding in AIR)"
        return EMULATED, "exact: nearest result corrected by the sign of the exact error"
    m = _F2I_RE.fullmatch(name)
    if m:
        return EMULATED, "air.rint/floor/ceil then air.convert"
    m = _I2F_RE.fullmatch(name)
    if m:
        if m.group(2) == "rn" or m.group(1) in ("i", "ui"):
            return EMULATED, "air.convert, corrected by the exact 64-bit difference"
        return EMULATED, "64-bit source: computed to nearest with a warning"
    if _INT_RE.fullmatch(name):
        return MAPPED, "air.mul_hi / air.abs_diff"
    if name in T.THREADGROUP_BARRIERS or name in T.SIMDGROUP_BARRIERS or name in T.NVVM_FENCES:
        return MAPPED, "air barrier / fence"
    if name in T.NVVM_LANEMASKS:
        return EMULATED, "from the SIMD lane id"
    return None


def classify(name: str, rules: list[Rule],
             code: Callable[[str], tuple[str, str] | None] | None = None) -> tuple[str, str]:
    if code is not None:
        found = code(name)
        if found is not None:
            return found
    for pattern, status, note in rules:
        if re.fullmatch(pattern, name):
            return status, note
    return REFUSED, "no AIR equivalent yet (reported by name at its call)"


def intrinsic_names(header: Path, prefix: str) -> list[str]:
    return sorted(set(re.findall(rf"// ({re.escape(prefix)}[\w.]+)", header.read_text())))


# Names LLVM 20-22 introduced (or renamed to) that inputs from those releases carry; LLVM
# 19's lists predate them. Running the intrinsic lists of a newer LLVM needs its headers.
NEWER_NVVM = ("llvm.nvvm.barrier.cta.sync.aligned.all", "llvm.nvvm.barrier.cta.sync.all",
              "llvm.nvvm.barrier.cta.sync.aligned", "llvm.nvvm.barrier.cta.sync",
              "llvm.nvvm.fabs.f32", "llvm.nvvm.fabs.ftz.f32", "llvm.nvvm.fabs.f64")


_OPENCL_GROUPS: list[Rule] = [
    ("(" + "|".join(sorted(T.OPENCL_BALLOT)) + ")", EMULATED,
     "cl_khr_subgroup_ballot: air.simd_ballot and integer IR on the uint4 mask "
     "(opencl_ballot.py)"),
    (r"(get_(global|local|group|enqueued_local)_(id|size)|get_num_groups|get_work_dim|"
     r"get_global_offset|get_(global|local)_linear_id|get_sub_group_.*|get_max_sub_group_size|"
     r"get_num_sub_groups|get_enqueued_num_sub_groups)", MAPPED, "kernel built-in parameters"),
    (r"(barrier|work_group_barrier|sub_group_barrier|mem_fence|read_mem_fence|"
     r"write_mem_fence|atomic_work_item_fence)", MAPPED, "air barriers and fences"),
    (r"(atomic_.*|atom_.*)", MAPPED, "air.atomic.* (or compare-exchange loops)"),
    (r"(sub_group_(reduce|scan_(inclusive|exclusive))_(add|min|max)|sub_group_broadcast|"
     r"sub_group_(any|all)|sub_group_shuffle.*)", MAPPED, "air.simd_*"),
    (r"(dot|dot_acc_sat|dot_4x8packed_\w+|dot_acc_sat_4x8packed_\w+)", EMULATED,
     "integer dot products: exact widening multiply-adds (float dot: air.dot)"),
    (r"convert_(u?(char|short|int|long))\d*_sat\w*", EMULATED,
     "saturating conversions: air.min/max clamps, or air.convert with the out-of-range "
     "results selected away (opencl_sat_half.py)"),
    (r"convert_\w+_rt[epnz]", EMULATED,
     "float to integer: air.rint/ceil/floor then air.convert (exact); integer to float and "
     "narrowing float conversions with directed rounding: nearest, with a warning"),
    (r"(convert_\w+|as_\w+)", MAPPED, "conversions and bit casts"),
    (r"(vload\d+|vstore\d+)", MAPPED, "vector loads and stores"),
    (r"(vload_half\w*|vstore_half\w*|vloada_half\w*|vstorea_half\w*)", MAPPED,
     "half loads widened by fpext, stores narrowed by fptrunc (directed rounding: nearest, "
     "with a warning) (opencl_sat_half.py)"),
    (r"(is(equal|notequal|greater|greaterequal|less|lessequal|lessgreater|ordered|"
     r"unordered))", MAPPED, "fcmp"),
    (r"(shuffle|shuffle2|select)", MAPPED, "vector shuffles / select"),
    (r"(read_image(f|i|ui)|write_image(f|i|ui)|get_image_(width|height|dim))", MAPPED,
     "image2d_t: AIR textures (textures.py; constant nearest unnormalized samplers as exact "
     "reads, other samplers and sampler_t arguments as AIR sampler states through "
     "air.sample_texture_2d, read_imagef only); other image types refused with the type "
     "named"),
    (r"(read_image\w*|write_image\w*|get_image_\w*)", REFUSED,
     "half images, 3D/array/depth queries and channel queries: refused, named"),
    (r"(printf)", REFUSED, "printf is not supported (located error)"),
    (r"(async_work_group_copy|async_work_group_strided_copy|wait_group_events)", EMULATED,
     "asynchronous copies: each work-item copies its share, the wait is a barrier "
     "(async_copies.py)"),
    (r"prefetch", ERASED, "a cache hint (async_copies.py)"),
    ("(" + "|".join(OPENCL_COLLECTIVES) + ")", EMULATED,
     "work-group collectives: threadgroup array, barriers, fold (workgroup_collectives.py)"),
    ("(" + "|".join(sorted(T.OPENCL_COMMON)) + ")", EMULATED,
     "geometric, common and relational helpers: air math calls and plain instructions "
     "(opencl_common.py)"),
    (r"(work_group_\w+)", REFUSED, "work-group collectives: not lowered yet"),
    (r"(enqueue_kernel|get_kernel_\w+|create_user_event|retain_event|release_event|"
     r"set_user_event_status|capture_event_profiling_info|is_valid_(event|reserve_id)|"
     r"get_default_queue|ndrange_\dD|(read|write|reserve|commit|work_group|sub_group)_"
     r"(pipe|read_pipe|write_pipe|reserve_read_pipe|reserve_write_pipe|commit_read_pipe|"
     r"commit_write_pipe)\w*|get_pipe_\w+|is_valid_reserve_id)", REFUSED,
     "device-side enqueue and pipes: no Apple equivalent"),
    (r"(to_global|to_local|to_private|get_fence)", REFUSED,
     "generic address-space queries: AIR pointers carry their space"),
    (r"(nan|frexp|modf|remquo|lgamma_r|sincos|fract|ilogb|signbit|isfinite|isinf|isnan|"
     r"isnormal)", MAPPED, "air math (pointer outputs through private memory)"),
]


def classify_opencl(name: str) -> tuple[str, str]:
    for pattern, status, note in _OPENCL_GROUPS:
        if re.fullmatch(pattern, name):
            return status, note
    stem = re.sub(r"^(native_|half_)", "", name)
    if stem in T.INT_OPS and stem in T.FLOAT_OPS:
        return MAPPED, f"air.{T.FLOAT_OPS[stem].air} / air.{T.INT_OPS[stem].air}"
    if stem in T.FLOAT_OPS:
        fast = name.startswith(T.FAST_PREFIXES)
        return MAPPED, f"air.{'fast_' if fast else ''}{T.FLOAT_OPS[stem].air}"
    if stem in T.INT_OPS:
        return MAPPED, f"air.{T.INT_OPS[stem].air}"
    if name in T.OPENCL_RELATIONAL:
        return MAPPED, "fcmp"
    return REFUSED, "no AIR equivalent yet (reported by name at its call)"


def opencl_builtins(header: Path) -> list[str]:
    names = set(re.findall(r"__ovld(?:\s+__cnfn|\s+__purefn|\s+__conv)*\s+[\w\s*]*?\b(\w+)\(",
                           header.read_text()))
    return sorted(n for n in names if not n.startswith("__") and n not in ("__attribute__",))


def _table(rows: list[tuple[str, str, str]], what: str) -> list[str]:
    counts = Counter(status for _, status, _ in rows)
    out = [f"{len(rows)} {what}: " + ", ".join(f"{counts[s]} {s}" for s in
                                               (MAPPED, EMULATED, ERASED, REFUSED) if counts[s]),
           "", "| name | status | how / why |", "|---|---|---|"]
    out += [f"| `{name}` | {status} | {note} |" for name, status, note in rows]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llvm-include", type=Path, default=Path("/usr/lib/llvm-19/include"))
    parser.add_argument("--opencl-header", type=Path,
                        default=Path("/usr/lib/llvm-19/lib/clang/19/include/opencl-c.h"))
    parser.add_argument("-o", "--output", type=Path,
                        default=Path(__file__).resolve().parents[1] / "docs" / "coverage.md")
    args = parser.parse_args()
    ir = args.llvm_include / "llvm" / "IR"
    nvvm = intrinsic_names(ir / "IntrinsicsNVPTX.h", "llvm.nvvm.")
    amdgpu = intrinsic_names(ir / "IntrinsicsAMDGPU.h", "llvm.amdgcn.")
    nvvm_rows = []
    for name in sorted(set(nvvm) | set(NEWER_NVVM)):
        status, note = classify(name, NVVM_RULES, _nvvm_code_rules)
        if name in NEWER_NVVM and name not in nvvm:
            note += " (LLVM 20-22 spelling)"
        nvvm_rows.append((name, status, note))
    amdgpu_rows = [(n, *classify(n, AMDGPU_RULES)) for n in amdgpu]
    opencl_rows = [(n, *classify_opencl(n)) for n in opencl_builtins(args.opencl_header)]
    libdevice_rows = [(f, MAPPED, f"as `{n}`") for f, n in sorted(LIBDEVICE_TO_NVVM.items())]
    lines = [
        "# Coverage: NVVM, AMDGPU and OpenCL C constructs",
        "",
        "Generated by `tools/coverage_table.py` (do not edit by hand) from LLVM 19's intrinsic",
        "lists (`IntrinsicsNVPTX.h`, `IntrinsicsAMDGPU.h` of llvm-19-dev, plus the newer",
        "LLVM 20-22 spellings the compiler handles; LLVM 22's reader upgrades some old names",
        "to generic LLVM intrinsics, which are then lowered as those) and",
        "clang 19's `opencl-c.h` (OpenCL C 3.0 builtins). *mapped*: one AIR operation or",
        "instruction; *emulated*: a sequence computing the same result (exact unless the",
        "note says otherwise); *refused*: a located error naming the construct. The",
        "classification follows the compiler's tables; a construct is only as supported as",
        "the tests in `tests/` show.",
        "",
        "## NVVM intrinsics", "", *_table(nvvm_rows, "NVVM intrinsics"), "",
        "## libdevice rounding-mode functions", "",
        "Calls to these (declared, or linked libdevice definitions) are retargeted to the NVVM",
        "intrinsic their body computes; other `__nv_*` functions are lowered by name",
        "(`docs/air-intrinsics.md`).", "", *_table(libdevice_rows, "libdevice functions"), "",
        "## AMDGPU intrinsics", "", *_table(amdgpu_rows, "AMDGPU intrinsics"), "",
        "## OpenCL C 3.0 builtins", "", *_table(opencl_rows, "OpenCL C builtin names"), "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}: {len(nvvm_rows)} NVVM, {len(amdgpu_rows)} AMDGPU, "
          f"{len(opencl_rows)} OpenCL")


if __name__ == "__main__":
    main()
