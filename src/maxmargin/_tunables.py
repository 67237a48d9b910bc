"""The kernels' tunables in one table: the thresholds between their paths,
their block sizes, the sizes from which a pass takes a thread team.

Each entry gives its value (one, or one per SIMD path), the kernel
families that read it, why the value holds, and where the measurement
behind it is recorded (a file of bench/results/ and its section). None of
them changes what a kernel computes except where the reason says "bits":
those fix an order of summation, and another value gives results that
differ in the last bits (still identical for every ``n_threads``).

maxmargin._dispatch resolves the table for the SIMD path in use and hands
each family its entries (the family's ``_configure``). Tests and benchmarks
change entries through `override`, and nothing else::

    with override(fewclass_max_classes=0):   # svm_loss takes the two GEMMs
        ...
"""

import contextlib
from typing import NamedTuple, Tuple, Union


class Tunable(NamedTuple):
    default: Union[int, bool, dict]   # a dict: {SIMD path: value}
    families: Tuple[str, ...]         # the compiled modules that read it
    reason: str
    record: str                       # bench/results/<file>: "<section>"


KiB, MiB = 1 << 10, 1 << 20
HINGE, RANKING, LAYERS, SPARSE = "_hinge", "_ranking", "_layers", "_sparse"

TABLE = {
    # --- threads ---------------------------------------------------------
    "parallel_min_elements": Tunable(
        1 << 18, (HINGE, RANKING),
        "a margin or ranking pass of fewer scores runs on one thread: a team's start, "
        "and its spinning beside the next BLAS call, cost more than it saves",
        '2026-11-21.md: "svm_loss, 2026-11-21 (before the single pass)"'),
    "parallel_min_cheap": Tunable(
        1 << 18, (LAYERS,),
        "a layer's bias / relu pass of fewer elements runs on one thread",
        '2026-11-21.md: "linear_backward, 2026-11-21"'),
    "parallel_min_transcendental": Tunable(
        1 << 13, (LAYERS,),
        "tanh and sigmoid cost about ten times more an element (libm): a team pays "
        "from fewer elements",
        '2026-11-21.md: "linear_backward, 2026-11-21"'),

    # --- svm_loss: the single pass, few classes --------------------------
    "fewclass_max_classes": Tunable(
        16, (HINGE,),
        "up to this many classes the single pass (products along D) beats the two "
        "GEMMs; above it the class-vector kernels or the GEMMs",
        '2026-11-21.md: "svm_loss with the single pass for few classes"'),
    "fewclass_min_rows": Tunable(
        128, (HINGE,),
        "below it the two GEMMs win: the single pass packs W and unpacks dW, three "
        "extra trips through D x C, for too little work",
        '2026-11-22.md: "svm_loss with the common call checked in C"'),
    "fewclass_block_bytes": Tunable(
        {"avx512": 192 * KiB, "avx2": 96 * KiB, "baseline": 96 * KiB}, (HINGE,),
        "a row block of X and the kernels' scratch stay in L2 between the two products: "
        "96 KiB for 512 KiB of L2 a core; avx512 keeps 192 KiB (2 MiB of L2 where chosen)",
        '2026-12-01.md: "svm_loss at few classes: row blocks of 96 KiB on AVX2"'),
    "fewclass_chunk_min_rows": Tunable(
        128, (HINGE,),
        "rows of a chunk (one D x C dW accumulator, written and summed whole) at least: "
        "fewer accumulators at small N; bits (the order of dW's sums)",
        '2026-12-01.md: "svm_loss: the class-vector pass from 13 classes, chunks of 128 rows"'),
    "fewclass_max_chunks": Tunable(
        8, (HINGE,),
        "chunks at most: enough to share the rows among 8 threads, with the "
        "accumulators' memory bounded; bits (the order of dW's sums)",
        '2026-12-01.md: "svm_loss: the class-vector pass from 13 classes, chunks of 128 rows"'),

    # --- svm_loss: the single pass, products along the classes -----------
    "classvec_min_classes": Tunable(
        {"avx512": 13, "avx2": 17, "baseline": 0}, (HINGE,),
        "from this many classes the class-vector kernels beat the few-classes ones "
        "(whole vectors of classes fill)",
        '2026-12-01.md: "svm_loss: the class-vector pass from 13 classes, chunks of 128 rows"'),
    "classvec_max_classes_f32": Tunable(
        {"avx512": 64, "avx2": 32, "baseline": 0}, (HINGE,),
        "float32 up to this many classes: above it X is read once per group of "
        "vectors and the two GEMMs win",
        '2026-12-01.md: "svm_loss: the class-vector pass on AVX2, float32 dW transposed"'),
    "classvec_max_classes_f64": Tunable(
        {"avx512": 16, "avx2": 0, "baseline": 0}, (HINGE,),
        "float64 up to this many classes (none on avx2): above it the GEMMs with S^T win",
        '2026-12-01.md: "svm_loss above 16 classes: the class-vector single pass and '
        'float64\'s GEMM orientations"'),
    "classvec_min_rows": Tunable(
        256, (HINGE,),
        "below it the class-vector pass loses to the two GEMMs (parity at 256-500)",
        '2026-12-01.md: "svm_loss: the class-vector pass on AVX2, float32 dW transposed"'),
    "classvec_block_bytes": Tunable(
        384 * KiB, (HINGE,),
        "row blocks of 24-36 rows at D = 3073 float32 run best; 96-384 KiB alike on avx2",
        '2026-12-01.md: "svm_loss above 16 classes: the class-vector single pass and '
        'float64\'s GEMM orientations"'),

    # --- svm_loss: the two GEMMs -----------------------------------------
    "gemm_block_bytes": Tunable(
        3 * MiB, (HINGE,),
        "row blocks of X that the second GEMM finds in cache after the first: 2-4 MiB "
        "best, 1 MiB and less slower than none",
        '2026-11-21.md: "svm_loss, 2026-11-21 (before the single pass)"'),
    "gemm_blocking_min_bytes": Tunable(
        12 * MiB, (HINGE,),
        "below it X stays in the last-level cache between the two GEMMs anyway: "
        "no blocks",
        '2026-11-21.md: "svm_loss, 2026-11-21 (before the single pass)"'),
    "gemm_blocked_max_classes": Tunable(
        64, (HINGE,),
        "with more classes the GEMMs are compute-bound and every block would "
        "re-stream dW: one block",
        '2026-11-21.md: "svm_loss, 2026-11-21 (before the single pass)"'),
    "transposed_dw_min_rows": Tunable(
        128, (HINGE,),
        "dW as (G^T X)^T, the orientation in which OpenBLAS runs few columns fast "
        "(M = D), pays for adding its transpose from this many rows",
        '2026-11-21.md: "svm_loss, 2026-11-21 (before the single pass)"'),
    "transposed_dw_max_classes": Tunable(
        128, (HINGE,),
        "up to this many classes; at C = 1000 both orientations run alike",
        '2026-12-01.md: "svm_loss above 16 classes: the class-vector single pass and '
        'float64\'s GEMM orientations"'),
    "transposed_dw_f32_min_rows": Tunable(
        500, (HINGE,),
        "float32 from this many rows (slower at N = 256)",
        '2026-12-01.md: "svm_loss: the class-vector pass on AVX2, float32 dW transposed"'),
    "transposed_dw_f32": Tunable(
        {"avx512": False, "avx2": True, "baseline": True}, (HINGE,),
        "float32 takes the transposed dW where OpenBLAS runs its Haswell/Zen sgemm "
        "kernels, the SIMD path standing in for them; its SkylakeX sgemm is faster direct",
        '2026-12-01.md: "svm_loss: the class-vector pass on AVX2, float32 dW transposed"'),
    "column_scores": Tunable(
        True, (HINGE,),
        "float64 may compute S as S^T = W^T X^T, the orientation in which dgemm runs "
        "few columns fast",
        '2026-12-01.md: "svm_loss above 16 classes: the class-vector single pass and '
        'float64\'s GEMM orientations"'),
    "column_scores_min_rows": Tunable(
        512, (HINGE,),
        "S^T from this many rows (one whole-batch GEMM; blocks of 128 rows gained nothing)",
        '2026-12-01.md: "svm_loss above 16 classes: the class-vector single pass and '
        'float64\'s GEMM orientations"'),
    "column_scores_row_ratio": Tunable(
        8, (HINGE,),
        "and from this many rows a class (no gain at C = 1000)",
        '2026-12-01.md: "svm_loss above 16 classes: the class-vector single pass and '
        'float64\'s GEMM orientations"'),

    # --- ranking_hinge ---------------------------------------------------
    "ranking_block_pairs": Tunable(
        8192, (RANKING,),
        "blocks of this many pairs keep a strided block's two scratch arrays (64 KiB "
        "each) in L2 and fence the streamed stores rarely; bits (the loss's sum)",
        '2026-12-01.md: "ranking_hinge in flat runs of pairs, the output cache, and the '
        'backward passes"'),
    "ranking_stream_min_bytes": Tunable(
        8 * MiB, (RANKING,),
        "an output ds_c this large is past the caches anyway: streamed stores save "
        "reading each line before it is written; smaller ones stay cached for the reader",
        '2026-12-01.md: "ranking_hinge in flat runs of pairs, the output cache, and the '
        'backward passes"'),
}

