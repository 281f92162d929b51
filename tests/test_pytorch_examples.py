"""The official PyTorch MNIST example (pytorch/examples mnist/main.py: Net with two convs, Dropout,
Adadelta lr=1.0, StepLR gamma=0.7) with only the names changed (torch -> gradcore), run for one epoch on a
slice of the bundled MNIST subset: it must learn, and one step must agree with torch's."""

import numpy as np
import pytest
import torch

import gradcore as gc
import gradcore.nn as nn
import gradcore.nn.functional as F
import gradcore.optim as optim
from gradcore.optim.lr_scheduler import StepLR
from gradcore.testing import assert_close

# ---------------------------------------------------------------- the example, names changed


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = gc.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007 (the example's loop)
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with gc.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += (pred == target.view_as(pred)).sum().item()  # torch: pred.eq(target.view_as(pred))
    n = len(test_loader.y)
    return test_loss / n, correct / n


test.__test__ = False  # the example's own function, not a pytest test


def _normalized(split, limit):
    """transforms.ToTensor() then transforms.Normalize((0.1307,), (0.3081,)), on the first ``limit``."""
    x, y = gc.data.load_mnist_subset(split)
    x, y = x[:limit], y[:limit]
    return (x - 0.1307) / 0.3081, y


# ---------------------------------------------------------------- the checks


def test_official_mnist_example_learns_in_one_epoch():
    gc.manual_seed(1)
    device = "cpu"
    xs, ys = _normalized("train", 1280)
    train_loader = gc.data.DataLoader(xs, ys, batch_size=64, shuffle=True, seed=1)
    test_loader = gc.data.DataLoader(*_normalized("test", 500), batch_size=1000)
    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, 2):
        losses = train(model, device, train_loader, optimizer, epoch)
        test_loss, accuracy = test(model, device, test_loader)
        scheduler.step()
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:2])
    assert accuracy > 0.6, accuracy  # chance is 0.1
    assert test_loss < 1.5
    assert scheduler.get_last_lr() == [0.7]


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3, 1)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = torch.nn.Dropout(0.25)
        self.dropout2 = torch.nn.Dropout(0.5)
        self.fc1 = torch.nn.Linear(9216, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(torch.relu(self.conv1(x)))), 2)
        x = self.dropout1(x)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        x = self.fc2(self.dropout2(x))
        return torch.nn.functional.log_softmax(x, dim=1)


