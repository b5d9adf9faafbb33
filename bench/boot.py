"""Kernel start-up cost, against baselines measured in the same run.

(a) ``mega --help`` wall time vs ``--help`` of a two-command typer app (target: <= 1.5x).
(b) kernel overhead for 10 enabled no-op plugins: in a fresh process, first the bare imports
    (asyncio and the 10 plugin modules, which import ``mega.PluginSpec``/``hookimpl``
    themselves) are timed, then, on top of them, everything the kernel adds: importing the
    kernel, discovery, config, App build, boot and shutdown under ``asyncio.run``.
    Target: overhead <= 10 ms. Timing both parts in one process keeps this machine's
    process-to-process noise (±10 ms) out of a difference of a few milliseconds.

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
t0 = time.perf_counter()
import asyncio
{imports}
t1 = time.perf_counter()
from mega import App

async def main():
    app = App.from_dict({{"app": {{"plugins": {names!r}}}}}, environ={{}})
    async with app:
        pass

asyncio.run(main())
t2 = time.perf_counter()
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


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000


def inner(code: str, env: dict[str, str]) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
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
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        names = make_site(site)
        env_site = env | {"PYTHONPATH": str(site)}
        # Installed wheels ship bytecode; make sure neither side pays for compiling source here
        # (a dev shell may set PYTHONDONTWRITEBYTECODE).
        import mega

        for folder in (site, *map(Path, mega.__path__), HERE.parent / "plugins"):
            compileall.compile_dir(folder, quiet=1)
        imports = "\n".join(f"import bench_noop{i}" for i in range(N_PLUGINS))
        timed = TIMED.format(imports=imports, names=names)
        boot_base, boot_overhead = [], []
        for _ in range(2):  # warm the OS file cache
            wall([mega_bin, "--help"], env)
            inner(timed, env_site)
        for _ in range(rounds):
            help_typer.append(
                wall([sys.executable, str(HERE / "_typer_baseline.py"), "--help"], env)
            )
            help_mega.append(wall([mega_bin, "--help"], env))
            imports_ms, kernel_ms = inner(timed, env_site)
            boot_base.append(imports_ms)
            boot_overhead.append(kernel_ms)

    med = statistics.median
    help_ratio = med(help_mega) / med(help_typer)
    overhead = med(boot_overhead)
    result = {
        "bench": "boot",
        "ratios": {"help_vs_typer": round(help_ratio, 3), "boot10_overhead_ms": round(overhead, 2)},
        "targets": {"help_vs_typer": "<=1.5", "boot10_overhead_ms": "<=10"},
        "figures": {
            "mega_help_ms": round(med(help_mega), 1),
            "typer_help_ms": round(med(help_typer), 1),
            "imports_only_ms": round(med(boot_base), 2),
            "kernel_overhead_ms": round(overhead, 2),
            "overhead_share_of_imports": round(overhead / med(boot_base), 3),
            "rounds": rounds,
        },
        "pass": help_ratio <= 1.5 and overhead <= 10,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
