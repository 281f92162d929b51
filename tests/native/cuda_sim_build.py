"""Builds and runs the host simulations of CUDA sources (tests/native/*_cuda_sim.cpp) for the pytest
wrappers tests/test_*_cuda_sim.py: each csrc/*.cu goes through cu2host.py (launches become simulated
launches), the driver includes it and links the CPU twins; all compiled with g++ (drivers -O1 but one, CPU
twins -O0) under AddressSanitizer + UBSan (without the sanitizer runtimes, plain).

The compiles are most of the suite's time (minutes of CPU), so they are shared and overlapped:
- each object lands in a content-addressed cache (key: the compiler's version, the flags, the source, the
  rewritten .cu text and every header under csrc/ and tests/native/), written under a temporary name then
  renamed, so two pytest runs racing on one cache are safe; GRADCORE_SIM_CACHE picks the directory
  (default build/cuda-sim-cache in the checkout, so a fresh clone starts empty).
- tests/conftest.py calls prebuild() once collection is done: the selected simulations compile and then run
  in background threads on the cores pytest's own (single-threaded) tests leave free, and the simulation
  tests are moved to the end of the session. A test that needs a simulation still building waits for it,
  and from then on every core compiles. The runs still happen in full, with the same arguments and the
  same assertions (run() below), whether started in the background or by the test."""

import concurrent.futures
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass

NATIVE = pathlib.Path(__file__).resolve().parent
ROOT = NATIVE.parent.parent
CSRC = ROOT / "csrc"
CXX = shutil.which("g++") or shutil.which("clang++")
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
NICE = ["nice", "-n", "10"] if shutil.which("nice") else []

sys.path.insert(0, str(NATIVE))
from cu2host import transform  # noqa: E402


@dataclass(frozen=True)
class Sim:
    """One simulation: tests/native/<driver>, csrc/<cu> rewritten by cu2host.py, csrc/<cpu> linked in."""

    driver: str
    cu: tuple[str, ...] = ()
    cpu: tuple[str, ...] = ()
    args: tuple[str, ...] = ()  # the arguments its test runs it with (started early by prebuild)
    flags: tuple[str, ...] = ("-fopenmp", "-I{native}", "-I{native}/sim_include", "-I{csrc}", "-I{gen}")
    link: tuple[str, ...] = ("-fopenmp", "-pthread")
    leaks: bool = False  # LeakSanitizer on
    # -O1 keeps the long simulations quick to run; the CPU twins (references run on a few small inputs)
    # build at -O0, 2-5x quicker to compile (reduce_cpu.cpp 25.6 -> 5.6 s CPU). -O0 hides no UB: every
    # access and operation stays instrumented, none is folded away.
    opt: str = "-O1"


# Longest first (compile + run), so the last to finish is a short one. CPU seconds (ASan + UBSan, driver +
# twin compile, run): elementwise 13 + 12, 3; reduce 19 + 6, 10; conv 14, 20; index 4 + 1, 1; then -O1
# compiles softmax_ce 7 + 2, pool 6 + 3, the rest smaller (batchnorm's run 9).
SIMS = {
    "elementwise": Sim(
        "elementwise_cuda_sim.cpp",
        ("elementwise_cuda.cu",),
        ("elementwise_cpu.cpp",),
        ("6",),
        opt="-O0",  # compile 29.7 -> 13.3 s CPU, run 0.6 -> 2.8 s
        flags=Sim.flags + ("-include", "elementwise_sim_ops.h"),  # the ops the driver runs, only
    ),
    # -O0: compile 47.2 -> 19.4 s CPU, run 6.3 -> 9.5 s
    "reduce": Sim("reduce_cuda_sim.cpp", ("reduce_cuda.cu",), ("reduce_cpu.cpp",), ("16",), opt="-O0"),
    "conv": Sim("conv_cuda_sim.cpp", args=("8",), flags=("-I{csrc}",), link=()),  # compile 14, run 20
    # -O0: compile 10.0 -> 3.9 s CPU, run 0.3 -> 0.8 s (conv stays -O1: its run went 20 -> 63 s at -O0)
    "index": Sim("index_cuda_sim.cpp", ("index_cuda.cu",), ("index_cpu.cpp",), ("24",), opt="-O0"),
    "pool": Sim("pool_cuda_sim.cpp", ("pool_cuda.cu",), ("pool_cpu.cpp",), ("60",)),
    "softmax_ce": Sim("softmax_ce_cuda_sim.cpp", ("softmax_ce_cuda.cu",), ("softmax_ce_cpu.cpp",), ("6",)),
    "rownorm": Sim("rownorm_cuda_sim.cpp", ("rownorm_cuda.cu",), ("rownorm_cpu.cpp",), ("8",)),
    "optim": Sim("optim_cuda_sim.cpp", ("optim_cuda.cu",), ("optim_cpu.cpp",), ("4",)),
    "matmul": Sim("matmul_cuda_sim.cpp", ("matmul_cuda.cu",), (), ("10",)),
    "batchnorm": Sim("batchnorm_cuda_sim.cpp", flags=("-I{csrc}",), link=(), leaks=True),
}


