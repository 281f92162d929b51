"""Three short programs written as a PyTorch user would, over a namespace ``torch`` that is either torch or
gradcore (the names changed only): a CIFAR-style CNN, a character-level LSTM language model and a tiny
TransformerEncoder classifier. tests/test_pytorch_examples.py runs each under both with the same weights."""

from types import SimpleNamespace

import numpy as np


def namespace(lib):
    """torch's module layout (nn, F, optim, lr_scheduler, clip_grad_norm_) over torch or gradcore."""
    import importlib

    name = lib.__name__
    return SimpleNamespace(
        torch=lib,
        nn=importlib.import_module(name + ".nn"),
        F=importlib.import_module(name + ".nn.functional"),
        optim=importlib.import_module(name + ".optim"),
        lr_scheduler=importlib.import_module(name + ".optim.lr_scheduler"),
        utils=importlib.import_module(name + ".nn.utils"),
        data=importlib.import_module(name + ".utils.data"),
    )


# ---------------------------------------------------------------- 1. CIFAR-style CNN
def cifar_cnn(ns, state, images, labels, steps, dropout=0.5):
    torch, nn, optim = ns.torch, ns.nn, ns.optim

    class Net(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(16),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, 2),
                nn.Conv2d(16, 32, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Dropout(p=dropout),
                nn.Linear(32 * 8 * 8, 64),
                nn.ReLU(inplace=True),
                nn.Dropout(p=dropout),
                nn.Linear(64, num_classes),
            )

        def forward(self, x):
            x = self.features(x)
            x = x.view(x.size(0), -1)
            return self.classifier(x)

    model = Net()
    if state is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    scheduler = ns.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    dataset = ns.data.TensorDataset(torch.from_numpy(images.reshape(-1, 3, 32, 32)),
                                    torch.from_numpy(labels.reshape(-1)))
    train_loader = ns.data.DataLoader(dataset, batch_size=images.shape[1], shuffle=False, num_workers=2)
    losses, correct, total = [], 0, 0
    model.train()
    for step, (inputs, targets) in enumerate(train_loader):
        if step == steps:
            break
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        _, predicted = outputs.max(1)
        total += targets.size(0)
        correct += predicted.eq(targets).sum().item()
    model.eval()
    with torch.no_grad():
        eval_logits = model(torch.from_numpy(images[0])).numpy()
    return model, losses, correct / max(total, 1), scheduler.get_last_lr()[0], eval_logits


# ---------------------------------------------------------------- 2. character-level LSTM language model
def char_lstm(ns, state, text, steps, seq_len=12, batch_size=4, dropout=0.2):
    torch, nn = ns.torch, ns.nn
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    vocab_size = len(chars)

    class CharRNN(nn.Module):
        def __init__(self, vocab_size, embed_dim=16, hidden_dim=32, num_layers=2):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_dim)
            self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, dropout=dropout,
                                batch_first=True)
            self.fc = nn.Linear(hidden_dim, vocab_size)

        def forward(self, x, hidden=None):
            out, hidden = self.lstm(self.embed(x), hidden)
            return self.fc(out), hidden

    model = CharRNN(vocab_size)
    if state is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    criterion = nn.CrossEntropyLoss()
    optimizer = ns.optim.Adam(model.parameters(), lr=3e-3)
    hidden = None
    losses = []
    for step in range(steps):
        starts = [(step * seq_len + b * 37) % (len(data) - seq_len - 1) for b in range(batch_size)]
        x = torch.stack([data[s : s + seq_len] for s in starts])
        y = torch.stack([data[s + 1 : s + seq_len + 1] for s in starts])
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)  # truncated BPTT
        logits, hidden = model(x, hidden)
        loss = criterion(logits.view(-1, vocab_size), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():  # greedy sampling of a few characters
        idx = torch.tensor([[stoi[text[0]]]])
        h, out = None, []
        for _ in range(5):
            logits, h = model(idx, h)
            idx = logits[:, -1].argmax(dim=-1, keepdim=True)
            out.append(chars[idx.item()])
    return model, losses, "".join(out)


# ---------------------------------------------------------------- 3. tiny TransformerEncoder classifier
def transformer_classifier(ns, state, tokens, lengths, labels, steps, dropout=0.1):
    torch, nn = ns.torch, ns.nn
    vocab, d_model, max_len = 20, 16, tokens.shape[-1]

    class Classifier(nn.Module):
        def __init__(self, num_classes=3):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model, padding_idx=0)
            self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
            layer = nn.TransformerEncoderLayer(
                d_model=d_model, nhead=2, dim_feedforward=32, dropout=dropout, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, num_classes)

        def forward(self, src, src_key_padding_mask):
            causal = nn.Transformer.generate_square_subsequent_mask(src.size(1))
            x = self.embed(src) * (d_model ** 0.5) + self.pos[:, : src.size(1)]
            x = self.encoder(x, mask=causal, src_key_padding_mask=src_key_padding_mask, is_causal=True)
            keep = (~src_key_padding_mask).unsqueeze(-1).float()
            pooled = (self.norm(x) * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
            return self.head(pooled)

    model = Classifier()
    if state is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    optimizer = ns.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    losses = []
    for step in range(steps):
        src = torch.from_numpy(tokens[step])
        pad_mask = torch.arange(src.size(1)).unsqueeze(0) >= torch.from_numpy(lengths[step]).unsqueeze(1)
        src = src.masked_fill(pad_mask, 0)
        logits = model(src, pad_mask)
        loss = ns.F.cross_entropy(logits, torch.from_numpy(labels[step]), label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def state_of(model):
    """A torch model's state_dict as NumPy arrays (what a gradcore model loads)."""
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def random_batches(seed, steps):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((steps, 8, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, (steps, 8))
    tokens = rng.integers(1, 20, (steps, 6, 7))
    lengths = rng.integers(2, 8, (steps, 6))
    classes = rng.integers(0, 3, (steps, 6))
    return images, labels, tokens, lengths, classes
