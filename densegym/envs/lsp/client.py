"""A synchronous LSP client over stdio, built on pygls, for one long-lived language server.

The env is synchronous and the pygls client is asyncio, so the client runs its own event loop in a
daemon thread and every call waits on it with a deadline. A deadline missed or a dead server raises
:class:`ServerFailure`; :class:`densegym.envs.lsp.session.ServerSession` restarts the server and
replays the open documents.

Freshness: the server handles messages in order, so a ``textDocument/diagnostic`` pull sent after a
``didChange`` is answered from the current contents of every open document (a change in one file can
create errors in another). ``wait_published`` waits for the pushed ``publishDiagnostics`` of an exact
document version instead; pyright debounces those by about 200 ms, and the benchmark shows both give
the same diagnostics.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.lsp.client import LanguageClient

from densegym import leftovers
from densegym.envs.lsp.positions import minimal_change, to_lsp
from densegym.envs.lsp.servers import ServerSpec, find_executable
from densegym.sandbox.processes import kill_group_and_wait


def _converter() -> Any:
    """pygls' converter, plus the one structure hook lsprotocol lacks: a notebook filter given by its cells
    alone (``notebook`` absent), which python-lsp-server announces at ``initialize``. Without it the
    initialize answer fails to parse (``JsonRpcInvalidParams``) and pylsp cannot start."""
    import attrs
    from pygls.protocol import default_converter

    converter = default_converter()
    optional = attrs.fields(T.NotebookDocumentFilterWithCells).notebook.type
    required = attrs.fields(T.NotebookCellTextDocumentFilter).notebook.type  # the same union without None
    converter.register_structure_hook(
        optional, lambda value, _: None if value is None else converter.structure(value, required)
    )
    return converter



def _reap(pid: int, owned: int | None) -> None:
    """Kill the server's process group and wait for it; then the pool need not (``leftovers``)."""
    kill_group_and_wait(pid, 5.0)
    leftovers.release(owned)

class ServerFailure(RuntimeError):
    """The language server died, hung past a deadline, or answered with an error."""


SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}


