"""Connecting to Milvus, and which collection is live.

`uri` is either a Milvus server (`http://host:19530`, Standalone or Distributed) or a local file
ending in `.db`, which pymilvus opens with embedded Milvus Lite (a `milvus` server process started
for that file and stopped when this process lets go of it; one process at a time per file).

An index is a *base name*; each commit builds a fresh collection `<base>_v<stamp>` (chunks) with its
companion `<base>_v<stamp>_docs` (manifest and document list), and then switches readers to it in
one step: a Milvus alias `<base>` on a server; on Milvus Lite, which has no aliases, the file
`<index_dir>/MILVUS_CURRENT` naming the live collection, replaced atomically.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
import warnings
from pathlib import Path
from typing import Any

from search.atomic import write_atomic
from search.errors import IndexNotFoundError, SearchError

log = logging.getLogger(__name__)

POINTER = "MILVUS_CURRENT"
DEFAULT_DB = "milvus.db"
DOCS_SUFFIX = "_docs"
CONNECT_TIMEOUT_S = 10.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,180}$")


def resolve_uri(uri: str, index_dir: Path) -> str:
    """The Milvus address: `uri` as given, or the embedded file inside the index folder."""
    return uri or str(Path(index_dir) / DEFAULT_DB)


def is_embedded(uri: str) -> bool:
    """A local `.db` file opened with Milvus Lite (no aliases, no HNSW), not a server address."""
    return not re.match(r"^(https?|tcp|grpc|unix)://", uri, re.IGNORECASE) and not uri.startswith("unix:")


def base_name(collection: str, uri: str, index_dir: Path) -> str:
    """The index's collection base name: the setting when given; else `chunks` in an embedded file
    (the file belongs to one index folder), or on a server a name derived from the index folder, so
    that two index folders (an evaluation's data sets, the app's collections) never share one."""
    if collection:
        if not _NAME.match(collection):
            raise SearchError(
                f"milvus_collection {collection!r} is not a valid Milvus collection name: use letters, "
                "digits and underscores, starting with a letter"
            )
        return collection
    if is_embedded(uri):
        return "chunks"
    folder = Path(index_dir).resolve()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", folder.name).strip("_")[:40] or "index"
    return f"idx_{slug}_{hashlib.sha1(str(folder).encode()).hexdigest()[:8]}"


def connect(uri: str, token: str = "") -> Any:
    """A `MilvusClient` with a connection of its own (closing it leaves other clients working);
    one clear line when pymilvus is missing or the server cannot be reached."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise SearchError(
            "backend=milvus needs pymilvus: install it with `pip install -e .[milvus]`"
        ) from None
    # Milvus Lite cannot give the query iterator a server timestamp; pymilvus warns on every iterator,
    # then uses the client's clock, which is right for collections never written after publishing.
    # (Set after the import: pymilvus configures its loggers when imported.)
    logging.getLogger("pymilvus.orm.iterator").setLevel(logging.ERROR)
    if is_embedded(uri) and not Path(uri).parent.is_dir():
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    # milvus-lite 2.5 reads its own version through the deprecated pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    quiet = logging.getLogger("pymilvus")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # pymilvus logs a traceback before raising; we say it in one line
    try:
        return MilvusClient(
            uri=uri, token=token, timeout=CONNECT_TIMEOUT_S, alias=f"search-{uuid.uuid4().hex[:12]}"
        )
    except Exception as exc:
        what = "open the embedded Milvus file" if is_embedded(uri) else "reach the Milvus server at"
        hint = (
            " (is another process using it? Milvus Lite opens a file from one process at a time)"
            if is_embedded(uri)
            else ": is it running, and are milvus_uri / milvus_token right?"
        )
        raise SearchError(f"cannot {what} {uri}{hint} ({_reason(exc)})") from None
    finally:
        quiet.setLevel(level)


def release_embedded(uri: str) -> None:
    """Stop this process's Milvus Lite server for `uri` (it frees the file for other processes)."""
    if not is_embedded(uri):
        return
    from milvus_lite.server_manager import server_manager_instance

    if str(Path(uri).absolute().resolve()) in server_manager_instance._servers:
        server_manager_instance.release_server(uri)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:300]


def live_collection(client: Any, base: str, uri: str, index_dir: Path) -> str | None:
    """The collection readers use now, or None when no index has been published."""
    if is_embedded(uri):
        try:
            name = (Path(index_dir) / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
    else:
        if not _has_alias(client, base):
            return None
        name = client.describe_alias(alias=base)["collection_name"]
    if not name or not client.has_collection(name) or not client.has_collection(name + DOCS_SUFFIX):
        raise IndexNotFoundError(
            f"the Milvus index {base!r} at {uri} is damaged (it names collection {name!r}, which is "
            "missing): rebuild it with `python -m ingest PATH --backend milvus --rebuild`"
        )
    return name


def _has_alias(client: Any, alias: str) -> bool:
    try:
        client.describe_alias(alias=alias)
    except Exception:
        return False
    return True


def publish(client: Any, base: str, name: str, uri: str, index_dir: Path) -> None:
    """Switch readers to collection `name` in one step."""
    if is_embedded(uri):
        write_atomic(Path(index_dir) / POINTER, name + "\n")
    elif _has_alias(client, base):
        client.alter_alias(collection_name=name, alias=base)
    else:
        client.create_alias(collection_name=name, alias=base)


def prune(client: Any, base: str, keep: set[str]) -> None:
    """Drop this index's collections other than `keep` (chunk collection names): older versions and
    any half-built one left by an interrupted ingest."""
    version = re.compile(rf"^{re.escape(base)}_v\d+(?:{DOCS_SUFFIX})?$")
    wanted = keep | {k + DOCS_SUFFIX for k in keep}
    for name in client.list_collections():
        if version.match(name) and name not in wanted:
            client.drop_collection(name)
