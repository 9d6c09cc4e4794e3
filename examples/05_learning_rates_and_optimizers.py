"""Learning rates and optimizers on small functions whose answers we know.

Every run is the same loop, the one PyTorch uses:

    optimizer.zero_grad(); loss = f(theta); loss.backward(); optimizer.step()

and each optimizer's step is its update rule (g = grad f, lr = learning rate):

    SGD        theta <- theta - lr g
    momentum   v <- mu v + g;  theta <- theta - lr v
    RMSprop    s <- a s + (1 - a) g^2;  theta <- theta - lr g / (sqrt(s) + eps)
    Adam       m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
               theta <- theta - lr m_hat / (sqrt(v_hat) + eps)   (bias-corrected m, v)

Plots go to OUT/05_learning_rates_and_optimizers.png when matplotlib is installed: six panels,
numbered in reading order; the sixth draws the paths of the optimizers of the third. OUT is the
folder given with --out, or else a new temporary folder (never the current one).

Run: python examples/05_learning_rates_and_optimizers.py [--out DIR]
"""
import argparse
import math
import os
import tempfile
from collections.abc import Callable

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr import optim
from tinygrad_lr.nn.utils import clip_grad_norm_

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", help="folder for the PNG (default: a new temporary folder)")
args = parser.parse_args()

Loss = Callable[[tl.Tensor], tl.Tensor]


def run(f: Loss, start: list[float], make_optimizer: Callable, steps: int,
        scheduler: Callable | None = None, clip: float | None = None) -> tuple[list, np.ndarray]:
    """Minimize f from `start`; return the loss at every step and the path of theta."""
    theta = tl.tensor(start, dtype=tl.float64, requires_grad=True)
    optimizer = make_optimizer([theta])
    schedule = scheduler(optimizer) if scheduler else None
    losses, path = [], [theta.detach().numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = f(theta)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or abs(losses[-1]) > 1e12:
            return losses, np.array(path)                # diverged: stop before overflow
        loss.backward()
        if clip is not None:
            clip_grad_norm_([theta], max_norm=clip)   # g <- g * min(1, clip / |g|)
        optimizer.step()
        if schedule:
            schedule.step()
        path.append(theta.detach().numpy().copy())
    with tl.no_grad():
        losses.append(f(theta).item())
    return losses, np.array(path)


# 1. The learning rate on f(theta) = theta^2: gradient descent multiplies theta by (1 - 2 lr)
#    each step, so it converges for 0 < lr < 1 and diverges for lr > 1.
def parabola(t: tl.Tensor) -> tl.Tensor:
    return (t ** 2).sum()


print("1. learning rate, f(theta) = theta^2 from theta = 1, 30 steps of SGD")
learning_rates = {}
for lr, verdict in [(0.01, "too small"), (0.3, "about right"), (1.05, "too large")]:
    losses, _ = run(parabola, [1.0], lambda p, lr=lr: optim.SGD(p, lr=lr), 30)
    learning_rates[f"lr = {lr} ({verdict})"] = losses
    print(f"   lr = {lr:<5} {verdict:<12} final loss {losses[-1]:.3e}")

# 2. Step decay. Estimating a mean from a stream of noisy samples xi ~ N(3, 1): the loss
#    1/2 (theta - xi)^2 has gradient theta - xi, whose noise keeps a constant-lr SGD jittering
#    around 3; halving the learning rate every 20 steps (StepLR) averages the noise away.
def noisy_loss(seed: int) -> Loss:
    """1/2 (theta - xi)^2 with a fresh sample xi ~ N(3, 1) at each call (same stream per seed)."""
    samples = iter(np.random.default_rng(seed).normal(3.0, 1.0, size=1000))
    return lambda t: (0.5 * (t - next(samples)) ** 2).sum()


print("2. step decay, SGD on a noisy estimate of a mean (3.0), 100 steps, lr = 0.5")
decay = {}
for label, schedule in [("constant lr", None),
                        ("StepLR(step_size=20, gamma=0.5)",
                         lambda opt: optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5))]:
    _, path = run(noisy_loss(seed=0), [0.0], lambda p: optim.SGD(p, lr=0.5), 100,
                  scheduler=schedule)
    decay[label] = path[:, 0]
    errors = (path[:, 0] - 3.0) ** 2                     # squared distance to the true mean
    print(f"   {label:<32} mean squared error over the last 20 steps {errors[-20:].mean():.2e}")

# 3. An ill-conditioned quadratic f = 1/2 (x^2 + 100 y^2): curvature 1 along x, 100 along y.
#    SGD must keep lr < 2/100 for y to converge, which makes x crawl; momentum builds speed
#    along x, RMSprop and Adam divide each coordinate's step by its own gradient scale.
def ill_conditioned(t: tl.Tensor) -> tl.Tensor:
    return 0.5 * (t[0] ** 2 + 100 * t[1] ** 2)


