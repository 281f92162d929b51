"""Splits a callgrind output file's instruction count (self cost, Ir) by shared object, for host-cost notes.

    valgrind --tool=callgrind --callgrind-out-file=cg.out python benchmarks/profile_mlp.py steps --steps 200
    python benchmarks/callgrind_split.py cg.out [cg2.out N1 N2]

With two files and their step counts, prints the per-step difference (import and warm-up cancel):
Ir per step in _C.so (the kernels and bindings), and everywhere else (the host: Python, NumPy, libc).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


def split(path: str) -> dict[str, int]:
    """Self Ir per object file (callees' inclusive costs after `calls=` lines are skipped)."""
    names: dict[str, str] = {}
    totals: dict[str, int] = defaultdict(int)
    ob = "?"
    skip_next = False
    with open(path) as f:
        for line in f:
            if line.startswith("ob="):
                m = _NAME.match(line[3:].strip())
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    ob = names.get(m.group(1), "?")
                else:
                    ob = line[3:].strip()
            elif line.startswith("cob="):  # a callee's object: its name may be defined here first
                m = _NAME.match(line[4:].strip())
                if m and m.group(2) is not None:
                    names[m.group(1)] = m.group(2)
            elif line.startswith("calls="):
                skip_next = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    totals[ob] += int(parts[1])
    return dict(totals)


def host_and_native(totals: dict[str, int]) -> tuple[int, int]:
    native = sum(v for k, v in totals.items() if "/_C." in k or k.startswith("_C."))
    return sum(totals.values()) - native, native


def main(argv: list[str]) -> None:
    if len(argv) == 1:
        totals = split(argv[0])
        for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
            print(f"{v:>14,}  {k}")
        host, native = host_and_native(totals)
        print(f"host {host:,}  _C.so {native:,}")
        return
    a, b, n1, n2 = argv[0], argv[1], int(argv[2]), int(argv[3])
    ha, na = host_and_native(split(a))
    hb, nb = host_and_native(split(b))
    steps = n2 - n1
    print(f"per step: host {(hb - ha) / steps:,.0f} Ir, _C.so {(nb - na) / steps:,.0f} Ir")


if __name__ == "__main__":
    main(sys.argv[1:])
