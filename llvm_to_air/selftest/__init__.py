"""``llvm-to-air selftest``: compile the shipped corpus, run it, compare with numpy.

Every case of :data:`~llvm_to_air.selftest.cases.CASES` is compiled to a
``.metallib`` for each chosen target and run on the chosen device with seeded
inputs; its outputs are compared with the case's numpy reference. With
``device="metal"`` each kernel runs on the CPU runner too, and the two devices'
outputs are compared with each other. A library for a macOS newer than the
running one must be refused by Metal (reported as ``refused (expected)``).

:func:`run_selftest` returns a :class:`Report`; :func:`selftest_cli` prints it as a
table (or JSON) with the machine facts, ready to paste into a bug report.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from llvm_to_air.errors import CompileError
from llvm_to_air.selftest.cases import CASES, Case

SEED = 20260101
PASS, FAIL, ERROR, REFUSED = "pass", "FAIL", "error", "refused (expected)"


@dataclass
class Result:
    """One case on one device for one target."""

    kernel: str
    producer: str
    target: str
    device: str
    result: str                        # pass | FAIL | error | refused (expected)
    max_error: float | None = None     # largest |output - reference| over checked outputs
    vs_cpu: float | None = None        # metal only: largest |metal - cpu|
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result in (PASS, REFUSED)


@dataclass
class Report:
    device: str
    targets: list[str]
    facts: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)   # target -> why it was left out

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        from llvm_to_air import __version__

        return {"llvm_to_air": __version__, "device": self.device, "targets": self.targets,
                "skipped_targets": self.skipped,
                "facts": self.facts, "passed": sum(r.ok for r in self.results),
                "failed": sum(not r.ok for r in self.results), "ok": self.ok,
                "results": [asdict(r) for r in self.results]}


def fixture_text(case: Case) -> str:
    """The shipped copy of the case's fixture."""
    return resources.files("llvm_to_air.selftest").joinpath("data", case.fixture).read_text()


def _targets(device: str, requested: list[str]) -> tuple[list[str], dict[str, str]]:
    """The targets to check, and those ``all`` leaves out with the reason."""
    from llvm_to_air.metadata.target import (
        DEFAULT_TARGET,
        TARGETS,
        check_bitcode_target,
        get_target,
    )

    if not requested:
        return [DEFAULT_TARGET], {}
    if "all" not in requested:
        for name in requested:
            get_target(name)
        return list(dict.fromkeys(requested)), {}
    chosen, skipped = [], {}
    for name, target in TARGETS.items():
        if device == "metal" and target.platform != "macos":
            skipped[name] = "a Mac's Metal loads macOS libraries only"
            continue
        try:
            check_bitcode_target(target)
        except CompileError as exc:
            skipped[name] = exc.message.split("; ")[0]
            continue
        chosen.append(name)
    return chosen, skipped


def _host_macos() -> int | None:
    import platform

    version = platform.mac_ver()[0]
    return int(version.split(".")[0]) if version else None


def _compare(case: Case, outputs: dict[int, np.ndarray], expected: dict[int, np.ndarray]) -> \
        tuple[bool, float]:
    ok, worst = True, 0.0
    for index, want in expected.items():
        got = np.asarray(outputs[index])
        want = np.asarray(want).reshape(got.shape)
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        if diff.size:
            worst = max(worst, float(np.nanmax(diff)) if not np.isnan(diff).all() else 0.0)
        if case.rtol == 0 and case.atol == 0:
            ok = ok and np.array_equal(got, want, equal_nan=got.dtype.kind == "f")
        else:
            ok = ok and bool(np.allclose(got, want, rtol=case.rtol, atol=case.atol,
                                         equal_nan=True))
    return ok, worst


def _execute(case: Case, library: bytes, device: str, metal: Any) -> dict[int, np.ndarray]:
    """Fresh seeded inputs, run on ``device``; the buffers afterwards."""
    buffers = case.inputs(np.random.default_rng(SEED))
    if device == "metal":
        from llvm_to_air.metal import run as run_metal

        run_metal(library, case.kernel, case.grid, case.threadgroup, buffers,
                  case.threadgroup_memory, metal=metal)
    else:
        from llvm_to_air.runner import run as run_cpu

        run_cpu(library, case.kernel, case.grid, case.threadgroup, buffers,
                case.threadgroup_memory)
    return buffers


