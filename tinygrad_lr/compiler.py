"""``tl.compile``: run a function once eagerly, recording the kernels it runs; then replay them.

(This module is ``tinygrad_lr.compiler``, as PyTorch's ``torch.compiler``: the package attribute
``tinygrad_lr.compile`` is the function.)

A training step in an eager engine spends most of its time at small sizes on dispatch: building
Tensors and graph nodes, walking the graph, looking up hyperparameters. Its kernels (each op's
forward, each derivative rule, each sum of two gradients, each accumulation into ``.grad``, each
optimizer update) are the same from one call to the next as long as the inputs have the same
shapes, dtypes and ``requires_grad`` flags and the same parameters are trained. So, as tinygrad's
``TinyJit`` and ``torch.compile`` do, the first call runs eagerly under a recorder; later calls with
the same signature run only the recorded list of kernels on the new inputs' arrays (a static
graph, where the eager engine rebuilds its dynamic graph every call).

The replay is one Python function written at the end of the capture and compiled once: each
kernel becomes a few statements in its body, with the arrays as local variables (``plan()``
prints every kernel with its statements; ``Capture.source`` is the whole function). The ops of a
typical step (add, subtract, multiply, matrix products, the fused logistic loss, and their rules;
the engine's sums back to an input's shape) are written as the NumPy calls those ops make for the
captured shapes; other ops' forwards and rules are called as they are. An optimizer whose step is
one fused kernel call per parameter says so through its public ``fused_update()`` (the package's
SGD, Adam, AdamW, RMSprop and Adagrad): its step replays as those kernel calls, each with scalars
from the optimizer's own ``advance`` at every call (learning rates from ``param_groups``, step
counts from ``state``: the same code as ``step()``), under a guard: when the parameters, their
gradients, the state or the buffers the update takes differ from the capture's
(``load_state_dict``, a new parameter group, momentum set from 0, amsgrad switched on), the
optimizer's own ``step()`` runs instead. Other optimizers' ``step()`` is called.
So a replay runs eager's NumPy calls in eager's order and dtypes: its results are eager's, bit for
bit. Results are new arrays at every replay (at these sizes NumPy's cache of small blocks makes a
new result as cheap as writing into a kept buffer, and large ones come from the kernels' pool), so
a tensor returned by one call, or a ``.grad`` it set, stays valid after later calls.

What stays live (read at replay time, never baked in): the inputs' arrays, the parameters' arrays,
``.grad`` (accumulated or replaced as eager would), each optimizer's ``param_groups`` (so learning
rates set by schedulers apply) and ``state`` (Adam's step count), and scheduler steps taken inside
the function. What is part of the signature: tensor arguments' shapes, dtypes and
``requires_grad``, the identity of arguments that are parameters (leaves that require grad), the
values of Python numbers and strings passed in, grad mode and the default dtype. A new signature
captures again (at most ``cache_size_limit`` captures per function, then eager, with a warning).
A call with tensor arguments first tries the latest such capture through a generated guard
function, which makes the same checks on the arguments without building the signature. A caller
that evaluates one function on the same tensors many times (a solver) may take
``replay_for(*args)``: that capture's replay bound to those tensors, checked once.

What cannot be replayed runs eagerly, with one warning naming the reason (torch.compile's graph
break): reading a tensor's value on the host (``.item()``, ``bool()``, ``float()``, ``.tolist()``,
``.numpy()``, ``print``), random numbers, an optimizer driven by a closure (L-BFGS),
``autograd.grad`` or ``backward(create_graph=True, inputs=...)``, ``retain_grad()``, an in-place op
that autograd records, gradient clipping, a scheduler with a step of its own
(``ReduceLROnPlateau``), a module with forward hooks, an op that takes an array as a parameter
(class-index targets of cross-entropy and NLL, indexing with arrays or tensors, ``where`` on a
tensor condition, loss weights), and a tensor computed outside the recorded kernels (module-level
``tl.argmax``/``tl.isnan``..., a tensor built inside the function and not from Python numbers).
The Tensor methods without graph nodes (comparisons, ``argmax``/``argmin``, integer and bool
casts) are recorded as calls and replay.

A function that returns a tensor whose graph is still live (``tl.compile(model)``: the loss and
its backward come after the call) replays its forward and returns the result as the output of
one node, :class:`CompiledRegion`, whose derivative rule runs the recorded nodes' rules in the
engine's order, so ``loss.backward()`` reaches the parameters with eager's values. While that
graph awaits its backward, another call runs eagerly (the recorded nodes keep state between a
forward and its backward). Double backward through it is refused with an error.

Not seen by the recorder, so they stay as they were when the function was captured: Python values
the function reads from elsewhere (globals, attributes) other than through the cases above, other
Python side effects of the function (attributes it sets, lists it appends to), and NumPy's own
random numbers. Pass changing values as arguments (a 0-d tensor is an input of the replay; a
Python number is part of the signature). A replay that finds a ``.grad`` present where the
capture read None, or the reverse, raises rather than follow the captured branch.

The recorder hooks the engine only while it captures (it swaps a handful of methods and restores
them; eager code pays nothing): ``Function.apply`` (each op's forward), the engine's
``_execute`` (run here by a mirror of the engine that records each rule), the optimizers'
``step`` and ``zero_grad``, the schedulers' ``step``, in-place writes and ``.grad`` access.
The hooks are built once and kept for later captures (built again when a later layer is loaded,
an optimizer class is defined or a method they wrap is patched).
"""
from __future__ import annotations

import builtins
import functools
import inspect
import keyword
import re
import sys
import threading
import warnings
import weakref
from heapq import heapify, heappop, heappush
from typing import Any, Callable

import numpy as np

from tinygrad_lr import factories
from tinygrad_lr.autograd import engine
from tinygrad_lr.autograd.function import Function, sum_to
from tinygrad_lr.autograd.grad_mode import _state
from tinygrad_lr.kernels import elementwise, threads
from tinygrad_lr.kernels.tuning import MIN_SLICE, POOL_MIN_BYTES, ROW_BLOCK
from tinygrad_lr.ops import inplace
from tinygrad_lr.tensor import Tensor, get_default_dtype

__all__ = ["compile", "CompiledFunction", "CompiledModule", "CompiledRegion", "Capture",
           "GraphBreak", "cache_size_limit", "reset", "is_compiling"]

# Captures kept per compiled function before new signatures run eagerly (torch's default).
cache_size_limit = 8
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_EAGER = object()  # cache entry: this signature runs eagerly
_capture_lock = threading.Lock()
_active: "_Recorder | None" = None  # the recorder of the capture in progress
_compiled: "weakref.WeakSet[CompiledFunction]" = weakref.WeakSet()
# Local variables of the generated replays besides the slots' (no global may take these names).
_TEMPORARIES = frozenset({"flat", "replay", "grads", "scalars", "s"})


def reset() -> None:
    """Forget every capture of every compiled function (``torch.compiler.reset``): each
    signature is captured again on its next call."""
    for function in list(_compiled):
        function.cache.clear()
        function.reasons.clear()
        function.latest = None
        function.guarded = None


def is_compiling() -> bool:
    """True while a function is being captured (``torch.compiler.is_compiling``)."""
    return _active is not None


class GraphBreak(RuntimeError):
    """Raised at a graph break under ``fullgraph=True`` (a function that compiles or fails, as the
    estimators' solvers need)."""



# ---- captures and their generated replay ---------------------------------------------------------
_STALE = object()  # a replay's answer when an external tensor no longer matches its capture
_make = Tensor._make  # the unhooked constructor: replays run after the hooks are restored


def _grad_disappeared() -> None:
    raise RuntimeError("compiled function: a tensor's .grad was read where the capture saw a "
                       "gradient, but it is None now (was zero_grad() called outside the function "
                       "since?); call the function with the same gradient state, or compile it "
                       "with the zero_grad() inside")


def _grad_appeared() -> None:
    raise RuntimeError("compiled function: a tensor's .grad was None when the function was "
                       "captured (it read it), but it holds a gradient now; the function may "
                       "decide differently on it: call it with the same gradient state "
                       "(zero_grad() inside the function does that)")


# Names every generated replay may use.
_NAMESPACE: dict[str, Any] = {
    "ndarray": np.ndarray, "asarray": np.asarray, "array": np.array,
    "add_reduce": np.add.reduce, "sum_to": sum_to, "make": _make,
    "accumulate": engine._accumulate, "threads_run": threads.run,
    "grad_disappeared": _grad_disappeared, "grad_appeared": _grad_appeared,
    "absolute": np.absolute, "negative": np.negative, "exp": np.exp, "log1p": np.log1p,
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "maximum": np.maximum, "vdot": np.vdot, "minimum_reduce": np.minimum.reduce,
    "matmul": np.matmul,
}


class Capture:
    """One recorded call: its kernels in order, each as the Python statements that replay it,
    and how to load its inputs and build its outputs.

    At the end of the capture the statements become the body of one generated function
    (:attr:`source`, compiled once): a replay is a single call running the kernels one after
    another on the new inputs' arrays, with no graph, no Tensors in between and no per-kernel
    dispatch. ``str(capture)`` prints each kernel and the statements it replays as: the static
    graph of the step.
    """

    def __init__(self, signature: str) -> None:
        self.signature = signature
        self.lines: list[str] = []  # what each kernel does, one line each
        self.sources: list[list[str]] = []  # each kernel's statements
        self.namespace: dict[str, Any] = dict(_NAMESPACE)  # the generated function's globals
        self.loads: list[tuple[int, Tensor, tuple, np.dtype, bool]] = []  # externals, read live
        self.arg_loads: list[tuple[int, int]] = []  # (slot, flat argument index)
        self.constants: list[tuple[int, Any]] = []
        self.output: Any = None
        self.pending: Callable[[], Any] | None = None  # weakref to the last live graph's root
        self.source = ""
        self.run: Callable[[list], Any] | None = None
        self.direct = False  # the replay itself returns the result (one tensor)
        # For a capture of tensor arguments: tells whether arguments have its signature.
        self.accepts: Callable[[tuple], bool] | None = None

    def __str__(self) -> str:
        rows = [f"capture of {self.signature}: {len(self.lines)} kernels (each with the "
                "statements its replay runs)"]
        for i, (line, statements) in enumerate(zip(self.lines, self.sources)):
            rows.append(f"  {i:3d}  {line}")
            rows.extend(f"{'':9}{_shown(statement)}" for statement in statements)
        return "\n".join(rows)

    __repr__ = __str__

    def busy(self) -> bool:
        """True while the graph returned by the last call (a compiled forward) awaits its
        backward: its nodes' state (saved by their forwards) must not be overwritten."""
        node = self.pending() if self.pending is not None else None
        return node is not None and node.arity != 0

    def replay(self, flat: list) -> Any:
        """Run the kernels on the arguments ``flat`` (flattened as the signature was); ``_STALE``
        (and nothing run) when an external tensor no longer has its captured shape, dtype or
        ``requires_grad`` (a frozen parameter changes the graph)."""
        env = self.run(flat)
        if env is None:
            return _STALE
        if self.direct:
            return env
        result = _build(self.output, env, flat)
        if self.output[0] == "region":
            self.pending = weakref.ref(result.grad_fn) if result.grad_fn is not None else None
        return result