def cache_dir() -> pathlib.Path:
    d = pathlib.Path(os.environ.get("GRADCORE_SIM_CACHE") or ROOT / "build" / "cuda-sim-cache")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sha(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:32]


_ident_lock = threading.Lock()
_ident: str | None = None


def _toolchain_and_headers() -> str:
    """The compiler's version and every header an object could include: part of each cache key."""
    global _ident
    with _ident_lock:
        if _ident is None:
            version = subprocess.run([CXX, "--version"], capture_output=True, text=True).stdout
            headers = sorted(
                p
                for pattern in ("*.h", "*.cuh", "*.inc", "*.hpp")
                for base in (CSRC, NATIVE, NATIVE / "sim_include")
                for p in base.glob(pattern)
            )
            _ident = _sha(CXX, version, *(f"{p}\0" + p.read_text() for p in headers))
        return _ident


# ---- a few worker slots shared by every compile, link and run, granted in priority order
class _Slots:
    def __init__(self, width: int) -> None:
        self.cv = threading.Condition()
        self.width, self.busy, self.waiting = width, 0, []
        self.procs: set[subprocess.Popen] = set()
        self.closed = False

    def widen(self) -> None:
        """The main thread is waiting for a simulation: every core may compile now."""
        with self.cv:
            self.width = max(self.width, os.cpu_count() or 1)
            self.cv.notify_all()

    def call(self, priority: int, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        """Runs cmd once a slot is free and no job of a smaller priority waits."""
        with self.cv:
            ticket = (priority, len(self.waiting), uuid.uuid4().hex)
            self.waiting.append(ticket)
            self.cv.wait_for(lambda: self.closed or (self.busy < self.width and ticket == min(self.waiting)))
            self.waiting.remove(ticket)
            if self.closed:
                self.cv.notify_all()
                raise RuntimeError("cuda_sim_build: shut down")
            self.busy += 1
            self.cv.notify_all()
        try:
            timeout = kw.pop("timeout", None)
            # Niced while pytest's own tests still run: a compile must not take CPU from a timing-sensitive
            # one (an MPI rank given 1 s to answer failed once at load 12). Once a test waits, full priority.
            if self.width < (os.cpu_count() or 1):
                cmd = [*NICE, *cmd]
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw) as p:
                with self.cv:
                    self.procs.add(p)
                try:
                    out, err = p.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, err = p.communicate()
                    err += f"\ncuda_sim_build: killed after {timeout} s"
                finally:
                    with self.cv:
                        self.procs.discard(p)
            return subprocess.CompletedProcess(cmd, p.returncode, out, err)
        finally:
            with self.cv:
                self.busy -= 1
                self.cv.notify_all()

    def close(self) -> None:
        with self.cv:
            self.closed = True
            for p in self.procs:
                p.kill()
            self.cv.notify_all()


# Leave one core to pytest's own tests while they run.
_slots = _Slots(max(1, (os.cpu_count() or 1) - 1))
_builds: dict[str, concurrent.futures.Future] = {}
_runs: dict[tuple, concurrent.futures.Future] = {}
_lock = threading.Lock()


