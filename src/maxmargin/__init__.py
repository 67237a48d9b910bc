"""maxmargin: fast, exact loss-and-gradient kernels for max-margin learning.

Public kernels (each returns the loss *and* its gradient in one call):

* `multiclass_hinge(scores, y, ...)`: multiclass SVM loss of given scores.
* `svm_loss(W, X, y, ...)`: the fused linear SVM loss from raw features.

`maxmargin.reference` holds the same mathematics in plain NumPy;
`show_config()` tells how this installation was built.
"""

from ._version import __version__
from ._config import show_config
from .hinge import multiclass_hinge, svm_loss

__all__ = ["__version__", "multiclass_hinge", "show_config", "svm_loss"]