def _shown(statement: str) -> str:
    """A statement as the plan prints it: a long guard as the number of its conditions (the
    generated ``source`` has them all)."""
    if len(statement) > 100 and statement.startswith("if ") and statement.endswith(":"):
        conditions = statement.count(" and ") + 1
        return (f"if <{conditions} conditions: the parameters, their gradients and the "
                "optimizer's state and branches are as at capture>:")
    return statement


def _build(spec: Any, env: dict, flat: list) -> Any:
    """The function's result from its recorded structure (``env``: the arrays it needs)."""
    kind = spec[0]
    if kind == "slot":
        return Tensor._make(env[spec[1]], spec[2])
    if kind == "region":
        _, slot, plan, inputs = spec
        tensors = [flat[key] if where == "arg" else key for where, key in inputs]
        return CompiledRegion.apply(*tensors, env=env, plan=plan, slot=slot)
    if kind == "arg":
        return flat[spec[1]]
    if kind == "same":
        return spec[1]
    if kind == "seq":
        return spec[1](_build(s, env, flat) for s in spec[2])
    if kind == "dict":
        return {k: _build(s, env, flat) for k, s in spec[1].items()}
    return spec[1]


def _needed_slots(spec: Any, found: set[int]) -> set[int]:
    """The slots whose arrays ``_build`` reads for ``spec`` (outputs, a region's rule inputs)."""
    kind = spec[0]
    if kind == "slot":
        found.add(spec[1])
    elif kind == "region":
        found.add(spec[1])
        for _, ins, _ in spec[2].steps:
            found.update(ins)
    elif kind == "seq":
        for s in spec[2]:
            _needed_slots(s, found)
    elif kind == "dict":
        for s in spec[1].values():
            _needed_slots(s, found)
    return found


# ---- recording -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _global_name(hint: str) -> tuple[str, bool]:
    """``hint`` as a name of a replay's globals (each character other than a letter or a digit
    made ``_``), and whether that name may be used as it is (an identifier, not a keyword nor a
    replay's temporary). Remembered: captures name the same things again and again."""
    name = "".join(c if c.isalnum() else "_" for c in hint).strip("_") or "value"
    return name, name.isidentifier() and not keyword.iskeyword(name) and name not in _TEMPORARIES


