"""``make bench``: median time per operation, ours vs xmtp-js 13.0.4, and the libsecp256k1 floor.

Writes ``bench/latest.json`` as ``{"ops": {op: {ours_us, xmtpjs_us, ratio, floor_us}}}`` where
ratio = xmtpjs / ours.  Targets: ≥5× on generation, ≥10× elsewhere, and within 2× of the floor.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import binary, engine_ops, gui, keystore, network
from bench.floors import FLOOR_RECIPES, floors, measure_primitives
from bench.timing import median_us, median_us_async
from tests.interop.jsdriver import XmtpJs

OUT = Path(__file__).resolve().parent / "latest.json"
ITERATIONS = 400
JS_ITERATIONS = 200
SPEEDUP_TARGET = {"generate": 5.0}
DEFAULT_SPEEDUP_TARGET = 10.0
FLOOR_TARGET = 2.0


def measure_ours() -> dict[str, float]:
    ops = engine_ops.prepare()
    results = {}
    for name, fn in ops.items():
        if name in engine_ops.ASYNC_OPS:
            results[name] = median_us_async(fn, ITERATIONS)  # type: ignore[arg-type]
        else:
            results[name] = median_us(fn, ITERATIONS)
    return results


def measure_xmtpjs() -> tuple[str, dict[str, float]]:
    with XmtpJs() as js:
        version = js.call("ping")["version"]
        return version, {
            op: float(js.call("bench", op=op, iterations=JS_ITERATIONS, warmup=20)["median_us"])
            for op in FLOOR_RECIPES
        }


def main() -> int:
    primitives = measure_primitives(2000)
    ours = measure_ours()
    version, theirs = measure_xmtpjs()
    floor = floors(primitives)
    report: dict[str, Any] = {"xmtpjs_version": version, "primitives_us": primitives, "ops": {}}
    failures = []
    print(
        f"{'operation':<22}{'ours µs':>10}{'xmtp-js µs':>12}{'ratio':>8}{'floor µs':>10}"
        f"{'×floor':>8}  target"
    )
    for op in FLOOR_RECIPES:
        ratio = theirs[op] / ours[op]
        over_floor = ours[op] / floor[op]
        target = SPEEDUP_TARGET.get(op, DEFAULT_SPEEDUP_TARGET)
        ok = ratio >= target and over_floor <= FLOOR_TARGET
        if not ok:
            failures.append(op)
        report["ops"][op] = {
            "ours_us": round(ours[op], 1),
            "xmtpjs_us": round(theirs[op], 1),
            "ratio": round(ratio, 2),
            "floor_us": round(floor[op], 1),
        }
        print(
            f"{op:<22}{ours[op]:>10.1f}{theirs[op]:>12.1f}{ratio:>8.1f}{floor[op]:>10.1f}"
            f"{over_floor:>8.2f}  {'ok' if ok else 'MISSED'}"
            f" (≥{target:g}×, ≤{FLOOR_TARGET:g}× floor)"
        )
    print("primitives (µs): " + ", ".join(f"{k} {v:.1f}" for k, v in primitives.items()))
    report["login"] = {k: round(v, 2) for k, v in network.measure_login().items()}
    print(
        "login on the embedded node, wallet signing excluded: "
        f"generation {report['login']['login_generate_ms']:.1f} ms, "
        f"retrieval {report['login']['login_retrieve_ms']:.1f} ms"
    )
    node = network.measure_node()
    report["node"] = {
        scenario: {k: {m: round(x, 2) for m, x in v.items()} for k, v in levels.items()}
        for scenario, levels in node.items()
    }
    print(f"{'node (own processes)':<46}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for scenario, levels in node.items():
        for name, figures in levels.items():
            print(
                f"{scenario + ' ' + name:<46}{figures['per_s']:>10.0f}"
                f"{figures['p50_ms']:>10.2f}{figures['p99_ms']:>10.2f}"
            )
    report["node_targets"] = network.node_targets(node)
    for target, (ok, text) in report["node_targets"].items():
        print(f"node target {target}: {text} {'ok' if ok else 'MISSED'}")
        if not ok:
            failures.append(f"node {target}")
    report["keystore"] = keystore.measure()
    keystore.print_report(report["keystore"])
    failures += [name for name, row in report["keystore"].items() if not row["ok"]]
    report["gui"] = gui.measure()
    print("desktop app (offscreen): " + ", ".join(f"{k} {v}" for k, v in report["gui"].items()))
    binary_figures = binary.measure()
    report["binary"] = {
        k: round(v, 1) if isinstance(v, float) else v for k, v in binary_figures.items()
    }
    print(
        "start-up to an interactive window (offscreen): "
        + ", ".join(f"{k} {v}" for k, v in report["binary"].items())
    )
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    if failures:
        print("targets missed: " + ", ".join(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