# --- sparse X ----------------------------------------------------------------
TABLE.update({
    "sparse_block_rows": Tunable(
        64, (SPARSE,),
        "rows a block gathers, passes and scatters at a time on one thread: its "
        "entries and scores stay in L1/L2 from the gather to the scatter",
        '2026-12-04.md: "Sparse svm_loss"'),
    "sparse_chunk_entries": Tunable(
        1 << 17, (SPARSE,),
        "entries a team's chunk holds: its pairs (16 bytes an entry) and entries stay "
        "in L2/L3 between the two phases, and a chunk's two barriers are few",
        '2026-12-04.md: "Sparse svm_loss"'),
    "sparse_chunk_scores": Tunable(
        1 << 18, (SPARSE,),
        "scores a chunk (or a block) holds at most, C a row: bounds its scratch "
        "for many classes",
        '2026-12-04.md: "Sparse svm_loss"'),
    "sparse_parallel_min_entries": Tunable(
        1 << 15, (SPARSE,),
        "a sparse pass over fewer stored entries runs on one thread",
        '2026-12-04.md: "Sparse svm_loss"'),
    "sparse_prefetch_gather": Tunable(
        16, (SPARSE,),
        "entries ahead whose W row the gather asks the cache for (0: none): the rows "
        "are random reads the hardware prefetchers cannot guess",
        '2026-12-04.md: "Sparse svm_loss"'),
    "sparse_prefetch_scatter": Tunable(
        48, (SPARSE,),
        "entries ahead whose dW row the scatter asks the cache for, to write (0: none): "
        "a read-modify-write waits for the row twice as long as a read",
        '2026-12-04.md: "Sparse svm_loss"'),
    "sparse_in_cache_bytes": Tunable(
        8 << 20, (SPARSE,),
        "a W (dW) smaller than this counts as cached: no prefetch (it only costs "
        "instructions there) and masked tails; larger, prefetches and scalar tails "
        "(a masked store waits longer for a missing line)",
        '2026-12-04.md: "Sparse svm_loss"'),
})

