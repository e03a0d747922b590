"""Allow `python -m dbkit`."""

from dbkit.cli.app import main

main(prog_name="dbkit")
