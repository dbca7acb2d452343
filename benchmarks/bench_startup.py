"""Benchmark: start-up. The whole ``llvm-to-air vadd.ll -o vadd.metallib`` process against
clang-19 producing that ``vadd.ll``, and the interpreter's floors (issue 12, item 1).

Run by hand: ``python3 benchmarks/bench_startup.py [--runs 21]``. In one run, interleaved
(one of each command per round, so load drifts hit all of them alike), it times as whole
processes:

* ``clang-19`` compiling ``examples/vadd.cu`` to ``vadd.ll`` (the baseline);
* ``python -c pass`` (the interpreter's start, with this machine's ``site``);
* ``python -c 'import llvmlite.binding'`` (start plus the one import we cannot avoid:
  LLVM reads every input);
* ``llvm-to-air examples/vadd.ll -o vadd.metallib`` (``python -m llvm_to_air``);
* ``llvm-to-air --help`` (the command-line interface alone);
* with ``--compare CHECKOUT``, the vadd command again with that checkout's package (say,
  ``git worktree``/``git archive`` of the commit before a change), for before/after;
* with ``--server``, the vadd command again forwarded to a resident compiler
  (``llvm-to-air serve``, started for the run): its CPU time adds the server's own and
  its children's (the forked command and its LLVM child) to the client's, read from
  ``/proc`` (Linux).

Each is timed as wall-clock time and as CPU time (user + system of the child, from
``getrusage``; less sensitive to other jobs on a shared machine). Python is this
interpreter (``sys.executable``, not a pyenv shim), with bytecode cached as after
``pip install`` (``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment
and one warm-up round writes the caches). Prints min and median of each, ratios to
clang-19, and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_RATIO = 2.5  # issue 12: vadd -> .metallib whole process <= 2.5x clang-19


@dataclass
class Timed:
    """One command and its per-round times (seconds)."""

    name: str
    command: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    pythonpath: str = str(REPO)  # the checkout whose llvm_to_air runs
    extra_env: dict[str, str] = field(default_factory=dict)
    other_cpu: Callable[[], float] | None = None  # CPU seconds spent for us elsewhere

    def run_once(self, env: dict[str, str]) -> None:
        env = {**env, **self.extra_env,
               "PYTHONPATH": os.pathsep.join(filter(None, [self.pythonpath,
                                                          env.get("PYTHONPATH")]))}
        elsewhere = self.other_cpu() if self.other_cpu else 0.0
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        # cwd too: ``python -m`` puts the working directory first on sys.path
        subprocess.run(self.command, check=True, capture_output=True, env=env,
                       cwd=self.pythonpath)
        self.wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if self.other_cpu:
            elsewhere = self.other_cpu() - elsewhere
        self.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                        + elsewhere)


def process_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` and of its children it has reaped (``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def start_server(tmp: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``llvm-to-air serve`` on a socket in ``tmp``, once it listens."""
    socket_path = f"{tmp}/server.sock"
    server = subprocess.Popen([sys.executable, "-m", "llvm_to_air", "serve", "--socket",
                               socket_path], env={**env, "PYTHONPATH": str(REPO)},
                              cwd=str(REPO), stderr=subprocess.PIPE)
    assert server.stderr is not None
    line = server.stderr.readline().decode()  # "serving on ..." once warm
    if "serving on" not in line:
        raise SystemExit(f"the server did not start: {line}")
    return server


def commands(tmp: str, compare: str | None, skip_pth: bool,
             server_pid: int | None = None) -> list[Timed]:
    python: str | list[str] = sys.executable
    if skip_pth:  # -S: no site, so no .pth file runs; site-packages come from PYTHONPATH
        python = [sys.executable, "-S"]
    python = [python] if isinstance(python, str) else python
    timed = [
        Timed("python -c pass", [*python, "-c", "pass"]),
        Timed("python -c 'import llvmlite.binding'",
              [*python, "-c", "import llvmlite.binding"]),
        Timed("llvm-to-air vadd.ll -o vadd.metallib",
              [*python, "-m", "llvm_to_air", str(REPO / "examples/vadd.ll"), "-o",
               f"{tmp}/vadd.metallib"]),
        Timed("llvm-to-air --help", [*python, "-m", "llvm_to_air", "--help"]),
    ]
    if compare:  # the same command from another checkout (e.g. before a change)
        timed.append(Timed(f"  same, from {Path(compare).name}", timed[2].command,
                           pythonpath=compare))
    if server_pid is not None:
        cpu = (lambda: process_cpu(server_pid)) if Path("/proc/self/stat").exists() else None
        timed.append(Timed("  same, resident server", timed[2].command,
                           extra_env={"LLVM_TO_AIR_SERVER": f"{tmp}/server.sock"},
                           other_cpu=cpu))
    clang = shutil.which("clang-19")
    if clang:
        timed.insert(0, Timed("clang-19 vadd.cu -> vadd.ll", [
            clang, "-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_70", "-nocudainc",
            "-nocudalib", "-Wno-unknown-cuda-version", "-S", "-emit-llvm", "-O2",
            "-I", str(REPO / "examples"), str(REPO / "examples/vadd.cu"),
            "-o", f"{tmp}/vadd.ll"]))
    return timed


