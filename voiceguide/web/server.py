"""`voiceguide serve`: listen, say where (addresses and a QR code), serve until Ctrl-C."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from voiceguide.errors import VoiceguideError, one_line

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port); VoiceguideError if not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise VoiceguideError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def addresses(host: str, port: int) -> list[str]:
    """The URLs a browser can use: the host itself, or for a wildcard host this machine's
    loopback and network addresses (the network one first: that is the phone's)."""
    if host not in ("0.0.0.0", "::", ""):
        shown = f"[{host}]" if ":" in host else host
        return [f"http://{shown}:{port}/"]
    found: list[str] = []
    # connect() on UDP sends nothing: it only picks the interface of the default route.
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        found.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    lan = [a for a in dict.fromkeys(found) if not a.startswith("127.")]
    return [f"http://{a}:{port}/" for a in lan] + [f"http://127.0.0.1:{port}/"]


def qr_text(url: str) -> str:
    """The URL as a QR code drawn with block characters, for a phone's camera."""
    import io

    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def serve(
    refs: tuple[str, ...],
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    echo: Callable[[str], None] = print,
    cache_dir: Path | None = None,
    renders_dir: Path | None = None,
    warm: bool = True,
) -> None:
    """Serve the routines (the built-ins and `refs`: files or folders) until interrupted."""
    import uvicorn

    from voiceguide.web.app import Served, create_app, routine_table
    from voiceguide.web.renders import Renders

    served = Served(routine_table(refs), Renders(renders_dir), cache_dir)
    app = create_app(served)
    sock = listen(host, port)
    port = sock.getsockname()[1]
    urls = addresses(host, port)
    echo(f"voiceguide: serving {len(served.routines)} routines; open on the phone:")
    for url in urls:
        echo(f"  {url}")
    echo(qr_text(urls[0]))
    if host in ("127.0.0.1", "localhost", "::1"):
        echo("Only this machine can connect; --host 0.0.0.0 lets a phone on the network in.")
    else:
        echo(
            "Anyone on this network can open these pages (no password; plain http). "
            "Ctrl-C stops the server."
        )
    if warm:
        names = [n for n in served.routines if not refs or served.routines[n] != n]
        threading.Thread(target=_warm, args=(served, names, echo), daemon=True).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def _warm(served: object, names: list[str], echo: Callable[[str], None]) -> None:
    """Render every routine served at its own pace ahead of the first request."""
    from voiceguide.web.app import BadRequest, Served

    assert isinstance(served, Served)
    for name in names:
        try:
            served.render(name, {})
        except BadRequest as error:
            echo(f"warning: {name}: {error.reason}")
        except VoiceguideError as error:
            echo(f"warning: {name}: {one_line(str(error))}")
