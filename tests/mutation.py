"""`make mutation`: mutmut on the modules whose mistakes cost most, then the score per module.

The module list and the tests are in pyproject.toml (`[tool.mutmut] only_mutate` and
`pytest_add_cli_args_test_selection`): edit them there. mutmut copies the tree into `mutants/`,
changes one thing at a time (a comparison, a constant, a call argument...) and reruns the tests
that reach the changed function; a mutant the tests do not notice "survived".

    .venv/bin/python tests/mutation.py                 # every listed module (slow: tens of minutes)
    .venv/bin/python tests/mutation.py signing command # only these (basename or path)
    .venv/bin/python tests/mutation.py --report        # print the last result again, run nothing
    .venv/bin/python tests/mutation.py --survivors callbacks  # rerun only last time's survivors

Score = killed / (killed + survived + no tests); timeouts count as killed (the change hung the
code), "skipped" and "not checked" are left out. Not part of CI (too slow); the last result
is recorded in docs/testing.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # mutmut's "killed", "timeout", "caught by type check"
SURVIVED = {0}
NO_TESTS = {5, 33}


def listed_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def pick(modules: list[str], wanted: list[str]) -> list[str]:
    if not wanted:
        return modules
    chosen = []
    for w in wanted:
        hits = [m for m in modules if m == w or Path(m).stem == Path(w).stem or m.endswith("/" + w)]
        if not hits:
            raise SystemExit(f"{w!r} is not in [tool.mutmut] only_mutate: {modules}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def mutant_glob(module: str) -> str:
    """mutmut names mutants `backend.signing.x_sign__mutmut_1`: the module's dotted path, then the function."""
    return module.removesuffix(".py").replace("/", ".") + ".*"


def run_mutmut(modules: list[str], max_children: int, names: list[str] | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COVERAGE_PROCESS_START")}
    argv = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children),
            *(names if names is not None else [mutant_glob(m) for m in modules])]
    print("$", " ".join(argv[:8]), "..." if len(argv) > 8 else "", flush=True)
    return subprocess.call(argv, cwd=ROOT, env=env)


def results(module: str) -> dict[str, int | None]:
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    return json.loads(meta.read_text())["exit_code_by_key"]


def report(modules: list[str]) -> int:
    print(f"\n{'module':<28}{'killed':>8}{'survived':>10}{'no tests':>10}{'score':>8}")
    all_killed = all_counted = 0
    survivors: list[str] = []
    for module in modules:
        codes = results(module)
        killed = sum(1 for c in codes.values() if c in KILLED)
        survived = [k for k, c in codes.items() if c in SURVIVED]
        untested = [k for k, c in codes.items() if c in NO_TESTS]
        counted = killed + len(survived) + len(untested)
        all_killed, all_counted = all_killed + killed, all_counted + counted
        score = f"{100 * killed / counted:.0f}%" if counted else "not run"
        print(f"{module:<28}{killed:>8}{len(survived):>10}{len(untested):>10}{score:>8}")
        survivors += survived + untested
    if all_counted:
        print("-" * 64)
        print(f"{'all':<28}{all_killed:>8}{'':>10}{'':>10}{100 * all_killed / all_counted:>7.0f}%")
    if survivors:
        print("\nsurvivors (`.venv/bin/mutmut show NAME` prints the change):")
        for name in survivors:
            print("  ", name)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help="basenames or paths from [tool.mutmut] only_mutate (default: all)")
    ap.add_argument("--report", action="store_true", help="print the last result; run nothing")
    ap.add_argument("--survivors", action="store_true",
                    help="rerun only the mutants that survived (or had no tests) last time, e.g. after new tests")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    modules = pick(listed_modules(), args.modules)
    if not args.report:
        names = None
        if args.survivors:
            names = [k for m in modules for k, c in results(m).items() if c in SURVIVED | NO_TESTS]
            if not names:
                print("no survivors recorded for", ", ".join(modules))
                return report(modules)
        rc = run_mutmut(modules, args.max_children, names)
        if rc not in (0, None):
            print(f"mutmut exited with {rc}", file=sys.stderr)
    return report(modules)


if __name__ == "__main__":
    sys.exit(main())