class LspClient:
    def __init__(self, root: Path, spec: ServerSpec, *, timeout_s: float = 30.0, start_timeout_s: float = 120.0):
        self.root = Path(root).resolve()
        self.spec = spec
        self.timeout_s = float(timeout_s)
        self.docs: dict[str, tuple[int, str]] = {}  # rel path -> (version, text)
        self.server_info: dict[str, str] = {}
        self.capabilities: T.ServerCapabilities | None = None
        self._published: dict[str, int | None] = {}
        self.published_diagnostics: dict[str, list[T.Diagnostic]] = {}  # for servers without pull diagnostics
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="densegym-lsp", daemon=True)
        self._thread.start()
        self._client: LanguageClient | None = None
        self.pid: int | None = None
        try:
            self._call(self._start(), start_timeout_s)
        except BaseException:
            self.close()
            raise

    # ---- plumbing -----------------------------------------------------------------------------

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        if self._loop.is_closed():
            coro.close()
            raise ServerFailure("the client is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout if timeout is not None else self.timeout_s)
        except TimeoutError as exc:
            future.cancel()
            raise ServerFailure(f"{self.spec.name} did not answer within {timeout or self.timeout_s:.0f} s") from exc
        except ServerFailure:
            raise
        except Exception as exc:  # a dead pipe, a JSON-RPC error, a cancelled request
            raise ServerFailure(f"{self.spec.name} failed: {type(exc).__name__}: {exc}") from exc

    def alive(self) -> bool:
        client = self._client
        server = getattr(client, "_server", None)
        return server is not None and server.returncode is None and not client.stopped

    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    def rel(self, uri: str) -> str | None:
        prefix = self.root.as_uri() + "/"
        return uri[len(prefix) :] if uri.startswith(prefix) else None

    async def _start(self) -> None:
        exe = find_executable(self.spec.langserver)
        if exe is None:
            raise ServerFailure(f"{self.spec.langserver} is not installed: pip install 'densegym[lsp]'")
        client = LanguageClient("densegym", "0.1", converter_factory=_converter)
        self._client = client

        @client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: T.PublishDiagnosticsParams) -> None:
            rel = self.rel(params.uri)
            if rel is not None:
                with self._cond:
                    self._published[rel] = params.version
                    self.published_diagnostics[rel] = list(params.diagnostics)
                    self._cond.notify_all()

        @client.feature(T.WORKSPACE_CONFIGURATION)
        def _configuration(params: T.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]  # the workspace's pyrightconfig.json decides

        for quiet in (T.WINDOW_LOG_MESSAGE, T.WINDOW_SHOW_MESSAGE, T.PROGRESS, "pyright/beginProgress",
                      "pyright/reportProgress", "pyright/endProgress", T.TELEMETRY_EVENT):  # fmt: skip
            client.feature(quiet)(lambda *args: None)
        for answered in (T.WINDOW_WORK_DONE_PROGRESS_CREATE, T.CLIENT_REGISTER_CAPABILITY,
                         T.CLIENT_UNREGISTER_CAPABILITY, T.WORKSPACE_DIAGNOSTIC_REFRESH):  # fmt: skip
            client.feature(answered)(lambda *args: None)

        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        await client.start_io(exe, *self.spec.langserver_args, cwd=str(self.root), env=env, start_new_session=True)
        self.pid = client._server.pid if client._server else None
        if self.pid is not None:
            # An env that is never closed still takes its server down when collected or at exit.
            self._reaper = weakref.finalize(self, _reap, self.pid, leftovers.own("process_group", self.pid))
        caps = T.ClientCapabilities(
            general=T.GeneralClientCapabilities(position_encodings=[T.PositionEncodingKind.Utf16]),
            text_document=T.TextDocumentClientCapabilities(
                synchronization=T.TextDocumentSyncClientCapabilities(),
                publish_diagnostics=T.PublishDiagnosticsClientCapabilities(version_support=True),
                diagnostic=T.DiagnosticClientCapabilities(),
                rename=T.RenameClientCapabilities(prepare_support=True),
                hover=T.HoverClientCapabilities(content_format=[T.MarkupKind.PlainText]),
            ),
            workspace=T.WorkspaceClientCapabilities(configuration=True, workspace_edit=T.WorkspaceEditClientCapabilities(
                document_changes=False)),
        )
        result = await client.initialize_async(
            T.InitializeParams(
                process_id=os.getpid(),
                root_uri=self.root.as_uri(),
                capabilities=caps,
                workspace_folders=[T.WorkspaceFolder(self.root.as_uri(), "workspace")],
            )
        )
        self.capabilities = result.capabilities
        info = result.server_info
        self.server_info = {"name": info.name if info else self.spec.name, "version": (info.version or "") if info else ""}
        client.initialized(T.InitializedParams())
        if self.spec.settings:
            client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings=self.spec.settings))

    # ---- documents ----------------------------------------------------------------------------

    def open(self, rel: str, text: str) -> None:
        self.docs[rel] = (1, text)
        item = T.TextDocumentItem(self.uri(rel), "python", 1, text)
        self._notify(lambda c: c.text_document_did_open(T.DidOpenTextDocumentParams(item)))

    def close_document(self, rel: str) -> None:
        if self.docs.pop(rel, None) is not None:
            ident = T.TextDocumentIdentifier(self.uri(rel))
            self._notify(lambda c: c.text_document_did_close(T.DidCloseTextDocumentParams(ident)))

    def files_changed(self, created: list[str], changed: list[str], deleted: list[str]) -> None:
        """Tell the server about files that changed on disk (it caches modules it read from disk)."""
        events = [T.FileEvent(self.uri(r), T.FileChangeType.Created) for r in created]
        events += [T.FileEvent(self.uri(r), T.FileChangeType.Changed) for r in changed]
        events += [T.FileEvent(self.uri(r), T.FileChangeType.Deleted) for r in deleted]
        if events:
            params = T.DidChangeWatchedFilesParams(events)
            self._notify(lambda c: c.workspace_did_change_watched_files(params))

    def change(self, rel: str, text: str) -> int:
        """Send the minimal incremental edit turning our copy of ``rel`` into ``text``; returns its version."""
        version, old = self.docs[rel]
        if old == text:
            return version
        start, end, replacement = minimal_change(old, text)
        s_line, s_col = to_lsp(old, start)
        e_line, e_col = to_lsp(old, end)
        version += 1
        self.docs[rel] = (version, text)
        change = T.TextDocumentContentChangePartial(
            range=T.Range(T.Position(s_line, s_col), T.Position(e_line, e_col)), text=replacement
        )
        ident = T.VersionedTextDocumentIdentifier(version=version, uri=self.uri(rel))
        self._notify(lambda c: c.text_document_did_change(T.DidChangeTextDocumentParams(ident, [change])))
        return version

    def _notify(self, send: Any) -> None:
        if not self.alive():
            raise ServerFailure(f"{self.spec.name} is not running")

        async def run() -> None:
            send(self._client)

        self._call(run())

    def wait_published(self, rel: str, version: int, timeout: float | None = None) -> bool:
        """Wait until the server has published diagnostics for ``rel`` at ``version`` (or later)."""
        deadline = timeout if timeout is not None else self.timeout_s
        end = time.monotonic() + deadline
        with self._cond:
            # Woken by every publish; a server that dies publishes nothing more, so look at it every 0.1 s.
            while not (ok := (self._published.get(rel) or 0) >= version) and self.alive():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.1))
        if not self.alive():
            raise ServerFailure(f"{self.spec.name} exited")
        if not ok:
            raise ServerFailure(f"{self.spec.name} published no diagnostics for {rel} v{version} within {deadline:.0f} s")
        return True

    # ---- requests -----------------------------------------------------------------------------

    def _request(self, method: str, params: Any) -> Any:
        if not self.alive():
            raise ServerFailure(f"{self.spec.name} is not running")
        client = self._client

        async def run() -> Any:
            return await client.protocol.send_request_async(method, params)

        return self._call(run())

    def diagnostics(self, rel: str) -> list[T.Diagnostic]:
        report = self._request(
            T.TEXT_DOCUMENT_DIAGNOSTIC, T.DocumentDiagnosticParams(T.TextDocumentIdentifier(self.uri(rel)))
        )
        return list(getattr(report, "items", None) or [])

    def _position_params(self, rel: str, line: int, col: int) -> T.TextDocumentPositionParams:
        return T.TextDocumentPositionParams(
            text_document=T.TextDocumentIdentifier(uri=self.uri(rel)), position=T.Position(line=line, character=col)
        )

    def hover(self, rel: str, line: int, col: int) -> T.Hover | None:
        p = self._position_params(rel, line, col)
        return self._request(T.TEXT_DOCUMENT_HOVER, T.HoverParams(text_document=p.text_document, position=p.position))

    def definition(self, rel: str, line: int, col: int) -> Any:
        p = self._position_params(rel, line, col)
        return self._request(T.TEXT_DOCUMENT_DEFINITION, T.DefinitionParams(text_document=p.text_document, position=p.position))

    def references(self, rel: str, line: int, col: int) -> list[T.Location]:
        p = self._position_params(rel, line, col)
        params = T.ReferenceParams(
            context=T.ReferenceContext(include_declaration=True), text_document=p.text_document, position=p.position
        )
        return list(self._request(T.TEXT_DOCUMENT_REFERENCES, params) or [])

    @property
    def supports_prepare_rename(self) -> bool:
        """Whether the server announced ``textDocument/prepareRename`` (pyright does, pylsp does not)."""
        provider = self.capabilities.rename_provider if self.capabilities else None
        return isinstance(provider, T.RenameOptions) and bool(provider.prepare_provider)

    def prepare_rename(self, rel: str, line: int, col: int) -> Any:
        p = self._position_params(rel, line, col)
        return self._request(T.TEXT_DOCUMENT_PREPARE_RENAME, T.PrepareRenameParams(text_document=p.text_document, position=p.position))

    def rename(self, rel: str, line: int, col: int, new_name: str) -> T.WorkspaceEdit | None:
        p = self._position_params(rel, line, col)
        return self._request(T.TEXT_DOCUMENT_RENAME, T.RenameParams(text_document=p.text_document, position=p.position, new_name=new_name))

    # ---- lifetime -----------------------------------------------------------------------------

    def close(self, polite: bool = True) -> None:
        """Shut the server down (politely if asked and it answers), then make sure its process group is gone."""
        client, pid = self._client, self.pid
        if polite and client is not None and self.alive() and not self._loop.is_closed():
            try:
                self._call(client.shutdown_async(None), 5)
                self._notify(lambda c: c.exit(None))
            except ServerFailure:
                pass
        if pid is not None:
            self._reaper()  # kills the group and waits; runs at most once
        if client is not None and not self._loop.is_closed():
            try:
                self._call(_stop(client), 10)
            except ServerFailure:
                pass
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()
        self._client = None


async def _stop(client: LanguageClient) -> None:
    server = client._server
    if server is not None and server.returncode is None:
        await server.wait()
    client._stop_event.set()
    for task in client._async_tasks:
        task.cancel()
    await asyncio.gather(*client._async_tasks, return_exceptions=True)
    # asyncio's subprocess transport keeps the pipes until it is closed explicitly.
    if server is not None and getattr(server, "_transport", None) is not None:
        server._transport.close()