class _Recorder:
    """Collects the kernels of one capture; its methods are called by the swapped-in hooks.

    Every array the capture computes or reads gets a slot, named for the plan (``t4``,
    ``param0``, ``arg1``...), which is also its local variable in the generated replay."""

    def __init__(self, capture: Capture, fullgraph: bool) -> None:
        self.capture = capture
        self.fullgraph = fullgraph
        self.thread = threading.get_ident()
        self.values: list[Any] = []  # slot -> the array at capture (keeps ids unique)
        self.names: list[str] = []
        self.taken: set[str] = set()
        self.tensor_names: dict[int, str] = {}  # id(tensor) -> its global name in the replay
        # id(value) -> its name in the replay's globals (which keep the value alive)
        self.global_names: dict[int, str] = {id(v): k for k, v in _NAMESPACE.items()}
        # Slots whose statements make a new array at every replay that nothing else holds (a
        # product, a reduction, a sum): accumulating one into a .grad of None needs no copy.
        self.fresh: set[int] = set()
        self.slots: dict[int, int] = {}  # id(array) -> slot
        self.nodes: dict[int, tuple[int, ...]] = {}  # id(node) -> slots of its rule's inputs
        self.keep: list[Any] = []
        self.broken: str | None = None
        self.quiet = 0  # > 0 inside a recorded call whose insides are not recorded
        self.externals = 0
        self.new_slot(None, "flat")  # slot 0: the call's flattened arguments
        # Arrays of tensors made during the capture outside the recorded kernels (an integer
        # cast, a comparison, a tensor built inside the function): a replay could only bake them.
        self.born: dict[int, np.ndarray] = {}
        self.region: Function | None = None  # the root node of a returned live graph

    def mine(self) -> bool:
        """True when the caller is the capturing thread and recording is on."""
        return self.broken is None and not self.quiet and threading.get_ident() == self.thread

    def graph_break(self, reason: str) -> None:
        """Give up replaying: the capture runs on eagerly and this signature stays eager."""
        if threading.get_ident() != self.thread or self.broken is not None:
            return
        self.broken = reason
        if self.fullgraph:
            raise GraphBreak(f"compile(fullgraph=True): graph break: {reason}")

    # -- slots and names
    def new_slot(self, value: Any, name: str | None = None) -> int:
        slot = len(self.values)
        self.values.append(value)
        name = (name or f"t{slot}").replace(".", "_")
        if name in self.taken:
            name = f"{name}_{slot}"
        self.taken.add(name)
        self.names.append(name)
        if isinstance(value, np.ndarray):
            self.slots[id(value)] = slot
        return slot

    def glob(self, value: Any, hint: str) -> str:
        """A name of the generated replay's globals bound to ``value`` (an object it calls or
        reads: a node's forward, a parameter tensor, an optimizer)."""
        name = self.global_names.get(id(value))
        if name is not None:
            return name
        namespace = self.capture.namespace
        name, usable = _global_name(hint)
        if not usable or name in namespace or name in self.taken:
            name = f"{name}_{len(namespace)}"
        namespace[name] = value
        self.global_names[id(value)] = name
        return name

    def local(self, hint: str) -> str:
        """A new local variable of the replay named for ``hint``: no slot, global or keyword has
        its name (an assignment to a global's name would make it local in the whole replay)."""
        name, suffix = hint, 0
        while name in self.taken or name in self.capture.namespace or name in _TEMPORARIES \
                or keyword.iskeyword(name):
            suffix += 1
            name = f"{hint}_{suffix}"
        self.taken.add(name)
        return name

    def slot_of(self, t: Tensor) -> int:
        """The slot of ``t``'s array: computed in this capture, an argument, or an external
        tensor (a parameter or a constant) whose array is read live at each replay."""
        slot = self.slots.get(id(t._data))
        if slot is not None:
            return slot
        if id(t._data) in self.born:
            self.graph_break(f"a tensor of shape {tuple(t._data.shape)} was computed outside the "
                             "recorded kernels (an op without a graph node, or a tensor made "
                             "inside the function from values a replay would not update)")
        kind = "param" if (t.grad_fn is None and t._requires_grad) else "const"
        slot = self.new_slot(t._data, f"{kind}{self.externals}")
        self.externals += 1
        self.capture.loads.append((slot, t, t._data.shape, t._data.dtype, t._requires_grad))
        return slot

    def constant(self, value: Any) -> int:
        """A slot holding ``value`` for every replay (or the slot already holding that array)."""
        if isinstance(value, np.ndarray) and id(value) in self.slots:
            return self.slots[id(value)]
        slot = self.new_slot(value, f"c{len(self.values)}")
        self.capture.constants.append((slot, value))
        return slot

    def tensor_name(self, t: Tensor) -> str:
        """The global name of a tensor the replay reads or changes (a parameter: its ``.grad``,
        its version counter)."""
        name = self.tensor_names.get(id(t))
        if name is None:
            name = self.glob(t, self.names[self.slot_of(t)].upper())
            self.tensor_names[id(t)] = name
        return name

    def emit(self, line: str, statements: list[str]) -> None:
        """Append a kernel: what it does (``line``) and the statements that replay it."""
        self.capture.lines.append(line)
        self.capture.sources.append(statements)

    def describe(self, slot: int) -> str:
        value = self.values[slot]
        shape = value.shape if isinstance(value, (np.ndarray, np.generic)) else np.shape(value)
        return f"{self.names[slot]}{tuple(shape)}"

    def made(self, data: np.ndarray, maker: str) -> None:
        """A tensor was made around ``data`` outside the recorded kernels (by ``maker``)."""
        if id(data) in self.slots or maker == "coerce":  # a known array, or a Python number
            return
        self.born[id(data)] = data

    def pure_call(self, function: Callable, args: tuple, kwargs: dict, result: Tensor) -> None:
        """Record a call without a graph node (a comparison, argmax, an integer cast) as one
        kernel that calls ``function`` again on the replay's arrays."""
        spec = []
        for arg in args:
            if isinstance(arg, Tensor):
                spec.append((True, self.slot_of(arg)))
            elif isinstance(arg, np.ndarray) and id(arg) in self.slots:
                self.graph_break(f"{function.__name__} of a NumPy array computed in the function")
                return
            else:
                spec.append((False, arg))
        if any(isinstance(v, (Tensor, np.ndarray)) for v in kwargs.values()):
            self.graph_break(f"{function.__name__} with a tensor keyword argument")
            return
        out = self.new_slot(result._data)
        call = self.glob(_pure_kernel(function, tuple(spec), dict(kwargs)), function.__name__)
        arguments = ", ".join(self.names[v] for is_tensor, v in spec if is_tensor)
        self.emit(f"forward   {function.__name__:<22} {self.describe(out)} <- "
                  + ", ".join(self.names[v] if is_tensor else repr(v) for is_tensor, v in spec),
                  [f"{self.names[out]} = {call}({arguments})"])

    # -- forward
    def forward(self, cls: type, params: dict, tensors: tuple, result: Tensor) -> None:
        if _holds_array(params):
            self.graph_break(f"{cls.__name__} takes an array as a parameter (class targets, an "
                             "index, a mask or weights), which a replay could only bake in")
            return
        in_slots = tuple(self.slot_of(t) for t in tensors)
        node = result.grad_fn
        if node is None:
            node = cls(**params) if params else cls()
        arrays = [t._data for t in tensors]
        convert = False
        if node.on_scalars and len(arrays) in (1, 2) and arrays[0].dtype.kind == "f":
            convert = not any(a.ndim for a in arrays)
        out = self.new_slot(result._data)
        statements = []
        node_in = in_slots
        if convert:  # 0-d floats reach forward (and the rule) as NumPy scalars, as in eager
            saved = [a[()] for a in arrays]
            if result.grad_fn is not None:
                saved = [node.a0] if len(arrays) == 1 else [node.a0, node.a1]
            node_in = tuple(self.new_slot(a, f"{self.names[s]}_scalar")
                            for a, s in zip(saved, in_slots))
            statements += [f"{self.names[n]} = {self.names[s]}[()]"
                           for n, s in zip(node_in, in_slots)]
        if result.grad_fn is not None:
            self.nodes[id(node)] = node_in
            self.keep.append(node)
        target = self.names[out]
        operands = [self.names[s] for s in node_in]
        inline = _inline_scalar_forward(node, operands, target) if convert \
            else _inline_forward(self, node, arrays, operands, target)
        if inline is None or not result._data.ndim:  # NumPy returns 0-d results as scalars
            if inline is None:
                forward = self.glob(node.forward, f"{cls.__name__}_forward")
                inline = [f"{target} = {forward}({', '.join(self.names[s] for s in node_in)})"]
            inline.append(f"if type({target}) is not ndarray: {target} = asarray({target})")
        statements += inline
        self.emit(f"forward   {type(node).__name__:<22} {self.describe(out)} <- "
                  + ", ".join(self.names[s] for s in in_slots), statements)

    # -- backward
    def backward(self, roots: list, root_grads: list, retain_graph: bool) -> None:
        """The engine's plain backward (no graph, every leaf), run and recorded rule by rule.

        Mirrors ``engine._execute`` and ``engine._propagate``: nodes newest first, each rule's
        input gradients summed back to the input's shape and cast to its dtype, summed into a
        pending node or a leaf in arrival order, leaves accumulated into ``.grad`` at the end."""
        xp = Function.array_ops
        values = self.values
        pending: dict[Function, int] = {}
        leaves: dict[int, list] = {}
        for t, g in zip(roots, root_grads):
            slot = self.constant(g)
            fn = t.grad_fn
            if fn is None:
                self._add_leaf(leaves, t, slot)
            elif fn in pending:
                pending[fn] = self._sum(pending[fn], slot)
            else:
                pending[fn] = slot
        heap = [(-node.seq, node) for node in pending]
        heapify(heap)
        while heap:
            node = heappop(heap)[1]
            g_slot = pending.pop(node)
            if node.saved is not None:
                node.check_versions()
            if node.arity == 0:
                engine._raise_freed(node)
            arrays, parents = node.edges()
            in_slots = self.nodes[id(node)]
            in_grads = node.backward(values[g_slot], xp, *arrays)
            if node.arity == 1:
                in_grads = (in_grads,)
            returned = [gi if parent is not None else None for parent, gi in zip(parents, in_grads)]
            outs = []
            results = []
            for i, (parent, a, gi) in enumerate(zip(parents, arrays, in_grads)):
                if gi is None or parent is None:
                    continue
                after = []  # the engine's sum back to the input's shape, then its cast
                if gi.shape != a.shape:
                    after += _sum_to_source(gi, a.shape)
                    gi = sum_to(gi, a.shape)
                if gi.dtype != a.dtype:
                    after.append(f"{{0}} = {self.glob(xp.cast, 'cast')}({{0}}, "
                                 f"{self.glob(a.dtype, 'dtype')})")
                    gi = xp.cast(gi, a.dtype)
                slot = self.new_slot(gi)
                outs.append((i, slot, after))
                results.append((parent, slot))
            statements = self._rule_source(node, g_slot, in_slots, outs, len(returned) == 1,
                                           arrays)  # before release: it may read the node
            if not retain_graph:
                node.release()
            self.emit(f"backward  {node.name():<22} "
                      + ", ".join(self.describe(s) for _, s, _ in outs)
                      + f" <- {self.names[g_slot]}, " + ", ".join(self.names[s] for s in in_slots),
                      statements)
            for parent, slot in results:
                if isinstance(parent, Tensor):
                    self._add_leaf(leaves, parent, slot)
                elif parent in pending:
                    pending[parent] = self._sum(pending[parent], slot)
                else:
                    pending[parent] = slot
                    heappush(heap, (-parent.seq, parent))
        for t, slot in leaves.values():
            engine._accumulate(t, values[slot], False)
            grad_slot = self.new_slot(t._grad._data, f"{self._name(t)}.grad")
            tensor, g, grad = self.tensor_name(t), self.names[slot], self.names[grad_slot]
            copy = g if slot in self.fresh else f"array({g})"  # eager's private copy
            self.emit(f"grad      accumulate             {self._name(t)}.grad += {g}",
                      [f"if {tensor}._grad is None: {tensor}._grad = make({copy})",
                       f"else: accumulate({tensor}, {g}, False)",
                       f"{grad} = {tensor}._grad._data"])

    def _rule_source(self, node: Function, g: int, ins: tuple[int, ...], outs: list,
                     single: bool, arrays: tuple) -> list[str]:
        """A derivative rule's call, then each kept input gradient summed back to its input's
        shape and cast to its dtype where the capture saw that needed (as the engine does)."""
        inline = _inline_rule(self, node, self.names[g], [self.names[i] for i in ins], arrays)
        if inline is not None and all(i in inline[1] for i, _, _ in outs):
            statements, expressions = inline
            statements = list(statements)
        else:
            rule = self.glob(node.backward, f"{type(node).__name__}_rule")
            xp = self.glob(Function.array_ops, "xp")
            call = f"{rule}({', '.join([self.names[g], xp] + [self.names[i] for i in ins])})"
            if single and len(outs) == 1 and not outs[0][2]:
                return [f"{self.names[outs[0][1]]} = {call}"]
            statements = [f"grads = {call}"]
            expressions = {i: "grads" if single else f"grads[{i}]" for i, _, _ in outs}
        for i, slot, after in outs:
            name = self.names[slot]
            statements.append(f"{name} = {expressions[i]}")
            statements += [line.format(name) for line in after]
            if inline is not None and _makes_new_array(expressions[i], after) \
                    and _owns_its_array(self.values[slot]):
                self.fresh.add(slot)
        return statements

    def _name(self, t: Tensor) -> str:
        slot = self.slots.get(id(t._data))
        return self.names[slot] if slot is not None else "tensor"

    def _sum(self, a: int, b: int) -> int:
        slot = self.new_slot(self.values[a] + self.values[b])
        if _owns_its_array(self.values[slot]):
            self.fresh.add(slot)
        self.emit(f"grad      sum                    {self.describe(slot)} <- "
                  f"{self.names[a]} + {self.names[b]}",
                  [f"{self.names[slot]} = {self.names[a]} + {self.names[b]}"])
        return slot

    def _add_leaf(self, leaves: dict, t: Tensor, slot: int) -> None:
        entry = leaves.get(id(t))
        if entry is None:
            self.slot_of(t)
            leaves[id(t)] = [t, slot]
        else:
            entry[1] = self._sum(entry[1], slot)

    def check_backward(self, roots: list) -> str | None:
        """Why the plain backward from ``roots`` cannot be recorded, or None."""
        for node in engine._reachable([t.grad_fn for t in roots if t.grad_fn is not None]):
            if id(node) not in self.nodes:
                return (f"backward reaches {node.name()}, recorded before the compiled function "
                        "was called")
            if node.retained is not None:
                return "retain_grad() on a tensor inside the compiled function"
        return None

    # -- optimizers, schedulers, gradients, writes
    def optimizer_step(self, opt: Any, original: Callable) -> None:
        """Record ``opt.step()`` (just run, so its state exists): the update kernels of the
        optimizer, hyperparameters and state read live, where it is one this module knows;
        otherwise a call of its ``step``."""
        params = [p for group in opt.param_groups for p in group["params"] if p._grad is not None]
        names = ", ".join(self._name(p) for p in params)
        statements = _optimizer_source(self, opt, original)
        kind = "kernels" if statements is not None else "a call of step()"
        if statements is None:
            statements = [f"{self.glob(original, 'optimizer_step')}({self.glob(opt, 'opt')})"]
        self.emit(f"optimizer {type(opt).__name__ + '.step':<22} updates {names} in place "
                  f"({kind}; hyperparameters and state read live)", statements)

    def zero_grad(self, owner: Any, original: Callable, set_to_none: bool) -> None:
        statements = None
        if set_to_none and hasattr(owner, "param_groups"):
            statements = _zero_grad_source(self, owner, original)
        if statements is None:
            statements = [f"{self.glob(original, 'zero_grad')}({self.glob(owner, 'owner')}, "
                          f"{set_to_none})"]
        self.emit(f"grad      {type(owner).__name__ + '.zero_grad':<22} "
                  f"set_to_none={set_to_none}", statements)

    def scheduler_step(self, scheduler: Any, original: Callable) -> None:
        self.emit(f"schedule  {type(scheduler).__name__ + '.step':<22} (sets param_groups' lr)",
                  [f"{self.glob(original, 'scheduler_step')}({self.glob(scheduler, 'scheduler')})"])

    def load_grad(self, t: Tensor, grad: Tensor) -> None:
        slot = self.new_slot(grad._data, f"{self._name(t)}.grad")
        name, tensor = self.names[slot], self.tensor_name(t)
        self.emit(f"grad      read                   {name}",
                  [f"{name} = {tensor}._grad", f"if {name} is None: grad_disappeared()",
                   f"{name} = {name}._data"])

    def no_grad_guard(self, t: Tensor) -> None:
        self.emit("guard     .grad is None            (as at capture)",
                  [f"if {self.tensor_name(t)}._grad is not None: grad_appeared()"])

    def set_grad(self, t: Tensor, value: Tensor | None) -> None:
        slot = None if value is None else self.slot_of(value)
        tensor = self.tensor_name(t)
        if slot is None:
            statement = f"{tensor}._grad = None"
        else:
            # A tensor made outside the recorded kernels (zeros_like(w)) is fresh at every eager
            # call: the replay assigns a copy, which accumulation may then change in place.
            fresh = ".copy()" if self.is_external(slot) else ""
            statement = f"{tensor}._grad = make({self.names[slot]}{fresh})"
        self.emit(f"grad      assign                 {self._name(t)}.grad = "
                  f"{'None' if slot is None else self.names[slot]}", [statement])

    def is_external(self, slot: int) -> bool:
        return any(s == slot for s, *_ in self.capture.loads)

    def write(self, t: Tensor, value: Any, index: Any) -> None:
        if not _plain_index(index):
            self.graph_break("an in-place write at an index made of arrays")
            return
        if isinstance(value, np.ndarray):
            slot = self.slots.get(id(value))
            if slot is None:
                self.graph_break("an in-place write of values the capture did not see computed")
                return
        else:
            slot = self.constant(value)
        target = self.slot_of(t)
        if self.is_external(target) and self.names[target].startswith("const"):
            self.graph_break("an in-place write into a tensor made outside the recorded kernels "
                             "(a constant made inside the function, or a buffer kept outside it)")
            return
        bump = None  # whose version the write bumps at replay: a parameter's, an argument's
        for s, external, *_ in self.capture.loads:
            if external._version_counter is t._version_counter:
                bump = f"{self.glob(external._version_counter, 'version')}[0] += 1"
        flat = self.values[0]
        for i, arg in enumerate(flat):
            if arg._version_counter is t._version_counter:
                bump = f"flat[{i}]._version_counter[0] += 1"
        statements = [f"{self.names[target]}[{self.glob(index, 'index')}] = {self.names[slot]}"]
        if bump is not None:
            statements.append(bump)
        self.emit(f"write     in place               {self.names[target]}[{_show_index(index)}] "
                  f"= {self.names[slot]}", statements)


