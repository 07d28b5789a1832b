"""Entry script of the frozen app: the same ``hilum`` command as the installed package."""

import multiprocessing
import sys

from viewer.entry import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # training may spawn worker processes in a bundle
    sys.exit(main())