def _compile_all(name: str, sim: Sim, extra: list[str], priority: int) -> pathlib.Path:
    """Compiles each object (or takes it from the cache) in parallel, links into the cache."""
    cache = cache_dir()
    texts = [(cu, transform((CSRC / cu).read_text())) for cu in sim.cu]
    texts = [(cu, f'#line 1 "{CSRC / cu}"\n' + t) for cu, t in texts]
    gen = cache / ("gen-" + _sha(*(f"{cu}\0{t}" for cu, t in texts)))
    if texts and not gen.is_dir():
        tmp = cache / f"tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        for cu, t in texts:
            (tmp / cu.replace("_cuda.cu", "_cuda.sim.cpp")).write_text(t)
        try:
            tmp.rename(gen)
        except OSError:  # another run made it first: same content
            shutil.rmtree(tmp, ignore_errors=True)
    flags = ["-std=c++17"] + [f.format(native=NATIVE, csrc=CSRC, gen=gen) for f in sim.flags]
    ident = _toolchain_and_headers()
    sources = [NATIVE / sim.driver] + [CSRC / f for f in sim.cpu]

    def one(src: pathlib.Path) -> pathlib.Path:
        cmd = [CXX, *extra, sim.opt if src.parent == NATIVE else "-O0", *flags, "-c", str(src)]
        obj = cache / (src.stem + "-" + _sha(ident, *cmd, src.read_text(), *(t for _, t in texts)) + ".o")
        _make(obj, cmd, priority)
        return obj

    with concurrent.futures.ThreadPoolExecutor(len(sources)) as pool:
        objs = list(pool.map(one, sources))
    cmd = [CXX, *extra, *sim.link, *map(str, objs)]
    exe = cache / f"{name}-{_sha(*cmd)}"
    _make(exe, cmd, priority)
    return exe


class _CompileError(Exception):
    pass


def _make(target: pathlib.Path, cmd: list[str], priority: int) -> None:
    """Runs `cmd -o target` unless target is cached; writes a temporary name first and renames it, so two
    pytest runs sharing the cache never see a half-written file."""
    if target.exists():
        return
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    done = _slots.call(priority, [*cmd, "-o", str(tmp)])
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise _CompileError(done.stderr)
    os.replace(tmp, target)


def _build(name: str, priority: int) -> pathlib.Path:
    sim = SIMS[name]
    try:
        return _compile_all(name, sim, SANITIZE, priority)
    except _CompileError as e:
        if "sanitize" not in str(e):
            raise AssertionError(str(e)[-6000:]) from None
    try:  # a toolchain without the sanitizer runtimes: still check the numbers
        return _compile_all(name, sim, [], priority)
    except _CompileError as e:
        raise AssertionError(str(e)[-6000:]) from None


def _start(fn, *args) -> concurrent.futures.Future:
    fut: concurrent.futures.Future = concurrent.futures.Future()

    def body():
        try:
            fut.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
            fut.set_exception(e)

    threading.Thread(target=body, name=f"cuda_sim_build {args[0]}", daemon=True).start()
    return fut


def _build_and_run(name: str, priority: int) -> pathlib.Path:
    exe = _build(name, priority)
    sim = SIMS[name]
    with _lock:
        key = (str(exe), sim.args, sim.leaks)
        if key not in _runs:
            _runs[key] = _start(_run, exe, sim.args, sim.leaks, priority)
    return exe


def prebuild(names: list[str]) -> None:
    """Starts building (then running, with its test's arguments) each named simulation in the background."""
    if CXX is None:
        return
    order = list(SIMS)
    with _lock:
        for name in sorted(set(names), key=order.index):
            if name not in _builds:
                _builds[name] = _start(_build_and_run, name, order.index(name))


def executable(name: str) -> pathlib.Path:
    """The simulation's executable, built with ASan + UBSan (or taken from the cache)."""
    with _lock:
        if name not in _builds:
            _builds[name] = _start(_build_and_run, name, -1)
        fut = _builds[name]
    if not fut.done():
        _slots.widen()
    return fut.result()


def shutdown() -> None:
    """Kills what is still compiling or running (an interrupted or -x session)."""
    _slots.close()


def _run(exe: pathlib.Path, args: tuple[str, ...], leaks: bool, priority: int) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ASAN_OPTIONS": "detect_leaks=1" if leaks else "detect_leaks=0",
        "GRADCORE_NUM_THREADS": "1",
    }
    return _slots.call(priority, [str(exe), *args], timeout=900, env=env)


def run(exe: pathlib.Path, *args: str, expect: str, leaks: bool = False) -> str:
    """Runs a simulation (or takes the run prebuild started with the same arguments); asserts a clean exit,
    its summary line and no sanitizer report. Returns stdout."""
    with _lock:
        key = (str(exe), tuple(args), leaks)
        if key not in _runs:
            _runs[key] = _start(_run, exe, tuple(args), leaks, -1)
        fut = _runs[key]
    if not fut.done():
        _slots.widen()
    done = fut.result()
    report = done.stdout[-6000:] + done.stderr[-6000:]
    assert done.returncode == 0, report
    assert expect in done.stdout, report
    assert "ERROR: AddressSanitizer" not in done.stderr and "runtime error" not in done.stderr, report
    return done.stdout
