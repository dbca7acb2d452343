"""SIMD-group operations over the lanes waiting at one call, with numpy.

The scheduler collects, for one call site, the operands every waiting lane
stored in its frame as arrays of shape ``(groups, 32, lanes)`` plus an
``active`` mask ``(groups, 32)`` (the lanes of each SIMD group that reached
this call), and :func:`evaluate` returns the result of each lane. Lanes that
did not reach the call are inactive: reductions, votes and ballots ignore
them, and a shuffle reading one (or a lane outside the group) returns the
reading lane's own value, which is what Metal guarantees for the shuffles'
out-of-range lanes and undefined anyway for inactive ones.
"""

from __future__ import annotations

import numpy as np

from llvm_to_air.errors import CompileError

WIDTH = 32


def _gather(v: np.ndarray, src: np.ndarray, valid: np.ndarray, active: np.ndarray) \
        -> np.ndarray:
    width = v.shape[1]
    srcc = np.clip(src, 0, width - 1)
    ok = valid & np.take_along_axis(active, srcc, 1)
    idx = np.broadcast_to(srcc[:, :, None], v.shape)
    got = np.take_along_axis(v, idx, 1)
    return np.where(ok[:, :, None], got, v)


def _first_active(active: np.ndarray) -> np.ndarray:
    return np.argmax(active, axis=1)


def _identity(op: str, dtype: np.dtype) -> object:
    if op in ("sum", "or", "xor"):
        return 0
    if op == "product":
        return 1
    if op == "and":
        return -1 if dtype.kind == "i" else np.iinfo(dtype).max if dtype.kind == "u" else 0
    if op == "min":
        return np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    if op == "max":
        return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
    raise KeyError(op)


def _reduce(op: str, v: np.ndarray, active: np.ndarray) -> np.ndarray:
    ident = np.array(_identity(op, v.dtype)).astype(v.dtype)
    masked = np.where(active[:, :, None], v, ident)
    if op == "sum":
        r = masked.sum(axis=1, dtype=v.dtype)
    elif op == "product":
        r = masked.prod(axis=1, dtype=v.dtype)
    elif op == "min":
        r = np.fmin.reduce(masked, axis=1) if v.dtype.kind == "f" else masked.min(axis=1)
    elif op == "max":
        r = np.fmax.reduce(masked, axis=1) if v.dtype.kind == "f" else masked.max(axis=1)
    elif op == "and":
        r = np.bitwise_and.reduce(masked, axis=1)
    elif op == "or":
        r = np.bitwise_or.reduce(masked, axis=1)
    else:
        r = np.bitwise_xor.reduce(masked, axis=1)
    return np.broadcast_to(r[:, None, :], v.shape).astype(v.dtype)


def _scan(op: str, inclusive: bool, v: np.ndarray, active: np.ndarray) -> np.ndarray:
    ident = np.array(_identity(op, v.dtype)).astype(v.dtype)
    masked = np.where(active[:, :, None], v, ident)
    acc = np.cumsum(masked, axis=1, dtype=v.dtype) if op == "sum" else \
        np.cumprod(masked, axis=1, dtype=v.dtype)
    if inclusive:
        return acc
    out = np.empty_like(acc)
    out[:, 0] = ident
    out[:, 1:] = acc[:, :-1]
    return out


