"""``prom serve``: the prediction service over signed bundles (:mod:`prom.server`).

Every bundle is verified before the port opens (signature against the trust store,
hashes, safe formats); an unsigned or untrusted bundle stops the command with exit code
2 — the service has no ``--allow-unsigned``. The bearer token comes from ``--token-file``
or the environment variable ``PROM_SERVE_TOKEN`` and must be at least
:data:`MIN_TOKEN_LENGTH` characters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from prom.cli.common import TrustStoreOpt, err_console, fail

__all__ = ["serve", "TOKEN_ENV", "MIN_TOKEN_LENGTH", "read_token"]

TOKEN_ENV = "PROM_SERVE_TOKEN"
MIN_TOKEN_LENGTH = 16


def read_token(token_file: Path | None) -> str:
    """The service's token from ``token_file`` (its first line) or ``PROM_SERVE_TOKEN``;
    fails (exit 2) without one or with one shorter than :data:`MIN_TOKEN_LENGTH`."""
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            fail(f"--token-file {token_file}: cannot be read ({type(e).__name__})")
        token = lines[0].strip() if lines else ""
        where = f"--token-file {token_file}"
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        where = TOKEN_ENV
        if not token:
            fail(f"no API token: pass --token-file PATH or set {TOKEN_ENV}")
    make = "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    if len(token) < MIN_TOKEN_LENGTH:
        fail(
            f"{where}: the token has {len(token)} characters; at least {MIN_TOKEN_LENGTH} "
            f"expected ({make})"
        )
    if len(set(token)) < 8:  # 'aaaaaaaaaaaaaaaa', '0123012301230123': guessable
        fail(
            f"{where}: the token uses only {len(set(token))} distinct characters; make a random one ({make})"
        )
    if token_file is not None and os.name == "posix" and token_file.stat().st_mode & 0o077:
        err_console.print(
            f"[yellow]caution:[/] --token-file {token_file} can be read by other users "
            f"(mode {token_file.stat().st_mode & 0o777:o}); chmod 600 it",
            highlight=False,
        )
    return token


def serve(
    bundle: Annotated[
        list[Path],
        typer.Option(
            "--bundle",
            help="A signed bundle directory; repeat for several (the first is the default)",
            show_default=False,
        ),
    ],
    trust_store: TrustStoreOpt = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help=f"File whose first line is the API token (default: ${TOKEN_ENV})",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8000,
    max_body: Annotated[
        int, typer.Option("--max-body", help="Largest request body in bytes", min=1024)
    ] = 1 << 20,
    rate: Annotated[
        float,
        typer.Option(help="Requests per second per client, sustained (0: no limit)", min=0),
    ] = 50.0,
    burst: Annotated[int, typer.Option(help="Burst size of the rate limit", min=1)] = 100,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes answering side by side (one per core; each loads the "
            "bundles; limits hold per worker)",
            min=1,
            max=64,
        ),
    ] = 1,
    fhir_base: Annotated[
        str | None,
        typer.Option(
            "--fhir-base",
            help="Canonical base of the Questionnaires whose responses are read, for a "
            "deployment that publishes its own (<base>/Questionnaire/odi, …; default: the "
            "project's, as shipped in prom/data/fhir)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve predictions over HTTP (``/v1``) and CDS Hooks (``/cds-services``) from signed
    bundles; bearer token on everything but ``/v1/health`` and ``/v1/ready``."""
    try:
        from prom.server import WorkerStartError, create_app, port_problem, run, run_workers
    except ImportError as e:
        fail(f"prom serve needs the serve extra (pip install 'spine-prom[serve]'): {e}")
    from prom.bundle import BundleError
    from prom.service import load_service

    token = read_token(token_file)
    if fhir_base is not None:
        from prom.fhir.questionnaires import base_problem

        if why := base_problem(fhir_base):
            fail(f"--fhir-base {why}")
    problem = port_problem(host, port)
    if problem:
        fail(problem)
    err_console.print(f"verifying {len(bundle)} bundle(s)…")
    try:
        service = load_service(bundle, trust_store=trust_store, fhir_base=fhir_base)
    except BundleError as e:
        # the service has no opt-out: the loader's hint of one does not apply here
        message = str(e).split("; or pass --allow-unsigned")[0]
        fail(f"{message}; prom serve loads signed, trusted bundles only")
    served = service.bundles()
    if len(served) < len(bundle):  # the same bundle given twice (by two paths or one)
        err_console.print(
            f"[yellow]note:[/] {len(bundle)} --bundle options hold {len(served)} distinct "
            "bundle(s): each is served once",
            highlight=False,
        )
    for b in served:
        err_console.print(f"bundle {b['bundle_id'][:12]}: {b['trust']}", soft_wrap=True)
        err_console.print(f"  serves: {', '.join(b['tasks'])}", soft_wrap=True, markup=False)
        for t, why in b["not_served"].items():
            err_console.print(f"  not served: {t} ({why})", soft_wrap=True, markup=False)
    from prom.fhir.questionnaires import FHIR_BASE
    from prom.instruments import INSTRUMENTS

    where = (fhir_base or FHIR_BASE).rstrip("/")
    err_console.print(
        f"FHIR: reads responses to {where}/Questionnaire/{{{', '.join(INSTRUMENTS)}}}",
        soft_wrap=True,
        markup=False,
    )
    if workers > 1:  # each worker verifies and loads the bundles again
        del service
        try:
            run_workers(
                bundle,
                token,
                trust_store=trust_store,
                host=host,
                port=port,
                workers=workers,
                max_body=max_body,
                rate=rate,
                burst=burst,
                fhir_base=fhir_base,
            )
        except WorkerStartError as e:
            fail(f"{e}; the service stopped")
        return
    app = create_app(service, token, max_body=max_body, rate=rate, burst=burst)
    run(app, host=host, port=port)
