"""Kernels written the way public GPU suites write them (CUDA SDK nbody, sortingNetworks and
convolutionSeparable, Rodinia BFS/gaussian/k-means, CUB-style templates and the old SDK
reduce6, cooperative-groups reduce/scan, radix-sort digit ranking, integer intrinsics,
half2/bfloat16 math), each lowered and run on the CPU runner against numpy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run
from tests.lowered import lower

FIXTURES = Path(__file__).parent / "fixtures"
RNG = np.random.default_rng(7)
CUDA = ["cuda-real-O0", "cuda-real-O2"]
M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1


def f32(*shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def u32(n: int) -> np.ndarray:
    return RNG.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)


# ----------------------------------------------------------------- nbody


@pytest.mark.parametrize("variant", CUDA)
def test_nbody_float4_tiles(variant: str) -> None:
    air, k = lower(f"{variant}/nbody_tile.ll")
    n, soft2 = 128, np.float32(0.01)
    pos = f32(n, 4)
    pos[:, 3] = RNG.uniform(0.5, 2.0, n)
    accel = np.zeros((n, 4), np.float32)
    run(air, k("nbody_forces"), n, 64, {0: pos, 1: accel, 2: np.int32(n), 3: soft2})
    p = pos.astype(np.float64)
    r = p[None, :, :3] - p[:, None, :3]
    inv3 = (np.sum(r * r, axis=2) + float(soft2)) ** -1.5
    want = np.sum(r * (p[None, :, 3] * inv3)[:, :, None], axis=1)
    np.testing.assert_allclose(accel[:, :3], want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert not accel[:, 3].any()

    vel, dt = f32(n, 4), np.float32(0.1)
    pos0, vel0 = pos.copy(), vel.copy()
    run(air, k("nbody_integrate"), n, 32,
        {0: pos, 1: vel, 2: accel, 3: dt, 4: np.int32(n)})
    v_want = vel0[:, :3] + accel[:, :3] * dt
    np.testing.assert_allclose(vel[:, :3], v_want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pos[:, :3], pos0[:, :3] + v_want * dt, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(pos[:, 3], pos0[:, 3])
    np.testing.assert_array_equal(vel[:, 3], vel0[:, 3])


# --------------------------------------------------------------- sorting


@pytest.mark.parametrize("variant", CUDA)
def test_bitonic_sort_of_key_value_pairs(variant: str) -> None:
    air, k = lower(f"{variant}/bitonic_shared.ll")
    keys = RNG.permutation(1 << 20)[:512].astype(np.uint32)
    values = np.arange(512, dtype=np.uint32)
    original = keys.copy()
    run(air, k("bitonic_sort_pairs"), 256, 128, {0: keys, 1: values})
    for block in range(2):
        part = slice(256 * block, 256 * block + 256)
        np.testing.assert_array_equal(keys[part], np.sort(original[part]))
    np.testing.assert_array_equal(original[values], keys)  # values moved with their keys


@pytest.mark.parametrize("variant", CUDA)
def test_odd_even_sort_in_dynamic_shared_memory(variant: str) -> None:
    air, k = lower(f"{variant}/bitonic_shared.ll")
    n = 100
    data = RNG.integers(-1000, 1000, 2 * n).astype(np.int32)
    want = np.sort(data.reshape(2, n), axis=1).ravel()
    run(air, k("odd_even_sort"), 2 * 128, 128, {0: data, 1: np.int32(n)},
        threadgroup_memory={0: 4 * n})
    np.testing.assert_array_equal(data, want)


# ------------------------------------------------------ radix-sort pieces


def _brev(v: int, bits: int) -> int:
    return int(f"{v:0{bits}b}"[::-1], 2)


def _clz(v: int, bits: int) -> int:
    return bits - v.bit_length()


def _ffs(v: int) -> int:
    return (v & -v).bit_length()


@pytest.mark.parametrize("variant", CUDA)
def test_warp_digit_ranking_with_ballots(variant: str) -> None:
    air, k = lower(f"{variant}/radix_digits.ll")
    n, shift = 256, 4
    keys = u32(n)
    keys[:40] &= 0xFF0F  # make digit 0 common
    rank = np.zeros(n, np.uint32)
    counts = np.full(n // 32 * 16, 99, np.uint32)
    run(air, k("warp_digit_rank"), n, 128, {0: keys, 1: np.int32(shift), 2: rank, 3: counts})
    digits = (keys >> shift) & 15
    for w in range(n // 32):
        d = digits[32 * w:32 * w + 32]
        assert rank[32 * w:32 * w + 32].tolist() == [int((d[:j] == d[j]).sum()) for j in range(32)]
        want = [int((d == v).sum()) if (d == v).any() else 99 for v in range(16)]
        assert counts[16 * w:16 * w + 16].tolist() == want


@pytest.mark.parametrize("variant", CUDA)
def test_key_flipping_and_bit_reversal(variant: str) -> None:
    air, k = lower(f"{variant}/radix_digits.ll")
    n = 200
    x = f32(n, lo=-100, hi=100)
    x[:3] = [0.0, -0.0, 1.0]
    outs = [np.zeros(n, t) for t in (np.uint32, np.uint32, np.int32, np.uint64, np.int32)]
    run(air, k("key_bits"), 256, 64, {0: x, **{i + 1: o for i, o in enumerate(outs)},
                                      6: np.int32(n)})
    flipped, rev, lz, rev64, pop64 = outs
    for i, u in enumerate(x.view(np.uint32).tolist()):
        mask = M32 if u >> 31 else 0x80000000
        w = (u << 32) | (u ^ 0x5A5A5A5A)
        assert flipped[i] == u ^ mask
        assert rev[i] == _brev(u, 32)
        assert lz[i] == _clz(u, 32) + _ffs(u)
        assert rev64[i] == _brev(w, 64)
        assert pop64[i] == bin(w).count("1") + _clz(w, 64) + _ffs(w)
    order = np.argsort(flipped, kind="stable")  # flipped bits sort like the floats
    np.testing.assert_array_equal(np.sort(x), x[order])


# ------------------------------------------------------------ convolution


@pytest.mark.parametrize("variant", CUDA)
def test_separable_convolution_with_constant_taps(variant: str) -> None:
    air, k = lower(f"{variant}/sep_conv.ll")
    w, h, radius = 50, 20, 3
    src = f32(h, w)
    taps = np.array([0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05], np.float32)  # the __constant__
    grid = (64, 24)  # whole 16x8 blocks, as a CUDA launch has
    rows, cols = np.zeros_like(src), np.zeros_like(src)
    run(air, k("conv_rows"), grid, (16, 8),
        {0: src, 1: rows, 2: np.int32(w), 3: np.int32(h), 4: taps})
    run(air, k("conv_cols"), grid, (16, 8),
        {0: rows, 1: cols, 2: np.int32(w), 3: np.int32(h), 4: taps})
    s = src.astype(np.float64)
    want_rows = sum(taps[radius + d] * s[:, np.clip(np.arange(w) + d, 0, w - 1)]
                    for d in range(-radius, radius + 1))
    np.testing.assert_allclose(rows, want_rows, rtol=1e-5, atol=1e-6)
    r = rows.astype(np.float64)
    want_cols = sum(taps[radius + d] * r[np.clip(np.arange(h) + d, 0, h - 1), :]
                    for d in range(-radius, radius + 1))
    np.testing.assert_allclose(cols, want_cols, rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------- BFS


def _graph(n: int, degree: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A random CSR graph and its BFS levels from node 0 (-1: unreachable)."""
    adjacency = [sorted(set(RNG.integers(0, n, RNG.integers(0, degree + 1)).tolist()))
                 for _ in range(n)]
    row_start = np.cumsum([0] + [len(a) for a in adjacency]).astype(np.int32)
    edges = np.array([u for a in adjacency for u in a] or [0], np.int32)
    level, frontier = [-1] * n, [0]
    level[0] = 0
    while frontier:
        nxt = []
        for v in frontier:
            for u in adjacency[v]:
                if level[u] < 0:
                    level[u] = level[v] + 1
                    nxt.append(u)
        frontier = nxt
    return row_start, edges, level


