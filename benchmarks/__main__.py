"""Entry point: ``python -m benchmarks [--quick] ...``."""
from benchmarks.run import main

raise SystemExit(main())
