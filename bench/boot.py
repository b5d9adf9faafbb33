"""Kernel start-up cost, against baselines measured in the same run.

(a) ``mega --help`` wall time vs ``--help`` of a two-command typer app (target: <= 1.5x).
(b) kernel overhead for 10 enabled no-op plugins: in a fresh process, first the bare imports
    (asyncio and the 10 plugin modules, which import ``mega.PluginSpec``/``hookimpl``
    themselves) are timed, then, on top of them, everything the kernel adds: importing the
    kernel, discovery, config, App build, boot and shutdown under ``asyncio.run``.
    Target: overhead <= 10 ms. Timing both parts in one process keeps this machine's
    process-to-process noise (±10 ms) out of a difference of a few milliseconds; both are the
    process's CPU time (on a shared machine, wall time also counts waiting for a core). The
    process runs in a scratch directory, as an installed app does (the repository root holds
    the editable install's ``mega_framework.egg-info``, which ``''`` on ``sys.path`` reaches).
(c) the same overhead as a curve of what is installed: the 10 plugins share a site directory with
    N = 20, 50, 100, 200 synthetic distributions (on top of the venv's own), shaped like pip's:
    METADATA, RECORD, WHEEL, INSTALLER, top_level.txt and a package folder each; one in three
    has an entry_points.txt, in other groups (console_scripts, pytest11, ...) — no other mega
    plugin. One fresh process per N per round, the N in a rotating order. Discovery must not
    grow with N: targets overhead <= 10 ms at N = 200, and <= 8 us per added distribution (the
    median over rounds of (N=200 - N=20) / 180: a directory entry listed and one access() per
    distribution, the floor without a cache shared between processes).

Rounds interleave mega and baseline; each figure is a median. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_PLUGINS = 10
CURVE = [20, 50, 100, 200]

PLUGIN_SOURCE = """
from mega import PluginSpec, hookimpl

plugin = PluginSpec(name="noop{i}")

@hookimpl
def mega_register(registry):
    pass

@hookimpl
async def mega_after_boot(app):
    pass

@hookimpl
def mega_before_shutdown(app):
    pass
"""

TIMED = """
import time
t0 = time.process_time()
import asyncio
{imports}
t1 = time.process_time()
from mega import App

async def main():
    app = App.from_dict({{"app": {{"plugins": {names!r}}}}}, environ={{}})
    async with app:
        pass