def _holds_array(value: Any) -> bool:
    """True when ``value`` (an op's parameters) holds a NumPy array: it may have been computed
    from the data (targets, indices, masks), and the node would keep the capture's values."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_array(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_array(v) for v in value.values())
    return False


def _plain_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is Ellipsis or i is None or isinstance(i, (int, slice, np.integer))
               for i in items)


def _show_index(index: Any) -> str:
    return "..." if index is Ellipsis else str(index)


# ---- the hot ops inlined -------------------------------------------------------------------------
# A replay calls each op's forward and rule as written (correct for every op). For the ops of a
# typical training step (a linear model's or a small network's) it writes their NumPy calls into
# the replay instead, exactly the calls the op makes for the shapes the capture saw (so the bits
# are eager's; the tests hold every op and optimizer to that), without the layers of Python
# around them: at these sizes those layers cost more than the arithmetic.
def _engine_op(node: Function, name: str) -> bool:
    """True when ``node`` is the engine's op ``name`` (not a user's Function of that name)."""
    cls = type(node)
    return cls.__name__ == name and cls.__module__.startswith("tinygrad_lr.ops")


def _engine_elementwise(node: Function) -> bool:
    """True for the engine's one-input ops made from a forward function and a derivative
    expression (exp, tanh, sigmoid, relu, ...: ``ops.rules.Elementwise``)."""
    cls = type(node)
    return cls.__module__.startswith("tinygrad_lr.ops") and any(
        base.__name__ == "Elementwise" and base.__module__.startswith("tinygrad_lr.ops")
        for base in cls.__mro__)


def _small(*arrays: Any) -> bool:
    """True when the kernels take their plain path for these arrays (no pool, no threads)."""
    return all(type(a) is np.ndarray and a.ndim and a.nbytes < POOL_MIN_BYTES for a in arrays)


_BINARY_OPERATORS = {"Add": "+", "Sub": "-", "Mul": "*"}


def _inline_forward(rec: _Recorder, node: Function, arrays: list, ins: list[str], out: str
                    ) -> list[str] | None:
    """The statements computing ``out`` as ``node.forward`` does on arrays like ``arrays``, or
    None (the forward is called)."""
    kind = type(node).__name__
    if kind in _BINARY_OPERATORS and _engine_op(node, kind) and _small(arrays[0]) \
            and type(arrays[1]) is np.ndarray:  # kernels.add/subtract/multiply: x op y
        return [f"{out} = {ins[0]} {_BINARY_OPERATORS[kind]} {ins[1]}"]
    if _engine_op(node, "MatMul") and _dot_matmul(*arrays):
        return [f"{out} = {ins[0]}.dot({ins[1]})"]
    if _engine_elementwise(node) and type(arrays[0]) is np.ndarray:
        # its function on the input; the node keeps the output where the derivative reads it
        function = type(node).function
        hint = function.__name__ if function.__name__.isidentifier() \
            else f"{type(node).__name__}_function"
        statements = [f"{out} = {rec.glob(function, hint)}({ins[0]})"]
        if node.saves_output:
            statements.append(f"{rec.glob(node, f'{type(node).__name__}_node')}.out = {out}")
        return statements
    if _engine_op(node, "Linear") and arrays[0].ndim == 2 and arrays[1].ndim == 2 \
            and (len(arrays) == 2 or arrays[2].ndim <= 1):  # x @ w.T, the bias added in place
        statements = [f"{out} = matmul({ins[0]}, {ins[1]}.T)"]
        if len(arrays) == 3:
            statements.append(f"add({out}, {ins[2]}, out={out})")
        return statements
    if _engine_op(node, "BinaryCrossEntropyWithLogits") and _fused_bce(node, arrays):
        x, y = ins
        e, mask = f"{out}_e", f"{out}_mask"
        total = (f"add_reduce(log1p({e}), axis=None) + vdot({x}, subtract({mask}, {y}))")
        if node.reduction == "mean":
            total = f"({total}) / {arrays[0].size}"
        # kernels.bce_with_logits_sum (e = e^-|x| in one buffer, the mask x >= 0); the node
        # keeps e and the mask for its rule, as its forward does
        node_name = rec.glob(node, f"{type(node).__name__}_node")
        return [f"{e} = absolute({x})", f"negative({e}, out={e})", f"exp({e}, out={e})",
                f"{mask} = {x} >= {_number(rec, 0, arrays[0].dtype)}", f"{out} = {total}",
                f"{node_name}.e, {node_name}.nonnegative = {e}, {mask}"]
    return None


def _inline_scalar_forward(node: Function, ins: list[str], out: str) -> list[str] | None:
    """The statement computing ``out`` as ``node.forward`` does on two NumPy scalars (0-d
    floats reach the engine's add, subtract and multiply as scalars, which the kernels combine
    with the operator), or None."""
    kind = type(node).__name__
    if kind in _BINARY_OPERATORS and _engine_op(node, kind) and len(ins) == 2:
        return [f"{out} = {ins[0]} {_BINARY_OPERATORS[kind]} {ins[1]}"]
    return None


def _dot_matmul(x: Any, y: Any) -> bool:
    """True when ``products.matmul`` computes ``x @ y`` as ``x.dot(y)`` for operands of these
    shapes and dtypes: one or two dimensions each, and not its pooled product of a long matrix
    and a vector (a matrix of many rows, whatever its size in bytes, times a vector)."""
    if not (type(x) is np.ndarray and type(y) is np.ndarray and 0 < x.ndim <= 2
            and 0 < y.ndim <= 2):
        return False
    return not (x.nbytes >= POOL_MIN_BYTES and x.ndim == 2 and y.ndim == 1
                and x.dtype == y.dtype and x.shape[0] * x.itemsize >= POOL_MIN_BYTES)


def _fused_bce(node: Function, arrays: list) -> bool:
    """True when the logistic loss takes its fused path on the kernels' plain path."""
    x, y = arrays
    return (node.pos_weight is None and node.weight is None and node.reduction != "none"
            and x.shape == y.shape and _small(x) and type(y) is np.ndarray)


def _makes_new_array(expression: str, after: list[str]) -> bool:
    """True when an inlined rule's expression (then its sum back to shape) makes a new array:
    a product or a negation, or a reduction not reshaped into a view after it."""
    if any(".reshape(" in line for line in after):
        return False
    if any("add_reduce(" in line for line in after):
        return True
    return any(op in expression for op in (".dot(", " * ", " @ ")) or expression.startswith("-")


def _owns_its_array(value: Any) -> bool:
    """True for an array that owns its C-contiguous, writeable memory (what ``np.array`` makes)."""
    return type(value) is np.ndarray and value.flags.owndata and value.flags.c_contiguous \
        and value.flags.writeable


def _number(rec: _Recorder, value: int, dtype: np.dtype) -> str:
    """The replay's name for a 0-d array holding the small integer ``value`` in ``dtype``: an
    operand NumPy takes faster than the Python number, with the same result (``value`` is exact
    in ``dtype``, which a Python number operand is cast to)."""
    return rec.glob(np.array(value, dtype=dtype), f"{_dtype_name(dtype)}_{value}")


_DTYPE_NAMES: dict[np.dtype, str] = {}


