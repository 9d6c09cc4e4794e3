"""Each layer of the package uses the ones below it through their public face (issue 13, point 8).

The layout, lowest first; a module may import from its own layer and the layers below it, never
from a later one:

1. the engine: the reference layer (``tensor``, ``autograd``, ``ops``), the kernel layer
   (``kernels``), ``compiler``, and the modules they are built from (operands, devices, sizes,
   printing, factories, exceptions);
2. the building blocks on the engine: ``nn``, ``optim``, ``utils``, ``serialization``, ``metrics``,
   ``viz``;
3. the estimators: ``linear_model``;
4. ``data``;
5. the command line (``cli`` and its Dask half), and the package's own ``__init__``, which gathers
   every public name.

Across packages only public names are used: no ``from x import _name``, no import of a private
module (``x._module``) and no ``alias._name`` on an imported module or class (``Tensor._make``,
``factories._rng``). The engine is one unit for this rule: its parts share private helpers among
themselves, as the reference and kernel layers are written to do.

The checks read the source with ``ast``: imports inside functions count as much as top-level ones.
The reference layer's four files are also held to issue 13's budget: at most 1,500 lines, and no
import of the kernel layer's pool, threads or tuning modules.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = "tinygrad_lr"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / ROOT

# (layer name, the top-level parts in it), lowest first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("engine", ("operands", "tensor", "autograd", "ops", "kernels", "compiler", "factories",
                "linalg", "devices", "size", "_printing", "exceptions", "backends", "cuda")),
    ("building blocks", ("nn", "optim", "utils", "serialization", "metrics", "viz")),
    ("estimators", ("linear_model",)),
    ("data", ("data",)),
    ("command line", ("cli", "_dask_cli", "__main__", "__init__")),
)
LAYER_OF = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}
# Parts that share private names: the whole engine, and the command line with its Dask half.
UNIT_OF = {**{part: "engine" for part in LAYERS[0][1]}, "_dask_cli": "cli", "__main__": "cli"}


def part_of(module: str) -> str:
    """The top-level part a dotted module name belongs to (``__init__`` for the package itself)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def unit_of(module: str) -> str:
    """The unit within which private names may be shared."""
    part = part_of(module)
    return UNIT_OF.get(part, part)


