"""Learning-rate schedulers against torch.optim.lr_scheduler: the same lr sequence over 60 steps for
two parameter groups, the same effect on an SGD run, state_dict resume and errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import needs_torch, torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lr as tl
from tinygrad_lr import optim
from tinygrad_lr.optim import lr_scheduler
from tinygrad_lr.serialization import load, save

EPOCHS = 60
LRS = (0.1, 0.03)  # two parameter groups with different learning rates


def _optimizer(lib):
    module = optim if lib is tl else torch.optim
    return module.SGD([{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS],
                      lr=LRS[0])


def _scheduler(lib, name: str, kwargs: dict):
    """``name`` from the library's lr_scheduler module on a fresh two-group SGD."""
    opt = _optimizer(lib)
    module = lr_scheduler if lib is tl else torch.optim.lr_scheduler
    return opt, getattr(module, name)(opt, **kwargs)


def _lr_sequence(lib, name: str, kwargs: dict, metrics: list[float] | None = None) -> list:
    """The group lrs after construction and after each of EPOCHS optimizer + scheduler steps."""
    opt, sched = _scheduler(lib, name, kwargs)
    seen = [[g["lr"] for g in opt.param_groups]]
    for epoch in range(EPOCHS):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
        seen.append([g["lr"] for g in opt.param_groups])
        assert sched.get_last_lr() == seen[-1]
        assert sched.last_epoch == epoch + 1
    return seen


def _assert_same_sequence(name: str, kwargs: dict, metrics: list[float] | None = None) -> None:
    ours = _lr_sequence(tl, name, kwargs, metrics)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that our no-gradient optimizer steps skip
        theirs = _lr_sequence(torch, name, kwargs, metrics)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-14, atol=0,
                               err_msg=f"{name}({kwargs})")


_gamma = st.floats(0.05, 1.0, allow_nan=False)


@needs_torch
@given(step_size=st.integers(1, 12), gamma=_gamma)
def test_step_lr_matches_torch(step_size: int, gamma: float) -> None:
    _assert_same_sequence("StepLR", dict(step_size=step_size, gamma=gamma))


@needs_torch
@given(milestones=st.lists(st.integers(1, EPOCHS + 5), max_size=6), gamma=_gamma)
def test_multistep_lr_matches_torch(milestones: list[int], gamma: float) -> None:
    _assert_same_sequence("MultiStepLR", dict(milestones=milestones, gamma=gamma))


@needs_torch
@given(gamma=_gamma)
def test_exponential_lr_matches_torch(gamma: float) -> None:
    _assert_same_sequence("ExponentialLR", dict(gamma=gamma))


@needs_torch
@given(t_max=st.integers(1, 25), eta_min=st.one_of(st.just(0.0), st.floats(0.0, 0.02)))
def test_cosine_annealing_lr_matches_torch(t_max: int, eta_min: float) -> None:
    """60 epochs cross T_max several times, so the restart branch of the recursion runs too."""
    _assert_same_sequence("CosineAnnealingLR", dict(T_max=t_max, eta_min=eta_min))


def _decay(epoch: int) -> float:
    return 0.97 ** epoch


def _warmup(epoch: int) -> float:
    return min(1.0, (epoch + 1) / 10)


@needs_torch
@pytest.mark.parametrize("lr_lambda", [_decay, [_warmup, _decay]], ids=["one", "per-group"])
def test_lambda_lr_matches_torch(lr_lambda) -> None:
    _assert_same_sequence("LambdaLR", dict(lr_lambda=lr_lambda))


@needs_torch
@given(mode=st.sampled_from(["min", "max"]), factor=st.floats(0.05, 0.9),
       patience=st.integers(0, 6), threshold=st.sampled_from([0.0, 1e-4, 0.05]),
       threshold_mode=st.sampled_from(["rel", "abs"]), cooldown=st.integers(0, 4),
       min_lr=st.sampled_from([0.0, 1e-3, [0.01, 0.0]]), eps=st.sampled_from([1e-8, 1e-3]),
       metrics=st.lists(st.floats(-2.0, 2.0), min_size=EPOCHS, max_size=EPOCHS))
def test_reduce_lr_on_plateau_matches_torch(mode, factor, patience, threshold, threshold_mode,
                                            cooldown, min_lr, eps, metrics) -> None:
    _assert_same_sequence("ReduceLROnPlateau",
                          dict(mode=mode, factor=factor, patience=patience, threshold=threshold,
                               threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr,
                               eps=eps), metrics)


@needs_torch
def test_reduce_lr_on_plateau_on_a_plateauing_loss() -> None:
    metrics = [1.0 / (1 + e) if e < 20 else 0.05 + 1e-6 * math.sin(e) for e in range(EPOCHS)]
    _assert_same_sequence("ReduceLROnPlateau", dict(patience=3, cooldown=2, factor=0.5), metrics)
    ours = _lr_sequence(tl, "ReduceLROnPlateau", dict(patience=3, cooldown=2, factor=0.5), metrics)
    assert ours[-1][0] < LRS[0] / 100


def test_schedulers_record_initial_lr_and_base_lrs() -> None:
    opt, sched = _scheduler(tl, "StepLR", dict(step_size=2))
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert sched.base_lrs == list(LRS) and sched.last_epoch == 0
    assert sched.get_last_lr() == list(LRS)


