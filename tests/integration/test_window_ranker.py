"""The CS224d window model of examples/window_ranker.py, small: training
lowers the loss and lifts the held-out ranking accuracy, and the gradient of
every parameter (U, W, b and the used rows of L) matches central differences."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "window_ranker.py"


@pytest.fixture(scope="module")
def ranker():
    spec = importlib.util.spec_from_file_location("window_ranker", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_problem(ranker, seed, n_sentences=200):
    rng = np.random.default_rng(seed)
    vocab = ranker.vocabulary()
    sentences = ranker.generate_sentences(n_sentences, rng)
    windows = ranker.windows_of(sentences, vocab)
    return rng, vocab, windows


def test_windows_and_corruptions_are_well_formed(ranker):
    rng, vocab, windows = small_problem(ranker, 0, 20)
    assert windows.shape[1] == 5 and windows.min() >= 0 and windows.max() < len(vocab)
    corrupted = ranker.corrupt(windows, 3, len(vocab), rng)
    assert corrupted.shape == (len(windows), 3, 5)
    centre = corrupted[:, :, 2]
    assert np.all(centre != windows[:, 2:3])       # the centre word always changes
    assert np.all(centre >= 2)                     # never to padding
    np.testing.assert_array_equal(np.delete(corrupted, 2, axis=2),
                                  np.repeat(np.delete(windows, 2, axis=1)[:, None], 3, axis=1))


def test_training_lowers_the_loss_and_lifts_heldout_accuracy(ranker):
    rng, vocab, windows = small_problem(ranker, 1, 600)
    split = int(0.8 * len(windows))
    heldout = (windows[split:], ranker.corrupt(windows[split:], 5, len(vocab), rng))
    params = ranker.init_params(len(vocab), 8, 16, rng)
    before = ranker.ranking_accuracy(params, *heldout)
    history = ranker.train(params, windows[:split], heldout, epochs=6, learning_rate=0.3,
                           rng=rng, log=lambda line: None)
    losses = [loss for loss, _ in history]
    assert losses[-1] < 0.5 * losses[0]
    assert history[-1][1] > before + 0.2 and history[-1][1] > 0.8


@pytest.mark.parametrize("n_corrupt", [1, 3])
def test_every_gradient_matches_central_differences(ranker, n_corrupt):
    rng, vocab, windows = small_problem(ranker, 2, 3)
    windows = windows[:6]
    corrupted = ranker.corrupt(windows, n_corrupt, len(vocab), rng)
    params = ranker.init_params(len(vocab), 4, 5, rng)
    # Bigger output weights than the initial ones spread the scores, so that
    # no margin sits near the hinge's kink (a difference across it would not
    # be a gradient).
    params["U"] *= 3
    s_true, _ = ranker.window_scores(params, windows)
    s_corrupt, _ = ranker.window_scores(params, corrupted.reshape(-1, 5))
    margins = 1 + s_corrupt.reshape(len(windows), n_corrupt) - s_true[:, None]
    assert np.min(np.abs(margins)) > 1e-4
    assert np.any(margins > 0)  # some pairs are violated: the check is not vacuous
    loss, grads = ranker.loss_and_gradients(params, windows, corrupted)

    def loss_at():
        return ranker.loss_and_gradients(params, windows, corrupted)[0]

    used_rows = np.unique(np.concatenate([windows.ravel(), corrupted.ravel()]))
    h = 1e-6
    for name in ("U", "W", "b", "L"):
        value = params[name]
        coordinates = ([(row, col) for row in used_rows for col in range(value.shape[1])]
                       if name == "L" else list(np.ndindex(value.shape)))
        numeric = np.empty(len(coordinates))
        for i, index in enumerate(coordinates):
            old = value[index]
            value[index] = old + h
            up = loss_at()
            value[index] = old - h
            down = loss_at()
            value[index] = old
            numeric[i] = (up - down) / (2 * h)
        analytic = np.array([grads[name][index] for index in coordinates])
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=name)
    # Rows of L that no window uses get no gradient.
    unused = np.setdiff1d(np.arange(len(vocab)), used_rows)
    assert np.all(grads["L"][unused] == 0)
