"""Coverage per layer, read from the data `make test` leaves (pytest-cov, config in pyproject.toml).

Prints lines % and branches % for each layer of the house (media, pipeline, storage, catalog,
jobs, api, ui, lambda, and the rest of backend/), then the whole tree, and exits 2 when the
whole tree is under the floor (`[tool.coverage.report] fail_under`, or --fail-under).

    .venv/bin/python tests/coverage_by_layer.py [--data-file .coverage] [--fail-under N]

The whole-tree figure is coverage's own total (lines and branches counted together), so it
matches what `coverage report` prints and what pytest-cov checks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import coverage

# first match wins; a file in none of these is "backend (other)"
LAYERS: dict[str, tuple[str, ...]] = {
    "media": ("backend/media/",),
    "pipeline": ("backend/pipeline/",),
    "storage": ("backend/storage/",),
    "catalog": ("backend/catalog/",),
    "jobs": ("backend/jobs/",),
    "api": ("backend/api/",),
    "ui": ("ui/",),
    "lambda": ("lambda/",),
    "backend (other)": ("backend/",),
}


@dataclass
class Tally:
    statements: int = 0
    covered_lines: int = 0
    branches: int = 0
    covered_branches: int = 0
    files: int = 0

    def add(self, summary: dict) -> None:
        self.statements += summary["num_statements"]
        self.covered_lines += summary["covered_lines"]
        self.branches += summary.get("num_branches", 0)
        self.covered_branches += summary.get("covered_branches", 0)
        self.files += 1

    @staticmethod
    def pct(part: int, whole: int) -> float:
        return 100.0 * part / whole if whole else 100.0

    @property
    def lines_pct(self) -> float:
        return self.pct(self.covered_lines, self.statements)

    @property
    def branches_pct(self) -> float:
        return self.pct(self.covered_branches, self.branches)

    @property
    def total_pct(self) -> float:
        return self.pct(self.covered_lines + self.covered_branches, self.statements + self.branches)


def layer_of(path: str, root: str) -> str | None:
    rel = PurePosixPath(os.path.relpath(path, root).replace(os.sep, "/")).as_posix()
    for layer, prefixes in LAYERS.items():
        if rel.startswith(prefixes):
            return layer
    return None


def tally(data_file: str, root: str) -> tuple[dict[str, Tally], Tally, float | None]:
    """Per-layer tallies, the whole tree, and the configured floor (None if not set)."""
    cov = coverage.Coverage(data_file=data_file, config_file=os.path.join(root, "pyproject.toml"))
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "coverage.json")
        cov.json_report(outfile=out, ignore_errors=True)
        with open(out) as f:
            report = json.load(f)
    layers = {name: Tally() for name in LAYERS}
    whole = Tally()
    for path, entry in report["files"].items():
        name = layer_of(os.path.abspath(os.path.join(root, path)), root)
        if name is None:
            continue
        layers[name].add(entry["summary"])
        whole.add(entry["summary"])
    floor = cov.get_option("report:fail_under")
    return layers, whole, (float(floor) if floor else None)


def main(argv: list[str] | None = None) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-file", default=os.environ.get("COVERAGE_FILE", os.path.join(root, ".coverage")))
    ap.add_argument("--fail-under", type=float, default=None, help="override [tool.coverage.report] fail_under")
    args = ap.parse_args(argv)
    if not os.path.exists(args.data_file):
        print(f"no coverage data at {args.data_file} (run `make test`)", file=sys.stderr)
        return 1
    layers, whole, floor = tally(args.data_file, root)
    if args.fail_under is not None:
        floor = args.fail_under
    print(f"\n{'coverage by layer':<18}{'files':>6}{'lines':>16}{'branches':>16}{'total':>8}")
    rows = [(name, t) for name, t in layers.items() if t.files] + [("whole tree", whole)]
    for name, t in rows:
        if name == "whole tree":
            print("-" * 64)
        print(f"{name:<18}{t.files:>6}"
              f"{t.lines_pct:>7.1f}% {t.covered_lines:>4}/{t.statements:<4}"
              f"{t.branches_pct:>6.1f}% {t.covered_branches:>4}/{t.branches:<4}"
              f"{t.total_pct:>7.1f}%")
    if floor is None:
        return 0
    if round(whole.total_pct, 1) < floor:
        print(f"FAIL: whole-tree coverage {whole.total_pct:.1f}% is under the floor {floor:g}%")
        return 2
    print(f"whole-tree coverage {whole.total_pct:.1f}% meets the floor {floor:g}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
