"""save/load: round trips, atomic and cheap writes, one clear error for every kind of bad file."""

import io
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import gradcore as gc
from gradcore import serialization


def test_round_trip_nested(tmp_path):
    obj = {
        "w": gc.ones(2, 3),
        "meta": {"epoch": 4, "name": "x", "lr": 1e-3, "sizes": [1, 2], "none": None, "flag": True},
        "a": np.arange(3),
        "betas": (0.9, 0.999),
        "by_index": {0: np.float32(1.5), 1: [np.int64(2)]},
    }
    path = tmp_path / "c.npz"
    gc.save(obj, path)
    back = gc.load(path)
    assert back["meta"] == {"epoch": 4, "name": "x", "lr": 1e-3, "sizes": [1, 2], "none": None, "flag": True}
    assert (back["w"] == 1).all() and back["w"].dtype == np.float32 and back["w"].shape == (2, 3)
    assert back["a"].tolist() == [0, 1, 2]
    assert back["betas"] == (0.9, 0.999) and isinstance(back["betas"], tuple)
    assert back["by_index"] == {0: 1.5, 1: [2]}
    with np.load(path) as plain:  # still an ordinary .npz
        assert "__gradcore_meta__" in plain.files


def test_arrays_keep_shape_dtype_and_values(tmp_path):
    rng = np.random.default_rng(0)
    cases = {
        "scalar_tensor": gc.tensor(3.5),
        "scalar_int": gc.tensor(7),
        "scalar_array": np.array(2.0),
        "empty": np.zeros((0, 3), np.float64),
        "bools": np.array([True, False]),
        "int32": np.arange(5, dtype=np.int32),
        "transposed": gc.tensor(rng.normal(size=(3, 4))).T,
        "fortran": np.asfortranarray(rng.normal(size=(2, 5))),
        "strided": np.arange(10.0)[::3],
    }
    gc.save(cases, tmp_path / "c.npz")
    back = gc.load(tmp_path / "c.npz")
    for name, value in cases.items():
        ref = value.numpy() if isinstance(value, gc.Tensor) else value
        assert back[name].shape == ref.shape, name  # 0-d stays 0-d (was saved as (1,))
        assert back[name].dtype == ref.dtype, name
        np.testing.assert_array_equal(back[name], ref)
        assert back[name].flags.writeable


def test_same_array_twice_is_stored_once(tmp_path):
    w = gc.ones(100, 100)
    gc.save({"a": w, "b": w}, tmp_path / "c.npz")
    with zipfile.ZipFile(tmp_path / "c.npz") as zf:
        assert len(zf.namelist()) == 2  # one array and the metadata
    back = gc.load(tmp_path / "c.npz")
    assert back["a"] is back["b"]


