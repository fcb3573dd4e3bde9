"""Parse documents in a separate worker process, with a memory cap and a time limit.

A hostile file (a PDF whose content stream inflates to gigabytes, a layout that makes a parser loop)
must neither exhaust the server's memory nor hang it. ``ParseSandbox`` runs ``parse_file`` in one
long-lived worker process, reused across files since loading the parsers (unstructured, spaCy and
its French model) takes about 6 s.

* The worker is a fresh interpreter (fork + exec, like multiprocessing's ``spawn``; never a bare
  ``fork`` of a parent holding torch and ONNX Runtime threads). It is started with ``subprocess``
  rather than ``multiprocessing`` so that it does not re-run the parent's ``__main__`` script, and it
  talks to the parent over a socket pair with ``multiprocessing.connection``. Its answers are pickles
  that the parent loads with an unpickler limited to the document classes.
* Memory: the worker caps its own data segment with ``RLIMIT_DATA`` (on Linux it counts the heap and
  every private writable mapping, so an allocation past the cap fails with ``MemoryError``);
  ``RLIMIT_AS`` is not used: it also counts shared libraries and reserved address space (about
  200 MB more than the data segment here, 500 MB with torch loaded), so the same number leaves
  less room. The parent also watches the worker's resident memory while it waits and kills it past
  the cap.
* Time: the parent waits at most ``timeout_s`` for the answer, then kills the worker.
* OCR (``ingest.parsers.ocr``) runs tesseract as the worker's child: it inherits the memory cap (rlimits pass to
  children), it is killed with the worker (``PR_SET_PDEATHSIG``) and at the document's own OCR deadline.
* After a crash, a timeout or the memory cap, the worker is stopped; the next file starts a new one.
  The worker exits by itself when the parent goes away.

Every failure is an ``IngestError(path, reason)`` that says what happened and which setting applies.
Cutting the parsed text into passages happens afterwards in the calling process: it is linear in the text (which
the worker's cap already bounds) and has its own deadline of ``timeout_s`` (``ingest.components.chunker``).
The worker bounds resources; it is not a security boundary (it runs as the same user).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.model import IngestError, ParsedDocument

if TYPE_CHECKING:
    from ingest.parsers.ocr import OcrOptions

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0  # importing the parsers: a few seconds, more on a busy machine
_POLL_S = 0.1  # how often the parent checks the worker's memory while it waits
_WARM_UP_HTML = (
    b"<html><head><title>Mise en route</title></head><body><h1>Rapport annuel</h1>"
    b"<p>Les conseillers accompagnent les personnes de retour pendant six mois.</p></body></html>"
)


# What the worker's answers may hold besides built-in containers, strings and numbers.
_ALLOWED_GLOBALS = {
    ("ingest.model", "ParsedDocument"),
    ("ingest.model", "Block"),
    ("ingest.model", "DocMeta"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("datetime", "date"),
}


class _AnswerUnpickler(pickle.Unpickler):
    """Loads only the classes of a parse answer: a worker's bytes never run code in the parent."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"the parse worker sent {module}.{name}, which is not part of an answer")
        return super().find_class(module, name)


class _RemoteTraceback(Exception):
    """The traceback of an unexpected error in the worker, attached as the cause of the error raised here."""

    def __str__(self) -> str:
        return self.args[0]


