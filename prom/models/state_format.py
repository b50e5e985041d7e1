"""The header every model-state JSON carries: a format name and a version, checked once.

A fitted Preprocessor and a Cox model are stored as JSON states (``{"format": …,
"version": …, …}``); :func:`check_state_header` refuses a state of another kind or of a
version this code does not read, with the same words for both.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_state_header"]


def check_state_header(state: Any, what: str, fmt: str, version: int) -> dict[str, Any]:
    """``state`` when it is a ``fmt`` state of ``version``; :class:`ValueError` otherwise.

    ``what`` names the kind of state in the message (``"Preprocessor"``).
    """
    if not isinstance(state, dict) or state.get("format") != fmt:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"not a {what} state: expected format {fmt!r}, got {found!r}")
    if state.get("version") != version:
        raise ValueError(
            f"{what} state version {state.get('version')!r} is not supported "
            f"(this version of prom reads version {version})"
        )
    return state