def test_floats_are_stored_uncompressed_with_one_fsync(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    gc.save({"w": np.random.default_rng(0).normal(size=1000), "n": 1}, tmp_path / "c.npz")
    assert len(calls) == 1
    with zipfile.ZipFile(tmp_path / "c.npz") as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    gc.save({"w": gc.arange(4)}, buf)
    buf.seek(0)
    assert gc.load(buf)["w"].tolist() == [0, 1, 2, 3]
    with pytest.raises(gc.CheckpointError, match="<file object>"):
        gc.load(io.BytesIO(b"garbage"))


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    gc.save({"v": np.array([1.0])}, path)

    def full_disk(fd):
        os.write(fd, b"partial garbage")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        gc.save({"v": np.array([2.0])}, path)
    monkeypatch.undo()
    assert gc.load(path)["v"].tolist() == [1.0]
    assert os.listdir(tmp_path) == ["c.npz"]  # no temporary file left behind


def test_write_that_really_fails_keeps_previous_checkpoint(tmp_path):
    # RLIMIT_FSIZE makes the kernel refuse writes past 64 kB (EFBIG): a real failing write.
    path = tmp_path / "c.npz"
    gc.save({"v": np.array([1.0])}, path)
    script = textwrap.dedent(
        f"""
        import resource, signal, numpy as np, gradcore as gc
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        try:
            gc.save({{"v": np.zeros(1_000_000)}}, {str(path)!r})
        except OSError as e:
            print("failed:", e.errno)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "failed: 27" in proc.stdout, proc.stdout + proc.stderr  # EFBIG
    assert gc.load(path)["v"].tolist() == [1.0]
    assert os.listdir(tmp_path) == ["c.npz"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_file_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        gc.save({"v": 1}, tmp_path / "c.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "c.npz").st_mode) == 0o666 & ~umask


def test_process_killed_mid_save_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "c.npz"
    gc.save({"step": 0, "w": np.zeros(10)}, path)
    script = textwrap.dedent(
        f"""
        import numpy as np, gradcore as gc, sys
        big = np.random.default_rng(0).normal(size=4_000_000)
        print("ready", flush=True)
        step = 1
        while True:
            gc.save({{"step": step, "w": big}}, {str(path)!r})
            step += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = gc.load(path)  # whatever step it reached, the file is whole
    assert isinstance(state["step"], int)
    gc.save({"step": -1}, path)  # the next save removes what the killed one left
    assert os.listdir(tmp_path) == ["c.npz"]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    path = tmp_path / "c.npz"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = serialization._host()
        stale = tmp_path / f".tmp-c.npz.{host}.{dead.pid}.abcd1234"
        busy = tmp_path / f".tmp-c.npz.{host}.{alive.pid}.abcd1234"
        other_file = tmp_path / f".tmp-other.npz.{host}.{dead.pid}.abcd1234"
        legacy = tmp_path / ".tmp-k2j4_x9a.npz"
        for p in (stale, busy, other_file, legacy):
            p.write_bytes(b"half a checkpoint")
        os.utime(legacy, (time.time() - 3600,) * 2)
        removed = serialization.remove_stale_temporaries(path)
        assert sorted(removed) == sorted([str(stale), str(legacy)])
        assert busy.exists() and other_file.exists()  # a save in progress, another file's save
    finally:
        alive.kill()
        alive.wait()


# ------------------------------------------------------------------ bad files
def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, body in members.items():
            if isinstance(body, np.ndarray):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, body, allow_pickle=True)
                body = buf.getvalue()
            zf.writestr(name, body)


def _meta(skeleton):
    return np.frombuffer(
        json.dumps(skeleton).encode() if not isinstance(skeleton, bytes) else skeleton, np.uint8
    )


class _Boom:
    """Unpickling this would create a file: load must never get that far."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_files(tmp_path):
    ok = tmp_path / "ok.npz"
    gc.save({"w": np.arange(1000.0), "n": 3}, ok)
    good = ok.read_bytes()
    marker = str(tmp_path / "pwned")
    object_array = np.empty(1, object)
    object_array[0] = _Boom(marker)
    w_at = good.index(b"\x93NUMPY")
    flipped = bytearray(good)
    flipped[w_at + 500] ^= 0xFF
    lying = np.lib.format.header_data_from_array_1_0(np.arange(1000.0))
    lying["shape"] = (2000,)
    lying_header = io.BytesIO()
    np.lib.format.write_array_header_1_0(lying_header, lying)
    return {
        "random bytes": os.urandom(300),
        "empty": b"",
        "npy file": _npy(np.ones(3)),
        "plain npz": _zipbytes(tmp_path, {"x.npy": np.ones(2)}),
        "truncated": good[: len(good) // 2],
        "flipped byte": bytes(flipped),
        "dangling reference": _zipbytes(tmp_path, {"__gradcore_meta__.npy": _meta({"__array__": "a7"})}),
        "non-dict metadata": _zipbytes(tmp_path, {"__gradcore_meta__.npy": _meta({"x": 1, "y": 2})}),
        "bad dict entry": _zipbytes(tmp_path, {"__gradcore_meta__.npy": _meta({"__dict__": [[1, 2, 3]]})}),
        "deep nesting": _zipbytes(
            tmp_path, {"__gradcore_meta__.npy": _meta(b"[" * 100_000 + b"]" * 100_000)}
        ),
        "not json": _zipbytes(tmp_path, {"__gradcore_meta__.npy": _meta(b"{oops")}),
        "not utf-8": _zipbytes(tmp_path, {"__gradcore_meta__.npy": _meta(b"\xff\xfe")}),
        "meta not bytes": _zipbytes(tmp_path, {"__gradcore_meta__.npy": np.ones(3)}),
        "pickled object": _zipbytes(
            tmp_path,
            {"a0.npy": object_array, "__gradcore_meta__.npy": _meta({"__array__": "a0"})},
        ),
        "lying header": _zipbytes(
            tmp_path,
            {
                "a0.npy": lying_header.getvalue() + np.arange(1000.0).tobytes(),
                "__gradcore_meta__.npy": _meta({"__array__": "a0"}),
            },
        ),
        "not npy member": _zipbytes(tmp_path, {"__gradcore_meta__.npy": _meta(1), "notes.txt": b"hi"}),
    }


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _zipbytes(tmp_path, members):
    p = tmp_path / "tmp.zip"
    _zip(p, members)
    return p.read_bytes()


def test_every_bad_file_raises_checkpoint_error_naming_it(tmp_path):
    assert issubclass(gc.CheckpointError, ValueError)
    for kind, body in _bad_files(tmp_path).items():
        path = tmp_path / f"{kind.replace(' ', '_')}.npz"
        path.write_bytes(body)
        with pytest.raises(gc.CheckpointError) as info:
            gc.load(path)
        assert str(path) in str(info.value) and info.value.path == str(path), kind
    assert not os.path.exists(tmp_path / "pwned")  # nothing was unpickled
    with pytest.raises(FileNotFoundError):
        gc.load(tmp_path / "nope.npz")


def test_error_messages_say_what_is_wrong(tmp_path):
    files = _bad_files(tmp_path)
    expected = {
        "random bytes": "not a zip archive",
        "npy file": r"single NumPy array \(.npy\).*numpy.load",
        "plain npz": "gradcore.save did not write",
        "dangling reference": "refers to array 'a7'",
        "deep nesting": "nested too deeply",
        "pickled object": "dtype object",
        "lying header": r"declares shape \(2000,\)",
        "flipped byte": "CRC",
    }
    for kind, pattern in expected.items():
        path = tmp_path / "x.npz"
        path.write_bytes(files[kind])
        with pytest.raises(gc.CheckpointError, match=pattern):
            gc.load(path)


def test_decompression_bomb_is_refused_unless_allowed(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.npz"
    zeros = np.zeros(4 << 20, np.uint8)  # 4 MiB that deflate to ~4 kB
    _zip(bomb, {"a0.npy": zeros, "__gradcore_meta__.npy": _meta({"__array__": "a0"})}, zipfile.ZIP_DEFLATED)
    assert os.path.getsize(bomb) < 100_000
    with pytest.raises(
        gc.CheckpointError, match=r"expand to \d+ bytes, more than the limit of 1000000.*max_bytes"
    ):
        gc.load(bomb, max_bytes=1_000_000)
    monkeypatch.setenv("GRADCORE_LOAD_MAX_BYTES", "1000000")
    with pytest.raises(gc.CheckpointError, match="GRADCORE_LOAD_MAX_BYTES"):
        gc.load(bomb)
    assert gc.load(bomb, max_bytes=10 << 20).shape == (4 << 20,)  # the argument wins over the variable
    monkeypatch.setenv("GRADCORE_LOAD_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="GRADCORE_LOAD_MAX_BYTES must be a number"):
        gc.load(bomb)
    monkeypatch.delenv("GRADCORE_LOAD_MAX_BYTES")
    assert gc.load(bomb).shape == (4 << 20,)  # under the 64 MiB floor of the default rule


def test_default_limit_refuses_a_small_file_claiming_gigabytes(tmp_path):
    # A 2 kB archive whose directory claims 2 GiB for one member: refused before anything is read.
    path = tmp_path / "claims.npz"
    _zip(path, {"a0.npy": np.zeros(100), "__gradcore_meta__.npy": _meta({"__array__": "a0"})})
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")  # first central directory entry: a0.npy
    struct.pack_into("<I", raw, central + 24, 2 << 30)  # its uncompressed size
    path.write_bytes(bytes(raw))
    with pytest.raises(gc.CheckpointError, match="more than the limit of 67108864 bytes"):
        gc.load(path)


def test_modules_and_optimizers_point_to_state_dict(tmp_path):
    model = gc.nn.Sequential(gc.nn.Linear(2, 2))
    opt = gc.optim.Adam(model.parameters())
    with pytest.raises(TypeError, match=r"Sequential module at top level.*model.state_dict\(\)"):
        gc.save(model, tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"Adam optimizer at /opt.*opt.state_dict\(\)"):
        gc.save({"opt": opt}, tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a function"):
        gc.save({"f": lambda: 0}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype object"):
        gc.save({"o": np.array([{}], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dict keys"):
        gc.save({(1, 2): 0}, tmp_path / "x.npz")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        gc.save({}, tmp_path)
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ pickle, deepcopy
def test_pickle_round_trips_like_torch(device):
    import pickle

    torch = pytest.importorskip("torch")
    leaf = gc.tensor([1.0, 2.0], device=device, requires_grad=True)
    cases = {
        "leaf": (leaf, torch.tensor([1.0, 2.0], requires_grad=True)),
        "non-leaf": (leaf * 2, torch.tensor([1.0, 2.0], requires_grad=True) * 2),
        "0-d": (gc.tensor(2.5, device=device), torch.tensor(2.5)),
        "int view": (gc.arange(6, device=device).reshape(2, 3).T, torch.arange(6).reshape(2, 3).T),
        "empty": (gc.zeros(0, 2, device=device), torch.zeros(0, 2)),
    }
    for name, (t, ref) in cases.items():
        back = pickle.loads(pickle.dumps(t))
        ref_back = pickle.loads(pickle.dumps(ref))
        assert back.shape == tuple(ref_back.shape) and back.dtype is t.dtype, name
        assert back.device == t.device and back.is_leaf, name
        assert back.requires_grad == ref_back.requires_grad, name  # kept, also for a non-leaf as torch
        np.testing.assert_array_equal(back.cpu().numpy(), ref_back.detach().numpy())
        assert back.grad is None
    p = gc.nn.Parameter(gc.ones(2))
    assert type(pickle.loads(pickle.dumps(p))) is gc.nn.Parameter


def test_deepcopy_of_tensors_like_torch(device):
    import copy

    x = gc.tensor([1.0, 2.0], requires_grad=True, device=device)
    x.grad = gc.tensor([3.0, 4.0], device=device)
    c = copy.deepcopy(x)
    assert c.requires_grad and c.is_leaf and c.grad.tolist() == [3.0, 4.0] and c.device == device
    with gc.no_grad():
        c.fill_(0.0)
    assert x.tolist() == [1.0, 2.0]  # own storage
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        copy.deepcopy(x * 2)


def test_deepcopy_and_pickle_of_a_model():
    import copy
    import pickle

    gc.manual_seed(0)
    lin = gc.nn.Linear(4, 4)
    net = gc.nn.Sequential(lin, gc.nn.ReLU(), gc.nn.Dropout(0.5), lin)  # one layer used twice
    x = gc.randn(3, 4)
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        net.eval(), twin.eval()
        np.testing.assert_array_equal(twin(x).numpy(), net(x).numpy())
        assert twin[0] is twin[3] and twin[0] is not lin  # sharing kept, nothing shared with the original
        assert [n for n, _ in twin.named_parameters()] == ["0.weight", "0.bias"]
        with gc.no_grad():
            twin[0].weight.fill_(0.0)
        assert lin.weight.numpy().any()
        opt = gc.optim.SGD(twin.parameters(), lr=0.1)  # the copies are ordinary trainable parameters
        twin(x).sum().backward()
        opt.step()


# ------------------------------------------------------------------ load_state_dict
def _torch_linear_pair():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))


def test_load_state_dict_errors_list_everything_like_torch():
    torch, ref = _torch_linear_pair()
    net = gc.nn.Sequential(gc.nn.Linear(2, 3), gc.nn.ReLU(), gc.nn.Linear(3, 1))
    before = {k: v.copy() for k, v in net.state_dict().items()}
    bad = {"0.weight": np.ones((3, 3), np.float32), "2.bias": np.ones(1, np.float32), "extra": np.ones(1)}
    with pytest.raises(RuntimeError) as ours:
        net.load_state_dict(bad)
    with pytest.raises(RuntimeError) as theirs:
        ref.load_state_dict({k: torch.from_numpy(v) for k, v in bad.items()})
    for line in str(theirs.value).splitlines():  # the same three lines, shapes as tuples
        if "size mismatch" in line:
            assert "size mismatch for 0.weight: copying a param with shape (3, 3)" in str(ours.value)
        else:
            assert line.strip() in str(ours.value).replace("Sequential", type(ref).__name__)
    assert all((net.state_dict()[k] == v).all() for k, v in before.items())  # nothing half-loaded
    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked even when not strict
        net.load_state_dict(bad, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_non_strict_returns_the_key_lists_like_torch():
    torch, ref = _torch_linear_pair()
    net = gc.nn.Sequential(gc.nn.Linear(2, 3), gc.nn.ReLU(), gc.nn.Linear(3, 1))
    partial = {"0.weight": np.full((3, 2), 0.5, np.float32), "junk": np.zeros(2)}
    ours = net.load_state_dict(partial, strict=False)
    theirs = ref.load_state_dict({k: torch.from_numpy(v) for k, v in partial.items()}, strict=False)
    assert ours.missing_keys == theirs.missing_keys and ours.unexpected_keys == theirs.unexpected_keys
    assert ours == (theirs.missing_keys, theirs.unexpected_keys)
    assert (net[0].weight.numpy() == 0.5).all()
    full = net.load_state_dict({k: gc.tensor(v) for k, v in net.state_dict().items()})  # tensors work too
    assert repr(full) == repr(theirs.__class__([], [])) == "<All keys matched successfully>"


def test_state_dict_round_trips_through_save(tmp_path):
    a = gc.nn.Sequential(gc.nn.Linear(4, 3), gc.nn.Tanh(), gc.nn.Linear(3, 2))
    b = gc.nn.Sequential(gc.nn.Linear(4, 3), gc.nn.Tanh(), gc.nn.Linear(3, 2))
    gc.save(a.state_dict(), tmp_path / "w.npz")
    b.load_state_dict(gc.load(tmp_path / "w.npz"))
    x = gc.randn(5, 4)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_casts_numbers_and_refuses_the_rest():
    net = gc.nn.Linear(2, 1)
    net.load_state_dict({"weight": [[1.0, 2.0]], "bias": np.array([0.5], np.float64)})  # lists, float64
    assert (
        net.weight.dtype is gc.float32 and net.weight.tolist() == [[1.0, 2.0]] and net.bias.tolist() == [0.5]
    )
    with pytest.raises(RuntimeError, match="cannot load bias: a str is not an array of numbers"):
        net.load_state_dict({"weight": [[0.0, 0.0]], "bias": "zero"})
    assert net.weight.tolist() == [[1.0, 2.0]]


def test_save_errors_name_the_target_not_the_temporary(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"save: cannot write .*missing/c.npz \(No such file"):
        gc.save({}, tmp_path / "missing" / "c.npz")


def test_checkpoints_of_the_previous_compressed_format_still_load(tmp_path):
    # gradcore <= 0.1 wrote np.savez_compressed with the same skeleton.
    skeleton = {"__dict__": [["w", {"__array__": "a0"}], ["epoch", 3]]}
    meta = np.frombuffer(json.dumps(skeleton).encode(), np.uint8)
    np.savez_compressed(tmp_path / "old.npz", a0=np.arange(6.0).reshape(2, 3), __gradcore_meta__=meta)
    back = gc.load(tmp_path / "old.npz")
    assert back["epoch"] == 3 and back["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
