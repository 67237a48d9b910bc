"""The CS224d window model, trained end to end with maxmargin's kernels.

A window of five words is scored by a one-hidden-layer network over the
concatenation of its word vectors::

    x = [L[w-2], L[w-1], L[w], L[w+1], L[w+2]]     (5 d,)   L: (V, d) word vectors
    h = tanh(x W + b)                              (H,)     W: (5 d, H), b: (H,)
    s = h U                                        scalar   U: (H, 1)

and trained by SGD on the max-margin ranking loss: every true window should
outscore the same window with its centre word replaced by a random word by a
margin of 1::

    J = mean_i sum_k max(0, 1 + s(corrupt_ik) - s(true_i))

The forward and backward passes run through maxmargin only: `linear_forward`
and `linear_backward` for both layers (the weights are shared by the true and
the corrupted windows, so their gradients accumulate: a fork), `ranking_hinge`
for the loss, and `embedding_backward` to add the window gradients into the
rows of L they came from (a word in several windows gets the sum).

The data is a small generated language with visible structure: determiners,
adjectives, nouns, verbs that only some nouns take ("the dog barks", never
"the fish barks"), and prepositional phrases. Centre words replaced at random
mostly break that structure, so a model that learns it ranks held-out true
windows above their corruptions: the accuracy starts near 50% and rises.

    python examples/window_ranker.py [--epochs 8] [--dtype float32] [--seed 0]

It exits with status 1 if the final held-out accuracy stays below 75%.
"""

import argparse
import time

import numpy as np

import maxmargin

WINDOW = 5
PAD_START, PAD_END = "<s>", "</s>"

# --- a small language ------------------------------------------------------------

DETERMINERS = ["the", "a", "every", "one"]
ADJECTIVES = ["big", "small", "old", "young", "happy", "quiet", "brown", "little"]
# Each noun takes only its own verbs.
NOUN_VERBS = {
    "dog": ["barks", "runs", "sleeps"],
    "cat": ["meows", "sleeps", "hunts"],
    "bird": ["sings", "flies"],
    "child": ["laughs", "runs", "plays"],
    "fish": ["swims"],
    "baby": ["cries", "sleeps"],
    "horse": ["gallops", "runs"],
    "teacher": ["talks", "writes"],
}
PREPOSITIONS = ["in", "near", "under", "behind", "by"]
PLACES = ["park", "garden", "house", "river", "tree", "road"]


def generate_sentences(n_sentences, rng):
    """Sentences of the form  DET [ADJ] NOUN VERB [PREP the PLACE] .  """
    nouns = list(NOUN_VERBS)
    sentences = []
    for _ in range(n_sentences):
        noun = nouns[rng.integers(len(nouns))]
        words = [DETERMINERS[rng.integers(len(DETERMINERS))]]
        if rng.random() < 0.5:
            words.append(ADJECTIVES[rng.integers(len(ADJECTIVES))])
        verbs = NOUN_VERBS[noun]
        words += [noun, verbs[rng.integers(len(verbs))]]
        if rng.random() < 0.6:
            words += [PREPOSITIONS[rng.integers(len(PREPOSITIONS))], "the",
                      PLACES[rng.integers(len(PLACES))]]
        sentences.append(words + ["."])
    return sentences


def vocabulary():
    """Every word of the language, padding first: word -> row of L."""
    words = [PAD_START, PAD_END, "."] + DETERMINERS + ADJECTIVES + list(NOUN_VERBS)
    words += sorted({v for verbs in NOUN_VERBS.values() for v in verbs})
    words += PREPOSITIONS + PLACES
    return {word: i for i, word in enumerate(dict.fromkeys(words))}


def windows_of(sentences, vocab):
    """(M, 5) word ids: one window centred on every word of every sentence."""
    half = WINDOW // 2
    rows = []
    for words in sentences:
        ids = ([vocab[PAD_START]] * half + [vocab[w] for w in words]
               + [vocab[PAD_END]] * half)
        rows += [ids[i:i + WINDOW] for i in range(len(words))]
    return np.array(rows, dtype=np.intp)


def corrupt(windows, n_corrupt, vocab_size, rng):
    """(M, K, 5): each window K times, its centre replaced by a random word
    (never the padding, never the true centre)."""
    centre = WINDOW // 2
    corrupted = np.repeat(windows[:, None, :], n_corrupt, axis=1)
    first_word = 2  # ids 0 and 1 are the padding
    # A uniform draw over the other words: skip the true centre's id.
    draw = rng.integers(first_word, vocab_size - 1, size=corrupted.shape[:2])
    true_centre = windows[:, centre][:, None]
    corrupted[:, :, centre] = draw + (draw >= true_centre)
    return corrupted


# --- the model ---------------------------------------------------------------------

def init_params(vocab_size, dim, hidden, rng, dtype=np.float64):
    """L ~ N(0, 0.1^2); W and U Glorot-uniform; b = 0."""
    return {
        "L": (0.1 * rng.standard_normal((vocab_size, dim))).astype(dtype),
        "W": maxmargin.xavier_init(WINDOW * dim, hidden, dtype=dtype, rng=rng),
        "b": np.zeros(hidden, dtype=dtype),
        "U": maxmargin.xavier_init(hidden, 1, dtype=dtype, rng=rng),
    }


