"""Static checks on the CUDA sources (they compile everywhere but run only on a GPU): every launch and copy
is stream-ordered on the current stream, and no op syncs the host."""

import pathlib
import re

CSRC = pathlib.Path(__file__).resolve().parent.parent / "csrc"
CUDA_FILES = sorted(CSRC.glob("*.cu")) + [CSRC / "bindings_cuda.cpp"]
LAUNCH = re.compile(r"<<<(.*?)>>>", re.S)


def test_every_kernel_launch_names_the_current_stream():
    bad = []
    for path in CUDA_FILES:
        for m in LAUNCH.finditer(path.read_text()):
            config = " ".join(m.group(1).split())
            if not config.endswith(", stream()"):
                line = path.read_text()[: m.start()].count("\n") + 1
                bad.append(f"{path.name}:{line}: <<<{config}>>>")
    hint = "launches not on the current stream (use <<<grid, block, 0, stream()>>>):\n"
    assert bad == [], hint + "\n".join(bad)


def test_no_synchronous_copies_or_memsets_in_ops():
    # Synchronous cudaMemcpy/cudaMemset order against the legacy stream and block the host; the binding uses
    # the Async forms on the current stream (the allocator's one-time error-record init is the exception).
    bad = []
    for path in CUDA_FILES:
        if path.name == "allocator_cuda.cu":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bcuda(Memcpy|Memset)\s*\(", line):
                bad.append(f"{path.name}:{i}: {line.strip()}")
    assert bad == [], "synchronous copies/memsets:\n" + "\n".join(bad)