def is_private(name: str) -> bool:
    """A single-underscore name (dunders such as ``__version__`` are public)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_submodule(module: str) -> bool:
    """Whether ``module`` (dotted, under the package) is a module or package on disk."""
    path = PACKAGE_DIR.joinpath(*module.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def module_name(path: Path) -> str:
    """The dotted name of a source file of the package."""
    parts = (ROOT,) + path.relative_to(PACKAGE_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def violations(module: str, source: str) -> list[str]:
    """Every layering problem in ``source``, the text of ``module``: imports of a later layer,
    and private names or modules of another unit (imported, or reached as ``alias._name``)."""
    problems: list[str] = []
    here_layer, here_unit = LAYER_OF[part_of(module)], unit_of(module)
    # Names bound to a module or object imported from another unit, for the attribute check.
    foreign: dict[str, str] = {}

    def check_target(target: str, line: int, what: str) -> None:
        if LAYER_OF[part_of(target)] > here_layer:
            problems.append(f"{module}:{line}: imports {what} from {target}, a later layer "
                            f"({LAYERS[LAYER_OF[part_of(target)]][0]}) than "
                            f"{LAYERS[here_layer][0]}")
        # The package's __init__ gathers the public names, some defined in private modules.
        if unit_of(target) != here_unit and module != ROOT:
            private = [piece for piece in target.split(".")[1:] if is_private(piece)]
            if private:
                problems.append(f"{module}:{line}: imports {what} from the private module "
                                f"{target} of another package")

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    check_target(alias.name, node.lineno, alias.name)
                    if unit_of(alias.name) != here_unit:
                        foreign[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and (node.module == ROOT or node.module.startswith(ROOT + ".")):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                target = full if is_submodule(full) else node.module
                check_target(target, node.lineno, alias.name)
                if unit_of(target) == here_unit:
                    continue
                if is_private(alias.name) and target == node.module:  # a module: reported above
                    problems.append(f"{module}:{node.lineno}: imports the private name "
                                    f"{alias.name} from {node.module}, another package")
                foreign[alias.asname or alias.name] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in foreign and is_private(node.attr):
            problems.append(f"{module}:{node.lineno}: reaches the private {node.value.id}."
                            f"{node.attr} of {foreign[node.value.id]}, another package")
    return problems


# Reaches not yet given a public name, each waiting on a file another change owns: an entry
# that no longer occurs fails the test, so the list can only shrink.
PENDING: set[str] = set()


def without_line(problem: str) -> str:
    """A problem as PENDING spells it: the line number taken out."""
    return re.sub(r":\d+:", ":", problem, count=1)


def package_sources() -> list[tuple[str, str]]:
    """(module name, source) of every Python file of the package."""
    return [(module_name(path), path.read_text(encoding="utf-8"))
            for path in sorted(PACKAGE_DIR.rglob("*.py"))]


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(module) for module, _ in package_sources()}
    assert parts - set(LAYER_OF) == set(), "place the new part in LAYERS"


def test_each_layer_uses_the_ones_below_through_their_public_face():
    problems = {without_line(problem) for module, source in package_sources()
                for problem in violations(module, source)}
    assert sorted(problems - PENDING) == []
    assert sorted(PENDING - problems) == [], "fixed: take these out of PENDING"


@pytest.mark.parametrize("module, source, expected", [
    # a later layer, at top level and inside a function
    ("tinygrad_lr.linear_model.fake", "from tinygrad_lr.data import read_csv\n",
     "a later layer (data)"),
    ("tinygrad_lr.nn.fake", "def f():\n    from tinygrad_lr.linear_model import LinearRegression\n",
     "a later layer (estimators)"),
    ("tinygrad_lr.linear_model.fake", "import tinygrad_lr\n", "a later layer (command line)"),
    # private names, private modules and private attributes of another package
    ("tinygrad_lr.optim.fake", "from tinygrad_lr.tensor import _check_can_require_grad\n",
     "the private name _check_can_require_grad"),
    ("tinygrad_lr.cli", "from tinygrad_lr.linear_model import _dask\n",
     "the private module tinygrad_lr.linear_model._dask"),
    ("tinygrad_lr.linear_model.fake", "from tinygrad_lr.utils._hidden import check\n",
     "the private module tinygrad_lr.utils._hidden"),
    ("tinygrad_lr.nn.fake", "from tinygrad_lr.tensor import Tensor\nt = Tensor._make(a)\n",
     "the private Tensor._make"),
    ("tinygrad_lr.nn.fake", "from tinygrad_lr import factories\nfactories._rng(None)\n",
     "the private factories._rng"),
    ("tinygrad_lr.data.fake", "import tinygrad_lr.nn.functional as F\nF._reduce(x, 'sum')\n",
     "the private F._reduce"),
])
def test_a_planted_violation_is_reported(module, source, expected):
    problems = violations(module, source)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize("module, source", [
    # the engine shares private helpers among its parts
    ("tinygrad_lr.compiler", "from tinygrad_lr.autograd.grad_mode import _state\n"),
    ("tinygrad_lr.factories", "from tinygrad_lr.tensor import Tensor\nt = Tensor._make(a)\n"),
    # a package's own private modules, and public names of the layers below
    ("tinygrad_lr.linear_model.logistic", "from tinygrad_lr.linear_model import _solvers\n"),
    ("tinygrad_lr.linear_model.fake", "from tinygrad_lr.utils.validation import check_int\n"),
    ("tinygrad_lr.cli", "from tinygrad_lr import __version__, _dask_cli\n"),
])
def test_allowed_uses_are_not_reported(module, source):
    assert violations(module, source) == []


# ---- the reference layer: the textbook, within a line budget and free of speed code ------------
# The files a reader follows `(x * y).sum().backward()` through (issue 13's reference layer).
REFERENCE_LAYER = ("tensor.py", "autograd/function.py", "autograd/engine.py", "ops/rules.py")
REFERENCE_BUDGET = 1500
# Pooling, threading and tuning live in the kernel layer; the rules call its kernels only.
SPEED_MODULES = ("tinygrad_lr.kernels.pool", "tinygrad_lr.kernels.threads",
                 "tinygrad_lr.kernels.tuning", "threading", "concurrent", "multiprocessing")


def speed_imports(source: str) -> list[str]:
    """The pooling, threading and tuning modules ``source`` imports (or imports from)."""
    def is_speed(module: str) -> bool:
        return any(module == m or module.startswith(m + ".") for m in SPEED_MODULES)

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if is_speed(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if is_speed(node.module):
                found.append(node.module)
            else:  # `from package import module`
                found += [f"{node.module}.{alias.name}" for alias in node.names
                          if is_speed(f"{node.module}.{alias.name}")]
    return found


def reference_layer_problems(sources: dict[str, str]) -> list[str]:
    """What keeps ``sources`` (path -> text of the reference layer) from being the textbook: more
    lines than the budget, or an import of speed code."""
    lines = sum(len(text.splitlines()) for text in sources.values())
    problems = [f"the reference layer has {lines} lines, over its budget of {REFERENCE_BUDGET}"
                ] if lines > REFERENCE_BUDGET else []
    for path, text in sources.items():
        problems += [f"{path} imports {module}" for module in speed_imports(text)]
    return problems


def reference_sources() -> dict[str, str]:
    return {path: (PACKAGE_DIR / path).read_text(encoding="utf-8") for path in REFERENCE_LAYER}


def test_the_reference_layer_keeps_its_budget_and_no_speed_code():
    assert reference_layer_problems(reference_sources()) == []


@pytest.mark.parametrize("planted, expected", [
    ("from tinygrad_lr.kernels.tuning import POOL_MIN_BYTES\n",
     "imports tinygrad_lr.kernels.tuning"),
    ("from tinygrad_lr.kernels import threads\n", "imports tinygrad_lr.kernels.threads"),
    ("import tinygrad_lr.kernels.pool as pool\n", "imports tinygrad_lr.kernels.pool"),
    ("from concurrent.futures import ThreadPoolExecutor\n", "imports concurrent.futures"),
    ("x = 1\n" * 1500, "over its budget of 1500"),
])
def test_a_planted_reference_layer_problem_is_reported(planted, expected):
    sources = reference_sources()
    sources["ops/rules.py"] += planted
    problems = reference_layer_problems(sources)
    assert len(problems) == 1 and expected in problems[0], problems
