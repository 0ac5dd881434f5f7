"""Device check: the nvml driver on a machine with a real NVIDIA GPU.

Finds the host's GPUs through `hcp.drivers.nvml.NvmlDriver`, identifies each, takes a few
readings a second apart and prints them, then checks that the readings are what NVML's units
make them (watts, MiB, MHz, a growing energy counter). It only reads: it changes no setting of
the GPU (no power limit is set). Exit status 0 when every check passes, 1 otherwise, 2 when NVML
is not available here.

    .venv/bin/python scripts/device_check_nvml.py [--reads 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from hcp.drivers.base import UnitRef
from hcp.drivers.nvml import NvmlDriver


async def check(reads: int) -> int:
    driver = NvmlDriver()
    ok, reason = driver.available()
    print(json.dumps({"nvml_available": ok, "reason": reason}))
    if not ok:
        return 2
    failures: list[str] = []
    gpus = await driver.local_gpus()
    print(json.dumps({"gpus": len(gpus)}))
    if not gpus:
        failures.append("NVML works but reports no GPU")
    for gpu in gpus:
        identity: dict[str, Any] = asdict(gpu)
        identity["capabilities"] = gpu.capabilities.names()
        print(json.dumps({"identity": identity}, default=str))
        again = await driver.identify(gpu.address)
        if again != gpu:
            failures.append(f"{gpu.address}: identify() disagrees with local_gpus()")
        unit = UnitRef(id=gpu.serial or gpu.address, address=gpu.address)
        readings = []
        for _ in range(reads):
            started = time.perf_counter()
            reading = await driver.read_telemetry(unit)
            took_ms = (time.perf_counter() - started) * 1000
            readings.append(reading)
            print(json.dumps({"address": gpu.address, "read_ms": round(took_ms, 2), "mode": reading.mode,
                              "metrics": dict(reading.metrics)}))
            await asyncio.sleep(1.0)
        failures.extend(_sanity(gpu.address, gpu.memory_mib, [dict(r.metrics) for r in readings]))
    await driver.close()
    print(json.dumps({"passed": not failures, "failures": failures}))
    return 0 if not failures else 1


def _sanity(address: str, memory_mib: int | None, readings: list[dict[str, float]]) -> list[str]:
    problems = []
    first, last = readings[0], readings[-1]
    for name in ("util_pct", "power_w", "temp_c", "mem_used_mib", "mem_free_mib", "power_limit_w"):
        if name not in first:
            problems.append(f"{address}: no {name}")
    if "power_w" in first and not 1 <= first["power_w"] <= 2000:
        problems.append(f"{address}: power {first['power_w']} W is not in watts")
    if "power_limit_w" in first and not 50 <= first["power_limit_w"] <= 2000:
        problems.append(f"{address}: power limit {first['power_limit_w']} W is not in watts")
    if "temp_c" in first and not 0 < first["temp_c"] < 120:
        problems.append(f"{address}: temperature {first['temp_c']} is not in °C")
    if memory_mib and "mem_used_mib" in first and "mem_free_mib" in first:
        total = first["mem_used_mib"] + first["mem_free_mib"]
        if not 0.9 * memory_mib <= total <= memory_mib:
            problems.append(f"{address}: used + free = {total} MiB against {memory_mib} MiB total")
    if "energy_mj" in first and "energy_mj" in last and len(readings) > 1 and last["energy_mj"] <= first["energy_mj"]:
        problems.append(f"{address}: the energy counter did not grow")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=3)
    args = parser.parse_args()
    sys.exit(asyncio.run(check(max(1, args.reads))))


if __name__ == "__main__":
    main()
