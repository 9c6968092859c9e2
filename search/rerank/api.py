"""zerank through ZeroEntropy's hosted API (official `zeroentropy` SDK): the route for CPU-only
hosting. The key comes from ZEROENTROPY_API_KEY and never appears in logs or error messages."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from search.rerank.base import Progress, RerankResult, clip_pair
from search.rerank.errors import RerankerError
from search.settings import Settings

logger = logging.getLogger(__name__)

API_KEY_ENV = "ZEROENTROPY_API_KEY"


def api_model_id(name: str) -> str:
    """The API's model id for a hub id: `zeroentropy/zerank-1` and the renamed
    `zeroentropy/zerank-1-reranker` both mean `zerank-1`."""
    model = name.rstrip("/").rsplit("/", 1)[-1]
    return model.removesuffix("-reranker")


class ApiReranker:
    """POST /models/rerank per query; results (index, relevance_score) are mapped back to input order."""

    backend = "api"
    device = "hosted API"

    def __init__(self, settings: Settings, *, api_key: str | None = None, max_retries: int = 1) -> None:
        from zeroentropy import ZeroEntropy

        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        if not key.strip():
            raise RerankerError(f"{API_KEY_ENV} is not set")
        self._key = key
        self.model = api_model_id(settings.reranker_model)
        self.name = f"{self.model} (ZeroEntropy API)"
        self.url = settings.api_url
        self.timeout_s = settings.api_timeout_s
        self.max_query_chars = settings.rerank_max_query_chars
        self.max_doc_chars = settings.rerank_max_doc_chars
        self._client = ZeroEntropy(
            api_key=key, base_url=settings.api_url, timeout=settings.api_timeout_s, max_retries=max_retries
        )

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        """One relevance_score per document, in input order; failures raise `RerankerError`."""
        import zeroentropy

        query, docs, warnings = clip_pair(query, documents, self.max_query_chars, self.max_doc_chars)
        if not docs:
            return RerankResult([], warnings)
        try:
            response = self._client.models.rerank(model=self.model, query=query, documents=docs)
        except zeroentropy.AuthenticationError:
            raise RerankerError(f"ZeroEntropy API rejected the key (401): check {API_KEY_ENV}") from None
        except zeroentropy.PermissionDeniedError:
            raise RerankerError(f"ZeroEntropy API refused access to {self.model} (403)") from None
        except zeroentropy.RateLimitError:
            raise RerankerError("ZeroEntropy API rate limit exceeded (429): try again shortly") from None
        except zeroentropy.APIStatusError as exc:
            raise RerankerError(
                f"ZeroEntropy API error {exc.status_code}: {self._safe(exc.message)}"
            ) from None
        except zeroentropy.APITimeoutError:
            raise RerankerError(f"ZeroEntropy API timed out after {self.timeout_s:g} s") from None
        except zeroentropy.APIConnectionError:
            raise RerankerError(f"cannot reach the ZeroEntropy API at {self.url}") from None
        except zeroentropy.ZeroEntropyError as exc:
            raise RerankerError(f"ZeroEntropy API call failed: {self._safe(str(exc))}") from None

        out: list[float | None] = [None] * len(docs)
        for result in response.results:
            if not 0 <= result.index < len(docs):
                raise RerankerError(f"ZeroEntropy API returned an out-of-range index {result.index}")
            out[result.index] = float(result.relevance_score)
        missing = sum(v is None for v in out)
        if missing:
            raise RerankerError(f"ZeroEntropy API returned no score for {missing} of {len(docs)} documents")
        if progress is not None:
            progress(len(docs), len(docs))
        return RerankResult([float(v) for v in out if v is not None], warnings)

    def _safe(self, text: str) -> str:
        """One line, bounded, with the key blanked in case a server echoes it."""
        line = " ".join(str(text).split())[:200]
        return line.replace(self._key, "***") if self._key else line

    def __repr__(self) -> str:
        return f"ApiReranker(model={self.model!r}, url={self.url!r})"