def summary(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--compare", metavar="CHECKOUT",
                        help="also time the vadd command with another checkout's llvm_to_air")
    parser.add_argument("--skip-pth", action="store_true",
                        help="run Python with -S, so that no .pth file of site-packages runs "
                             "(a sandbox's .pth can import a dozen modules at every start)")
    parser.add_argument("--server", action="store_true",
                        help="also time the vadd command forwarded to a resident compiler "
                             "(llvm-to-air serve)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if args.skip_pth:
        import site

        env["PYTHONPATH"] = os.pathsep.join([*site.getsitepackages(),
                                             *filter(None, [env.get("PYTHONPATH")])])
    print(f"python: {sys.executable} {sys.version.split()[0]} (bytecode cached"
          f"{'; -S, no .pth files' if args.skip_pth else ''})")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(tmp, env) if args.server else None
        try:
            timed = commands(tmp, args.compare, args.skip_pth,
                             server.pid if server else None)
            for entry in timed:  # warm-up: bytecode caches, page cache
                entry.run_once(env)
                entry.wall.clear()
                entry.cpu.clear()
            for _ in range(args.runs):
                for entry in timed:
                    entry.run_once(env)
        finally:
            if server is not None:
                server.terminate()
                server.wait()
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    baseline = timed[0] if timed[0].name.startswith("clang") else None
    print(f"\n{args.runs} interleaved rounds; ms (ratio to clang-19 by median)")
    print(f"{'command':40s} {'wall min':>9} {'wall med':>9} {'cpu min':>8} {'cpu med':>8} "
          f"{'ratio wall':>10} {'ratio cpu':>9}")
    for entry in timed:
        wall_min, wall_med = summary(entry.wall)
        cpu_min, cpu_med = summary(entry.cpu)
        ratios = ""
        if baseline is not None:
            ratios = (f"{wall_med / statistics.median(baseline.wall):>9.2f}x "
                      f"{cpu_med / statistics.median(baseline.cpu):>8.2f}x")
        print(f"{entry.name:40s} {wall_min * 1e3:9.1f} {wall_med * 1e3:9.1f} "
              f"{cpu_min * 1e3:8.1f} {cpu_med * 1e3:8.1f} {ratios}")
    if baseline is not None:
        ours = next(e for e in timed if e.name.startswith("llvm-to-air vadd"))
        ratio = statistics.median(ours.wall) / statistics.median(baseline.wall)
        cpu_ratio = statistics.median(ours.cpu) / statistics.median(baseline.cpu)
        print(f"\ngoal: vadd -> .metallib <= {GOAL_RATIO}x clang-19 (medians): wall "
              f"{ratio:.2f}x, cpu {cpu_ratio:.2f}x, "
              f"{'met' if max(ratio, cpu_ratio) <= GOAL_RATIO else 'not met'}")
        served = next((e for e in timed if e.name.endswith("resident server")), None)
        if served is not None:
            ratio = statistics.median(served.wall) / statistics.median(baseline.wall)
            cpu_ratio = statistics.median(served.cpu) / statistics.median(baseline.cpu)
            print(f"with the resident server: wall {ratio:.2f}x, cpu {cpu_ratio:.2f}x, "
                  f"{'met' if max(ratio, cpu_ratio) <= GOAL_RATIO else 'not met'}")
    else:
        print("\nclang-19 not installed: no ratio")


if __name__ == "__main__":
    main()
