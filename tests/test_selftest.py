"""``llvm-to-air selftest``: the shipped corpus passes on the CPU, the Metal path runs it
end to end on a fake runtime, the output (table, JSON) and the error off macOS."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fake_objc import FakeRuntime

import llvm_to_air.selftest as selftest
from llvm_to_air.cli import main
from llvm_to_air.metal import unavailable
from llvm_to_air.metal.objc import MetalAPI
from llvm_to_air.selftest import REFUSED, run_selftest
from llvm_to_air.selftest.cases import CASES, PRODUCERS

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(selftest.__file__).parent / "data"
OFF_MAC = unavailable() is not None


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_shipped_fixtures_are_the_projects_own() -> None:
    shipped = sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.ll"))
    assert shipped == sorted({case.fixture for case in CASES})
    for rel in shipped:
        assert (DATA / rel).read_bytes() == (FIXTURES / rel).read_bytes(), rel
    assert sum((DATA / rel).stat().st_size for rel in shipped) < 200_000


def test_corpus_covers_every_producer_family() -> None:
    folders = {case.fixture.split("/")[0] for case in CASES}
    assert {"cuda19-O2", "cuda14-O2", "opencl19", "mlir-nvvm", "mlir-rocdl",
            "apple-twins"} <= folders <= set(PRODUCERS)
    assert len({case.name for case in CASES}) == len(CASES)


def test_whole_corpus_passes_on_the_cpu() -> None:
    report = run_selftest("cpu")
    failed = [(r.kernel, r.result, r.detail) for r in report.results if not r.ok]
    assert not failed
    assert len(report.results) == len(CASES) and report.ok
    assert all(r.max_error is not None for r in report.results)


def test_a_wrong_result_fails_and_says_by_how_much() -> None:
    wrong = dataclasses.replace(CASES[0], reference=lambda b: {2: b[0] - b[1]})
    report = run_selftest("cpu", cases=[wrong])
    (result,) = report.results
    assert result.result == "FAIL" and not report.ok
    assert result.max_error is not None and result.max_error > 0.1
    assert "differ from the numpy reference" in result.detail


def test_a_case_that_cannot_compile_is_an_error_row() -> None:
    broken = dataclasses.replace(CASES[0], kernel="no_such_kernel")
    (result,) = run_selftest("cpu", cases=[broken, ]).results
    assert result.result == "error" and "no kernel 'no_such_kernel'" in result.detail


def test_whole_corpus_on_metal_through_the_fake_runtime() -> None:
    """Every case through llvm_to_air.metal: plan, objc messages, copy in and out (the
    fake's GPU is the CPU runner, so this checks the plumbing, not Apple's GPU)."""
    report = run_selftest("metal", metal=MetalAPI(FakeRuntime()))
    failed = [(r.kernel, r.result, r.detail) for r in report.results if not r.ok]
    assert not failed
    assert all(r.device == "metal" and r.vs_cpu == 0 for r in report.results)
    assert report.facts["gpu"] == "Fake GPU" and report.facts["metal"] == "Metal 3"


def test_targets_newer_than_the_os_must_be_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "_host_macos", lambda: 14)
    cases = CASES[:1]
    loads = run_selftest("metal", ["macos14", "macos15"], MetalAPI(FakeRuntime()), cases)
    assert [r.result for r in loads.results] == ["pass", "FAIL"]
    assert "expected to refuse" in loads.results[1].detail
    refuses = run_selftest("metal", ["macos14", "macos15"],
                           MetalAPI(FakeRuntime(fail="library")), cases)
    assert [r.result for r in refuses.results] == ["error", REFUSED]


def test_all_targets_on_the_cpu() -> None:
    report = run_selftest("cpu", ["all"], cases=CASES[:2])
    from llvm_to_air.metadata.target import BITCODE_SINCE_AIR, TARGETS

    packaged = [n for n, t in TARGETS.items() if t.air_version >= BITCODE_SINCE_AIR]
    assert report.targets == packaged and report.ok
    assert sorted(report.skipped) == sorted(set(TARGETS) - set(packaged))
    assert all("older bitcode flavour" in why for why in report.skipped.values())
    assert len(report.results) == 2 * len(packaged)


def test_cli_table() -> None:
    result = cli("selftest", "--device", "cpu")
    assert result.exit_code == 0, result.output
    for case in CASES:
        assert case.name in result.output
    for column in ("kernel", "producer", "target", "result", "max error"):
        assert column in result.output
    assert "selftest on cpu" in result.output and "os: " in result.output
    assert f"{len(CASES)} of {len(CASES)} passed" in result.output


def test_cli_json() -> None:
    result = cli("selftest", "--device", "cpu", "--json", "--target", "macos15")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["passed"] == len(CASES) and data["failed"] == 0
    assert data["targets"] == ["macos15"] and data["facts"]["os"]
    row = data["results"][0]
    assert {"kernel", "producer", "target", "device", "result", "max_error"} <= set(row)
    assert all(r["result"] == "pass" and r["target"] == "macos15" for r in data["results"])


def test_cli_failure_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = dataclasses.replace(CASES[0], reference=lambda b: {2: np.zeros_like(b[2]) + 1})
    monkeypatch.setattr(selftest, "CASES", [wrong])
    result = cli("selftest", "--device", "cpu")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "0 of 1 passed; 1 failed" in result.output


@pytest.mark.skipif(not OFF_MAC, reason="checks the error where Metal is absent")
def test_cli_metal_off_macos_is_a_clear_error() -> None:
    result = cli("selftest", "--device", "metal")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("--device metal: error: the Metal device is not available: "
                               "Metal needs macOS")
    assert "Metal.framework" in lines[0] and "--device cpu" in lines[0]


def test_cli_unknown_target() -> None:
    result = cli("selftest", "--device", "cpu", "--target", "macos99")
    assert result.exit_code == 1 and "unknown target 'macos99'" in result.output


@pytest.mark.skipif(OFF_MAC, reason="needs macOS with a Metal GPU")
def test_real_metal_selftest() -> None:
    result = cli("selftest", "--device", "metal", "--target", "all")
    assert result.exit_code == 0, result.output
