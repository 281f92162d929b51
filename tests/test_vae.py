"""The corrected seed VAE: loss and gradients against PyTorch, the reparameterization, `gradcore vae`."""

import os
import struct

import numpy as np
import pytest
import torch
from helpers import run_main, write_idx

import gradcore as gc
from gradcore import vae as vae_module
from gradcore.testing import assert_close
from gradcore.train import ConfigError
from gradcore.vae import VAE, VAEConfig, fit_vae, reparameterize, vae_loss


def _torch_vae(model: VAE) -> dict:
    """The same network in PyTorch (float64), with model's weights."""
    tnn = torch.nn
    enc = tnn.Sequential(
        tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 32, 3), tnn.ReLU(),
        tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(1152, 32), tnn.ReLU(),
    )  # fmt: skip
    dec = tnn.Sequential(
        tnn.Linear(32, 32), tnn.ReLU(), tnn.Linear(32, 1568), tnn.ReLU(), tnn.Unflatten(1, (32, 7, 7)),
        tnn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), tnn.ReLU(),
        tnn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), tnn.ReLU(),
        tnn.ConvTranspose2d(32, 1, 3, padding=1),
    )  # fmt: skip
    parts = tnn.ModuleDict(
        {"encoder": enc, "z_mean": tnn.Linear(32, 32), "z_log_var": tnn.Linear(32, 32), "decoder": dec}
    ).double()
    state = {k: torch.from_numpy(np.asarray(v, np.float64)) for k, v in model.state_dict().items()}
    parts.load_state_dict(state)  # same names and layouts (ConvTranspose2d weights are (in, out, kH, kW))
    return parts


def test_loss_and_gradients_match_torch_float64(monkeypatch):
    gc.manual_seed(1)
    model = VAE().double()
    ref = _torch_vae(model)
    rng = np.random.default_rng(0)
    x_np = rng.uniform(0, 1, (3, 1, 28, 28))
    eps_np = rng.standard_normal((3, 32))
    monkeypatch.setattr(vae_module, "randn_like", lambda t: gc.tensor(eps_np, dtype=t.dtype))
    x = gc.tensor(x_np)
    logits, mean, log_var = model(x)
    loss, rec, kl = vae_loss(logits, x, mean, log_var)
    loss.backward()

    tx = torch.from_numpy(x_np)
    h = ref["encoder"](tx)
    tmean, tlv = ref["z_mean"](h), ref["z_log_var"](h)
    z = tmean + torch.exp(0.5 * tlv) * torch.from_numpy(eps_np)
    probs = torch.sigmoid(ref["decoder"](z))
    trec = torch.nn.functional.binary_cross_entropy(probs, tx, reduction="sum") / 3
    tkl = -0.5 * torch.sum(1 + tlv - tmean**2 - tlv.exp()) / 3
    (trec + tkl).backward()
    assert_close(rec.numpy(), trec.item(), atol=1e-9, rtol=1e-9, name="reconstruction")
    assert_close(kl.numpy(), tkl.item(), atol=1e-9, rtol=1e-9, name="KL")
    assert_close(loss.numpy(), (trec + tkl).item(), atol=1e-9, rtol=1e-9, name="loss")
    assert abs(kl.item()) > 1e-3 and rec.item() > 100  # both terms are really in play
    tgrads = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        assert_close(p.grad.numpy(), tgrads[name].grad.numpy(), atol=1e-8, rtol=1e-7, name=name)


def test_decoder_output_is_28x28_and_in_unit_range():
    model = VAE()
    out = model.decode(gc.randn(4, 32) * 3)
    assert out.shape == (4, 1, 28, 28)
    values = out.numpy()
    assert values.min() >= 0 and values.max() <= 1
    enc_sizes = [tuple(p.shape) for p in model.encoder.parameters()]
    assert enc_sizes[:2] == [(32, 1, 3, 3), (32,)] and (32, 1152) in enc_sizes


def test_reparameterization_samples_noise_around_the_mean():
    mean = gc.tensor(np.full((20000, 2), [1.5, -2.0]), requires_grad=True)
    log_var = gc.tensor(np.full((20000, 2), [0.0, np.log(0.25)]), requires_grad=True)
    z1, z2 = reparameterize(mean, log_var), reparameterize(mean, log_var)
    a, b = z1.numpy(), z2.numpy()
    assert not np.allclose(a, b)  # the seed's z = mean * exp(0.5 log_var) gave the same z every time
    np.testing.assert_allclose(a.mean(0), [1.5, -2.0], atol=0.03)
    np.testing.assert_allclose(a.std(0), [1.0, 0.5], rtol=0.03)
    z1.sum().backward()  # dz/dmean = 1; dz/dlog_var = 0.5 * (z - mean)
    np.testing.assert_allclose(mean.grad.numpy(), 1.0)
    np.testing.assert_allclose(log_var.grad.numpy(), 0.5 * (a - [1.5, -2.0]), rtol=1e-5, atol=1e-6)


def test_kl_is_zero_exactly_at_the_prior():
    x = gc.full((2, 1, 28, 28), 0.5)
    _, rec, kl = vae_loss(gc.zeros(2, 1, 28, 28), x, gc.zeros(2, 32), gc.zeros(2, 32))
    assert kl.item() == 0.0 and rec.item() == pytest.approx(784 * np.log(2), rel=1e-6)
    _, _, kl = vae_loss(gc.zeros(2, 1, 28, 28), x, gc.ones(2, 32), gc.zeros(2, 32))
    assert kl.item() == pytest.approx(16.0)  # 0.5 * mean^2 summed over 32 dims, per image


# ------------------------------------------------------------------ the command line