def _dtype_name(dtype: np.dtype) -> str:
    """``str(dtype)`` (``float64``), remembered: NumPy builds it in Python at every call, and a
    capture names its dtypes several times."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _inline_rule(rec: _Recorder, node: Function, g: str, ins: list[str], arrays: tuple
                 ) -> tuple[list[str], dict[int, str]] | None:
    """Statements, and an expression per input gradient, that compute what ``node.backward``
    returns on arrays like ``arrays`` (inputs that need no gradient are left out); or None."""
    kind = type(node).__name__
    needs = node.needs
    if kind in ("Add", "Sub") and _engine_op(node, kind):
        second = g if kind == "Add" else f"-{g}"
        return [], {i: expr for i, expr in ((0, g), (1, second)) if needs[i]}
    if kind == "Mul" and _engine_op(node, kind):
        return [], {i: f"{g} * {ins[1 - i]}" for i in (0, 1) if needs[i]}
    if _engine_op(node, "MatMul") and arrays[0].ndim == 2 and arrays[1].ndim == 1 \
            and arrays[0].shape[0] // ROW_BLOCK < 2:  # matrix @ vector; vector_matrix's one dot
        x, y = ins
        gradients = ((0, f"{g}.reshape((-1, 1)) * {y}"), (1, f"{g}.dot({x})"))
        return [], {i: expr for i, expr in gradients if needs[i]}
    if _engine_op(node, "MatMul") and arrays[0].ndim == 1 and arrays[1].ndim == 1:  # x . y
        return [], {i: f"{g} * {ins[1 - i]}" for i in (0, 1) if needs[i]}
    if _engine_elementwise(node) and not getattr(node, "saves_output", False) \
            or _engine_elementwise(node) and node.out is not None:  # derivative(g, x, y, xp)
        output = f"{rec.glob(node, f'{type(node).__name__}_node')}.out" if node.saves_output \
            else "None"
        derivative = rec.glob(type(node).derivative, f"{type(node).__name__}_derivative")
        return [], {0: f"{derivative}({g}, {ins[0]}, {output}, "
                       f"{rec.glob(Function.array_ops, 'xp')})"}
    if _engine_op(node, "Linear") and arrays[0].ndim == 2:  # g @ w, g.T @ x and g
        gradients = ((0, f"{g} @ {ins[1]}"), (1, f"{g}.T @ {ins[0]}"), (2, g))
        return [], {i: expr for i, expr in gradients[:len(ins)] if needs[i]}
    if _engine_op(node, "BinaryCrossEntropyWithLogits") and node.fused and not needs[1] \
            and node.e is not None and _small(node.e) and arrays[0].size:
        x, y = ins
        node_name = rec.glob(node, f"{type(node).__name__}_node")
        e, mask = f"{node_name}.e", f"{node_name}.nonnegative"
        scale = f"{g} / {node.count}" if node.reduction == "mean" else g
        limit = -elementwise._EXP_OVERFLOW.get(arrays[0].dtype, 709.78)
        # kernels.bce_with_logits_grad: sigmoid from e and the mask, minus y, times g
        return [f"s = maximum({e}, {mask})",
                f"divide(s, add({e}, {_number(rec, 1, node.e.dtype)}), out=s)",
                f"if minimum_reduce({x}, axis=None) < {limit!r}: s[{x} < {limit!r}] = 0",
                f"subtract(s, {y}, out=s)", f"multiply(s, {scale}, out=s)"], {0: "s"}
    return None


# ---- the statements of the replay ----------------------------------------------------------------
def _sum_to_source(grad: Any, shape: tuple[int, ...]) -> list[str]:
    """The statements of ``sum_to(grad, shape)`` for this gradient's shape (``{0}`` stands for the
    gradient's variable): the same NumPy reduction, its axes found at capture."""
    if type(grad) is not np.ndarray:
        return [f"{{0}} = sum_to({{0}}, {shape!r})"]
    if not shape:
        return ["{0} = add_reduce({0}, axis=None)"]
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and grad.shape[lead + i] != 1)
    statements = []
    if axes:
        statements.append(f"{{0}} = add_reduce({{0}}, axis={axes!r}, keepdims=True)")
    if lead:
        statements.append(f"{{0}} = {{0}}.reshape({shape!r})")
    return statements


def _pure_kernel(function: Callable, spec: tuple, kwargs: dict) -> Callable[..., np.ndarray]:
    """``function`` (a Tensor method without a graph node) on the replay's arrays: Tensors made
    around them where the capture passed tensors, the capture's other arguments as they were."""
    def run(*arrays: np.ndarray) -> np.ndarray:
        given = iter(arrays)
        args = [_make(next(given)) if is_tensor else value for is_tensor, value in spec]
        return function(*args, **kwargs)._data
    return run


def _param_guards(rec: _Recorder, opt: Any) -> tuple[str, list[tuple[dict, str, list]]]:
    """The guard that ``opt`` still has the parameter groups it had at capture (the same lists
    of the same tensors, each with a gradient where it had one), and each group with its
    global name and its parameters (tensor, global name) in order."""
    groups = rec.glob(opt.param_groups, "param_groups")
    owner = rec.glob(opt, "opt")
    guards = [f"{owner}.param_groups is {groups}", f"len({groups}) == {len(opt.param_groups)}"]
    found = []
    for g, group in enumerate(opt.param_groups):
        group_name = rec.glob(group, f"group{g}")
        params = rec.glob(group["params"], f"params{g}")
        guards += [f"{groups}[{g}] is {group_name}", f"{group_name}['params'] is {params}",
                   f"len({params}) == {len(group['params'])}"]
        members = []
        for i, p in enumerate(group["params"]):
            name = rec.tensor_name(p)
            guards.append(f"{params}[{i}] is {name}")
            guards.append(f"{name}._grad is {'not ' if p._grad is not None else ''}None")
            members.append((p, name))
        found.append((group, group_name, members))
    return " and ".join(guards), found


def _zero_grad_source(rec: _Recorder, opt: Any, original: Callable) -> list[str]:
    """``opt.zero_grad()`` (to None) as assignments, under the guard that the parameters are
    the captured ones (else the optimizer's own zero_grad runs)."""
    guard, groups = _param_guards(rec, opt)
    targets = [name for _, _, members in groups for _, name in members]
    fallback = f"{rec.glob(original, 'zero_grad')}({rec.glob(opt, 'opt')}, True)"
    statements = [f"if {_structure_only(guard)}:"]
    statements += [f"    {name}._grad = None" for name in targets] or ["    pass"]
    return statements + ["else:", f"    {fallback}"]


def _structure_only(guard: str) -> str:
    """A parameter guard without its gradient-presence terms (zero_grad runs whatever they are)."""
    return " and ".join(term for term in guard.split(" and ") if "._grad is " not in term)


def _update_call(rec: _Recorder, kernel: Callable, param: Tensor, arrays: list[str],
                 scalars: list[str]) -> str:
    """The call of a fused update kernel on one parameter: direct, or through ``threads.run``
    where the parameter is large enough for it to split the work (as the optimizer does)."""
    name = rec.glob(kernel, kernel.__name__.lstrip("_"))
    if param._data.size >= 2 * MIN_SLICE:
        return f"threads_run({name}, [{', '.join(arrays)}], {', '.join(scalars)})"
    return f"{name}({', '.join(arrays + scalars)})"


def _optimizer_source(rec: _Recorder, opt: Any, original: Callable) -> list[str] | None:
    """``opt.step()`` as the statements of its fused update kernel, one call per parameter with
    a gradient, or None where the optimizer hands none (``fused_update()``; then its step is
    called). The kernel's arrays are read live (the parameter's, its gradient's, the state
    buffers'), and its scalars come from the optimizer's own ``advance`` at every replay (which
    counts the step and reads the hyperparameters as ``step()`` does). A guard sends the replay
    to the optimizer's own step when the parameters, their gradients, the state or the buffers
    the update takes differ from the capture's."""
    fused = getattr(opt, "fused_update", None)
    update = fused() if callable(fused) else None
    if update is None:
        return None
    guard, groups = _param_guards(rec, opt)
    state = rec.glob(opt.state, "state")
    buffers = rec.glob(update.buffers, "buffers")
    advance = rec.glob(update.advance, "advance")
    checks = [guard, f"{rec.glob(opt, 'opt')}.state is {state}"]
    updates: list[str] = []
    scalars: dict[int, list[str]] = {}  # the scalars' local variables, by the arrays' count
    for group, group_name, members in groups:
        keys = update.buffers(group)
        checks.append(f"{buffers}({group_name}) == {keys!r}")
        for p, tensor in members:
            if p._grad is None:
                continue
            param_state = rec.glob(opt.state[p], "param_state")
            checks += [f"{state}[{tensor}] is {param_state}",
                       f"len({param_state}) == {len(opt.state[p])}"]
            arrays = [f"{tensor}._data", f"{tensor}._grad._data"]
            arrays += ["None" if key is None else f"{param_state}[{key!r}]._data" for key in keys]
            arrays += [rec.glob(a, "scratch") for a in update.scratch(p._data)]
            if len(arrays) not in scalars:
                scalars[len(arrays)] = _scalar_locals(rec, update.kernel, len(arrays))
            names = scalars[len(arrays)]
            updates += [f"{', '.join(names) or 'scalars'} = {advance}({tensor}, {group_name}, "
                        f"{param_state})",
                        _update_call(rec, update.kernel, p, arrays, names or ["*scalars"]),
                        f"{tensor}._version_counter[0] += 1"]
    fallback = f"{rec.glob(original, 'optimizer_step')}({rec.glob(opt, 'opt')})"
    return [f"if {' and '.join(checks)}:"] + [f"    {u}" for u in updates or ["pass"]] \
        + ["else:", f"    {fallback}"]


def _scalar_locals(rec: _Recorder, kernel: Callable, arrays: int) -> list[str]:
    """Local variables of the replay for the kernel's scalar parameters (those after its first
    ``arrays``), named as the kernel names them: the kernel is then called with them one by
    one, which Python does faster than unpacking a tuple into the call. Empty (the scalars go
    as ``*scalars``) where the kernel's signature does not list them one by one."""
    try:
        parameters = list(inspect.signature(kernel).parameters.values())
    except (TypeError, ValueError):
        return []
    if len(parameters) <= arrays or any(p.kind is not p.POSITIONAL_OR_KEYWORD
                                        for p in parameters):
        return []
    return [rec.local(p.name) for p in parameters[arrays:]]


def _drop_unread_gradients(capture: Capture, result: str) -> None:
    """Drop the statements that name a ``.grad``'s array after an accumulation where nothing
    after them reads that name (the usual case: the optimizer reads ``.grad`` itself)."""
    reads = [(statements, statement) for statements in capture.sources for statement in statements
             if statement.endswith("._grad._data")]
    if not reads:
        return
    text = "\n".join(line for statements in capture.sources for line in statements) + result
    for statements, statement in reads:
        name = statement.partition(" = ")[0]
        if not name.isidentifier():
            continue
        # Its own assignment is one occurrence; a longer name may hold it as a substring, so
        # more are counted again as whole words (a regular expression, slower than count).
        count = text.count(name)
        if count > 1:
            count = len(re.findall(rf"\b{name}\b", text))
        if count == 1:
            statements.remove(statement)