_overrides = {}


def resolve(path):
    """{name: value} for the SIMD path `path`: each entry's default (its
    path's, for a per-path one) unless overridden."""
    values = {}
    for name, entry in TABLE.items():
        if name in _overrides:
            values[name] = _overrides[name]
        elif isinstance(entry.default, dict):
            values[name] = entry.default.get(path, entry.default["baseline"])
        else:
            values[name] = entry.default
    return values


def for_family(family, values):
    """The entries of `values` that the compiled module `family` reads."""
    return {name: values[name] for name, entry in TABLE.items() if family in entry.families}


def _is_flag(entry):
    default = entry.default
    if isinstance(default, dict):
        default = next(iter(default.values()))
    return isinstance(default, bool)


@contextlib.contextmanager
def override(**values):
    """Set the named tunables for the duration of the block, process-wide (not
    while kernels run in other threads), then give back what was in force.
    Unknown names are a TypeError; values must be ints (or bools)."""
    from . import _dispatch  # applies the table to the families
    for name, value in values.items():
        if name not in TABLE:
            raise TypeError(f"override: no tunable {name!r}; the table has "
                            f"{', '.join(TABLE)}")
        flag = _is_flag(TABLE[name])
        if isinstance(value, bool) != flag or not isinstance(value, int):
            raise TypeError(f"override: {name} must be {'a bool' if flag else 'an int'}; "
                            f"got {value!r}")
    saved = dict(_overrides)
    _overrides.update(values)
    try:
        _dispatch.configure()
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)
        _dispatch.configure()
