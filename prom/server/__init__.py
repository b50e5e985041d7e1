"""The prediction service over HTTP: FastAPI under ``/v1`` and CDS Hooks 2.0, a thin front
end over :mod:`prom.service`, run by ``prom serve`` (:func:`run`).

- :mod:`~prom.server.app`: :func:`create_app`, the endpoints and problem details;
- :mod:`~prom.server.schemas`: the pydantic request and response models (the OpenAPI
  document);
- :mod:`~prom.server.guard`: size and rate limits, the bearer token, the access log
  (paths only);
- :mod:`~prom.server.run`: uvicorn with the access log of paths only, in one process or
  several worker processes.

Needs the ``serve`` extra (``pip install spine-prom[serve]``).
"""

from prom.server.app import PROBLEM_TYPE, create_app
from prom.server.guard import BURST, MAX_BODY, RATE, token_matches
from prom.server.run import WorkerStartError, port_problem, run, run_workers

__all__ = [
    "create_app",
    "run",
    "run_workers",
    "port_problem",
    "WorkerStartError",
    "PROBLEM_TYPE",
    "MAX_BODY",
    "RATE",
    "BURST",
    "token_matches",
]
