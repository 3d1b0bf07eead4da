"""Shared by the benchmarks: the contract's last-line JSON report (`docs/contracts/bench.md`)."""

from __future__ import annotations

import json
import os
import platform
from typing import Any


def report(bench: str, items: int, seconds: float, limit: str, limit_per_s: float,
           **extra: Any) -> None:  # fmt: skip
    rate = items / seconds
    print(
        json.dumps(
            {
                "bench": bench,
                "items": items,
                "seconds": round(seconds, 3),
                "items_per_s": round(rate, 1),
                "limit": limit,
                "limit_per_s": round(limit_per_s, 1),
                "ratio_to_limit": round(rate / limit_per_s, 4),
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                **extra,
            },
            ensure_ascii=False,
        )
    )
