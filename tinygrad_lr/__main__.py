"""``python -m tinygrad_lr``: the same command line as the ``tinygrad-lr`` script."""
from tinygrad_lr.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