@pytest.mark.parametrize("variant", CUDA)
def test_rodinia_bfs_with_bool_masks(variant: str) -> None:
    air, k = lower(f"{variant}/bfs_frontier.ll")
    n = 300
    row_start, edges, level = _graph(n, 4)
    frontier, visited = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    updated, cost = np.zeros(n, np.int8), np.full(n, -1, np.int32)
    frontier[0] = visited[0] = True
    cost[0] = 0
    for _ in range(n):
        not_done = np.zeros(1, np.uint32)
        run(air, k("bfs_expand"), 320, 64, {0: row_start, 1: edges, 2: frontier, 3: visited,
                                            4: updated, 5: cost, 6: np.int32(n)})
        run(air, k("bfs_commit"), 320, 64, {0: frontier, 1: visited, 2: updated, 3: not_done,
                                            4: np.int32(n)})
        if not not_done[0]:
            break
    assert cost.tolist() == level
    np.testing.assert_array_equal(visited, np.array(level) >= 0)
    assert not frontier.any() and not updated.any()


@pytest.mark.parametrize("variant", CUDA)
def test_queue_bfs_with_exchange_and_min(variant: str) -> None:
    air, k = lower(f"{variant}/bfs_frontier.ll")
    n = 300
    row_start, edges, level = _graph(n, 3)
    claimed = np.zeros(n, np.int32)
    levels = np.full(n, np.iinfo(np.int32).max, np.int32)
    claimed[0], levels[0] = 1, 0
    queue = np.zeros(n, np.int32)
    qlen, depth = 1, 0
    while qlen:
        nxt, nlen = np.zeros(n, np.int32), np.zeros(1, np.int32)
        run(air, k("bfs_push"), 320, 64, {0: row_start, 1: edges, 2: queue, 3: np.int32(qlen),
                                          4: claimed, 5: levels, 6: nxt, 7: nlen})
        depth += 1
        qlen = int(nlen[0])
        assert sorted(nxt[:qlen].tolist()) == [v for v in range(n) if level[v] == depth]
        queue = nxt
    assert [v if v != np.iinfo(np.int32).max else -1 for v in levels.tolist()] == level


# ---------------------------------------------------- dense linear algebra