def _run_case(case: Case, target: str, device: str, metal: Any,
              host_macos: int | None) -> Result:
    from llvm_to_air.api import compile as compile_
    from llvm_to_air.metadata.target import get_target

    result = Result(case.name, case.producer, target, device, ERROR)
    start = time.perf_counter()
    try:
        inputs = case.inputs(np.random.default_rng(SEED))
        expected = case.reference({k: np.copy(v) for k, v in inputs.items()})
        output = compile_(fixture_text(case), case.fixture, target=target,
                          emit="metallib").output
        assert isinstance(output, bytes)
        too_new = device == "metal" and host_macos is not None and \
            get_target(target).os_version[0] > host_macos
        try:
            got = _execute(case, output, device, metal)
        except CompileError as exc:
            if too_new and exc.message.startswith("Metal refused the library"):
                result.result, result.detail = REFUSED, exc.message
                return result
            raise
        if too_new:
            result.result = FAIL
            result.detail = (f"Metal loaded a library for macOS {get_target(target).os_version[0]}"
                             f" on macOS {host_macos}: it was expected to refuse it")
            return result
        ok, result.max_error = _compare(case, got, expected)
        if device == "metal":
            cpu = _execute(case, output, "cpu", None)
            result.vs_cpu = max(float(np.max(np.abs(np.asarray(got[k], np.float64) -
                                                    np.asarray(cpu[k], np.float64))))
                                for k in expected)
        result.result = PASS if ok else FAIL
        if not ok:
            result.detail = f"outputs differ from the numpy reference by up to " \
                            f"{result.max_error:.3g} (rtol {case.rtol}, atol {case.atol})"
    except CompileError as exc:
        result.result, result.detail = ERROR, exc.format()
    finally:
        result.seconds = round(time.perf_counter() - start, 3)
    return result


def run_selftest(device: str = "cpu", targets: list[str] | None = None, metal: Any = None,
                 cases: list[Case] | None = None) -> Report:
    """Run every case on ``device`` ("cpu" or "metal") for each target.

    ``metal`` replaces the real Metal API (tests pass one on a fake runtime). Raises
    :class:`CompileError` when ``device="metal"`` and Metal is not available here.
    """
    from llvm_to_air import metal as metal_module

    if device not in ("cpu", "metal"):
        raise CompileError(f"unknown device '{device}'", hint="use cpu or metal")
    if device == "metal" and metal is None:
        metal = metal_module.api()      # the clear error off macOS
    chosen, skipped = _targets(device, targets or [])
    facts = metal_module.facts(metal if device == "metal" else None)
    report = Report(device, chosen, facts, skipped=skipped)
    host = _host_macos() if device == "metal" and metal is not None else None
    for target in chosen:
        for case in cases if cases is not None else CASES:
            report.results.append(_run_case(case, target, device, metal, host))
    return report


# ------------------------------------------------------------------ output


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def print_report(report: Report, stream: Any = None) -> None:
    """The facts, a table of results and a summary line (rich; plain when not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    console = Console(file=stream, width=None if tty else 150, no_color=not tty,
                      highlight=False)
    from llvm_to_air import __version__

    console.print(f"llvm-to-air {__version__} selftest on {report.device}")
    for key, value in report.facts.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        console.print(f"  {key}: {shown}")
    table = Table(show_lines=False)
    for column in ("kernel", "producer", "target", "device", "result", "max error"):
        table.add_column(column)
    if report.device == "metal":
        table.add_column("metal vs cpu")
    for r in report.results:
        colour = "green" if r.ok else "red"
        row = [r.kernel, r.producer, r.target, r.device, f"[{colour}]{r.result}[/{colour}]",
               _number(r.max_error)]
        if report.device == "metal":
            row.append(_number(r.vs_cpu))
        table.add_row(*row)
    console.print(table)
    for r in report.results:
        if r.detail and not r.ok:
            console.print(f"{r.kernel} [{r.target}]: {r.detail}", markup=False)
    for name, why in report.skipped.items():
        console.print(f"target {name} not checked: {why}", markup=False)
    passed = sum(r.ok for r in report.results)
    console.print(f"{passed} of {len(report.results)} passed"
                  + ("" if report.ok else f"; {len(report.results) - passed} failed"))


def selftest_cli(device: str | None, targets: list[str], as_json: bool) -> int:
    """``llvm-to-air selftest``: print the report; the exit status (0 when all pass)."""
    from llvm_to_air.metal import unavailable

    if device is None:
        device = "cpu" if unavailable() else "metal"
    report = run_selftest(device, targets)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        print_report(report)
    return 0 if report.ok else 1


__all__ = ["Report", "Result", "print_report", "run_selftest", "selftest_cli"]
