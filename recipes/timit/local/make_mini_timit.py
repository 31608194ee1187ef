#!/usr/bin/env python3
"""Synthesise the built-in mini-TIMIT corpus (espeak-ng speech in TIMIT's layout); see --help.

    make_mini_timit.py data/mini_timit            # default size, ~30 minutes of audio
    make_mini_timit.py --tiny --sphere mini_tiny  # a few speakers, SPHERE audio like the LDC original
"""
import sys

from kfront.synth.cli import main

if __name__ == "__main__":
    sys.exit(main())