asyncio.run(main())
t2 = time.process_time()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
"""


def make_site(root: Path) -> list[str]:
    names = []
    for i in range(N_PLUGINS):
        name = f"noop{i}"
        info = root / f"bench_noop{i}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: bench-noop{i}\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[mega.plugins]\n{name} = bench_noop{i}\n")
        (root / f"bench_noop{i}.py").write_text(PLUGIN_SOURCE.format(i=i))
        names.append(name)
    return names


FILLER_GROUPS = (
    "[console_scripts]\n{pkg} = {pkg}.cli:main\n{pkg}-admin = {pkg}.admin:main\n",
    "[pytest11]\n{pkg} = {pkg}.plugin\n",
    "[console_scripts]\n{pkg} = {pkg}.__main__:run\n\n[gui_scripts]\n{pkg}-gui = {pkg}.gui:main\n",
)


def make_filler(root: Path, count: int) -> None:
    """``count`` installed-looking distributions without a mega plugin, as pip lays them out."""
    for i in range(count):
        pkg = f"filler_pkg{i}"
        info = root / f"{pkg}-{i % 7}.{i % 13}.{i}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: filler-pkg{i}\nVersion: {i % 7}.{i % 13}.{i}\n"
            "Summary: a distribution that is installed, not a mega plugin\n"
            + "Classifier: Programming Language :: Python :: 3\n" * 12
            + "Requires-Dist: typing-extensions>=4\n\nA long description.\n" * 3
        )
        (info / "RECORD").write_text("".join(f"{pkg}/m{j}.py,sha256=0000,120\n" for j in range(20)))
        (info / "WHEEL").write_text(
            "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: true\n"
        )
        (info / "INSTALLER").write_text("pip\n")
        (info / "top_level.txt").write_text(f"{pkg}\n")
        if i % 3 == 0:
            (info / "entry_points.txt").write_text(FILLER_GROUPS[i % 9 // 3].format(pkg=pkg))
        (root / pkg).mkdir()
        (root / pkg / "__init__.py").write_text("")


def venv_distributions() -> int:
    """Distributions installed in this interpreter's own site directories (the curve's floor)."""
    return sum(
        1
        for entry in sys.path
        if os.path.isdir(entry or ".")
        for name in os.listdir(entry or ".")
        if name.endswith((".dist-info", ".egg-info"))
    )


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000


def inner(code: str, env: dict[str, str], cwd: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    imports_ms, kernel_ms = out.stdout.strip().splitlines()[-1].split()
    return float(imports_ms), float(kernel_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds = 7 if args.quick else 25

    mega_bin = shutil.which("mega", path=str(Path(sys.executable).parent)) or "mega"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA")}
    help_mega, help_typer = [], []
    curve: dict[int, list[float]] = {n: [] for n in CURVE}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp, "site")
        names = make_site(site)
        env_site = env | {"PYTHONPATH": str(site)}
        env_curve = {}
        for n in CURVE:
            crowded = Path(tmp, f"site{n}")
            make_site(crowded)
            make_filler(crowded, n)
            env_curve[n] = env | {"PYTHONPATH": str(crowded)}
        # Installed wheels ship bytecode; make sure neither side pays for compiling source here
        # (a dev shell may set PYTHONDONTWRITEBYTECODE).
        import mega

        for folder in (Path(tmp), *map(Path, mega.__path__), HERE.parent / "plugins"):
            compileall.compile_dir(folder, quiet=1)
        imports = "\n".join(f"import bench_noop{i}" for i in range(N_PLUGINS))
        timed = TIMED.format(imports=imports, names=names)
        boot_base, boot_overhead = [], []
        for _ in range(2):  # warm the OS file cache
            wall([mega_bin, "--help"], env)
            inner(timed, env_site, tmp)
            for n in CURVE:
                inner(timed, env_curve[n], tmp)
        for r in range(rounds):
            help_typer.append(
                wall([sys.executable, str(HERE / "_typer_baseline.py"), "--help"], env)
            )
            help_mega.append(wall([mega_bin, "--help"], env))
            imports_ms, kernel_ms = inner(timed, env_site, tmp)
            boot_base.append(imports_ms)
            boot_overhead.append(kernel_ms)
            for n in CURVE[r % len(CURVE) :] + CURVE[: r % len(CURVE)]:
                curve[n].append(inner(timed, env_curve[n], tmp)[1])

    med = statistics.median
    help_ratio = med(help_mega) / med(help_typer)
    overhead = med(boot_overhead)
    curve_ms = {n: med(v) for n, v in curve.items()}
    first, last = CURVE[0], CURVE[-1]
    # per added distribution: the median over rounds of the paired difference, not of medians
    slope_us = med(b - a for a, b in zip(curve[first], curve[last], strict=True)) / (last - first)
    slope_us *= 1000
    ratios = {
        "help_vs_typer": round(help_ratio, 3),
        "boot10_overhead_ms": round(overhead, 2),
        f"boot10_overhead_ms_at_{last}": round(curve_ms[last], 2),
        "us_per_added_distribution": round(slope_us, 2),
    }
    targets = {
        "help_vs_typer": "<=1.5",
        "boot10_overhead_ms": "<=10",
        f"boot10_overhead_ms_at_{last}": "<=10",
        "us_per_added_distribution": "<=8",
    }
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures = {
        "mega_help_ms": round(med(help_mega), 1),
        "typer_help_ms": round(med(help_typer), 1),
        "imports_only_ms": round(med(boot_base), 2),
        "kernel_overhead_ms": round(overhead, 2),
        "overhead_share_of_imports": round(overhead / med(boot_base), 3),
        "overhead_ms_by_added_distributions": {n: round(v, 2) for n, v in curve_ms.items()},
        f"curve_{last}_vs_{first}": round(curve_ms[last] / curve_ms[first], 3),
        "venv_distributions": venv_distributions(),
        "rounds": rounds,
    }
    for name, value in ratios.items():
        print(f"{name:32s} {value:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:36s} {value}")
    result = {
        "bench": "boot",
        "ratios": ratios,
        "targets": targets,
        "figures": figures,
        "pass": all(met.values()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