SCHEDULERS = [("StepLR", dict(step_size=4, gamma=0.5)),
              ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.5)),
              ("ExponentialLR", dict(gamma=0.9)),
              ("CosineAnnealingLR", dict(T_max=9, eta_min=1e-3)),
              ("LambdaLR", dict(lr_lambda=_decay))]


@needs_torch
@pytest.mark.parametrize("name, kwargs", SCHEDULERS)
def test_same_effect_on_an_sgd_run(name: str, kwargs: dict) -> None:
    """Least squares with SGD + scheduler in both libraries: float64 weights agree to 1e-10."""
    rng = np.random.default_rng(1)
    x, y, w0 = rng.standard_normal((20, 3)), rng.standard_normal(20), rng.standard_normal(3)

    def run(lib):
        w = lib.tensor(w0.copy(), requires_grad=True)
        module = optim if lib is tl else torch.optim
        opt = module.SGD([w], lr=0.05, momentum=0.5)
        sched_module = lr_scheduler if lib is tl else torch.optim.lr_scheduler
        sched = getattr(sched_module, name)(opt, **kwargs)
        xt, yt = lib.tensor(x), lib.tensor(y)
        for _ in range(EPOCHS):
            opt.zero_grad()
            ((xt @ w - yt) ** 2).mean().backward()
            opt.step()
            sched.step()
        return w.detach().numpy()
    np.testing.assert_allclose(run(tl), run(torch), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name, kwargs", SCHEDULERS + [("ReduceLROnPlateau", dict(patience=2))])
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_resume(name: str, kwargs: dict, through_file: bool, tmp_path) -> None:
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.96, 0.98, 1.0, 0.99, 0.97] * 3

    def advance(opt, sched, epochs):
        for epoch in epochs:
            opt.step()
            if name == "ReduceLROnPlateau":
                sched.step(metrics[epoch])
            else:
                sched.step()
        return [g["lr"] for g in opt.param_groups]

    opt, sched = _scheduler(tl, name, kwargs)
    advance(opt, sched, range(10))
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    if through_file:
        save([saved_opt, saved], tmp_path / "sched.tlr")
        saved_opt, saved = load(tmp_path / "sched.tlr")
    expected = advance(opt, sched, range(10, 30))

    opt2, sched2 = _scheduler(tl, name, kwargs)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert sched2.last_epoch == 10
    assert advance(opt2, sched2, range(10, 30)) == expected


def test_lambda_lr_state_dict_keeps_callable_objects_state() -> None:
    class Decay:
        def __init__(self, rate: float) -> None:
            self.rate = rate

        def __call__(self, epoch: int) -> float:
            return self.rate ** epoch

    opt, sched = _scheduler(tl, "LambdaLR", dict(lr_lambda=[_decay, Decay(0.5)]))
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"rate": 0.5}]
    _, other = _scheduler(tl, "LambdaLR", dict(lr_lambda=[_decay, Decay(0.9)]))
    other.load_state_dict(state)
    assert other.lr_lambdas[1].rate == 0.5


def test_reduce_lr_on_plateau_accepts_tensor_metrics() -> None:
    opt, sched = _scheduler(tl, "ReduceLROnPlateau", dict(patience=0))
    sched.step(tl.tensor(1.0))
    sched.step(tl.tensor(2.0))
    assert sched.get_last_lr() == [lr * 0.1 for lr in LRS]


def test_scheduler_errors() -> None:
    opt = _optimizer(tl)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="step_size must be a positive int, got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive int, got 0"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(opt, lr_lambda=[_decay])
    with pytest.raises(ValueError, match="Factor should be < 1.0, got 1.5"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="threshold mode 'pct' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0, 0, 0])


def test_resuming_with_last_epoch_continues_the_schedule() -> None:
    opt, sched = _scheduler(tl, "StepLR", dict(step_size=3, gamma=0.5))
    for _ in range(4):
        sched.step()
    resumed = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5, last_epoch=sched.last_epoch)
    assert resumed.last_epoch == 5
    assert resumed.base_lrs == list(LRS)


WARMUP_AND_CYCLE = {
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.95),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=8),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=10, power=2.0),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                              eta_min=0.01),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=30),
    "OneCycleLR three phases": lambda m, o: m.OneCycleLR(
        o, max_lr=[1.0, 0.5], epochs=3, steps_per_epoch=10, three_phase=True,
        anneal_strategy="linear"),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(WARMUP_AND_CYCLE))
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_warmup_and_cyclic_schedules_match_torch_with_momentum(name, optimizer):
    def run(lib):
        module = optim if lib is tl else torch.optim
        kwargs = {"momentum": 0.9} if optimizer == "SGD" else {}
        opt = getattr(module, optimizer)(
            [{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS], **kwargs)
        scheduler = WARMUP_AND_CYCLE[name](module.lr_scheduler, opt)
        seen = []
        for _ in range(30):
            opt.step()
            scheduler.step()
            for group in opt.param_groups:
                seen.append((group["lr"], group.get("momentum", group.get("betas", (0,))[0])))
        return np.array(seen), scheduler.get_last_lr()

    ours, theirs = run(tl), run(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=1e-15)


def test_one_cycle_refuses_steps_beyond_its_total():
    opt = optim.SGD([tl.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="total steps is 3"):
        scheduler.step()
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad([tl.zeros(1, requires_grad=True)]), max_lr=1.0,
                                total_steps=3)
