"""``python -m prom.cli``: the ``prom`` command."""

from prom.cli import main

main()
