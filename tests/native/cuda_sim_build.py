"""Builds and runs the host simulations of CUDA sources (tests/native/*_cuda_sim.cpp) for the pytest
wrappers tests/test_*_cuda_sim.py: each csrc/*.cu goes through cu2host.py (launches become simulated
launches), the driver includes it and links the CPU twins; all compiled with g++ -O1 under AddressSanitizer
+ UBSan (without the sanitizer runtimes, plain)."""

import os
import pathlib
import shutil
import subprocess
import sys

NATIVE = pathlib.Path(__file__).resolve().parent
ROOT = NATIVE.parent.parent
CSRC = ROOT / "csrc"
CXX = shutil.which("g++") or shutil.which("clang++")
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]

sys.path.insert(0, str(NATIVE))
from cu2host import transform  # noqa: E402


def build(out: pathlib.Path, driver: str, cu_files: list[str], cpu_files: list[str]) -> pathlib.Path:
    """Compiles tests/native/<driver> with csrc/<cu_files> rewritten into `out`, csrc/<cpu_files> linked."""
    for cu in cu_files:
        text = (CSRC / cu).read_text()
        sim_source = out / cu.replace("_cuda.cu", "_cuda.sim.cpp")
        sim_source.write_text(f'#line 1 "{CSRC / cu}"\n' + transform(text))
    flags = [
        "-std=c++17",
        "-O1",
        "-fopenmp",
        f"-I{NATIVE}",
        f"-I{NATIVE / 'sim_include'}",
        f"-I{CSRC}",
        f"-I{out}",
    ]
    exe = out / driver.replace(".cpp", "")
    sources = [NATIVE / driver] + [CSRC / f for f in cpu_files]

    def compile_all(extra: list[str]) -> subprocess.CompletedProcess:
        procs = []
        for src in sources:
            obj = out / (src.stem + ".o")
            # csrc/fastmath.h shifts a negative exponent left on its underflow path (result discarded; defined
            # in C++20, UB in C++17): the CPU twins are not what these checks are about.
            twin = ["-fno-sanitize=shift-base"] if extra and src.parent == CSRC else []
            procs.append(
                (
                    obj,
                    subprocess.Popen(
                        [CXX, *extra, *twin, *flags, "-c", str(src), "-o", str(obj)],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    ),
                )
            )
        errors = ""
        for _, p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                errors += err
        if errors:
            return subprocess.CompletedProcess([], 1, "", errors)
        return subprocess.run(
            [CXX, *extra, "-fopenmp", "-pthread", *[str(o) for o, _ in procs], "-o", str(exe)],
            capture_output=True,
            text=True,
        )

    done = compile_all(SANITIZE)
    if done.returncode != 0 and "sanitize" in done.stderr:  # a toolchain without the sanitizer runtimes
        done = compile_all([])
    assert done.returncode == 0, done.stderr[-6000:]
    return exe


def run(exe: pathlib.Path, *args: str, expect: str) -> str:
    """Runs a simulation; asserts a clean exit, its summary line and no sanitizer report. Returns stdout."""
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0", "GRADCORE_NUM_THREADS": "1"}
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=900, env=env)
    report = done.stdout[-6000:] + done.stderr[-6000:]
    assert done.returncode == 0, report
    assert expect in done.stdout, report
    assert "ERROR: AddressSanitizer" not in done.stderr and "runtime error" not in done.stderr, report
    return done.stdout
