"""The ``groups`` driver's loop over one threadgroup's rounds, as LLVM IR text.

Expects: the driver text of :func:`~.compile._driver` up to a block ``gbody`` that
computes the group's extents and thread count, a per-group ``%state`` array (one ``i32``
per thread, SIMD groups padded to 32) and ``%frames`` (the group's frames, laid out by
lane as :mod:`.lanes` makes them), a ``thread_body`` callback that emits the call of the
step function for one thread (given the frames, the resume point and the thread), and
``@__air_settle``, ``@__air_sites_waited`` and ``@__air_collective`` from
:mod:`.lockstep`.

Guarantees: the threads of the group run from barrier to barrier and SIMD-group call to
SIMD-group call until all finish, then control goes to ``gend``. A round runs every ready
thread to its next stop; then, if a thread waits at a SIMD-group call, ``@__air_settle``
resolves those calls; else every thread waiting at a threadgroup barrier goes on. The
stop flag is read every round, so threads that meet at barriers forever stop too.

Rounds where every thread that goes on resumes at the same point (the first round, and
after every barrier or SIMD-group call that all threads reach together, the usual case)
run a copy of the loop in which that point is a constant: LLVM then inlines only that
phase of the kernel, with no dispatch on the resume point, and the innermost loop (over
x) is simple enough for LLVM to vectorize across threads where the phase allows (the
frames' lane layout puts each kept value, operand and result in one array by thread). Other
rounds run the general loop, which reads each thread's resume point from its state. The
round's summary, the lowest and highest site waited at, is ``@__air_sites_waited`` of
:mod:`.lockstep` (a vectorized loop over the states, in a function of its own so that
LLVM's CFG simplification does not merge it into the rounds' loops); only where threads
wait at different sites does a second loop look for a SIMD-group call among them.

A specialized round whose threads all start with a guard that admits the first ``s`` of
them (:mod:`.narrowing`) runs only those; the others' states are set to where the guard
sends them (the next barrier, or finished), a plain fill while no thread of the group has
finished (the summary's finished flag, carried from round to round), and the round's
summary is put together from the threads that ran and the skipped ones, without a pass
over every state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llvm_to_air.runner.lockstep import DONE, WAITED, WAITED_OR_FINISHED

# each specialized loop inlines the kernel once more, and LLVM optimizes every copy: the
# copies stop at this many instructions in all (rounds at other points use the general loop)
SPECIALIZED_INSTRUCTIONS = 4096
STOP_FLAG = "__air_stop"
INT32_MAX = 2**31 - 1

ThreadBody = Callable[[str, str, str, str, list[str]], str]


@dataclass(frozen=True)
class NarrowRound:
    """A specialized round that runs only the threads its guard admits
    (:mod:`.narrowing`): those whose ``lane`` index (``"x"``: the x position, ``"t"``:
    the linear index) is below the ``i128`` that ``limit`` emits; each other live thread's
    state becomes ``skipped``."""

    lane: str
    limit: Callable[[], str]
    skipped: int


def emit_group_rounds(t: Any, ext: dict[str, str], count: str, simd_count: str,
                      stops: list[int], kernel_size: int, thread_body: ThreadBody,
                      narrowed: dict[int, NarrowRound] | None = None) -> None:
    """Emit blocks ``init`` ... ``gend``-bound rounds for the group (see the module
    docstring); ``t`` is the driver's text builder, ``stops`` the barrier and SIMD-group
    sites in the order they get specialized loops (after the start) while
    ``SPECIALIZED_INSTRUCTIONS`` allows, ``kernel_size`` the step function's instruction
    count, ``narrowed`` the specialized rounds (by site) that run only some threads."""
    special = [0, *stops][:SPECIALIZED_INSTRUCTIONS // max(1, kernel_size)]
    t.do(f"%ncap = shl i32 {simd_count}, 5")
    t.do("br label %init")
    t.label("init")
    t.lines.append("  %it = phi i32 [ 0, %gbody ], [ %it1, %init ]")
    t.do("%ip = getelementptr i32, ptr %state, i32 %it")
    t.do(f"%ilive = icmp ult i32 %it, {count}")
    t.do(f"%iv = select i1 %ilive, i32 0, i32 {DONE}")
    t.do("store i32 %iv, ptr %ip")
    t.do("%it1 = add i32 %it, 1")
    t.do("%imore = icmp ult i32 %it1, %ncap")
    t.do("br i1 %imore, label %init, label %first")
    t.label("first")
    t.do(f"br label {'%s0_round' if special else '%any_round'}")
    variants = ["any", *[f"s{k}" for k in special]]
    # with narrowed rounds, summaries say whether a thread finished (see _skip_rest)
    summary = WAITED_OR_FINISHED if narrowed else WAITED
    for name in variants:
        narrow = (narrowed or {}).get(int(name[1:])) if name != "any" else None
        _round(t, name, ext, count, thread_body, from_init=not special, narrow=narrow,
               summary=summary)
    # after a round: resolve SIMD-group calls or let barriers go, then pick the next loop
    # from the lowest and highest site waited at (equal: every waiting thread is at one site)
    t.label("after")
    t.lines.append("  %a_sites = phi i64 " +
                   ", ".join(f"[ %{v}_sites, %{v}_end ]" for v in variants))
    sites = "%a_sites"
    t.do(f"%a_lo = trunc i64 {sites} to i32")
    t.do("%a_hi = and i32 " + t("trunc i64 " + t(f"lshr i64 {sites}, 32") + " to i32") +
         f", {SITE_MASK}")
    t.do(f"%a_done = icmp slt i64 {sites}, 0")  # a thread finished
    t.do("%a_mixed = icmp ne i32 %a_lo, %a_hi")
    t.do("%a_anyw = icmp ne i32 %a_hi, 0")
    t.do("br i1 %a_anyw, label %waiting, label %gend")
    t.label("waiting")
    t.do("br i1 %a_mixed, label %csum, label %one")
    t.label("one")  # one site: is it a SIMD-group call?
    coll = t("load i8, ptr " + t("getelementptr i8, ptr @__air_collective, i32 %a_lo"))
    t.do(f"%one_c = icmp ne i8 {coll}, 0")
    t.do("br label %decide")
    t.label("csum")  # different sites (rare): does a thread wait at a SIMD-group call?
    t.lines.append("  %c_k = phi i32 [ 0, %waiting ], [ %c_k1, %csum ]")
    t.lines.append("  %c_any = phi i1 [ false, %waiting ], [ %c_any1, %csum ]")
    coll = t("load i8, ptr " + t("getelementptr i8, ptr @__air_collective, i32 " +
                                 _waiting_site(t, "%c_k")))
    t.do("%c_any1 = or i1 %c_any, " + t(f"icmp ne i8 {coll}, 0"))
    t.do("%c_k1 = add i32 %c_k, 1")
    t.do("br i1 " + t(f"icmp ult i32 %c_k1, {count}") + ", label %csum, label %decide")
    t.label("decide")
    t.lines.append("  %a_anyc = phi i1 [ %one_c, %one ], [ %c_any1, %csum ]")
    t.do("br i1 %a_anyc, label %settle, label %choose")
    t.label("settle")
    t.do("%a_only = select i1 %a_mixed, i32 0, i32 %a_lo")
    t.do(f"call void @__air_settle(ptr %state, ptr %frames, i32 {simd_count}, i32 %a_only)")
    t.do("br label %choose")
    t.label("choose")  # one resume point for all: its own loop; else the general one
    t.do("%a_rel = xor i1 %a_anyc, true")
    t.do("br i1 %a_mixed, label %any_round, label %pick")
    t.label("pick")
    cases = " ".join(f"i32 {k}, label %s{k}_round" for k in special)
    t.do(f"switch i32 %a_lo, label %any_round [ {cases} ]")


def _narrowed_x(t: Any, v: str, ext_x: str, narrow: NarrowRound) -> str:
    """The end of row ``%<v>_row``'s loop over x: the admitted threads are those with x
    below it (the limit less the row's first linear index, for a guard on that index),
    clamped to ``[0, ext_x]``."""
    left = t(f"sub nsw i32 %{v}_limit, %{v}_row") if narrow.lane == "t" else f"%{v}_limit"
    low = t("select i1 " + t(f"icmp slt i32 {left}, 0") + f", i32 0, i32 {left}")
    return t(f"call i32 @llvm.umin.i32(i32 {low}, i32 {ext_x})")


def _skip_rest(t: Any, v: str, ext_x: str, xend: str, skipped: int) -> None:
    """Blocks ``<v>_xdone`` to ``<v>_yend``: the row's threads from ``xend`` on end the
    round as the guard sends them (state ``skipped``; a finished thread stays finished),
    and ``%<v>_row_sum`` is the summary so far (``%<v>_ysum``) with the row's threads in.

    The threads that ran are summed up by a pass of their own: taken in by the loop that
    runs them, they would make a reduction under the condition that the thread runs,
    which LLVM does not vectorize. While no thread of the group has finished
    (``%<v>_anyd`` false), every skipped thread goes on, so their states are a fill and
    their summary a constant."""
    t.label(f"{v}_xdone")
    ran = t(f"call i64 @{WAITED_OR_FINISHED}(ptr " +
            t(f"getelementptr i32, ptr %state, i32 %{v}_row") + f", i32 {xend})")
    with_ran = _combine(t, f"%{v}_ysum", ran)
    some = t(f"icmp ult i32 {xend}, {ext_x}")
    them = FINISHED if skipped == DONE else _packed(-skipped, -skipped)
    t.do(f"%{v}_fsum = " + _combine_text(t, with_ran, t(f"select i1 {some}, i64 {them}, "
                                                          f"i64 {NOTHING}")))
    careful = skipped != DONE  # a finished thread's state stays: only where one can be
    t.do(f"br i1 %{v}_anyd, label %{v}_skip, label %{v}_fill" if careful else
         f"br label %{v}_fill")
    t.label(f"{v}_fill")
    t.lines.append(f"  %{v}_fx = phi i32 [ {xend}, %{v}_xdone ], [ %{v}_fx1, %{v}_fbody ]")
    t.do("br i1 " + t(f"icmp ult i32 %{v}_fx, {ext_x}") +
         f", label %{v}_fbody, label %{v}_yend")
    t.label(f"{v}_fbody")
    t.do(f"store i32 {skipped}, ptr " + t("getelementptr i32, ptr %state, i32 " +
                                          t(f"add i32 %{v}_row, %{v}_fx")))
    t.do(f"%{v}_fx1 = add i32 %{v}_fx, 1")
    t.do(f"br label %{v}_fill")
    incoming = [f"[ %{v}_fsum, %{v}_fill ]"]
    if careful:
        t.label(f"{v}_skip")
        t.lines.append(f"  %{v}_kx = phi i32 [ {xend}, %{v}_xdone ], [ %{v}_kx1, %{v}_kbody ]")
        for part, none in (("lo", "-1"), ("hi", "0")):
            t.lines.append(f"  %{v}_k{part} = phi i32 [ {none}, %{v}_xdone ], "
                           f"[ %{v}_k1{part}, %{v}_kbody ]")
        t.do("br i1 " + t(f"icmp ult i32 %{v}_kx, {ext_x}") +
             f", label %{v}_kbody, label %{v}_kend")
        t.label(f"{v}_kbody")
        sp = t("getelementptr i32, ptr %state, i32 " + t(f"add i32 %{v}_row, %{v}_kx"))
        done = t("icmp eq i32 " + t(f"load i32, ptr {sp}") + f", {DONE}")
        t.do("store i32 " + t(f"select i1 {done}, i32 {DONE}, i32 {skipped}") + f", ptr {sp}")
        t.do(f"%{v}_k1lo = call i32 @llvm.umin.i32(i32 %{v}_klo, i32 " +
             t(f"select i1 {done}, i32 -1, i32 {-skipped}") + ")")
        t.do(f"%{v}_k1hi = call i32 @llvm.umax.i32(i32 %{v}_khi, i32 " +
             t(f"select i1 {done}, i32 0, i32 {-skipped}") + ")")
        t.do(f"%{v}_kx1 = add i32 %{v}_kx, 1")
        t.do(f"br label %{v}_skip")
        t.label(f"{v}_kend")
        high = t("shl i64 " + t(f"zext i32 %{v}_khi to i64") + ", 32")
        t.do(f"%{v}_ksum = " + _combine_text(
            t, with_ran, t(f"or i64 {high}, " + t(f"zext i32 %{v}_klo to i64"))))
        t.do(f"br label %{v}_yend")
        incoming.append(f"[ %{v}_ksum, %{v}_kend ]")
    t.label(f"{v}_yend")
    t.lines.append(f"  %{v}_row_sum = phi i64 " + ", ".join(incoming))


# summaries as @__air_sites_finished returns them (see .lockstep), as i64 constants: the
# finished flag (bit 63), none waiting nor finished, and one thread finished
FINISHED_BIT = -(1 << 63)
NOTHING = 0xFFFFFFFF
FINISHED = NOTHING + FINISHED_BIT
SITE_MASK = 0x7FFFFFFF  # the highest site waited at: bits 32-62


def _packed(lo: int, hi: int) -> int:
    """A summary: sites ``lo`` to ``hi`` waited at, nobody finished."""
    return lo | (hi << 32)


def _combine_text(t: Any, a: str, b: str) -> str:
    """The text of an instruction (``or``) whose value is summaries ``a`` and ``b`` in
    one: the lower of the lowest sites, the higher of the highest, either's finished."""
    lo = t("call i32 @llvm.umin.i32(i32 " + t(f"trunc i64 {a} to i32") + ", i32 " +
           t(f"trunc i64 {b} to i32") + ")")
    hi = t("call i32 @llvm.umax.i32(i32 " + _highest(t, a) + ", i32 " + _highest(t, b) + ")")
    finished = t("and i64 " + t(f"or i64 {a}, {b}") + f", {FINISHED_BIT}")
    return "or i64 " + t("or i64 " + t(f"zext i32 {lo} to i64") + ", " +
                         t("shl i64 " + t(f"zext i32 {hi} to i64") + ", 32")) + f", {finished}"


def _highest(t: Any, summary: str) -> str:
    """The highest site waited at, of a summary."""
    return t("and i32 " + t("trunc i64 " + t(f"lshr i64 {summary}, 32") + " to i32") +
             f", {SITE_MASK}")


def _combine(t: Any, a: str, b: str) -> str:
    return t(_combine_text(t, a, b))


def _waiting_site(t: Any, k: str) -> str:
    """The site thread ``k`` waits at, or 0 (it runs, or finished)."""
    state = t("load i32, ptr " + t(f"getelementptr i32, ptr %state, i32 {k}"))
    waits = t("and i1 " + t(f"icmp slt i32 {state}, 0") + ", " +
              t(f"icmp ne i32 {state}, {DONE}"))
    return t(f"select i1 {waits}, i32 " + t(f"sub i32 0, {state}") + ", i32 0")


def _round(t: Any, v: str, ext: dict[str, str], count: str, thread_body: ThreadBody,
           from_init: bool, narrow: NarrowRound | None = None, summary: str = WAITED) -> None:
    """One round's loop over the threads; ``v`` is ``any`` (resume points from the states,
    waiting threads released when ``%rel``) or ``s<k>`` (every live thread resumes at
    ``k``; with ``narrow``, only the threads its guard admits); ``summary`` names the
    function that sums the states up after it (:mod:`.lockstep`)."""
    general = v == "any"
    t.label(f"{v}_round")
    if general:
        first = " [ false, %first ]," if from_init else ""
        t.lines.append(f"  %{v}_rel = phi i1{first} [ %a_rel, %choose ], [ %a_rel, %pick ]")
    t.do(f"%{v}_stop = load atomic i32, ptr @{STOP_FLAG} monotonic, align 4")
    t.do(f"%{v}_go = icmp eq i32 %{v}_stop, 0")
    if narrow is not None:
        # entered from block pick only (a site's round, not the first)
        t.do(f"%{v}_anyd = and i1 %a_done, true")
        # the limit, clamped to [0, 2**31 - 1] (a threadgroup has 1,024 threads at most),
        # is opaque to LLVM: knowing the threads' bound, it would drop the guard in the
        # kernel, and with it the fact that lets it see the guarded addresses as affine
        # in the thread (an "or" of the index with s is then its sum), which vectorizing
        # the loop needs
        limit = narrow.limit()
        low = t("select i1 " + t(f"icmp slt i128 {limit}, 0") + f", i128 0, i128 {limit}")
        high = t("select i1 " + t(f"icmp sgt i128 {low}, {INT32_MAX}") +
                 f", i128 {INT32_MAX}, i128 {low}")
        t.do(f"%{v}_limit = call i32 asm \"\", \"=r,0\"(i32 " +
             t(f"trunc i128 {high} to i32") + ")")
        # a thread that finished before counts in the round's summary
        t.do(f"%{v}_start = select i1 %{v}_anyd, i64 {FINISHED}, i64 {NOTHING}")
    t.do(f"br i1 %{v}_go, label %{v}_loop, label %gend")
    if general:  # one loop over t, with (x, y, z) carried along
        t.label(f"{v}_loop")
        for reg, step in (("t", "t1"), ("qx", "qx2"), ("qy", "qy2"), ("qz", "qz2")):
            t.lines.append(f"  %{v}_{reg} = phi i32 [ 0, %{v}_round ], [ %{v}_{step}, "
                           f"%{v}_next ]")
        t.do(f"%{v}_more = icmp ult i32 %{v}_t, {count}")
        t.do(f"br i1 %{v}_more, label %{v}_body, label %{v}_end")
    else:  # loops over z, y and x: t is linear in x, which lets LLVM vectorize over x
        t.label(f"{v}_loop")
        t.lines.append(f"  %{v}_qz = phi i32 [ 0, %{v}_round ], [ %{v}_qz1, %{v}_zend ]")
        if narrow:  # the summary so far
            t.lines.append(f"  %{v}_zsum = phi i64 [ %{v}_start, %{v}_round ], "
                           f"[ %{v}_ysum, %{v}_zend ]")
        t.do(f"%{v}_zmore = icmp ult i32 %{v}_qz, {ext['z']}")
        t.do(f"br i1 %{v}_zmore, label %{v}_yloop, label %{v}_end")
        t.label(f"{v}_yloop")
        t.lines.append(f"  %{v}_qy = phi i32 [ 0, %{v}_loop ], [ %{v}_qy1, %{v}_yend ]")
        if narrow:
            t.lines.append(f"  %{v}_ysum = phi i64 [ %{v}_zsum, %{v}_loop ], "
                           f"[ %{v}_row_sum, %{v}_yend ]")
        t.do(f"%{v}_ymore = icmp ult i32 %{v}_qy, {ext['y']}")
        t.do(f"br i1 %{v}_ymore, label %{v}_xpre, label %{v}_zend")
        t.label(f"{v}_xpre")
        row = t(f"add i32 %{v}_qy, " + t(f"mul i32 %{v}_qz, {ext['y']}"))
        t.do(f"%{v}_row = mul i32 {row}, {ext['x']}")
        xend = _narrowed_x(t, v, ext["x"], narrow) if narrow else ext["x"]
        t.do(f"br label %{v}_xloop")
        t.label(f"{v}_xloop")
        t.lines.append(f"  %{v}_qx = phi i32 [ 0, %{v}_xpre ], [ %{v}_qx1, %{v}_next ]")
        t.do(f"%{v}_t = add i32 %{v}_row, %{v}_qx")
        t.do(f"%{v}_xmore = icmp ult i32 %{v}_qx, {xend}")
        t.do(f"br i1 %{v}_xmore, label %{v}_body, label "
             f"%{v}_{'xdone' if narrow else 'yend'}")
        if narrow:  # ends with the label of block yend
            _skip_rest(t, v, ext["x"], xend, narrow.skipped)
        else:
            t.label(f"{v}_yend")
        t.do(f"%{v}_qy1 = add i32 %{v}_qy, 1")
        t.do(f"br label %{v}_yloop")
        t.label(f"{v}_zend")
        t.do(f"%{v}_qz1 = add i32 %{v}_qz, 1")
        t.do(f"br label %{v}_loop")
    t.label(f"{v}_body")
    t.do(f"%{v}_sp = getelementptr i32, ptr %state, i32 %{v}_t")
    t.do(f"%{v}_s = load i32, ptr %{v}_sp")
    if general:
        t.do(f"%{v}_sneg = icmp slt i32 %{v}_s, 0")
        held = t(f"and i1 %{v}_sneg, " + t(f"icmp ne i32 %{v}_s, {DONE}"))
        released = t(f"and i1 {held}, %{v}_rel")
        t.do(f"%{v}_resume = select i1 %{v}_sneg, i32 " + t(f"sub i32 0, %{v}_s") +
             f", i32 %{v}_s")
        t.do(f"%{v}_ready = or i1 {released}, " + t(f"icmp sge i32 %{v}_s, 0"))
        resume = f"%{v}_resume"
    else:
        t.do(f"%{v}_ready = icmp ne i32 %{v}_s, {DONE}")
        resume = v[1:]
    t.do(f"br i1 %{v}_ready, label %{v}_run, label %{v}_next")
    t.label(f"{v}_run")
    r = thread_body(f"%{v}_qx", f"%{v}_qy", f"%{v}_qz", f"%{v}_t",
                    ["ptr %frames", f"i32 {resume}", f"i32 %{v}_t"])
    done = t(f"icmp eq i32 {r}, 0")
    t.do(f"%{v}_ran = select i1 {done}, i32 {DONE}, i32 " + t(f"sub i32 0, {r}"))
    t.do(f"store i32 %{v}_ran, ptr %{v}_sp")
    t.do(f"br label %{v}_next")
    t.label(f"{v}_next")
    t.do(f"%{v}_qx1 = add i32 %{v}_qx, 1")
    if not general:
        t.do(f"br label %{v}_xloop")
        t.label(f"{v}_end")
        if narrow:
            t.do(f"%{v}_sites = or i64 %{v}_zsum, 0")
        else:
            t.do(f"%{v}_sites = call i64 @{summary}(ptr %state, i32 {count})")
        t.do("br label %after")
        return
    t.do(f"%{v}_t1 = add i32 %{v}_t, 1")
    t.do(f"%{v}_wx = icmp eq i32 %{v}_qx1, {ext['x']}")
    t.do(f"%{v}_qx2 = select i1 %{v}_wx, i32 0, i32 %{v}_qx1")
    t.do(f"%{v}_qy1 = add i32 %{v}_qy, " + t(f"zext i1 %{v}_wx to i32"))
    t.do(f"%{v}_wy = icmp eq i32 %{v}_qy1, {ext['y']}")
    t.do(f"%{v}_qy2 = select i1 %{v}_wy, i32 0, i32 %{v}_qy1")
    t.do(f"%{v}_qz2 = add i32 %{v}_qz, " + t(f"zext i1 %{v}_wy to i32"))
    t.do(f"br label %{v}_loop")
    t.label(f"{v}_end")
    t.do(f"%{v}_sites = call i64 @{summary}(ptr %state, i32 {count})")
    t.do("br label %after")


__all__ = ["SPECIALIZED_INSTRUCTIONS", "emit_group_rounds"]