@pytest.mark.parametrize("variant", CUDA)
def test_gaussian_elimination_fan1_fan2(variant: str) -> None:
    air, k = lower(f"{variant}/gaussian_lu.ll")
    size = 16
    a = f32(size, size) + np.eye(size, dtype=np.float32) * size
    b = f32(size)
    a0, b0 = a.astype(np.float64), b.astype(np.float64)
    m = np.zeros_like(a)
    for t in range(size - 1):
        run(air, k("fan1"), 16, 16, {0: a, 1: m, 2: np.int32(size), 3: np.int32(t)})
        run(air, k("fan2"), (16, 16), (4, 4),
            {0: a, 1: b, 2: m, 3: np.int32(size), 4: np.int32(t)})
    np.testing.assert_allclose(np.tril(a, -1), 0, atol=1e-5)
    x = np.linalg.solve(np.triu(a).astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(x, np.linalg.solve(a0, b0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("variant", CUDA)
def test_right_looking_lu_steps(variant: str) -> None:
    air, k = lower(f"{variant}/gaussian_lu.ll")
    n = 24
    a = f32(n, n) + np.eye(n, dtype=np.float32) * n
    want = a.astype(np.float64)
    for step in range(n - 1):
        run(air, k("lu_step"), (24, 24), (8, 8), {0: a, 1: np.int32(n), 2: np.int32(step)})
        lower_part = want[step + 1:, step] / want[step, step]
        want[step + 1:, step + 1:] -= np.outer(lower_part, want[step, step + 1:])
    np.testing.assert_allclose(a, want, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------- k-means


@pytest.mark.parametrize("variant", CUDA)
def test_kmeans_struct_of_arrays(variant: str) -> None:
    air, k = lower(f"{variant}/kmeans_soa.ll")
    npoints, nfeatures, nclusters = 300, 4, 5
    features = f32(nfeatures, npoints, lo=0, hi=10)
    centres = f32(nclusters, nfeatures, lo=0, hi=10)
    clusters = np.zeros(2, np.uint64)  # {const float* centres; int k; int nfeatures}
    clusters[0] = centres.ctypes.data
    clusters[1:] = np.array([nclusters, nfeatures], np.int32).view(np.uint64)
    membership, changed = np.full(npoints, -1, np.int32), np.zeros(1, np.int32)
    # the struct's pointer is a raw address, not a bound buffer: unchecked mode
    run(air, k("kmeans_assign"), 320, 64, {0: features, 1: clusters, 2: np.int32(npoints),
                                           3: membership, 4: changed}, check_bounds=False)
    d = ((features.T[:, None, :].astype(np.float64) - centres[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(membership, d.argmin(axis=1))
    assert changed[0] == npoints

    sums, counts = np.zeros((nclusters, nfeatures), np.float32), np.zeros(nclusters, np.int32)
    run(air, k("kmeans_accumulate"), 320, 64, {0: features, 1: membership,
                                               2: np.int32(npoints), 3: np.int32(nfeatures),
                                               4: sums, 5: counts})
    np.testing.assert_array_equal(counts, np.bincount(membership, minlength=nclusters))
    want = np.stack([features[:, membership == c].sum(axis=1) for c in range(nclusters)])
    np.testing.assert_allclose(sums, want, rtol=1e-5)


# ------------------------------------------------------ template reductions


@pytest.mark.parametrize("variant", CUDA)
def test_cub_style_template_reductions(variant: str) -> None:
    air, k = lower(f"{variant}/template_reduce.ll")
    x = f32(1024)
    out = np.zeros(4, np.float32)
    run(air, k("ILi256Ef3Sum"), 1024, 256, {0: x, 1: out, 2: np.float32(0)})
    np.testing.assert_allclose(out, x.reshape(4, 256).sum(axis=1, dtype=np.float64), rtol=1e-5,
                               atol=1e-5)
    ints = RNG.integers(-10**9, 10**9, 512).astype(np.int32)
    best = np.zeros(4, np.int32)
    run(air, k("ILi128Ei3Max"), 512, 128, {0: ints, 1: best, 2: np.int32(-2**31)})
    np.testing.assert_array_equal(best, ints.reshape(4, 128).max(axis=1))
    big = RNG.integers(0, 1 << 62, 256, dtype=np.uint64)
    total = np.zeros(4, np.uint64)
    run(air, k("ILi64Ey3Sum"), 256, 64, {0: big, 1: total, 2: np.uint64(0)})
    want = [sum(int(v) for v in big[64 * i:64 * i + 64]) & M64 for i in range(4)]
    assert total.tolist() == want


def test_reduce6_keeps_its_volatile_shared_accesses() -> None:
    """The warp-synchronous tail relies on lock-step SIMD execution and on volatile
    ordering of its shared-memory accesses: the lowering keeps them volatile."""
    air, _ = lower("cuda-real-O2/template_reduce.ll")
    text = air.decode()
    assert text.count("load volatile float, float addrspace(3)*") >= 12
    assert text.count("store volatile float") >= 6


@pytest.mark.xfail(strict=True, reason="the CPU runner runs the lanes of a SIMD group one "
                   "after another between barriers, not in lock step, so warp-synchronous "
                   "code without __syncwarp reads its neighbours' shared values too early")
@pytest.mark.parametrize("variant", CUDA)
def test_sdk_reduce6_volatile_warp_tail(variant: str) -> None:
    air, k = lower(f"{variant}/template_reduce.ll")
    n = 3000
    x = f32(n)
    out = np.zeros(4, np.float32)
    run(air, k("reduce6"), 1024, 256, {0: x, 1: out, 2: np.uint32(n)})
    assert abs(float(out.sum(dtype=np.float64)) - float(x.sum(dtype=np.float64))) < 1e-3
    grid = 2 * 256 * 4
    for b in range(4):
        idx = np.concatenate([np.arange(s, min(s + 512, n)) for s in range(512 * b, n, grid)])
        np.testing.assert_allclose(out[b], x[idx].sum(dtype=np.float64), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------ cooperative groups


@pytest.mark.parametrize("variant", CUDA)
def test_cooperative_groups_reduce_and_scan(variant: str) -> None:
    air, k = lower(f"{variant}/cg_partition.ll")
    v = RNG.integers(-1000, 1000, 256).astype(np.int32)
    sums, maxes = np.zeros(8, np.int32), np.zeros(32, np.int32)
    run(air, k("cg_reduce_ops"), 256, 128, {0: v, 1: sums, 2: maxes})
    np.testing.assert_array_equal(sums, v.reshape(8, 32).sum(axis=1))
    np.testing.assert_array_equal(maxes, v.reshape(32, 8).max(axis=1))

    x, out = f32(256), np.zeros(256, np.float32)
    run(air, k("cg_scan"), 256, 64, {0: x, 1: out})
    np.testing.assert_allclose(out, np.cumsum(x.reshape(8, 32), axis=1).ravel(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("variant", CUDA)
def test_coalesced_group_slot_allocation(variant: str) -> None:
    air, k = lower(f"{variant}/cg_partition.ll")
    v = RNG.integers(-5, 5, 256).astype(np.int32)
    slots, counter = np.zeros(256, np.int32), np.zeros(1, np.int32)
    run(air, k("cg_coalesced_count"), 256, 128, {0: v, 1: slots, 2: counter})
    positive = v > 0
    assert counter[0] == positive.sum()
    assert (slots[~positive] == -1).all()
    assert sorted(slots[positive].tolist()) == list(range(counter[0]))
    for w in range(8):  # one atomic per warp: contiguous slots in lane order
        got = slots[32 * w:32 * w + 32][positive[32 * w:32 * w + 32]]
        if got.size:
            np.testing.assert_array_equal(got, got[0] + np.arange(got.size))


# ------------------------------------------------------- integer intrinsics


def _s32(v: int) -> int:
    v &= M32
    return v - (1 << 32) if v >> 31 else v


def _byte_perm(x: int, y: int, s: int) -> int:
    pool = x | (y << 32)
    return sum(((pool >> (8 * ((s >> (4 * i)) & 7))) & 0xFF) << (8 * i) for i in range(4))


def _int_intrinsics(x: int, y: int) -> list[int]:
    sx, sy = _s32(x), _s32(y)
    wide = (y << 32) | x
    return [(x * y) >> 32, ((sx * sy) >> 32) & M32, _byte_perm(x, y, 0x5140),
            _byte_perm(x, y, 0x0123), abs((x & 0xFFFF) - (y & 0xFFFF)) + 7,
            (abs((x >> 4) - (y >> 4)) + 3) & M32,
            ((wide << (y & 31)) >> 32) & M32, (wide >> (x & 31)) & M32,
            (((sx + sy) >> 1) ^ ((sx + sy + 1) >> 1)) & M32,
            (((x + y) >> 1) + ((x + y + 1) >> 1)) & M32]


@pytest.mark.parametrize("variant", CUDA)
def test_integer_intrinsics(variant: str) -> None:
    air, k = lower(f"{variant}/int_intrinsics.ll")
    n = 100
    a, b = u32(n), u32(n)
    a[:4] = [0, M32, 0x80000000, 1]
    b[:4] = [M32, M32, 0x80000000, 0]
    out = np.zeros(10 * n, np.uint32)
    run(air, k("int_intrinsics"), 128, 64, {0: a, 1: b, 2: out, 3: np.int32(n)})
    for i in range(n):
        assert out[10 * i:10 * i + 10].tolist() == _int_intrinsics(int(a[i]), int(b[i])), i


@pytest.mark.parametrize("variant", CUDA)
def test_64_bit_and_unsigned_division(variant: str) -> None:
    air, k = lower(f"{variant}/int_intrinsics.ll")
    n = 200
    num = RNG.integers(-2**62, 2**62, n, dtype=np.int64)
    den = RNG.integers(-2**40, 2**40, n, dtype=np.int64)
    den[den == 0] = 3
    den[:4] = [1, -1, 7, -(2**62)]
    num[:4] = [2**62, 5, -2**63, -1]
    q, r = np.zeros(n, np.int64), np.zeros(n, np.int64)
    uq, u32s = np.zeros(n, np.uint64), np.zeros(n, np.uint32)
    run(air, k("wide_div"), 256, 64, {0: num, 1: den, 2: q, 3: r, 4: uq, 5: u32s,
                                      6: np.int32(n)})
    for i in range(n):
        a, d = int(num[i]), int(den[i])
        tq = abs(a) // abs(d) * (1 if (a < 0) == (d < 0) else -1)
        assert (q[i], r[i]) == (tq, a - tq * d), i
        ua, ud = a & M64, d & M64
        assert uq[i] == ((ua // ud + ua % ud) & M64) ^ ((ua * ud) >> 64), i
        ux, uy = ua & M32, (ud & M32) | 1
        assert u32s[i] == (ux // uy * 3 + ux % uy) & M32, i


def _fns(mask: int, base: int, offset: int) -> int:
    """PTX ISA ``fns.b32``, as its pseudo-code says."""
    if offset == 0:
        return base if mask >> base & 1 else M32
    pos, count, inc = base, abs(offset) - 1, 1 if offset > 0 else -1
    while 0 <= pos < 32:
        if mask >> pos & 1:
            if count == 0:
                return pos
            count -= 1
        pos += inc
    return M32


@pytest.mark.parametrize("variant", CUDA)
def test_find_nth_set_bit(variant: str) -> None:
    air, k = lower(f"{variant}/int_intrinsics.ll")
    n = 640
    masks = u32(n)
    masks[::5] &= u32(n)[::5]  # sparser masks
    masks[:3] = [0, M32, 0xAAAAAAAA]
    offs = RNG.integers(-33, 34, n).astype(np.int32)
    offs[:6] = [1, 0, 1, -1, 32, -32]
    out = np.zeros(n, np.uint32)
    run(air, k("find_nth_set"), n, 64, {0: masks, 1: offs, 2: out, 3: np.int32(n)})
    want = [_fns(int(masks[i]), i % 32, int(offs[i])) for i in range(n)]
    assert out.tolist() == want


# ------------------------------------------------------------- half2, bf16


def _bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, rounded to nearest even."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _from_bf16(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


@pytest.mark.parametrize("variant", CUDA)
def test_half2_packed_math(variant: str) -> None:
    air, k = lower(f"{variant}/half2_bf16.ll")
    n = 128
    x, y = f32(2 * n, lo=-2, hi=2).astype(np.float16), f32(2 * n, lo=-2, hi=2).astype(np.float16)
    a = np.float32(1.5)
    y0 = y.astype(np.float64)
    run(air, k("half2_axpy"), n, 64, {0: x, 1: y, 2: a, 3: np.int32(n)})
    fused = np.maximum((1.5 * x.astype(np.float64) + y0).astype(np.float16), 0)
    want = fused.astype(np.float64) * np.tile([1.0, 0.5], n)
    np.testing.assert_allclose(y.astype(np.float64), want, rtol=1e-3, atol=1e-3)

    out = np.zeros(2 * n, np.float32)
    x[:4] = [0, -0.0, 10, -10]
    run(air, k("half2_math"), n, 64, {0: x, 1: out, 2: np.int32(n)})
    xd = x.astype(np.float64)
    np.testing.assert_allclose(out, np.exp(xd) + np.sqrt(np.abs(xd)), rtol=3e-3, atol=1e-3)


@pytest.mark.parametrize("variant", CUDA)
def test_bfloat16_arithmetic(variant: str) -> None:
    air, k = lower(f"{variant}/half2_bf16.ll")
    n = 200
    a, b = _bf16(f32(n, lo=-8, hi=8)), _bf16(f32(n, lo=-8, hi=8))
    c, f = np.zeros(n, np.uint16), np.zeros(n, np.float32)
    run(air, k("bf16_ops"), 256, 64, {0: a, 1: b, 2: c, 3: f, 4: np.int32(n)})
    fa, fb = _from_bf16(a), _from_bf16(b)
    s, p = _from_bf16(_bf16(fa + fb)), _from_bf16(_bf16(fa * fb))
    np.testing.assert_allclose(_from_bf16(c), _from_bf16(_bf16(s * np.float32(0.5) + p)),
                               rtol=1 / 128, atol=1e-6)
    np.testing.assert_array_equal(f, np.maximum(fa, fb))


# ================================================================= OpenCL
CL = "opencl30"


def _sat(v: int, bits: int, signed: bool) -> int:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return min(max(v, lo), hi)


def _rotl(v: int, r: int) -> int:
    r &= 31
    return ((v << r) | (v >> (32 - r))) & M32 if r else v


def _cl_int_ops(x: int, y: int) -> list[int]:
    def s24(v: int) -> int:
        v &= 0xFFFFFF
        return v - (1 << 24) if v >> 23 else v

    ux, uy = x & M32, y & M32
    product = x * y
    return [_s32((x & 0x7FFFFF) * (y & 0x7FFFFF) + x), _s32(s24(x >> 9) * s24(y >> 9)),
            _s32(_rotl(ux, uy)),
            bin(ux).count("1") + _clz(uy, 32) * 64 + (_ffs(ux) - 1 if ux else 32) * 4096,
            _sat(product + x, 32, True), _sat(x + y, 32, True), _sat(x - y, 32, True),
            (x + y) >> 1, (x + y + 1) >> 1, _s32(abs(x - y)),
            _s32((product >> 32) ^ ((product >> 32) + 17)), _s32(abs(x))]


def _run_int_ops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    air, k = lower(f"{CL}/int_builtins.ll")
    out = np.zeros(12 * a.size, np.int32)
    run(air, k("int_ops"), a.size, 64, {0: a, 1: b, 2: out})
    return out.reshape(-1, 12)


def test_opencl_integer_builtins() -> None:
    n = 128
    a, b = u32(n).view(np.int32), u32(n).view(np.int32)
    a[:4] = [0, -1, -2**31, 2**31 - 1]
    b[:4] = [-1, -3, 5, 2**31 - 1]
    out = _run_int_ops(a, b)
    for i in range(n):
        want = _cl_int_ops(int(a[i]), int(b[i]))
        assert out[i].tolist() == want, i


def test_opencl_mad_sat_saturates_the_exact_sum() -> None:
    """The runner saturates the exact a * b + c (it once saturated the product first)."""
    a = np.array([-1, 2**16, -714463422, -2**31], np.int32)
    b = np.array([-2**31, 2**16, -746639287, -1], np.int32)
    out = _run_int_ops(a, b)  # mad_sat(a, b, a)
    assert out[:, 4].tolist() == [_cl_int_ops(int(x), int(y))[4] for x, y in zip(a, b, strict=True)]


def test_opencl_unsigned_vector_builtins() -> None:
    air, k = lower(f"{CL}/int_builtins.ll")
    n = 64
    a, b = u32(4 * n), u32(4 * n)
    a[:4], b[:4] = [0, M32, 1, 0x80000000], [M32, M32, 0, 0x80000000]
    out, wide = np.zeros(12 * n, np.uint32), np.zeros(n, np.uint64)
    run(air, k("uint_vec_ops"), n, 32, {0: a, 1: b, 2: out, 3: wide})
    for i in range(n):
        x, y = a[4 * i:4 * i + 4].tolist(), b[4 * i:4 * i + 4].tolist()
        rot = (1, 7, 13, 31)
        want = [_sat(x[j] + y[j], 32, False) ^ _rotl(x[j], rot[j]) for j in range(4)]
        want += [(_sat(x[j] * 3 + y[j], 32, False) + bin(y[j]).count("1")) & M32
                 for j in range(4)]
        want += [((x[j] * y[j] >> 32) + ((x[j] + y[j]) >> 1) + _sat(x[j] - y[j], 32, False))
                 & M32 for j in range(4)]
        assert out[12 * i:12 * i + 12].tolist() == want, i
        assert int(wide[i]) == (((x[0] << 32) | y[0]) + ((x[1] << 32) | y[1])) & M64


def test_opencl_short_and_char_saturation() -> None:
    air, k = lower(f"{CL}/int_builtins.ll")
    n = 256
    a = RNG.integers(-2**15, 2**15, n).astype(np.int16)
    b = RNG.integers(-2**15, 2**15, n).astype(np.int16)
    s, c = np.zeros(n, np.int16), np.zeros(n, np.uint8)
    run(air, k("short_char_sat"), n, 64, {0: a, 1: b, 2: s, 3: c})
    ai, bi = a.astype(np.int64), b.astype(np.int64)
    np.testing.assert_array_equal(s, np.clip(ai + bi, -2**15, 2**15 - 1))
    ua, ub = ai & 0xFF, bi & 0xFF
    np.testing.assert_array_equal(c, (np.minimum(ua + ub, 255) - np.maximum(ub - ua, 0)) & 0xFF)


def test_opencl_vload_on_local_memory_select_mix() -> None:
    air, k = lower(f"{CL}/local_vec_math.ll")
    groups, local = 4, 32
    n = groups * local
    src, weight = f32(4 * n), f32(4 * n, lo=-0.5, hi=1.5)
    dst = np.zeros(4 * n, np.float32)
    run(air, k("local_vec_blend"), n, local, {0: src, 1: weight, 2: dst},
        threadgroup_memory={0: 16 * local})
    me = src.reshape(groups, local, 4)
    nxt = np.roll(me, -1, axis=1)
    w = np.clip(weight.reshape(groups, local, 4), 0, 1)
    want = np.where(me > nxt, me - nxt, me + (nxt - me) * w) + (w >= 0.5)
    np.testing.assert_allclose(dst.reshape(groups, local, 4), want, rtol=1e-5, atol=1e-6)


def test_opencl_native_and_half_math() -> None:
    air, k = lower(f"{CL}/local_vec_math.ll")
    n = 128
    x = f32(n)
    out = np.zeros(8 * n, np.float32)
    run(air, k("fast_math"), n, 64, {0: x, 1: out})
    v = np.abs(x.astype(np.float64)) + 0.25
    want = np.stack([np.exp(v), np.log(v), np.sqrt(v) + 1 / np.sqrt(v), 2 / v,
                     np.exp(v) + np.log(v), np.ones_like(v), np.sin(v) + np.cos(v) + v / 3,
                     2 * v + 1 + v ** 1.5], axis=1).ravel()
    # native_* and half_* promise little precision (OpenCL: implementation-defined, 8192 ulp)
    np.testing.assert_allclose(out, want, rtol=2e-3, atol=2e-3)


def test_opencl_local_transpose_2d() -> None:
    air, k = lower(f"{CL}/local_vec_math.ll")
    w, h = 40, 24
    src, out = f32(h, w), np.zeros((w, h), np.float32)
    run(air, k("local_transpose"), (48, 32), (16, 16),
        {0: src, 1: out, 2: np.int32(w), 3: np.int32(h)})
    np.testing.assert_array_equal(out, src.T)


def test_opencl_c11_atomics_with_scopes() -> None:
    air, k = lower(f"{CL}/atomics_c11.ll")
    n = 1000
    data = RNG.integers(0, 256, n).astype(np.uint8)
    bins = np.zeros(16, np.uint32)
    run(air, k("c11_hist"), 1024, 64, {0: data, 1: bins, 2: np.int32(n)})
    np.testing.assert_array_equal(bins, np.bincount(data & 15, minlength=16))

    v = RNG.integers(-10**6, 10**6, 256).astype(np.int32)
    result = np.array([2**31 - 1, -2**31], np.int32)
    mask = np.array([0, M32, 0], np.uint32)
    run(air, k("c11_minmax"), 256, 64, {0: v, 1: result, 2: mask})
    assert result.tolist() == [v.min(), v.max()]
    bits = [1 << (int(x) & 31) for x in v]
    or_all, xor_all = 0, 0
    for bit, x in zip(bits, v.view(np.uint32).tolist(), strict=True):
        or_all, xor_all = or_all | bit, xor_all ^ x
    assert mask.tolist() == [or_all, M32 & ~or_all, xor_all]

    f = f32(300, lo=-50, hi=50)
    best = np.array([np.float32(-np.inf)]).view(np.int32)
    run(air, k("cas_float_max"), 300, 60, {0: f, 1: best})
    assert best.view(np.float32)[0] == f.max()


def test_opencl_legacy_atomic_names() -> None:
    air, k = lower(f"{CL}/atomics_c11.ll")
    n = 256
    data = RNG.integers(0, 1 << 20, n).astype(np.int32)
    counters = np.array([5, 0, 0, 0, 0, 0, -1], np.int32)
    run(air, k("legacy_atomics"), n, 64, {0: counters, 1: data})
    and_all, or_all, xor_all = -1, 0, 0
    for x in data.tolist():
        and_all, or_all, xor_all = and_all & ~x, or_all | x, xor_all ^ x
    assert counters.tolist() == [5 + int(data.sum()), n, -n, -n, or_all, xor_all, and_all]


def test_opencl_subgroup_scans_and_reductions() -> None:
    air, k = lower(f"{CL}/subgroup_scan.ll")
    n = 256
    v = RNG.integers(-100, 100, n).astype(np.int32)
    incl, excl, mx = (np.zeros(n, np.int32) for _ in range(3))
    bc = np.zeros(n, np.float32)
    run(air, k("sg_scans"), n, 128, {0: v, 1: incl, 2: excl, 3: mx, 4: bc})
    g = v.reshape(-1, 32)
    np.testing.assert_array_equal(incl, np.cumsum(g, axis=1).ravel())
    np.testing.assert_array_equal(excl, (np.cumsum(g, axis=1) - g).ravel())
    np.testing.assert_array_equal(mx, np.repeat(g.max(axis=1) - g.min(axis=1), 32))
    np.testing.assert_array_equal(bc, np.repeat(g[:, 3] * np.float32(0.5), 32))


def test_opencl_subgroup_shuffle_and_ballot() -> None:
    air, k = lower(f"{CL}/subgroup_scan.ll")
    n = 256
    x = f32(n)
    out, votes = np.zeros(n, np.float32), np.zeros(n, np.uint32)
    run(air, k("sg_shuffle"), n, 64, {0: x, 1: out, 2: votes})
    g = x.reshape(-1, 32).astype(np.float64)
    np.testing.assert_allclose(out, np.repeat(g.sum(axis=1), 32), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(votes, np.repeat((g > 0).sum(axis=1), 32))


def test_opencl_ballot_scans_bits_and_lane_masks() -> None:
    air, k = lower(f"{CL}/subgroup_scan.ll")
    n = 256
    v = RNG.integers(-40, 40, n).astype(np.int32)
    v[32:64] = -1  # a sub-group with no voter
    out = np.zeros(8 * n, np.uint32)
    run(air, k("sg_ballot_ops"), n, 64, {0: v, 1: out})
    for g in range(n // 32):
        vote = [int(x > 0) for x in v[32 * g:32 * g + 32]]
        mask = sum(bit << lane for lane, bit in enumerate(vote))
        for lane in range(32):
            i = 32 * g + lane
            below = (1 << lane) - 1
            want = [bin(mask & (below | 1 << lane)).count("1"), bin(mask & below).count("1"),
                    mask >> (int(v[i]) & 31) & 1, vote[lane],
                    (_ffs(mask) - 1) * 100 + mask.bit_length() - 1 if mask else 9999,
                    below ^ (1 << lane), M32 & ~below, 0]
            assert out[8 * i:8 * i + 8].tolist() == want, (g, lane)


# =================================================================== MLIR
MLIR = ["mlir-nvvm", "mlir-rocdl"]


def memref(array: np.ndarray, first: int) -> dict[int, object]:
    """A strided memref descriptor as consecutive bindings: alloc, aligned, offset, sizes,
    strides."""
    bind: dict[int, object] = {first: array, first + 1: array, first + 2: np.int64(0)}
    for k, size in enumerate(array.shape):
        bind[first + 3 + k] = np.int64(size)
        bind[first + 3 + array.ndim + k] = np.int64(array.strides[k] // array.itemsize)
    return bind


@pytest.mark.parametrize("target", MLIR)
def test_mlir_math_dialect_over_2d_memrefs(target: str) -> None:
    from math import erf

    air, k = lower(f"{target}/math_2d.ll")
    rows, cols = 6, 40
    x = f32(rows, cols, lo=-3, hi=3)
    out = np.zeros_like(x)
    run(air, k("math_rows"), rows, 1, {**memref(x, 0), **memref(out, 7), 14: np.int64(cols)})
    v = x.astype(np.float64)
    a = np.abs(v)
    want = (np.tanh(v) + np.vectorize(erf)(v) + np.log1p(a) + np.sqrt(a) + np.ceil(v)
            - np.floor(v) + np.copysign(2, v) + 1 / np.sqrt(a + 0.5) + np.exp2(v)
            + np.arctan2(v, 2) + v ** 3)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("target", MLIR)
def test_mlir_bit_counts_and_integer_division(target: str) -> None:
    air, k = lower(f"{target}/math_2d.ll")
    n = 256
    v = u32(n).view(np.int32)
    v[:4] = [0, -1, -7, 2**31 - 1]
    out = np.zeros(n, np.int32)
    run(air, k("int_bits"), n, 64, {**memref(v, 0), **memref(out, 5)})
    for i, x in enumerate(v.tolist()):
        u = x & M32
        bits = _clz(u, 32) + (_ffs(u) - 1 if u else 32) * 64 + bin(u).count("1") * 4096
        q = abs(x) // 7 * (1 if x >= 0 else -1)
        assert out[i] == _s32((bits ^ q) + u % 7), i


@pytest.mark.parametrize("target", MLIR)
def test_mlir_all_reduce_and_subgroup_reduce(target: str) -> None:
    air, k = lower(f"{target}/all_reduce.ll")
    x = f32(512)
    ints = RNG.integers(-10**6, 10**6, 512).astype(np.int32)
    sums, maxes = np.zeros(2, np.float32), np.zeros(2, np.int32)
    run(air, k("block_sums"), 512, 256,
        {**memref(x, 0), **memref(ints, 5), **memref(sums, 10), **memref(maxes, 15)})
    np.testing.assert_allclose(sums, x.reshape(2, 256).sum(axis=1, dtype=np.float64),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(maxes, ints.reshape(2, 256).max(axis=1))

    y, out = f32(256), np.zeros(256, np.float32)
    run(air, k("warp_sums"), 256, 256, {**memref(y, 0), **memref(out, 5)})
    np.testing.assert_allclose(out, np.repeat(y.reshape(8, 32).sum(axis=1), 32), rtol=1e-5,
                               atol=1e-5)


# ==================================================================== HIP
HIP = ["hip/hip_kernels-O0.ll", "hip/hip_kernels-O2.ll"]


@pytest.mark.parametrize("fixture", HIP)
def test_hip_tiled_matmul(fixture: str) -> None:
    air, k = lower(fixture)
    n = 32
    a, b, c = f32(n, n), f32(n, n), np.zeros((n, n), np.float32)
    run(air, k("hip_matmul"), (n, n), (16, 16), {0: a, 1: b, 2: c, 3: np.int32(n)})
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fixture", HIP)
def test_hip_wave_reduction_and_agent_atomics(fixture: str) -> None:
    air, k = lower(fixture)
    n = 250
    x = f32(n, lo=0, hi=4)
    total, count, biggest = (np.zeros(1, t) for t in (np.float32, np.int32, np.uint32))
    run(air, k("hip_wave_sum"), 256, 64, {0: x, 1: total, 2: count, 3: biggest,
                                         4: np.int32(n)})
    np.testing.assert_allclose(total[0], x.sum(dtype=np.float64), rtol=1e-5)
    assert count[0] == 256 // 32
    assert biggest[0] == (x * np.float32(1000)).astype(np.uint32).max()


@pytest.mark.parametrize("fixture", HIP)
def test_hip_activations(fixture: str) -> None:
    air, k = lower(fixture)
    n = 300
    x, y = f32(n, lo=-6, hi=6), np.zeros(2 * n, np.float32)
    run(air, k("hip_activations"), 320, 64, {0: x, 1: y, 2: np.int32(n)})
    v = x.astype(np.float64)
    want = np.stack([v / (1 + np.exp(-v)), np.sqrt(np.abs(v)) + np.maximum(v, 0)], axis=1)
    np.testing.assert_allclose(y, want.ravel(), rtol=1e-5, atol=1e-6)


# ------------------------------------------- wide atomics, warps, fast math

WIDE = ("u64_minmax", "fence_reduce", "segment_shuffles", "fast_intrinsics")


@pytest.mark.parametrize("variant", CUDA)
def test_64_bit_atomic_min_max(variant: str) -> None:
    air, k = lower(f"{variant}/wide_atomics_warps.ll", *WIDE)
    n = 300
    x = u32(n)
    extremes = np.array([0, M64], np.uint64)
    run(air, k("u64_minmax"), 320, 64, {0: x, 1: extremes, 2: np.int32(n)})
    v = [(int(a) << 20) | i for i, a in enumerate(x)]
    assert extremes.tolist() == [max(v), min(v)]


@pytest.mark.parametrize(("kernel", "words"), [
    ("u64_add", "64-bit atomic add"), ("u64_exchange", "64-bit atomic xchg"),
    ("hash_insert", "compare-exchange of i64")])
@pytest.mark.parametrize("variant", CUDA)
def test_64_bit_atomics_apple_lacks_are_refused(variant: str, kernel: str, words: str) -> None:
    with pytest.raises(CompileError, match=words) as info:
        lower(f"{variant}/wide_atomics_warps.ll", kernel)
    assert info.value.location.line > 0


@pytest.mark.parametrize("variant", CUDA)
def test_threadfence_last_block_reduction(variant: str) -> None:
    air, k = lower(f"{variant}/wide_atomics_warps.ll", *WIDE)
    n = 500
    x = f32(n)
    partial, total, ticket = np.zeros(4, np.float32), np.zeros(1, np.float32), np.zeros(1, np.int32)
    run(air, k("fence_reduce"), 512, 128, {0: x, 1: partial, 2: total, 3: np.int32(n),
                                           4: ticket})
    padded = np.concatenate([x, np.zeros(12, np.float32)]).reshape(4, 128)
    np.testing.assert_allclose(partial, padded.sum(axis=1, dtype=np.float64), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(total[0], x.sum(dtype=np.float64), rtol=1e-5, atol=1e-5)
    assert ticket[0] == 4  # the __device__ counter: one atomicInc per block


@pytest.mark.parametrize("variant", CUDA)
def test_sub_warp_shuffles_with_width(variant: str) -> None:
    air, k = lower(f"{variant}/wide_atomics_warps.ll", *WIDE)
    n = 128
    x = f32(n)
    seg, rot, masks = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.uint32)
    run(air, k("segment_shuffles"), n, 64, {0: x, 1: seg, 2: rot, 3: masks})
    s = x.reshape(-1, 8).astype(np.float64)
    np.testing.assert_allclose(seg, np.repeat(s.sum(axis=1), 8), rtol=1e-5, atol=1e-6)
    lane = np.arange(n) % 8
    up = np.where(lane == 0, x, np.roll(x, 1))
    np.testing.assert_allclose(rot, up + x[np.arange(n) ^ 2], rtol=1e-6)
    for w in range(n // 32):
        warp = x[32 * w:32 * w + 32]
        ballot = sum(1 << j for j in range(32) if warp[j] > 0)
        assert masks[32 * w:32 * w + 32].tolist() == [ballot if v > 0 else 0 for v in warp]


@pytest.mark.parametrize("variant", CUDA)
def test_cuda_fast_intrinsics(variant: str) -> None:
    air, k = lower(f"{variant}/wide_atomics_warps.ll", *WIDE)
    n = 200
    x = f32(n, lo=-3, hi=3)
    x[:3] = [0.25, -0.25, 0.05]  # ties of v * 10 round to even
    out, rounded = np.zeros(4 * n, np.float32), np.zeros(n, np.int32)
    run(air, k("fast_intrinsics"), 256, 64, {0: x, 1: out, 2: rounded, 3: np.int32(n)})
    v = x.astype(np.float64)
    want = np.stack([v / 3, np.clip(v, 0, 1),
                     np.exp(v) + np.sin(v) + np.cos(v) + np.log(np.abs(v) + 1),
                     v * v + (v + 1) + 1 / (v + 8) + np.sqrt(v + 8)], axis=1).ravel()
    np.testing.assert_allclose(out, want, rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(rounded, np.rint(x * np.float32(10)).astype(np.int32)
                                  + np.floor(x).astype(np.int32) * 1000)


# ----------------------------------------------------- refused by name


@pytest.mark.parametrize(("kernel", "words"), [
    ("texture_object_fetch", r"tex\.2d.*texture and surface objects"),
    ("grid_barrier", r"%envreg\d.*grid\.sync\(\) has no Metal counterpart"),
    ("device_heap", r"device heap allocation is not supported: '@malloc'")])
@pytest.mark.parametrize("variant", CUDA)
def test_constructs_apple_gpus_lack_are_refused_by_name(variant: str, kernel: str,
                                                        words: str) -> None:
    """Refusals name the construct (and only the selected kernel's code is looked at)."""
    with pytest.raises(CompileError, match=words) as info:
        lower(f"{variant}/refused_constructs.ll", kernel)
    assert info.value.location.line > 0


_SBOX = [0xC, 0x5, 0x6, 0xB, 0x9, 0x0, 0xA, 0xD, 0x3, 0xE, 0xF, 0x8, 0x4, 0x7, 0x1, 0x2]


def test_opencl_constant_table_and_program_scope_counter() -> None:
    air, k = lower(f"{CL}/program_scope.ll")
    n = 200
    x, out = u32(n), np.zeros(n, np.uint32)
    counter = np.zeros(1, np.uint32)  # g_processed: a device buffer the host binds
    run(air, k("sbox_substitute"), n, 40, {0: x, 1: out, 2: counter})
    want = [sum(_SBOX[(v >> (4 * j)) & 15] << (4 * j) for j in range(8)) for v in x.tolist()]
    assert out.tolist() == want
    assert counter[0] == n
    seen = np.zeros(1, np.uint32)
    run(air, k("read_counter"), 1, 1, {0: seen, 1: counter})
    assert seen[0] == n


def test_opencl_local_struct_3d_linear_id() -> None:
    air, k = lower(f"{CL}/program_scope.ll")
    d = 8  # an 8x8x8 volume in 4x4x4 groups
    vol = f32(d, d, d, lo=0, hi=1)
    sums, counts = np.zeros(8, np.float32), np.zeros(8, np.int32)
    run(air, k("volume_partials"), (d, d, d), (4, 4, 4),
        {0: vol, 1: sums, 2: counts, 3: np.float32(0.5)})
    blocks = vol.reshape(2, 4, 2, 4, 2, 4).transpose(0, 2, 4, 1, 3, 5).reshape(8, 64)
    np.testing.assert_allclose(sums, np.where(blocks > 0.5, blocks, 0).sum(axis=1), rtol=1e-5)
    np.testing.assert_array_equal(counts, (blocks > 0.5).sum(axis=1))


def test_opencl_half_arithmetic_and_as_type() -> None:
    air, k = lower(f"{CL}/program_scope.ll")
    n = 128
    a, b = f32(n, lo=-2, hi=2).astype(np.float16), f32(n, lo=-2, hi=2).astype(np.float16)
    out, bits = np.zeros(n, np.float16), np.zeros(n, np.uint32)
    run(air, k("half_math"), n, 64, {0: a, 1: b, 2: out, 3: bits})
    r = (a * b + np.float16(0.5)).astype(np.float16)
    np.testing.assert_allclose(out.astype(np.float32), np.minimum(r, 1).astype(np.float32),
                               rtol=2e-3, atol=2e-3)
    np.testing.assert_array_equal(bits, a.astype(np.float32).view(np.uint32)
                                  ^ b.astype(np.float32).view(np.uint32))


# ------------------------------------------------ Rodinia, Parboil, SHOC

RP = ("mriq", "needleman_wunsch", "spmv_csr_warp", "histo_saturate", "backprop_layer")


def _rp(variant: str) -> tuple[bytes, Callable[[str], str]]:
    # hotspot's [&] lambda keeps pointers to its captures in a closure at -O0: see below
    return lower(f"{variant}/rodinia_parboil.ll",
                 *RP, *(("hotspot_step",) if variant.endswith("O2") else ()))


@pytest.mark.parametrize("variant", CUDA)
def test_mri_q_constant_struct_array_and_sincos(variant: str) -> None:
    air, k = _rp(variant)
    nx, nk = 128, 64
    x, y, z = (f32(nx) for _ in range(3))
    kv = f32(nk, 4)  # {kx, ky, kz, phi_mag}: __constant__ KValues c_k[64], host-filled
    qr, qi = np.zeros(nx, np.float32), np.zeros(nx, np.float32)
    run(air, k("mriq"), nx, 64, {0: x, 1: y, 2: z, 3: qr, 4: qi, 5: np.int32(nk),
                                 6: np.int32(nx), 7: kv})
    k64 = kv.astype(np.float64)
    arg = 2 * np.pi * (np.outer(x, k64[:, 0]) + np.outer(y, k64[:, 1]) + np.outer(z, k64[:, 2]))
    np.testing.assert_allclose(qr, (k64[:, 3] * np.cos(arg)).sum(axis=1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(qi, (k64[:, 3] * np.sin(arg)).sum(axis=1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("variant", CUDA)
def test_needleman_wunsch_wavefront(variant: str) -> None:
    air, k = _rp(variant)
    n, penalty = 16, 2
    sim = RNG.integers(-3, 4, (n, n)).astype(np.int32)
    score = np.zeros((n + 1, n + 1), np.int32)
    score[0, :] = -penalty * np.arange(n + 1)
    score[:, 0] = -penalty * np.arange(n + 1)
    want = score.astype(np.int64).copy()
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            want[i, j] = max(want[i - 1, j - 1] + sim[i - 1, j - 1], want[i - 1, j] - penalty,
                             want[i, j - 1] - penalty)
    run(air, k("needleman_wunsch"), 16, 16, {0: score, 1: sim, 2: np.int32(n),
                                             3: np.int32(penalty)})
    np.testing.assert_array_equal(score, want)


def test_hotspot_halo_stencil() -> None:
    air, k = _rp("cuda-real-O2")
    rows, cols = 40, 24
    temp, power = f32(rows, cols, lo=300, hi=340), f32(rows, cols, lo=0, hi=1)
    out = np.zeros_like(temp)
    c, rx, ry, rz, amb = 0.5, 0.1, 0.2, 0.05, 320.0
    run(air, k("hotspot_step"), (32, 48), (16, 16),
        {0: temp, 1: power, 2: out, 3: np.int32(rows), 4: np.int32(cols), 5: np.float32(c),
         6: np.float32(rx), 7: np.float32(ry), 8: np.float32(rz), 9: np.float32(amb)})
    t = np.pad(temp.astype(np.float64), 1, mode="edge")
    me = t[1:-1, 1:-1]
    want = me + c * (power + (t[2:, 1:-1] + t[:-2, 1:-1] - 2 * me) * ry
                     + (t[1:-1, 2:] + t[1:-1, :-2] - 2 * me) * rx + (amb - me) * rz)
    np.testing.assert_allclose(out, want, rtol=1e-5)


def test_hotspot_lambda_captures_at_O0_are_refused_with_a_location() -> None:
    """At -O0 the [&] lambda reads the kernel's pointer through a closure field that points
    at another stack slot: two levels the address-space inference does not follow."""
    with pytest.raises(CompileError, match="cannot infer the address space") as info:
        lower("cuda-real-O0/rodinia_parboil.ll", "hotspot_step")
    assert info.value.location.line > 0


@pytest.mark.parametrize("variant", CUDA)
def test_csr_spmv_warp_per_row(variant: str) -> None:
    air, k = _rp(variant)
    nrows, ncols = 50, 70
    dense = np.where(RNG.random((nrows, ncols)) < 0.3, f32(nrows, ncols), 0).astype(np.float32)
    dense[7] = 0  # an empty row
    rows, cols = np.nonzero(dense)
    row_ptr = np.searchsorted(rows, np.arange(nrows + 1)).astype(np.int32)
    x, y = f32(ncols), np.zeros(nrows, np.float32)
    run(air, k("spmv_csr_warp"), nrows * 32, 64, {0: row_ptr, 1: cols.astype(np.int32),
                                                   2: dense[rows, cols], 3: x, 4: y,
                                                   5: np.int32(nrows)})
    np.testing.assert_allclose(y, dense.astype(np.float64) @ x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", CUDA)
def test_saturating_byte_histogram(variant: str) -> None:
    air, k = _rp(variant)
    n = 5000
    img = RNG.integers(0, 256, n).astype(np.uint8)
    img[:600] = 17  # one bin past 255
    bins32, bins8 = np.zeros(64, np.uint32), np.zeros(64, np.uint8)
    run(air, k("histo_saturate"), 64, 64, {0: img, 1: np.int32(n), 2: bins32, 3: bins8})
    counts = np.bincount(img >> 2, minlength=64)
    np.testing.assert_array_equal(bins32, counts)
    np.testing.assert_array_equal(bins8, np.minimum(counts, 255))


@pytest.mark.parametrize("variant", CUDA)
def test_backprop_layer_log2_reduction(variant: str) -> None:
    air, k = _rp(variant)
    nin, nout = 200, 10
    x, w = f32(nin), f32(nout, nin)
    out = np.zeros(nout, np.float32)
    run(air, k("backprop_layer"), nout * 256, 256, {0: x, 1: w, 2: out, 3: np.int32(nin)})
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(w.astype(np.float64) @ x))), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("variant", CUDA)
def test_sinf_cosf_tanf_of_huge_arguments_without_fp64(variant: str) -> None:
    """libdevice's Payne-Hanek reduction, its fp64 step computed in float: no --f64 option
    is needed, and huge arguments reduce as on NVIDIA GPUs (2 ulp functions)."""
    air, k = lower(f"{variant}/trig_real.ll")
    assert b"double" not in air
    n = 512
    x = f32(n, lo=-10, hi=10)
    x[:256] = (RNG.uniform(-1, 1, 256) * 10.0 ** RNG.uniform(2, 38, 256)).astype(np.float32)
    out = np.zeros(3 * n, np.float32)
    run(air, k("trig3"), n, 64, {0: x, 1: out, 2: np.int32(n)})
    v = x.astype(np.float64)
    got = out.reshape(n, 3).astype(np.float64)
    np.testing.assert_allclose(got[:, 0], np.sin(v), rtol=1e-6, atol=2e-7)
    np.testing.assert_allclose(got[:, 1], np.cos(v), rtol=1e-6, atol=2e-7)
    tan = np.tan(v)
    # tan's derivative is 1 + tan^2: an ulp of the reduced argument moves it that much
    assert (np.abs(got[:, 2] - tan) <= 2e-6 * np.abs(tan) + 2e-7 * (1 + tan ** 2)).all()


@pytest.mark.parametrize("variant", CUDA)
def test_carved_dynamic_shared_and_static_shared_in_a_helper(variant: str) -> None:
    air, k = lower(f"{variant}/shared_carving.ll", "carve")
    groups, size = 3, 128
    x = f32(groups * size)
    out, counts = np.zeros(2 * groups, np.float32), np.zeros(groups * size, np.int32)
    run(air, k("carve"), groups * size, size, {0: x, 1: out, 2: counts, 3: np.int32(0)},
        threadgroup_memory={0: 8 * size})  # floats then ints, carved from one buffer
    blocks = x.reshape(groups, size).astype(np.float64)
    np.testing.assert_allclose(out[0::2], blocks.sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[1::2], blocks.sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(counts.reshape(groups, size),
                                  np.roll(x.reshape(groups, size) > 0, -1, axis=1))
