"""Fast batch scoring of a fitted PropensityRanker over Arrow record batches (LLVM-compiled trees via lleaves).

The booster is compiled once with lleaves (cached by the model's hash) and checked against LightGBM's own
predictions on a sample; if compiling fails or the check disagrees, scoring falls back to LightGBM's
``predict`` with a logged warning. Each record batch is encoded in cache-sized row blocks (Arrow column
values written straight into one reused row-major float64 block, the layout lleaves reads without a copy),
so encoding costs about a tenth of the time; the rest is the trees (see docs/models.md, "Scoring speed").
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from youshu.errors import YoushuError
from youshu.models._lleaves_compat import lleaves_compat
from youshu.models.encoding import BLOCK_ROWS, as_arrow, row_blocks
from youshu.models.propensity import PropensityRanker

__all__ = ["BLOCK_ROWS", "BatchScorer"]

log = logging.getLogger(__name__)

#: Largest forest compiled with LLVM's small code model (larger ones use the large model, as lleaves advises).
SMALL_CODE_MODEL_TREES = 500
#: Rows of the self-check comparing compiled and LightGBM predictions after compiling.
CHECK_ROWS = 2000


def _default_cache() -> Path:
    return Path(tempfile.gettempdir()) / "youshu-lleaves"


class BatchScorer:
    """Scores feature tables or streams of Arrow record batches with a fitted ranker.

    Parameters
    ----------
    ranker : PropensityRanker
        A fitted ranker.
    compile : bool
        Compile the trees with lleaves (default); False scores with LightGBM's ``predict``.
    cache_dir : Path, optional
        Where compiled models are kept, by model hash (default: ``<tmp>/youshu-lleaves``).
    check : pyarrow.Table or pandas.DataFrame, optional
        Real feature rows (up to 2,000 are used) on which the compiled predictions must match LightGBM's
        to 1e-6, else scoring falls back to LightGBM; without it the compiled model is trusted.
    n_jobs : int
        Threads of the compiled model (1: one core).

    Attributes
    ----------
    backend : {"lleaves", "lightgbm"}
        What scores: the compiled model, or LightGBM after a fallback (or ``compile=False``).

    Examples
    --------
    >>> scorer = BatchScorer(ranker, check=features.slice(0, 2000))  # doctest: +SKIP
    >>> for batch in scorer.score_batches(dataset.to_batches(), id_column="customer_id"):  # doctest: +SKIP
    ...     writer.write_batch(batch)
    """

    def __init__(
        self,
        ranker: PropensityRanker,
        *,
        compile: bool = True,
        cache_dir: Path | None = None,
        check: Any = None,
        n_jobs: int = 1,
    ) -> None:
        if not hasattr(ranker, "booster_"):
            raise YoushuError("the ranker is not fitted: call fit before scoring")
        self.ranker = ranker
        self.n_jobs = n_jobs
        self.backend = "lightgbm"
        self._compiled: Any = None
        self._model_text = ranker.booster_.model_to_string(num_iteration=ranker.best_iteration_)
        if compile:
            self._compile(Path(cache_dir) if cache_dir else _default_cache(), check)

    # -- compiling -------------------------------------------------------------------------------------
    def _compile(self, cache_dir: Path, check: Any) -> None:
        digest = hashlib.sha256(self._model_text.encode()).hexdigest()[:20]
        try:
            import lleaves

            cache_dir.mkdir(parents=True, exist_ok=True)
            model_file = cache_dir / f"{digest}.txt"
            if not model_file.exists():
                tmp = model_file.with_suffix(f".tmp-{id(self)}")
                tmp.write_text(self._model_text)
                tmp.replace(model_file)
            compiled = lleaves.Model(model_file=str(model_file))
            # The small code model is faster (measured ~15%) but lleaves warns it can crash on very large
            # forests; use it only for forests of up to SMALL_CODE_MODEL_TREES trees.
            code_model = "small" if compiled.num_trees() <= SMALL_CODE_MODEL_TREES else "large"
            with lleaves_compat():
                compiled.compile(cache=str(cache_dir / f"{digest}-{code_model}.so"), fcodemodel=code_model)
        except Exception as exc:  # any failure to build means: score with LightGBM instead
            log.warning("compiling the model with lleaves failed (%s); scoring with LightGBM predict", exc)
            return
        self._compiled = compiled
        self.backend = "lleaves"
        if check is not None:
            self._self_check(check)

    def _self_check(self, check: Any) -> None:
        matrix = self.ranker.transform_features(as_arrow(check).slice(0, CHECK_ROWS))
        if len(matrix) == 0:
            return
        expected = self.ranker.booster_.predict(matrix, num_iteration=self.ranker.best_iteration_)
        got = self._compiled.predict(matrix, n_jobs=self.n_jobs)
        worst = float(np.max(np.abs(expected - got)))
        if worst > 1e-6:
            log.warning(
                "the compiled model differs from LightGBM by up to %.3g on %d check rows; scoring with "
                "LightGBM predict",
                worst,
                len(matrix),
            )
            self._compiled = None
            self.backend = "lightgbm"

    # -- scoring ---------------------------------------------------------------------------------------
    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities for an already encoded, row-major float64 matrix."""
        if self._compiled is not None:
            return np.asarray(self._compiled.predict(matrix, n_jobs=self.n_jobs), dtype=np.float64)
        return np.asarray(
            self.ranker.booster_.predict(
                matrix, num_iteration=self.ranker.best_iteration_, num_threads=self.n_jobs
            ),
            dtype=np.float64,
        )

    def score(self, X: Any) -> np.ndarray:
        """Probabilities for a feature table (pandas, Arrow table or record batch), rows in order."""
        columns = self.ranker.encoder_.encode_columns(X)
        n = len(columns[0]) if columns else 0
        out = np.empty(n, dtype=np.float64)
        for lo, hi, block in row_blocks(columns, n):
            out[lo:hi] = self.score_matrix(block)
        return out

    def score_batches(
        self, batches: Iterable[pa.RecordBatch], *, id_column: str = "customer_id", name: str = "score"
    ) -> Iterator[pa.RecordBatch]:
        """Score a stream of record batches: yields ``id_column`` and ``name`` (float64) per input batch."""
        for batch in batches:
            if id_column not in batch.schema.names:
                raise YoushuError(f"record batch lacks the id column {id_column!r}")
            scores = self.score(batch)
            yield pa.RecordBatch.from_arrays(
                [batch.column(id_column), pa.array(scores)], names=[id_column, name]
            )
