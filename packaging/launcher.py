"""Entry script of the frozen app: the same ``hilum`` command as the installed package.

The app's own executable also runs its image decoder processes: started with
``engine.imaging.decoder_worker.WORKER_FLAG`` (a frozen app has no ``python -m``), it serves
the decoder pool and imports nothing of the viewer.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--hilum-decoder-worker"]:
        from engine.imaging.decoder_worker import main as decoder_main

        sys.exit(decoder_main(sys.argv[2:]))
    multiprocessing.freeze_support()  # training may spawn worker processes in a bundle
    from viewer.entry import main

    sys.exit(main())