def window_scores(params, windows):
    """s (M,) for windows (M, 5), and the caches of both layers."""
    L = params["L"]
    x = L[windows.reshape(-1)].reshape(len(windows), -1)   # (M, 5 d): the lookup
    h, hidden_cache = maxmargin.linear_forward(x, params["W"], params["b"],
                                               activation="tanh")
    s, score_cache = maxmargin.linear_forward(h, params["U"])
    return s[:, 0], (hidden_cache, score_cache)


def _backward(params, windows, ds, caches, grads, accumulate):
    """Gradients of one set of windows into `grads` (added when accumulate)."""
    hidden_cache, score_cache = caches
    dh, _, _ = maxmargin.linear_backward(ds[:, None], score_cache, dW_out=grads["U"],
                                         accumulate=accumulate)
    dx, _, _ = maxmargin.linear_backward(dh, hidden_cache, dW_out=grads["W"],
                                         db_out=grads["b"], accumulate=accumulate)
    dim = params["L"].shape[1]
    maxmargin.embedding_backward(dx.reshape(-1, dim), windows.reshape(-1), grads["L"])


def loss_and_gradients(params, windows, corrupted, delta=1.0, grads=None):
    """Ranking loss of true windows (M, 5) against their corruptions (M, K, 5),
    and its gradient for every parameter (fresh, or written into `grads`)."""
    if grads is None:
        grads = {name: np.empty_like(value) for name, value in params.items()}
    n_windows, n_corrupt = corrupted.shape[:2]
    s_true, true_caches = window_scores(params, windows)
    flat_corrupted = corrupted.reshape(-1, WINDOW)
    s_corrupt, corrupt_caches = window_scores(params, flat_corrupted)
    loss, ds, ds_c = maxmargin.ranking_hinge(
        s_true, s_corrupt.reshape(n_windows, n_corrupt), delta=delta)
    # W, b and U are used by both branches: the second backward pass adds
    # into the first one's gradients. L's gradient is a scatter into rows.
    grads["L"][...] = 0
    _backward(params, windows, ds, true_caches, grads, accumulate=False)
    _backward(params, flat_corrupted, ds_c.reshape(-1), corrupt_caches, grads,
              accumulate=True)
    return loss, grads


def ranking_accuracy(params, windows, corrupted):
    """Fraction of (true, corrupted) pairs where the true window scores higher."""
    s_true, _ = window_scores(params, windows)
    s_corrupt, _ = window_scores(params, corrupted.reshape(-1, WINDOW))
    return float(np.mean(s_true[:, None] > s_corrupt.reshape(corrupted.shape[:2])))


def train(params, train_windows, heldout, *, epochs, batch_size=64, n_corrupt=5,
          learning_rate=0.1, rng, log=print):
    """Minibatch SGD; logs the mean training loss and held-out accuracy of
    every epoch and returns them as a list of (loss, accuracy)."""
    vocab_size = params["L"].shape[0]
    grads = {name: np.empty_like(value) for name, value in params.items()}
    history = []
    log(f"epoch  train loss  held-out ranking accuracy   (before training: "
        f"{ranking_accuracy(params, *heldout):.1%})")
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(train_windows))
        total = 0.0
        for first in range(0, len(order), batch_size):
            batch = train_windows[order[first:first + batch_size]]
            corrupted = corrupt(batch, n_corrupt, vocab_size, rng)
            loss, grads = loss_and_gradients(params, batch, corrupted, grads=grads)
            for name, value in params.items():
                value -= value.dtype.type(learning_rate) * grads[name]
            total += loss * len(batch)
        accuracy = ranking_accuracy(params, *heldout)
        history.append((total / len(train_windows), accuracy))
        log(f"{epoch:5d}  {history[-1][0]:10.4f}  {accuracy:10.1%}"
            f"   ({time.perf_counter() - start:.2f} s)")
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--dim", type=int, default=16, help="word vector size d")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units H")
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    vocab = vocabulary()
    sentences = generate_sentences(args.sentences, rng)
    split = int(0.9 * len(sentences))
    train_windows = windows_of(sentences[:split], vocab)
    heldout_windows = windows_of(sentences[split:], vocab)
    heldout = (heldout_windows, corrupt(heldout_windows, 5, len(vocab), rng))
    print(f"{len(vocab)} words, {len(train_windows)} training windows, "
          f"{len(heldout_windows)} held-out windows x 5 corruptions; {args.dtype}")
    params = init_params(len(vocab), args.dim, args.hidden, rng, np.dtype(args.dtype))
    history = train(params, train_windows, heldout, epochs=args.epochs,
                    learning_rate=args.learning_rate, rng=rng)
    return 0 if history[-1][1] > 0.75 else 1


if __name__ == "__main__":
    raise SystemExit(main())