def _generate(rec: _Recorder, output: Any) -> None:
    """Write the capture's replay function (loads and guards, the kernels' statements, the
    arrays the result needs) and compile it once."""
    capture, names = rec.capture, rec.names
    body = [f"{names[slot]} = flat[{i}]._data" for slot, i in capture.arg_loads]
    guards = []
    for slot, t, shape, dtype, requires_grad in capture.loads:
        tensor = rec.tensor_name(t)
        body.append(f"{names[slot]} = {tensor}._data")
        guards.append(f"{names[slot]}.shape != {shape!r} or {names[slot]}.dtype != "
                      f"{rec.glob(dtype, 'dtype')} or {tensor}._requires_grad is not "
                      f"{requires_grad}")
    if guards:
        body += [f"if {' or '.join(guards)}:", "    return None"]
    body += [f"{names[slot]} = {rec.glob(value, names[slot] + '_value')}"
             for slot, value in capture.constants]
    if output is not None and output[0] == "slot":  # one tensor: made here, returned as is
        result = f"return make({names[output[1]]}, {rec.glob(output[2], 'result_grad_fn')})"
        capture.direct = True
    else:
        kept = sorted(_needed_slots(output, set())) if output is not None else []
        result = "return {" + ", ".join(f"{slot}: {names[slot]}" for slot in kept) + "}"
    _drop_unread_gradients(capture, result)
    for line, statements in zip(capture.lines, capture.sources):
        body.append(f"# {line}")
        body += statements
    body.append(result)
    capture.source = "def replay(flat):\n" + "\n".join(f"    {line}" for line in body) + "\n"
    exec(_code(capture.source, f"<tl.compile {capture.signature}>"), capture.namespace)
    capture.run = capture.namespace["replay"]


@functools.lru_cache(maxsize=256)
def _code(source: str, filename: str) -> Any:
    """``source`` compiled to a code object, once: an estimator's solver captures the same
    objective (the same generated source) at every fit, and Python's compiler would otherwise
    take longer than the replays of a small fit. Each capture still runs the code in a namespace
    of its own."""
    return builtins.compile(source, filename, "exec")


# ---- the hooks swapped in while capturing --------------------------------------------------------
def _recording(rec: "_Recorder | None") -> bool:
    return rec is not None and rec.mine()


def _hooks() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every hook; owners from modules already loaded."""
    original_apply = Function.__dict__["apply"].__func__
    original_execute = engine._execute
    original_write = inplace._write
    original_check_not_leaf = inplace._check_not_leaf
    grad_property = Tensor.__dict__["grad"]
    data_property = Tensor.__dict__["data"]

    def apply(cls: type, *tensors: Tensor, **params: Any) -> Tensor:
        result = original_apply(cls, *tensors, **params)
        rec = _active
        if _recording(rec):
            rec.forward(cls, params, tensors, result)
        return result

    def execute(roots: Any, root_grads: Any, retain_graph: bool, graph: bool, deliver: Any,
                wanted: Any) -> None:
        rec = _active
        if not _recording(rec):
            return original_execute(roots, root_grads, retain_graph, graph, deliver, wanted)
        reason = None
        if graph or wanted is not None:
            reason = "autograd.grad, or backward with create_graph=True or inputs="
        else:
            reason = rec.check_backward(list(roots))
        if reason is not None:
            rec.graph_break(reason)
            return original_execute(roots, root_grads, retain_graph, graph, deliver, wanted)
        rec.backward(list(roots), list(root_grads), retain_graph)

    def write(t: Tensor, name: str, value: Any, index: Any = Ellipsis) -> None:
        original_write(t, name, value, index)
        rec = _active
        if _recording(rec):
            rec.write(t, value, index)

    def check_not_leaf(name: str, t: Tensor) -> None:
        rec = _active
        if _recording(rec):
            rec.graph_break(f"{name} on a tensor in the graph (an in-place op autograd records)")
        original_check_not_leaf(name, t)

    def get_grad(self: Tensor) -> Tensor | None:
        grad = self._grad
        rec = _active
        if _recording(rec):
            if grad is None:
                rec.no_grad_guard(self)
            else:
                rec.load_grad(self, grad)
        return grad

    def set_grad(self: Tensor, value: Tensor | None) -> None:
        grad_property.fset(self, value)
        rec = _active
        if _recording(rec):
            rec.set_grad(self, value)

    def set_data(self: Tensor, value: Tensor) -> None:
        _break_here("assigning a tensor's .data")
        data_property.fset(self, value)

    original_make = Tensor.__dict__["_make"].__func__
    original_init = Tensor.__init__

    def make(cls: type, data: np.ndarray, grad_fn: Any = None) -> Tensor:
        t = original_make(cls, data, grad_fn)
        rec = _active
        if _recording(rec):
            rec.made(data, sys._getframe(1).f_code.co_name)
        return t

    def init(self: Tensor, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        rec = _active
        if _recording(rec):
            rec.made(self._data, "Tensor")

    hooks: list[tuple[Any, str, Any]] = [
        (Function, "apply", classmethod(apply)),
        (Tensor, "_make", classmethod(make)),
        (Tensor, "__init__", init),
        (engine, "_execute", execute),
        (inplace, "_write", write),
        (inplace, "_check_not_leaf", check_not_leaf),
        (Tensor, "grad", property(get_grad, set_grad, doc=grad_property.__doc__)),
        (Tensor, "data", property(data_property.fget, set_data, doc=data_property.__doc__)),
        (factories, "numpy_generator",
         _breaking(factories.numpy_generator, "random numbers drawn")),
        (factories, "default_generator",
         _breaking(factories.default_generator, "random numbers drawn")),
    ]
    for name in ("item", "tolist", "numpy", "__array__", "__bool__", "__float__", "__int__",
                 "__index__", "__format__", "__repr__"):
        hooks.append((Tensor, name, _breaking(getattr(Tensor, name),
                                              f"Tensor.{name} reads a tensor's value on the host")))
    for name in _PURE_METHODS:
        hooks.append((Tensor, name, _pure(getattr(Tensor, name))))
    hooks += _later_layer_hooks()
    return hooks


# Tensor methods whose results have no graph node (bool, integer or index results): recorded as
# calls of the method itself, so a step that computes an accuracy or casts labels still replays.
_PURE_METHODS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "eq", "ne", "lt",
                 "le", "gt", "ge", "__invert__", "argmax", "argmin", "_cast")


def _pure(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        rec = _active
        if _recording(rec) and isinstance(result, Tensor) and id(result._data) not in rec.slots:
            rec.pure_call(function, args, kwargs, result)
        return result
    return wrapper


def _later_layer_hooks() -> list[tuple[Any, str, Any]]:
    """Hooks into the optimizers, schedulers, modules and clipping, when those are loaded (this
    module comes before them in the layering: it finds them rather than importing them)."""
    hooks = []
    optimizer_module = sys.modules.get("tinygrad_lr.optim.optimizer")
    if optimizer_module is not None:
        optimizer = optimizer_module.Optimizer
        original_step, original_zero = optimizer.step, optimizer.zero_grad

        def step(self: Any, closure: Any = None) -> Any:
            rec = _active
            if closure is not None:
                _break_at_closure(self)
            if not _recording(rec) or closure is not None:
                return original_step(self, closure)
            loss = _quietly(rec, original_step, self)
            rec.optimizer_step(self, original_step)  # after the step: its state exists now
            return loss

        def zero_grad(self: Any, set_to_none: bool = True) -> None:
            rec = _active
            if not _recording(rec):
                return original_zero(self, set_to_none)
            rec.zero_grad(self, original_zero, set_to_none)
            return _quietly(rec, original_zero, self, set_to_none)
        hooks += [(optimizer, "step", step), (optimizer, "zero_grad", zero_grad)]
        # An optimizer with a step of its own (L-BFGS) is eager when given a closure.
        hooks += [(cls, "step", _closure_breaking(vars(cls)["step"]))
                  for cls in _subclasses(optimizer) if "step" in vars(cls)]
    module_module = sys.modules.get("tinygrad_lr.nn.module")
    if module_module is not None:
        module_class = module_module.Module
        original_module_zero = module_class.zero_grad

        def module_zero_grad(self: Any, set_to_none: bool = True) -> None:
            rec = _active
            if not _recording(rec):
                return original_module_zero(self, set_to_none)
            rec.zero_grad(self, original_module_zero, set_to_none)
            return _quietly(rec, original_module_zero, self, set_to_none)
        hooks.append((module_class, "zero_grad", module_zero_grad))
        original_call = module_class.__call__

        def module_call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.__dict__.get("_hooks"):
                _break_here(f"{type(self).__name__} has forward hooks, Python a replay would skip")
            return original_call(self, *args, **kwargs)
        hooks.append((module_class, "__call__", module_call))
    scheduler_module = sys.modules.get("tinygrad_lr.optim.lr_scheduler")
    if scheduler_module is not None:
        base = scheduler_module.LRScheduler
        original_sched_step = base.step

        def scheduler_step(self: Any) -> None:
            rec = _active
            if not _recording(rec):
                return original_sched_step(self)
            rec.scheduler_step(self, original_sched_step)
            return _quietly(rec, original_sched_step, self)
        hooks.append((base, "step", scheduler_step))
        for name in dir(scheduler_module):  # a step of its own (ReduceLROnPlateau's): eager
            cls = getattr(scheduler_module, name)
            if isinstance(cls, type) and issubclass(cls, base) and cls is not base \
                    and "step" in vars(cls):
                hooks.append((cls, "step", _breaking(
                    vars(cls)["step"], f"{name}.step decides from the values it is given")))
    clip_module = sys.modules.get("tinygrad_lr.nn.utils")
    if clip_module is not None and hasattr(clip_module, "_write_grad"):
        hooks.append((clip_module, "_write_grad", _breaking(
            clip_module._write_grad, "gradient clipping rewrites .grad outside the recorded "
            "kernels")))
    return hooks


def _subclasses(cls: type) -> list[type]:
    """Every class derived from ``cls``, at any depth."""
    found = []
    for sub in cls.__subclasses__():
        found += [sub] + _subclasses(sub)
    return found


def _break_at_closure(opt: Any) -> None:
    _break_here(f"{type(opt).__name__}.step evaluates a closure (its iterations depend on the "
                "values it computes)")


def _closure_breaking(step: Callable) -> Callable:
    """An optimizer's own ``step`` that is a graph break when given a closure."""
    @functools.wraps(step)
    def wrapper(self: Any, closure: Any = None, *args: Any, **kwargs: Any) -> Any:
        if closure is not None:
            _break_at_closure(self)
        return step(self, closure, *args, **kwargs)
    return wrapper