def test_one_adadelta_step_of_the_example_matches_torch():
    """Same weights and batch, dropout off (eval: its masks come from different generators): the loss,
    every gradient and the parameters after two Adadelta steps and a StepLR step agree with torch's."""
    gc.manual_seed(0)
    ours, theirs = Net(), TorchNet()
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert n1 == n2
            p2.copy_(torch.tensor(p1.numpy()))
    ours.eval()
    theirs.eval()
    x, y = _normalized("train", 16)
    opt, ref = optim.Adadelta(ours.parameters(), lr=1.0), torch.optim.Adadelta(theirs.parameters(), lr=1.0)
    sched, ref_sched = StepLR(opt, step_size=1, gamma=0.7), torch.optim.lr_scheduler.StepLR(ref, 1, gamma=0.7)
    for _ in range(2):
        opt.zero_grad()
        ref.zero_grad()
        loss = F.nll_loss(ours(gc.tensor(x)), gc.tensor(y))
        ref_loss = torch.nn.functional.nll_loss(theirs(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        ref_loss.backward()
        assert abs(loss.item() - ref_loss.item()) < 1e-5
        for p1, p2 in zip(ours.parameters(), theirs.parameters()):
            assert_close(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-3, atol=1e-6, name="grad")
        opt.step()
        ref.step()
        sched.step()
        ref_sched.step()
        for p1, p2 in zip(ours.parameters(), theirs.parameters()):
            assert_close(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-4, atol=1e-6, name="param")
    assert sched.get_last_lr() == ref_sched.get_last_lr()


# ---------------------------------------------------------------- newcomer programs (newcomer_programs.py)
# Each program's source runs once over torch and once over gradcore (names changed only). Losses over a few
# steps are compared with the same initial weights; dropout is switched off for the comparison (its masks
# come from different generators) and left on for a run that must still train.

from newcomer_programs import (  # noqa: E402
    char_lstm,
    cifar_cnn,
    namespace,
    random_batches,
    state_of,
    transformer_classifier,
)

TEXT = "the quick brown fox jumps over the lazy dog; " * 6


def test_newcomer_cifar_cnn_matches_torch():
    images, labels, *_ = random_batches(0, 4)
    torch.manual_seed(0)
    start, *_ = cifar_cnn(namespace(torch), None, images, labels, 0)  # torch's initial weights
    t_model, t_losses, t_acc, t_lr, t_eval = cifar_cnn(namespace(torch), state_of(start), images, labels, 4,
                                                       dropout=0.0)
    g_model, g_losses, g_acc, g_lr, g_eval = cifar_cnn(namespace(gc), state_of(start), images, labels, 4,
                                                       dropout=0.0)
    assert_close(np.array(g_losses), np.array(t_losses), rtol=2e-4, atol=1e-5, name="losses")
    assert g_acc == t_acc and abs(g_lr - t_lr) < 1e-12
    assert_close(g_eval, t_eval, rtol=2e-3, atol=2e-4, name="eval logits (running BN statistics)")
    for k, v in state_of(t_model).items():
        assert_close(np.asarray(g_model.state_dict()[k]), v, rtol=2e-3, atol=2e-5, name=k)
    gc.manual_seed(0)
    _, losses, *_ = cifar_cnn(namespace(gc), None, images[:1].repeat(6, 0), labels[:1].repeat(6, 0), 6)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]  # with dropout on, it fits one batch


def test_newcomer_char_lstm_matches_torch():
    torch.manual_seed(0)
    start, *_ = char_lstm(namespace(torch), None, TEXT, 0)
    torch.manual_seed(0)
    t_model, t_losses, t_text = char_lstm(namespace(torch), state_of(start), TEXT, 5, dropout=0.0)
    g_model, g_losses, g_text = char_lstm(namespace(gc), state_of(start), TEXT, 5, dropout=0.0)
    assert_close(np.array(g_losses), np.array(t_losses), rtol=1e-4, atol=1e-5, name="losses")
    assert g_text == t_text
    for k, v in state_of(t_model).items():
        assert_close(np.asarray(g_model.state_dict()[k]), v, rtol=1e-3, atol=1e-5, name=k)
    gc.manual_seed(0)
    _, losses, _ = char_lstm(namespace(gc), None, TEXT, 12)  # dropout between the layers on
    assert np.isfinite(losses).all() and np.mean(losses[-3:]) < np.mean(losses[:3])


@pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask and mask")
def test_newcomer_transformer_classifier_matches_torch():
    _, _, tokens, lengths, classes = random_batches(1, 4)
    torch.manual_seed(0)
    start, *_ = transformer_classifier(namespace(torch), None, tokens, lengths, classes, 0)
    t_model, t_losses = transformer_classifier(namespace(torch), state_of(start), tokens, lengths, classes, 4,
                                               dropout=0.0)
    g_model, g_losses = transformer_classifier(namespace(gc), state_of(start), tokens, lengths, classes, 4,
                                               dropout=0.0)
    assert_close(np.array(g_losses), np.array(t_losses), rtol=1e-4, atol=1e-5, name="losses")
    for k, v in state_of(t_model).items():
        got = np.asarray(g_model.state_dict()[k])
        if k.endswith("in_proj_bias"):  # the key bias's true gradient is 0 (softmax ignores a shift), so
            got, v = np.delete(got, np.s_[16:32]), np.delete(v, np.s_[16:32])  # AdamW steps on rounding noise
        assert_close(got, v, rtol=1e-3, atol=1e-5, name=k)
    gc.manual_seed(0)
    _, losses = transformer_classifier(namespace(gc), None, tokens[:1].repeat(5, 0), lengths[:1].repeat(5, 0),
                                       classes[:1].repeat(5, 0), 5)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
