"""Errors a user can act on; each message says what is wrong and what to do.

Everything a user may be shown derives from `SearchError`: the app turns exactly these into messages
and anything else into a logged "internal error".
"""


class SearchError(Exception):
    """Base class for errors shown to users as one line."""


class IndexNotFoundError(SearchError):
    """No index at the given folder yet."""


class IndexMismatchError(SearchError):
    """The index was built with another format version or embedding model: rebuild it."""


class QueryError(SearchError):
    """The query or a search parameter cannot be used (empty query, out-of-range value, ...)."""


class RerankerError(SearchError):
    """A rerank call failed for a reason worth showing a user in one line (bad key, timeout, ...)."""


class DocumentError(SearchError):
    """A file that cannot be indexed (corrupt, encrypted, empty, too big, unsupported, ...)."""


class UploadError(SearchError):
    """An upload, removal or judgment the user must change (no session, no files, unknown document)."""


class JudgmentsError(SearchError, ValueError):
    """Judgments that cannot be used: none relevant, an unreadable qrels line, a bad grade."""


class NoJudgmentsError(SearchError, FileNotFoundError):
    """No judgments of the asked split beside an index."""