def _quietly(rec: _Recorder, method: Callable, *args: Any) -> Any:
    """Run a call recorded as one step without recording what it does inside."""
    rec.quiet += 1
    try:
        return method(*args)
    finally:
        rec.quiet -= 1


def _break_here(reason: str) -> None:
    rec = _active
    if rec is not None and threading.get_ident() == rec.thread:
        rec.graph_break(reason)


def _breaking(function: Callable, reason: str) -> Callable:
    """``function`` marking a graph break when called in the capturing thread."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rec = _active
        if rec is not None and not rec.quiet:
            _break_here(reason)
        return function(*args, **kwargs)
    return wrapper


# The later layers' modules whose classes the hooks wrap (``_later_layer_hooks``).
_LATER_LAYERS = ("tinygrad_lr.optim.optimizer", "tinygrad_lr.nn.module",
                 "tinygrad_lr.optim.lr_scheduler", "tinygrad_lr.nn.utils")
# The hooks of the latest capture, kept for the next: (what they were built for, the hooks, the
# attribute each replaces, None where the owner had none of its own). Building them (some forty
# wrappers) costs more than a small capture's recording; they read the recorder from ``_active``,
# so the same hooks serve every capture.
_hook_cache: tuple[tuple, list[tuple[Any, str, Any]], list[Any]] | None = None


def _hooked_layers() -> tuple:
    """What decides which hooks there are besides the reference layer's: the later layers'
    modules loaded, and the optimizer classes (one defined since may have a step of its own)."""
    modules = tuple(sys.modules.get(name) for name in _LATER_LAYERS)
    if modules[0] is None:
        return modules
    return modules + tuple(_subclasses(modules[0].Optimizer))


def _install_hooks() -> list[tuple[Any, str, Any]]:
    """Install the hooks (built again only when the later layers loaded or the optimizer classes
    changed, or when an attribute they replace is no longer the one they wrap: a method patched
    since); returns what they replaced, for ``_restore``."""
    global _hook_cache
    layers = _hooked_layers()
    cache = _hook_cache
    if cache is not None and cache[0] == layers:
        current = [vars(owner).get(name) for owner, name, _ in cache[1]]
        if current != cache[2]:
            cache = None
    else:
        cache = None
    if cache is None:
        hooks = _hooks()
        current = [vars(owner).get(name) for owner, name, _ in hooks]
        cache = _hook_cache = (layers, hooks, current)
    saved = []
    for (owner, name, replacement), value in zip(cache[1], current):
        saved.append((owner, name, value))
        setattr(owner, name, replacement)
    return saved


def _restore(saved: list[tuple[Any, str, Any]]) -> None:
    for owner, name, value in reversed(saved):
        if value is None:
            delattr(owner, name)
        else:
            setattr(owner, name, value)


# ---- signatures ----------------------------------------------------------------------------------
def _flatten(value: Any, flat: list, key: list) -> None:
    """Append ``value``'s tensors and arrays to ``flat`` and its guard to ``key``."""
    if isinstance(value, Tensor):
        data = value._data
        alias = -1  # the first argument sharing this array (aliasing changes what a replay does)
        for i, t in enumerate(flat):
            if t._data is data:
                alias = i
                break
        if value.grad_fn is None and value._requires_grad:
            key.append(("param", id(value), data.shape, data.dtype, alias))
        else:
            key.append((data.shape, data.dtype, value._requires_grad, value.grad_fn is None,
                        alias))
        flat.append(value)
    elif isinstance(value, (tuple, list)):
        key.append((type(value), len(value)))
        for item in value:
            _flatten(item, flat, key)
    elif isinstance(value, dict):
        key.append((dict, tuple(value)))
        for item in value.values():
            _flatten(item, flat, key)
    elif value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        key.append((type(value), value))
    elif isinstance(value, np.ndarray):
        raise TypeError("compile: pass NumPy arrays as tensors (tinygrad_lr.from_numpy shares "
                        "their memory); a replay would not see an array's new values")
    else:
        key.append(("object", id(value)))


def _tensors_key(args: tuple, key: list) -> tuple | None:
    """The signature of arguments that are all Tensors (the common call), as ``_flatten`` would
    make it, quicker; None when some argument is something else."""
    first: dict[int, int] = {}
    key.append((tuple, len(args)))
    for i, value in enumerate(args):
        if type(value) is not Tensor:
            return None
        data = value._data
        alias = first.setdefault(id(data), i)
        if alias == i:
            alias = -1
        if value.grad_fn is None and value._requires_grad:
            key.append(("param", id(value), data.shape, data.dtype, alias))
        else:
            key.append((data.shape, data.dtype, value._requires_grad, value.grad_fn is None,
                        alias))
    return tuple(key)


def _signature_guard(args: tuple, key: tuple) -> Callable[[tuple], bool]:
    """A function telling whether tensor arguments have the signature ``key`` (``_tensors_key``
    of ``args``) by checking what the key records on the arguments themselves, without building
    a key (torch.compile's guard functions): grad mode, the default dtype, each argument's type,
    shape, dtype, ``requires_grad`` and graph (or identity, for a parameter), and which
    arguments share an array."""
    namespace: dict[str, Any] = {"Tensor": Tensor, "_state": _state,
                                 "get_default_dtype": get_default_dtype, "ENABLED": key[0],
                                 "DEFAULT_DTYPE": key[1]}
    names = [f"a{i}" for i in range(len(args))]
    lines = ["def accepts(args):",
             f"    if len(args) != {len(args)} or _state.enabled is not ENABLED "
             "or get_default_dtype() != DEFAULT_DTYPE:",
             "        return False"]
    if args:
        lines.append(f"    {', '.join(names)}, = args")
        lines.append(f"    if {' or '.join(f'type({a}) is not Tensor' for a in names)}:")
        lines.append("        return False")
    checks = ["True"]
    for i, t in enumerate(args):
        data = t._data
        namespace[f"SHAPE{i}"], namespace[f"DTYPE{i}"] = data.shape, data.dtype
        checks += [f"a{i}._data.shape == SHAPE{i}", f"a{i}._data.dtype == DTYPE{i}"]
        if t.grad_fn is None and t._requires_grad:  # a parameter: this very tensor
            namespace[f"PARAM{i}"] = t
            checks += [f"a{i} is PARAM{i}", f"a{i}.grad_fn is None", f"a{i}._requires_grad"]
        else:
            checks += [f"a{i}._requires_grad is {t._requires_grad}",
                       f"(a{i}.grad_fn is None) is {t.grad_fn is None}"]
        for j in range(i):
            same = "is" if args[j]._data is data else "is not"
            checks.append(f"a{j}._data {same} a{i}._data")
    lines.append(f"    return {' and '.join(checks)}")
    exec(_code("\n".join(lines) + "\n", "<tl.compile signature guard>"), namespace)
    return namespace["accepts"]


def _output_spec(value: Any, rec: _Recorder, flat: list) -> Any:
    """How a replay rebuilds the function's result (tensors from slots or the same objects)."""
    if isinstance(value, Tensor):
        for i, t in enumerate(flat):
            if t is value:
                return ("arg", i)
        if any(t is value for _, t, *_ in rec.capture.loads):
            return ("same", value)
        slot = rec.slots.get(id(value._data))
        if value.grad_fn is not None and value.grad_fn.arity != 0:
            return _region_spec(value, slot, rec, flat)
        if slot is None:
            rec.graph_break("the function returns a tensor the capture did not see computed")
            return None
        # As eager, a result made by a recorded op requires grad, and its grad_fn is that op's
        # node, already freed by the backward: a second backward raises as eager's does.
        return ("slot", slot, value.grad_fn)
    if isinstance(value, (tuple, list)):
        return ("seq", type(value), [_output_spec(v, rec, flat) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _output_spec(v, rec, flat) for k, v in value.items()})
    return ("value", value)


def _region_spec(value: Tensor, slot: int | None, rec: _Recorder, flat: list) -> Any:
    """A returned tensor whose graph is still live (a module's forward, its backward to come):
    replayed as one node whose derivative rule runs the recorded nodes' rules (the engine's
    order), so ``loss.backward()`` outside the function reaches the parameters."""
    if rec.region is not None:
        rec.graph_break("the function returns more than one tensor with a live graph")
        return None
    reached = engine._reachable([value.grad_fn])
    outside = {id(t.grad_fn): i for i, t in enumerate(flat) if t.grad_fn is not None}
    inputs: list[Any] = []  # ("arg", index) or ("same", tensor): the region node's inputs
    where: dict[int, int] = {}

    def input_of(kind: str, key: Any, ident: int) -> int:
        if ident not in where:
            where[ident] = len(inputs)
            inputs.append((kind, key))
        return where[ident]
    steps = []
    for node in reversed(reached):
        if id(node) in outside:
            continue
        if id(node) not in rec.nodes or node.retained is not None:
            rec.graph_break("the returned tensor's graph reaches nodes recorded before the call "
                            "or retain_grad()")
            return None
        arrays, parents = node.edges()
        targets = []
        for a, parent in zip(arrays, parents):
            if parent is None:
                targets.append(None)
                continue
            shape, dtype = np.shape(a), np.asarray(a).dtype
            if isinstance(parent, Tensor):
                arg = next((i for i, t in enumerate(flat) if t is parent), None)
                if arg is not None:
                    targets.append((True, input_of("arg", arg, id(parent)), shape, dtype))
                elif any(t is parent for _, t, *_ in rec.capture.loads):
                    targets.append((True, input_of("same", parent, id(parent)), shape, dtype))
                else:
                    rec.graph_break("the returned tensor's graph reaches a tensor made inside "
                                    "the function that requires grad")
                    return None
            elif id(parent) in outside:
                targets.append((True, input_of("arg", outside[id(parent)], id(parent)), shape,
                                dtype))
            else:
                targets.append((False, id(parent), shape, dtype))
        steps.append((node, rec.nodes[id(node)], tuple(targets)))
    if slot is None:
        rec.graph_break("the function returns a tensor the capture did not see computed")
        return None
    rec.region = value.grad_fn
    plan = _RegionPlan(id(value.grad_fn), tuple(steps))
    rec.emit(f"region    {'CompiledRegion':<22} backward of {len(steps)} "
             f"recorded nodes to {len(inputs)} inputs, run by loss.backward() after the call", [])
    return ("region", slot, plan, tuple(inputs))