@pytest.fixture
def tiny_mnist(tmp_path):
    """A folder of MNIST IDX files holding a few real digits, so a training run takes a second."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    x, y = gc.data.load_mnist_subset("test")
    for prefix, sl in (("train", slice(0, 48)), ("t10k", slice(48, 64))):
        images = np.round(x[sl, 0] * 255).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y[sl].astype(np.uint8))
    return folder


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])  # width, height


def test_cli_run_writes_both_pictures(tiny_mnist, tmp_path, capsys):
    out_dir = tmp_path / "pictures" / "run1"  # created, parents included
    argv = ["vae", "--data", str(tiny_mnist), "--epochs", "2", "--batch-size", "16", "--out", str(out_dir)]
    code, out, err = run_main([*argv, "--no-progress"], capsys)
    assert code == 0, err
    assert "epoch 2/2: loss" in out and "reconstruction" in out and "KL" in out
    # 16 inputs above their 16 reconstructions; 8x8 samples; 28-pixel cells with 2-pixel gaps, at 2x.
    assert _png_size(out_dir / "reconstructions.png") == (2 * (16 * 30 + 2), 2 * (2 * 30 + 2))
    assert _png_size(out_dir / "samples.png") == (2 * (8 * 30 + 2), 2 * (8 * 30 + 2))


def test_checkpoint_resume_matches_uninterrupted_run(tiny_mnist, tmp_path):
    ckpt = str(tmp_path / "vae.npz")
    common = dict(data=str(tiny_mnist), batch_size=16, out=str(tmp_path / "out"), progress=False)
    full = fit_vae(VAEConfig(epochs=3, **common), log=lambda _: None)
    fit_vae(VAEConfig(epochs=2, checkpoint=ckpt, **common), log=lambda _: None)
    resumed = fit_vae(VAEConfig(epochs=3, checkpoint=ckpt, resume=True, **common), log=lambda _: None)
    assert resumed["history"]["loss"] == pytest.approx(full["history"]["loss"], rel=1e-6)
    assert gc.load(ckpt)["epoch"] == 3
    with pytest.raises(ConfigError, match=r"--seed 0 \(now 5\)"):
        fit_vae(VAEConfig(epochs=4, checkpoint=ckpt, resume=True, seed=5, **common), log=lambda _: None)


@pytest.mark.parametrize(
    "args, option, problem",
    [
        (["--epochs", "0"], "--epochs", "positive integer"),
        (["--batch-size", "-1"], "--batch-size", "positive integer"),
        (["--lr", "nan"], "--lr", "positive finite"),
        (["--seed", "-2"], "--seed", "non-negative"),
        (["--device", "tpu"], "--device", "unknown device 'tpu'"),
        (["--data", "/no/such/folder"], "--data", "does not exist"),
        (["--resume"], "--resume", "needs an existing --checkpoint"),
        (["--epochs", "x"], "--epochs", "invalid int"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(args, option, problem, capsys):
    code, out, err = run_main(["vae", "--no-progress", *args], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"gradcore vae: error: argument {option}") and problem in err, err
    assert "epoch" not in out


def test_bad_paths_are_refused_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for args, option, problem in (
        (["--out", str(tmp_path / "file")], "--out", "is not a folder"),
        (["--out", str(tmp_path / "file" / "sub")], "--out", "cannot write into"),
        (["--data", str(tmp_path / "file")], "--data", "is a file"),
        (["--checkpoint", str(tmp_path)], "--checkpoint", "is a directory"),
    ):
        code, out, err = run_main(["vae", "--no-progress", *args], capsys)
        assert code == 2 and f"argument {option}: " in err and problem in err, (args, err)
        assert "epoch" not in out


def test_wrong_image_size_and_foreign_checkpoint_are_one_line_errors(tmp_path, capsys):
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((4, 8, 8), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.zeros(4, np.uint8))
    code, _, err = run_main(["vae", "--data", str(tmp_path), "--no-progress"], capsys)
    assert code == 1 and "needs 28x28 images" in err and len(err.strip().splitlines()) == 1
    ckpt = tmp_path / "other.npz"
    gc.save({"model": {}}, ckpt)
    code, _, err = run_main(["vae", "--checkpoint", str(ckpt), "--resume", "--no-progress"], capsys)
    assert code == 1 and "not one written by `gradcore vae`" in err


def test_default_output_folder_is_under_runs():
    assert VAEConfig().out == os.path.join("runs", "vae") and VAEConfig().data == "mnist-subset"


def test_training_step_gives_the_same_loss_on_each_device(device, monkeypatch):
    gc.manual_seed(3)
    cpu_model = VAE()
    model = VAE().to(device)
    model.load_state_dict(cpu_model.state_dict())
    rng = np.random.default_rng(1)
    x_np = rng.uniform(0, 1, (2, 1, 28, 28)).astype(np.float32)
    eps_np = rng.standard_normal((2, 32)).astype(np.float32)
    losses = []
    for m, dev in ((cpu_model, "cpu"), (model, device)):
        monkeypatch.setattr(vae_module, "randn_like", lambda t, dev=dev: gc.tensor(eps_np, device=dev))
        x = gc.tensor(x_np, device=dev)
        logits, mean, log_var = m(x)
        loss, _, _ = vae_loss(logits, x, mean, log_var)
        loss.backward()
        losses.append((loss.item(), m.decoder[-1].weight.grad.cpu().numpy()))
    assert losses[1][0] == pytest.approx(losses[0][0], rel=1e-5)
    assert_close(losses[1][1], losses[0][1], atol=1e-4, rtol=1e-4, name="last decoder layer's weight grad")
