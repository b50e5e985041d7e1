"""Running the service with uvicorn: its own access log off (it would log query strings),
:mod:`prom.server.guard`'s paths-only log on."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["run", "LOG_CONFIG"]

#: uvicorn's loggers plus the service's, to stderr; no uvicorn access log.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "prom.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, *, workers_note: str = "") -> None:
    """Serve ``app`` (:func:`prom.server.create_app`) on ``host:port`` until interrupted."""
    import uvicorn

    logging.getLogger("prom.server").info(
        "serving on http://%s:%s%s", host, port, f" ({workers_note})" if workers_note else ""
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=LOG_CONFIG)