class _RegionPlan:
    """The recorded nodes of a region, newest first, each with its rule's input slots and where
    each input gradient goes: (to a region input?, its index or the node's id, shape, dtype)."""

    def __init__(self, root: int, steps: tuple) -> None:
        self.root = root
        self.steps = steps

    def backward(self, g: Any, env: list, count: int) -> tuple:
        """The engine's plain backward over the region (nodes newest first, each gradient summed
        back to its input's shape, cast to its dtype, summed in arrival order)."""
        xp = Function.array_ops
        pending: dict[int, Any] = {self.root: g}
        grads: list[Any] = [None] * count
        for node, ins, targets in self.steps:
            gn = pending.pop(id(node), None)
            if gn is None:
                continue
            in_grads = node.backward(gn, xp, *[env[i] for i in ins])
            if len(ins) == 1:
                in_grads = (in_grads,)
            for target, gi in zip(targets, in_grads):
                if gi is None or target is None:
                    continue
                to_input, key, shape, dtype = target
                if gi.shape != shape:
                    gi = sum_to(gi, shape)
                if gi.dtype != dtype:
                    gi = xp.cast(gi, dtype)
                if to_input:
                    grads[key] = gi if grads[key] is None else grads[key] + gi
                else:
                    pending[key] = pending[key] + gi if key in pending else gi
        return tuple(grads)


class CompiledRegion(Function):
    """The node of a replayed forward whose backward comes later: its rule replays the recorded
    nodes' rules on the arrays of its own replay (kept until its backward frees them)."""

    __slots__ = ("env", "plan", "slot")
    reads = None  # every input: an in-place change before backward raises, as in eager

    def __init__(self, env: list, plan: _RegionPlan, slot: int) -> None:
        self.env, self.plan, self.slot = env, plan, slot

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        return self.env[self.slot]

    def backward(self, g: Any, xp: Any, *inputs: Any) -> Any:
        if xp.graph:
            raise RuntimeError("compile: double backward (create_graph=True) through a compiled "
                               "forward is not supported; call the module uncompiled for it")
        grads = self.plan.backward(g, self.env, len(inputs))
        return grads if len(grads) != 1 else grads[0]

    def release(self) -> None:
        super().release()
        self.env = None


def _describe_signature(name: str, flat: list) -> str:
    shown = ", ".join(f"{tuple(t._data.shape)} {_dtype_name(t._data.dtype)}" for t in flat)
    return f"{name}({shown})"


# ---- the compiled function -----------------------------------------------------------------------
class CompiledFunction:
    """``fn`` with its kernels captured per signature and replayed (see the module docstring).

    ``captures`` maps each signature seen to its :class:`Capture` (or ``"eager"`` and the
    reason); :meth:`plan` prints the kernels of the latest capture.
    """

    def __init__(self, fn: Callable, fullgraph: bool = False, extra_key: Callable | None = None
                 ) -> None:
        self.fn = fn
        self.fullgraph = fullgraph
        self.extra_key = extra_key
        self.cache: dict[tuple, Any] = {}
        self.reasons: dict[tuple, str] = {}
        self.latest: Capture | None = None
        self.guarded: Capture | None = None  # the latest capture of tensor arguments
        self._warned_limit = False
        functools.update_wrapper(self, fn)
        _compiled.add(self)

    @property
    def captures(self) -> dict[tuple, Any]:
        """Each signature's capture, or the reason it runs eagerly."""
        return {k: (v if v is not _EAGER else f"eager: {self.reasons.get(k, '')}")
                for k, v in self.cache.items()}

    def plan(self) -> str:
        """The kernels of the latest capture, one a line."""
        if self.latest is None:
            return "no capture yet: call the function first"
        return str(self.latest)

    def replay_for(self, *args: Tensor) -> Callable[[], Any] | None:
        """The latest capture's replay on ``args`` as a function of no arguments, for a caller
        that calls with these very tensors again and again, changing only the values in their
        arrays, under the grad mode of the capture (a solver evaluating its objective): the
        signature is checked here, once, instead of at every call. The function returns the
        result, or None when a tensor the capture reads other than ``args`` no longer matches it
        (then call the compiled function). None when no capture takes ``args`` (none yet, a
        graph break) or the capture returns a live graph (a forward awaiting its backward)."""
        capture = self.guarded
        if capture is None or not capture.direct or not capture.accepts(args):
            return None
        run = capture.run

        def replay() -> Any:
            return run(args)
        return replay

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _active is not None:  # inside another capture: run inline, recorded by that one
            return self.fn(*args, **kwargs)
        guarded = self.guarded
        if guarded is not None and not kwargs and guarded.accepts(args) \
                and (guarded.pending is None or not guarded.busy()):
            result = guarded.replay(args)  # the common call: no key to build and look up
            if result is not _STALE:
                return result
        key_parts: list = [_state.enabled, get_default_dtype()]
        if self.extra_key is not None:
            key_parts.append(self.extra_key())
        key = None if kwargs else _tensors_key(args, key_parts)
        if key is not None:  # tensors only: the arguments are the flattened arguments
            flat: Any = args
        else:
            flat = []
            _flatten(args, flat, key_parts)
            if kwargs:
                _flatten(kwargs, flat, key_parts)
            key = tuple(key_parts)
        entry = self.cache.get(key)
        if entry is _EAGER:
            return self.fn(*args, **kwargs)
        if entry is not None:
            # the last call's graph may still need the recorded nodes' state
            if entry.pending is not None and entry.busy():
                return self.fn(*args, **kwargs)
            result = entry.replay(flat)
            if result is not _STALE:
                return result
            del self.cache[key]
            if self.guarded is entry:
                self.guarded = None
        if len(self.cache) >= cache_size_limit:
            if not self._warned_limit:
                self._warned_limit = True
                warnings.warn(f"compile: {getattr(self.fn, '__name__', 'function')} was captured "
                              f"{cache_size_limit} times (cache_size_limit); new signatures run "
                              "eagerly", RuntimeWarning, stacklevel=2)
            return self.fn(*args, **kwargs)
        return self._capture(key, flat, args, kwargs)

    def _capture(self, key: tuple, flat: list, args: tuple, kwargs: dict) -> Any:
        global _active
        if not _capture_lock.acquire(blocking=False):  # another thread is capturing
            return self.fn(*args, **kwargs)
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        capture = Capture(_describe_signature(name, flat))
        rec = _Recorder(capture, self.fullgraph)
        rec.values[0] = flat
        for i, t in enumerate(flat):
            if id(t._data) not in rec.slots:
                capture.arg_loads.append((rec.new_slot(t._data, f"arg{i}"), i))
        try:
            saved = _install_hooks()
            _active = rec
            try:
                result = self.fn(*args, **kwargs)
                output = _output_spec(result, rec, flat)
            finally:
                _active = None
                _restore(saved)
        finally:
            _capture_lock.release()
        if rec.broken is not None:
            self.cache[key] = _EAGER
            self.reasons[key] = rec.broken
            warnings.warn(f"compile: {name} runs eagerly for this signature: {rec.broken}",
                          RuntimeWarning, stacklevel=3)
            return result
        if rec.region is None:
            for node in rec.keep:
                node.release()
        else:  # the recorded nodes serve the caller's graph until its backward frees them
            capture.pending = weakref.ref(rec.region)
        capture.output = output
        _generate(rec, output)
        self.cache[key] = capture
        self.latest = capture
        if flat is args and self.extra_key is None:  # tensor arguments (see __call__)
            capture.accepts = _signature_guard(args, key)
            self.guarded = capture
        return result


class CompiledModule:
    """A module whose calls go through a compiled function (``torch.compile(model)``); every other
    attribute is the module's own. ``_orig_mod`` is the module, as in PyTorch."""

    def __init__(self, module: Any, **options: Any) -> None:
        self.__dict__["_orig_mod"] = module
        modules = list(module.modules())  # train()/eval() state is part of the signature
        self.__dict__["_compiled"] = CompiledFunction(
            module.__call__, extra_key=lambda: tuple(m.training for m in modules), **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)

    def plan(self) -> str:
        """The kernels of the latest capture of the module's forward."""
        return self._compiled.plan()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_orig_mod"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"CompiledModule({self._orig_mod!r})"


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: Any = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False) -> Any:
    """Capture ``model`` (a function or a module) on its first call per signature and replay the
    recorded kernels on later calls, as ``torch.compile`` (usable as ``@compile`` or
    ``@compile(...)``). ``fullgraph=True`` raises at a graph break instead of running eagerly;
    ``dynamic``, ``backend`` and ``options`` are accepted for PyTorch compatibility (shapes are
    always part of the signature); ``disable=True`` returns ``model`` unchanged."""
    if mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode!r}, should be one of: "
                           + ", ".join(m for m in _MODES if m))
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified "
                           "at the same time.")
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable:
        return model
    if not callable(model):
        raise TypeError(f"compile: expected a function or a module, got {type(model).__name__}")
    module_module = sys.modules.get("tinygrad_lr.nn.module")
    if module_module is not None and isinstance(model, module_module.Module):
        return CompiledModule(model, fullgraph=fullgraph)
    return CompiledFunction(model, fullgraph=fullgraph)