class ParseSandbox:
    """Parses files in a worker process with a memory cap and a time limit; one parse at a time."""

    def __init__(self, max_memory_mb: int, timeout_s: float, max_bytes: int, max_pages: int | None = None,
                 ocr: OcrOptions | None = None):
        self.max_memory_mb = max_memory_mb
        self.ocr = ocr
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_pages = max_pages
        self._lock = threading.Lock()
        self._process = None
        self._conn = None
        self._ready = False
        self._stop = None  # weakref.finalize stopping the current worker
        self._started_at = 0.0
        self.starts = 0  # workers started so far
        self.start_seconds: float | None = None  # how long the last worker took to load the parsers

    @classmethod
    def from_settings(cls, settings) -> "ParseSandbox":
        """The sandbox configured by KMH_PARSE_MEMORY_MB, KMH_PARSE_TIMEOUT_S, KMH_MAX_FILE_MB, KMH_MAX_PAGES and KMH_OCR_*."""
        from ingest.parsers.ocr import OcrOptions

        return cls(settings.parse_memory_mb, settings.parse_timeout_s, settings.max_file_bytes, settings.max_pages,
                   OcrOptions.from_settings(settings))

    @property
    def pid(self) -> int | None:
        """Process id of the running worker, if any."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start the worker now (it loads the parsers in the background) instead of on the first parse."""
        with self._lock:
            self._spawn()

    def parse(self, path: Path | str) -> ParsedDocument:
        """``parse_file(path)`` in the worker; IngestError for the file's own problems and for the limits."""
        path = Path(path)
        with self._lock:
            self._spawn()
            self._wait_ready(path)
            try:
                self._conn.send((os.path.abspath(path), self.max_bytes, self.max_pages, self.ocr))
                reply = self._wait_reply(path)
            except BaseException:
                self._kill()  # an answer may still come: never read it as the next file's
                raise
            if reply[0] == "memory":
                self._kill()  # the worker exits after a failed allocation; the next file gets a new one
                raise IngestError(path, self._memory_reason())
        kind = reply[0]
        if kind == "ok":
            doc: ParsedDocument = reply[1]
            doc.path = path
            return doc
        if kind == "refused":
            raise IngestError(path, reply[1])
        name, message, trace = reply[1:]
        raise RuntimeError(f"{name}: {message}") from _RemoteTraceback(trace)

    def close(self) -> None:
        """Stop the worker; safe to call twice. A later parse starts a new one."""
        with self._lock:
            self._kill(graceful=True)

    def __enter__(self) -> "ParseSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ worker management

    def _spawn(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                return
            self._kill()
        import json
        import socket
        import subprocess
        from multiprocessing.connection import Connection

        ours, theirs = socket.socketpair()
        code = (f"import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
                f"from ingest.sandbox import _worker_main; _worker_main({theirs.fileno()}, {int(self.max_memory_mb)})")
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code, json.dumps([_package_root()])],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()  # the parent sees EOF when the worker dies
        conn = Connection(ours.detach())
        self._process, self._conn, self._ready = process, conn, False
        self._stop = weakref.finalize(self, _stop_worker, process, conn, False)
        self.starts += 1
        self._started_at = time.monotonic()

    def _wait_ready(self, path: Path) -> None:
        if self._ready:
            return
        deadline = self._started_at + START_TIMEOUT_S
        reply = None
        while time.monotonic() < deadline:
            if self._conn.poll(_POLL_S):
                try:
                    reply = self._receive()
                except (EOFError, OSError):
                    pass  # the worker died
                break
            if self._process.poll() is not None:
                break
        if reply is not None and reply[0] == "ready":
            self._ready = True
            self.start_seconds = reply[1]
            log.info("parse worker %d ready in %.1f s", self._process.pid, reply[1])
            return
        if reply is not None:
            what = reply[1]
        elif self._exited(5):
            what = f"it stopped ({self._exit_text()})"
        else:
            what = f"it did not load the parsers within {START_TIMEOUT_S:g} s"
        self._kill()
        raise IngestError(path, f"the parse worker could not start: {what}")

    def _wait_reply(self, path: Path) -> tuple[Any, ...]:
        deadline = time.monotonic() + self.timeout_s
        pid = self._process.pid
        rss = 0.0
        while True:
            if self._conn.poll(min(_POLL_S, max(deadline - time.monotonic(), 0.0))):
                try:
                    return self._receive()
                except (EOFError, OSError):
                    break  # the worker died
            if self._process.poll() is not None:
                break
            rss = _rss_mb(pid)
            if rss > self.max_memory_mb:
                self._kill()
                raise IngestError(path, self._memory_reason())
            if time.monotonic() >= deadline:
                self._kill()
                raise IngestError(path, f"parsing took longer than {self.timeout_s:g} s (KMH_PARSE_TIMEOUT_S)")
        self._exited(5)
        reason = f"the parser crashed ({self._exit_text()})"
        if rss >= 0.9 * self.max_memory_mb:
            reason += (f", probably out of memory: it was using {rss:.0f} MB of the {self.max_memory_mb} MB cap "
                       "(KMH_PARSE_MEMORY_MB)")
        self._kill()
        raise IngestError(path, reason)

    def _receive(self) -> tuple[Any, ...]:
        return _AnswerUnpickler(io.BytesIO(self._conn.recv_bytes())).load()

    def _exited(self, wait_s: float) -> bool:
        import subprocess

        try:
            self._process.wait(wait_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _memory_reason(self) -> str:
        return f"parsing used more than {self.max_memory_mb} MB of memory (the cap per parse, KMH_PARSE_MEMORY_MB)"

    def _exit_text(self) -> str:
        code = self._process.returncode
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"signal {-code}, {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"

    def _kill(self, graceful: bool = False) -> None:
        """Stop the current worker (politely when ``graceful``, else at once) and forget it."""
        stop, self._stop = self._stop, None
        if stop is not None:
            stop.detach()
        if self._process is not None:
            _stop_worker(self._process, self._conn, graceful)
        self._process = self._conn = None
        self._ready = False


def _stop_worker(process, conn, graceful: bool) -> None:
    """Stop a worker process (a subprocess.Popen) and close the parent's end of its socket."""
    import subprocess

    if graceful and process.poll() is None:
        try:
            conn.send(None)
            process.wait(2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    if process.poll() is None:
        process.kill()
        process.wait()
    try:
        conn.close()
    except OSError:
        pass


def _package_root() -> str:
    """The folder holding the ``ingest`` package, for the worker's import path."""
    return str(Path(__file__).resolve().parents[1])


def _rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 when it is gone)."""
    import psutil

    try:
        return psutil.Process(pid).memory_info().rss / 1048576
    except (psutil.Error, OSError):
        return 0.0


# ---------------------------------------------------------------------------------------------
# the worker process
# ---------------------------------------------------------------------------------------------


def _worker_main(fd: int, max_memory_mb: int) -> None:
    """Load the parsers, then parse one file per request until told to stop or the parent goes away."""
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    # spaCy's thinc imports torch when it is installed, but no parser uses it: without it the worker loads
    # about 2 s faster and takes about 180 MB less memory.
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]
    conn = Connection(fd)
    _exit_with_parent()
    _limit_memory(max_memory_mb)
    started = time.perf_counter()
    try:
        _warm_up()
    except MemoryError:
        _answer(conn, ("failed", f"loading the parsers needs more than the {max_memory_mb} MB memory cap "
                                 "(KMH_PARSE_MEMORY_MB)"))
        return
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        _answer(conn, ("failed", f"{type(exc).__name__}: {exc}"))
        return
    _answer(conn, ("ready", time.perf_counter() - started))
    from ingest.parsers import parse_file

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if request is None:
            return
        path, max_bytes, max_pages, ocr = request
        try:
            reply: tuple[Any, ...] = ("ok", parse_file(Path(path), max_bytes=max_bytes, max_pages=max_pages, ocr=ocr))
        except IngestError as exc:
            reply = ("memory",) if _caused_by_memory(exc) else ("refused", exc.reason)
        except MemoryError:
            reply = ("memory",)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            import traceback

            reply = ("error", type(exc).__name__, str(exc), traceback.format_exc())
        try:
            _answer(conn, reply)
        except MemoryError:
            reply = ("memory",)
            _answer(conn, reply)
        if reply[0] == "memory":
            return  # a fresh worker for the next file: a failed allocation may leave a library in a bad state


def _answer(conn, reply: tuple[Any, ...]) -> None:
    conn.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))


def _exit_with_parent() -> None:
    """Exit as soon as the parent process is gone, even in the middle of a parse (a thread watches)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="kmh-parse-parent-watch", daemon=True).start()


def _limit_memory(max_memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the parent's watch alone applies
        return
    limit = max_memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ValueError, OSError):
        log.warning("could not cap the parse worker's memory with RLIMIT_DATA; the parent's watch alone applies")


def _warm_up() -> None:
    """Import every parser and load the models they use lazily (spaCy, the language identifier)."""
    import importlib

    for module in ("docx", "pptx", "pypdf", "pypdfium2", "pdfminer.high_level", "ingest.parsers._unstructured",
                   "ingest.parsers.ocr", "PIL.Image"):
        importlib.import_module(module)
    from ingest.metadata import infer_meta
    from ingest.parsers import _parsers, parse_bytes

    _parsers()
    infer_meta(parse_bytes("mise-en-route.html", _WARM_UP_HTML))


def _caused_by_memory(exc: BaseException) -> bool:
    """Whether a MemoryError is in the chain of ``exc`` (parsers turn it into an IngestError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
