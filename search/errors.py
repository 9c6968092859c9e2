"""Errors a user can act on; each message says what is wrong and what to do."""


class SearchError(Exception):
    """Base class for errors shown to users as one line."""


class IndexNotFoundError(SearchError):
    """No index at the given folder yet."""


class IndexMismatchError(SearchError):
    """The index was built with another format version or embedding model: rebuild it."""


class QueryError(SearchError):
    """The query cannot be run (empty, whitespace only)."""