def evaluate(op: str, args: list[np.ndarray], active: np.ndarray, result_dtype: np.dtype,
             name: str) -> np.ndarray:
    """Result per lane of SIMD-group operation ``op`` (``simd_sum``, ``quad_shuffle`` ...)."""
    family, _, what = op.partition("_")
    width = 4 if family == "quad" else WIDTH
    groups = active.shape[0]
    if width != WIDTH:  # quad-groups: 8 groups of 4 lanes in each SIMD group
        args = [a.reshape(groups * (WIDTH // width), width, *a.shape[2:]) for a in args]
        active = active.reshape(groups * (WIDTH // width), width)
    result = _evaluate(what, args, active, width, result_dtype, name)
    return result.reshape(groups, WIDTH, -1)


def _evaluate(what: str, args: list[np.ndarray], active: np.ndarray, width: int,
              result_dtype: np.dtype, name: str) -> np.ndarray:
    lane = np.broadcast_to(np.arange(width), active.shape)
    if what in ("shuffle", "shuffle_down", "shuffle_up", "shuffle_xor", "broadcast",
                "shuffle_rotate_down", "shuffle_rotate_up"):
        v = args[0]
        amount = args[1][:, :, 0].astype(np.int64) & 0xFFFF
        if what in ("shuffle", "broadcast"):
            src = amount
            valid = src < width
        elif what == "shuffle_down":
            src = lane + amount
            valid = src < width
        elif what == "shuffle_up":
            src = lane - amount
            valid = src >= 0
        elif what == "shuffle_xor":
            src = lane ^ amount
            valid = src < width
        elif what == "shuffle_rotate_down":
            src = (lane + amount) % width
            valid = np.ones_like(src, dtype=bool)
        else:
            src = (lane - amount) % width
            valid = np.ones_like(src, dtype=bool)
        return _gather(v, src, valid, active)
    if what in ("shuffle_and_fill_down", "shuffle_and_fill_up"):
        data, fill = args[0], args[1]
        delta = args[2][:, :, 0].astype(np.int64) & 0xFFFF
        modulo = args[3][:, :, 0].astype(np.int64) & 0xFFFF if len(args) > 3 else \
            np.full_like(delta, width)
        modulo = np.where(modulo <= 0, width, modulo)
        seg = lane // modulo * modulo
        if what.endswith("down"):
            j = lane + delta
            inside = j < seg + modulo
            from_fill = j - modulo
        else:
            j = lane - delta
            inside = j >= seg
            from_fill = j + modulo
        a = _gather(data, j, inside & (j >= 0) & (j < width), active)
        b = _gather(fill, from_fill, ~inside & (from_fill >= 0) & (from_fill < width), active)
        return np.where(inside[:, :, None], a, b)
    if what == "broadcast_first":
        first = _first_active(active)
        src = np.broadcast_to(first[:, None], active.shape)
        return _gather(args[0], src, np.ones_like(active), active)
    if what in ("sum", "product", "min", "max", "and", "or", "xor"):
        return _reduce(what, args[0], active)
    if what.startswith("prefix_"):
        _, kind, op = what.split("_")
        return _scan(op, kind == "inclusive", args[0], active)
    if what in ("ballot", "active_threads_mask"):
        pred = args[0][:, :, 0] != 0 if what == "ballot" else np.ones_like(active)
        bits = np.where(pred & active, np.left_shift(np.uint64(1), lane.astype(np.uint64)),
                        np.uint64(0))
        mask = np.bitwise_or.reduce(bits, axis=1)
        return np.broadcast_to(mask[:, None, None], (*active.shape, 1)).astype(result_dtype)
    if what in ("all", "any"):
        pred = (args[0][:, :, 0] != 0) | ~active
        if what == "all":
            r = pred.all(axis=1)
        else:
            r = ((args[0][:, :, 0] != 0) & active).any(axis=1)
        return np.broadcast_to(r[:, None, None], (*active.shape, 1)).astype(result_dtype)
    if what in ("vote_all", "vote_any"):
        mask = args[0][:, :, 0].astype(np.uint64)
        bits = np.where(active, np.left_shift(np.uint64(1), lane.astype(np.uint64)),
                        np.uint64(0))
        act_mask = np.bitwise_or.reduce(bits, axis=1)[:, None]
        r = (mask & act_mask) == act_mask if what == "vote_all" else (mask & act_mask) != 0
        return r[:, :, None].astype(result_dtype)
    if what == "is_first":
        return (lane == _first_active(active)[:, None])[:, :, None].astype(result_dtype)
    if what == "is_helper_thread":
        return np.zeros((*active.shape, 1), dtype=result_dtype)
    raise CompileError(f"the CPU runner has no implementation of '@{name}'")


__all__ = ["evaluate"]
