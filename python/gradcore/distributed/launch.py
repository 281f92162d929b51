"""Where MPI comes from: the one place that finds ``mpiexec`` and sets the environment MPICH needs here.

The ``distributed`` extra installs mpi4py and the ``mpich`` wheel from PyPI; the wheel puts ``mpiexec``
(MPICH's Hydra launcher) next to the Python interpreter of the virtual environment. On one host Hydra
starts the ranks with fork and MPICH's shared-memory transport carries the messages, so no network (and
no ssh) is needed; measured on the 2-core CI VM, which has no route out, with the defaults of MPICH 5.0.2:
``mpiexec -n 2`` works as it is. The settings below are defaults only (an exported variable wins), kept
here so a sandbox that needs another transport or launcher changes one place.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# Set (with setdefault) before MPI is initialized: nothing is needed on the machines tried so far. A host
# whose network stack confuses UCX/libfabric can pin MPICH's shared-memory + TCP path, e.g.
# {"MPIR_CVAR_CH4_NETMOD": "ofi", "FI_PROVIDER": "tcp"}; Hydra on a host without a resolvable name takes
# HYDRA_LAUNCHER=fork and HYDRA_HOST_FILE unset.
MPI_ENV_DEFAULTS: dict[str, str] = {}


def configure_environment() -> None:
    """Applies ``MPI_ENV_DEFAULTS`` to os.environ (variables already set are kept); call before MPI starts."""
    for key, value in MPI_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def mpiexec() -> str | None:
    """The path of ``mpiexec``: the one installed beside this Python (the mpich wheel), else the PATH's.

    Example:
        >>> import gradcore.distributed as dist
        >>> path = dist.launch.mpiexec()  # None when no MPI is installed
        >>> path is None or path.endswith("mpiexec")
        True
    """
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec")


def mpiexec_command(nprocs: int, *args: str) -> list[str]:
    """``[mpiexec, "-n", nprocs, *args]``: the command that starts ``nprocs`` ranks on this host.

    Example:
        >>> import sys, gradcore.distributed as dist
        >>> cmd = dist.launch.mpiexec_command(2, sys.executable, "-m", "gradcore", "train", "--distributed")
        >>> cmd[1:3]
        ['-n', '2']
    """
    exe = mpiexec()
    if exe is None:
        raise RuntimeError("mpiexec was not found: pip install 'gradcore[distributed]' (mpi4py and mpich)")
    return [exe, "-n", str(int(nprocs)), *args]


def mpi_available() -> bool:
    """True when mpi4py can be imported (without initializing MPI)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None
