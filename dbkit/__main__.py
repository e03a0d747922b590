"""Allow `python -m dbkit`."""

from .cli import main

main(prog_name="dbkit")
