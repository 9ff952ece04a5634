"""Transfer runner overhead against a stand-in: the same measure as bench_transfer.py, with Jivo's side
played by `jivo-ops stand-in` (its own process) wired to `jivo-ops sandbox --jaicp-only` (another one),
as a user wires a test operator channel. The runner also reads each transfer's operator-side view.

Ends with `BENCH standin ratio=<runner/bare> goal=<=1.2 PASS|FAIL` (the full sandbox's goal).

    .venv/bin/python benchmarks/bench_standin.py [--transfers 1000] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transfer import GOAL, ROOT, bare, runner  # noqa: E402

from jivo_ops.profile import load_profile  # noqa: E402

CLI = [sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main())"]


def serve(*args: str) -> subprocess.Popen:
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    for line in process.stdout:
        if line.startswith("serving"):
            return process
        if time.monotonic() > deadline:
            break
    process.terminate()
    raise SystemExit(f"{args[0]} did not come up")


def start_pair(workdir: Path) -> tuple[list[subprocess.Popen], Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    profile = workdir / "test.toml"
    processes = [serve("sandbox", "--jaicp-only", "--profile-out", str(profile))]
    processes.append(serve("stand-in", "--profile", str(profile), "--listen", "127.0.0.1:0"))
    wired = load_profile(profile, env=False)
    admin = wired.jaicp.chat_api_url.split("/chatapi/")[0] + "/admin/operator-channel"
    httpx.post(admin, json={"externalApiEndpoint": wired.stand_in.unique_url}, timeout=5).raise_for_status()
    return processes, profile


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"bare": [], "runner": []}
    with tempfile.TemporaryDirectory(prefix="bench-standin-") as tmp:
        for round_no in range(args.rounds):
            order = ("bare", "runner") if round_no % 2 == 0 else ("runner", "bare")
            for side in order:
                processes, profile_path = start_pair(Path(tmp) / f"{round_no}-{side}")
                try:
                    profile = load_profile(profile_path, env=False)
                    url = profile.jaicp.chat_api_url
                    if side == "bare":
                        asyncio.run(bare(url, 20, 10, f"w{round_no}", profile.jivo.operator_view_url))
                        t, ok = asyncio.run(bare(url, args.transfers, args.concurrency, f"r{round_no}",
                                                    profile.jivo.operator_view_url))
                    else:
                        asyncio.run(runner(profile, 20, 10))
                        t, ok = asyncio.run(runner(profile, args.transfers, args.concurrency))
                finally:
                    for process in reversed(processes):
                        process.terminate()
                        try:
                            process.wait(10)
                        except subprocess.TimeoutExpired:
                            process.kill()
                times[side].append(t)
                print(f"round {round_no + 1}: {side:<6} {t:7.2f} s wall, {ok}/{args.transfers} answered", flush=True)
                if ok != args.transfers:
                    print(f"BENCH standin ratio=nan goal=<={GOAL} FAIL ({side} answered {ok}/{args.transfers})")
                    return 1
    paired = [rt / bt for rt, bt in zip(times["runner"], times["bare"])]
    ratio = statistics.median(paired)
    print(f"transfers={args.transfers} concurrency={args.concurrency} rounds={args.rounds}; "
          f"per-round ratios (runner/bare): " + ", ".join(f"{x:.2f}" for x in paired))
    print(f"BENCH standin ratio={ratio:.2f} goal=<={GOAL} {'PASS' if ratio <= GOAL else 'FAIL'}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