OPTIMIZERS = {
    "SGD (lr 0.018)": lambda p: optim.SGD(p, lr=0.018),
    "momentum (lr 0.01, 0.9)": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
    "RMSprop (lr 0.01)": lambda p: optim.RMSprop(p, lr=0.01),
    "Adam (lr 0.1)": lambda p: optim.Adam(p, lr=0.1),
}
print("3. ill-conditioned quadratic 1/2 (x^2 + 100 y^2) from (-1, 0.5), 100 steps")
ravine, paths = {}, {}
for name, make in OPTIMIZERS.items():
    ravine[name], paths[name] = run(ill_conditioned, [-1.0, 0.5], make, 100)
    print(f"   {name:<26} final loss {ravine[name][-1]:.2e}")

# 4. A saddle point: f = x^2 + y^4/4 - y^2/2 is flat at (0, 0) along y (a saddle), with minima
#    f = -1/4 at (0, +-1). Starting at y = 1e-3, the gradient along y is tiny, so SGD waits
#    a long time before rolling off; momentum accumulates it, Adam rescales it to a full step.
def saddle(t: tl.Tensor) -> tl.Tensor:
    return t[0] ** 2 + t[1] ** 4 / 4 - t[1] ** 2 / 2


SADDLE_OPTIMIZERS = {
    "SGD (lr 0.1)": lambda p: optim.SGD(p, lr=0.1),
    "momentum (lr 0.1, 0.9)": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "RMSprop (lr 0.05)": lambda p: optim.RMSprop(p, lr=0.05),
    "Adam (lr 0.1)": lambda p: optim.Adam(p, lr=0.1),
}
print("4. saddle point x^2 + y^4/4 - y^2/2 from (1, 0.001), 150 steps (minimum -0.25)")
escape = {}
for name, make in SADDLE_OPTIMIZERS.items():
    escape[name], _ = run(saddle, [1.0, 1e-3], make, 150)
    steps = next((i for i, v in enumerate(escape[name]) if v < -0.24), None)
    print(f"   {name:<26} loss below -0.24 after "
          f"{'more than 150' if steps is None else steps} steps")

# 5. An exploding gradient: f = theta^4 has gradient 4 theta^3, so from theta = 4 one SGD step
#    of lr 0.05 overshoots to -8.8, where the gradient is larger still. Clipping the gradient's
#    norm to 5 bounds each step by lr * 5 = 0.25, and the same learning rate converges.
def quartic(t: tl.Tensor) -> tl.Tensor:
    return (t ** 4).sum()


print("5. exploding gradient, f = theta^4 from theta = 4, SGD lr 0.05, 50 steps")
clipping = {}
for label, clip in [("no clipping", None), ("clip_grad_norm_(max_norm=5)", 5.0)]:
    clipping[label], _ = run(quartic, [4.0], lambda p: optim.SGD(p, lr=0.05), 50, clip=clip)
    outcome = (f"diverged after {len(clipping[label]) - 1} steps (loss {clipping[label][-1]:.1e})"
               if len(clipping[label]) < 51 else f"final loss {clipping[label][-1]:.2e}")
    print(f"   {label:<28} {outcome}")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
if plt is None:
    print("matplotlib is not installed: no plot (pip install matplotlib)")
else:
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = [(axes[0, 0], learning_rates, "1. learning rate on theta^2", "log"),
              (axes[0, 1], decay, "2. step decay: estimate of the mean 3", "linear"),
              (axes[0, 2], ravine, "3. ill-conditioned quadratic", "log"),
              (axes[1, 0], escape, "4. saddle point (minimum -0.25)", "linear"),
              (axes[1, 1], clipping, "5. exploding gradient on theta^4", "log")]
    for ax, curves, title, scale in panels:
        for label, values in curves.items():
            ax.plot(values, label=label)
        ax.set(title=title, xlabel="step", ylabel="loss", yscale=scale)
        ax.legend(fontsize=8)
    axes[0, 1].set(ylabel="theta", ylim=(0, 5))
    axes[0, 1].axhline(3.0, color="gray", linestyle=":")
    ax = axes[1, 2]                                      # the paths of panel 3 over contours
    grid_x, grid_y = np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-1.2, 1.2, 200))
    ax.contour(grid_x, grid_y, 0.5 * (grid_x ** 2 + 100 * grid_y ** 2),
               levels=np.geomspace(0.01, 70, 12), colors="lightgray")
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, label=name)
    ax.set(title="6. paths of panel 3 on 1/2 (x^2 + 100 y^2)", xlabel="x", ylabel="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = args.out or tempfile.mkdtemp(prefix="tinygrad_lr_optimizers_")  # not the cwd
    os.makedirs(out, exist_ok=True)
    target = os.path.join(out, "05_learning_rates_and_optimizers.png")
    fig.savefig(target, dpi=90)
    print(f"plot written to {target}")
