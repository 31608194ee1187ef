"""``python -m kfront.synth``: the built-in corpus generator's command line (see ``--help``)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m kfront.synth"))
