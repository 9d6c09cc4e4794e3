"""``python -m tinygrad_lr``: the same command line as the ``tinygrad-lr`` script."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
