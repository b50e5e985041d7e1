"""``python -m prom.cli``: the ``prom`` command."""

from prom.cli import app

app()
