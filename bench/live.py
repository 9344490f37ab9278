"""Benchmark: real-time emotion scoring across concurrent simulated calls.

    python bench/live.py --calls 50 --seconds 20 --speed 4

Runs the simulated call center with the shipped emotion model (batched across
calls: messages arriving in the same tick are scored in one forward pass) and
measures, for every customer message, the time from its arrival to its
emotions being available. Prints p50/p95/max in ms (goal: p95 < 200 ms).
``--speed`` plays calls faster than real time, which raises the message rate
(50 calls at speed 4 is about as busy as 200 real-time calls).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the machine is shared)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import convolab.live
    from convolab.live.simulated import default_scorer

    scorer = default_scorer()
    scorer(["warm-up"][0])  # load and warm the model outside the measurement
    center = convolab.live.connect("simulated", lab=None, calls=args.calls, speed=args.speed,
                                   scorer=scorer, replenish=True)
    try:
        time.sleep(args.seconds)
    finally:
        center.close()
    latencies = [
        (m.scored - m.arrived) * 1000.0
        for call in center._calls.values() for m in call.messages
        if m.role == "customer" and m.scored is not None
    ]
    values = np.array(latencies)
    result = {
        "calls": args.calls, "speed": args.speed, "seconds": args.seconds, "messages_scored": int(values.size),
        "messages_per_s": round(values.size / args.seconds, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 1) if values.size else None,
        "p95_ms": round(float(np.percentile(values, 95)), 1) if values.size else None,
        "max_ms": round(float(values.max()), 1) if values.size else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['calls']} calls at speed {result['speed']} for {result['seconds']:.0f}s: "
              f"{result['messages_scored']} customer messages scored ({result['messages_per_s']}/s)")
        print(f"arrival -> emotions: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
              f"max {result['max_ms']} ms (goal p95 < 200 ms)")


if __name__ == "__main__":
    main()
