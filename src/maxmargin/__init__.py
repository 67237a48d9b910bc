"""maxmargin: fast, exact loss-and-gradient kernels for max-margin learning.

Public kernels (each returns the loss *and* its gradient in one call):

* `multiclass_hinge(scores, y, ...)`: multiclass SVM loss of given scores.
* `svm_loss(W, X, y, ...)`: the fused linear SVM loss from raw features.
* `ranking_hinge(s, s_c, ...)`: CS224d's max-margin ranking loss.

Backpropagation through the layers around them:

* `linear_forward(X, W, b, activation=...)` and `linear_backward(dY, cache)`;
* `matmul_backward(dY, X, W)`: the backward pass of ``Y = X W``;
* `embedding_backward(dX, indices, dL_out)`: scatter-add into word vectors;
* `xavier_init(fan_in, fan_out)`: Glorot-uniform initial weights.

`maxmargin.reference` holds the same mathematics in plain NumPy;
`show_config()` tells how this installation was built. Large fresh outputs
come from a cache of freed blocks: `set_cache_limit`, `cache_info` and
`release_cached_memory` manage it.
"""

from ._version import __version__
from ._config import show_config
from ._memory import cache_info, release_cached_memory, set_cache_limit
from .hinge import multiclass_hinge, svm_loss
from .ranking import ranking_hinge
from .layers import (LinearCache, embedding_backward, linear_backward, linear_forward,
                     matmul_backward, xavier_init)

__all__ = ["LinearCache", "__version__", "cache_info", "embedding_backward",
           "linear_backward", "linear_forward", "matmul_backward", "multiclass_hinge",
           "ranking_hinge", "release_cached_memory", "set_cache_limit", "show_config",
           "svm_loss", "xavier_init"]
