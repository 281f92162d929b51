"""gradcore.utils.data against torch.utils.data: TensorDataset, DataLoader (batch_size, drop_last,
sampler, batch_sampler, collate_fn, batch_size=None, custom Datasets with tuple / dict samples), Subset,
ConcatDataset, random_split; shuffling reproducible from gc.manual_seed."""

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gradcore as gc
import gradcore.utils.data as gud


def _as_lists(batches):
    out = []
    for b in batches:
        if isinstance(b, dict):
            out.append({k: v.tolist() for k, v in b.items()})
        elif isinstance(b, (tuple, list)):
            out.append([v.tolist() if hasattr(v, "tolist") else v for v in b])
        else:
            out.append(b.tolist())
    return out


X = np.arange(30.0).reshape(10, 3)
Y = np.arange(10) % 3


@pytest.mark.parametrize("kw", [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=3),
                                dict(batch_size=None), dict(sampler=[9, 1, 4, 2], batch_size=3),
                                dict(batch_sampler=[[0, 5], [3], [8, 9, 1]])])
def test_tensor_dataset_loader_matches_torch(kw):
    ours = gud.DataLoader(gud.TensorDataset(gc.tensor(X), gc.tensor(Y)), **kw)
    theirs = tud.DataLoader(tud.TensorDataset(torch.tensor(X), torch.tensor(Y)), **kw)
    assert len(ours) == len(theirs)
    assert _as_lists(ours) == _as_lists(theirs)


class Squares(tud.Dataset):
    def __init__(self, lib, n=7):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": self.lib.tensor([float(i), float(i * i)]), "y": i % 2, "w": 0.5 * i}


class GcSquares(Squares, gud.Dataset):
    pass


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=2, drop_last=True)])
def test_custom_dataset_default_collate_matches_torch(kw):
    ours = list(gud.DataLoader(GcSquares(gc), **kw))
    theirs = list(tud.DataLoader(Squares(torch), **kw))
    assert _as_lists(ours) == _as_lists(theirs)
    assert ours[0]["y"].dtype is gc.int64 and ours[0]["w"].dtype is gc.float64


def test_collate_fn_subset_concat_and_random_split():
    ds = gud.TensorDataset(gc.tensor(X), gc.tensor(Y))
    loader = gud.DataLoader(ds, batch_size=4, collate_fn=lambda batch: len(batch))
    assert list(loader) == [4, 4, 2]
    sub = gud.Subset(ds, [3, 1])
    assert sub[1][0].tolist() == X[1].tolist() and len(sub) == 2
    both = ds + sub
    assert len(both) == 12 and both[11][0].tolist() == X[1].tolist() and both[-1][1].item() == Y[1]
    gc.manual_seed(3)
    parts = gud.random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    gc.manual_seed(3)
    assert gud.random_split(ds, [5, 3, 2])[0].indices == parts[0].indices
    with pytest.raises(ValueError, match="Sum of input lengths"):
        gud.random_split(ds, [5, 6])


def test_shuffle_is_a_seeded_permutation_each_epoch():
    ds = gud.TensorDataset(gc.arange(20), gc.arange(20) * 2)
    loader = gud.DataLoader(ds, batch_size=6, shuffle=True, num_workers=2, pin_memory=True)
    gc.manual_seed(0)
    first = [x.tolist() for x, _ in loader]
    second = [x.tolist() for x, _ in loader]
    assert sorted(sum(first, [])) == list(range(20)) and first != second
    gc.manual_seed(0)
    assert [x.tolist() for x, _ in loader] == first
    for x, y in loader:
        assert (y == x * 2).all().item()


def test_loader_errors():
    ds = gud.TensorDataset(gc.zeros(4, 2))
    with pytest.raises(ValueError, match="mutually exclusive"):
        gud.DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="positive integer"):
        gud.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="Size mismatch"):
        gud.TensorDataset(gc.zeros(4), gc.zeros(3))
