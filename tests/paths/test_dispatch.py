"""The run-time configuration of the kernels (maxmargin._dispatch and the
tunables table, maxmargin._tunables): every family gets the SIMD path in
use and exactly its entries, per-path entries follow the path, overrides
last as long as their block, and each entry names its reason and a
measurement that exists."""

import re
from pathlib import Path

import numpy as np
import pytest

import maxmargin
from maxmargin import _dispatch, _hinge, _layers, _ranking, _sparse, _tunables

from support import FEW_CLASS_PATHS as PATHS, simd_path

FAMILIES = {"_hinge": _hinge, "_ranking": _ranking, "_layers": _layers, "_sparse": _sparse}


def test_every_family_is_configured_with_exactly_its_entries():
    assert set(_dispatch.FAMILIES) == set(FAMILIES)
    values = _tunables.resolve(_dispatch.simd_path())
    for name, module in FAMILIES.items():
        _, tunables = module._configuration()
        assert tunables == _tunables.for_family(name, values), name
    read_by_someone = {name for entry in _tunables.TABLE.values() for name in entry.families}
    assert read_by_someone == set(FAMILIES)


@pytest.mark.parametrize("path", PATHS)
def test_a_path_reaches_every_family(path):
    with simd_path(path):
        assert _dispatch.simd_path() == path
        assert _hinge._configuration()[0] == path
        flat = _ranking._configuration()[0]
        assert flat == (None if path == "baseline" else path)
        tunables = _hinge._configuration()[1]
        assert tunables["fewclass_block_bytes"] == (
            _tunables.TABLE["fewclass_block_bytes"].default[path])
        assert tunables["transposed_dw_f32"] == (
            _tunables.TABLE["transposed_dw_f32"].default[path])
    assert _dispatch.simd_path() == PATHS[0]


def test_an_override_lasts_as_long_as_its_block():
    before = _hinge._configuration()[1]
    with _tunables.override(fewclass_max_classes=3, ranking_block_pairs=64,
                            column_scores=False):
        assert _hinge._configuration()[1]["fewclass_max_classes"] == 3
        assert not _hinge._configuration()[1]["column_scores"]
        assert _ranking._configuration()[1]["ranking_block_pairs"] == 64
        with simd_path("baseline"):  # a change of path keeps the override
            assert _hinge._configuration()[1]["fewclass_max_classes"] == 3
    assert _hinge._configuration()[1] == before


def test_an_override_changes_the_path_a_call_takes():
    """fewclass_max_classes = 0 sends a few-classes call to the two GEMMs:
    the loss's last bits differ (another order of the sums)."""
    rng = np.random.default_rng(4)
    W = rng.standard_normal((300, 10))
    X = rng.standard_normal((500, 300))
    y = rng.integers(0, 10, 500)
    single = maxmargin.svm_loss(W, X, y)
    with _tunables.override(fewclass_max_classes=0, classvec_max_classes_f32=0,
                            classvec_max_classes_f64=0):
        gemms = maxmargin.svm_loss(W, X, y)
    again = maxmargin.svm_loss(W, X, y)
    assert not np.array_equal(single[1], gemms[1])
    np.testing.assert_allclose(single[1], gemms[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(single[1], again[1])


def test_an_override_is_checked():
    with pytest.raises(TypeError, match="no tunable 'fewclass_max_class'"):
        with _tunables.override(fewclass_max_class=3):
            pass
    with pytest.raises(TypeError, match="fewclass_max_classes must be an int"):
        with _tunables.override(fewclass_max_classes=2.5):
            pass
    with pytest.raises(TypeError, match="column_scores must be a bool"):
        with _tunables.override(column_scores=1):
            pass
    assert _hinge._configuration()[1]["fewclass_max_classes"] == 16


def test_every_entry_has_a_reason_and_a_family():
    for name, entry in _tunables.TABLE.items():
        assert entry.reason and entry.families, name
        if isinstance(entry.default, dict):
            assert "baseline" in entry.default, name


RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_every_entry_points_at_a_measurement_that_exists():
    """Each record is `<file>: "<section title>"` of bench/results/ (in the
    source tree only: a run from outside it has no bench/)."""
    if not RESULTS.is_dir():
        pytest.skip("bench/results/ is not beside the tests (a run from outside the tree)")
    for name, entry in _tunables.TABLE.items():
        match = re.fullmatch(r'(\S+\.md): "(.+)"', entry.record)
        assert match, (name, entry.record)
        page = RESULTS / match.group(1)
        assert page.exists(), (name, page)
        titles = [line[3:] for line in page.read_text().splitlines() if line.startswith("## ")]
        assert any(title.startswith(match.group(2)) for title in titles), (name, entry.record)


def test_a_family_refuses_a_path_it_has_no_kernels_for():
    with pytest.raises(ValueError, match="no kernels for the SIMD path 'sse9'"):
        _hinge._configure("sse9", _hinge._configuration()[1])
    assert _hinge._configuration()[0] == _dispatch.simd_path()
