"""Time one CD-1 epoch on MNIST for ebmzoo, scikit-learn and a plain PyTorch loop.

The workload is the first layer of Hinton & Salakhutdinov (2006): 784 visible and 1000 hidden
units, batches of 100, one epoch over the 60,000 training images, float32 on the CPU. A CD-1
step costs five matrix products of ``100 x 784 x 1000``, i.e. ``10 * 784 * 1000`` flops per
image, so this CPU's float32 GEMM rate (measured here on ``2048^3``) bounds the attainable
rate at ``GEMM / (10 * 784 * 1000)`` images per second. Each implementation is timed in the
same process, alternately, and its best epoch is reported as a fraction of that bound.

Run from the repository root::

    python benchmarks/bench_cd1.py --data-root ../shared/data
    python benchmarks/bench_cd1.py --profile   # where ebmzoo's time goes, per operator

The machine may be shared: the load average is printed before and after, rerun when it is low.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import torch

FLOPS_PER_IMAGE = 10 * 784 * 1000
N_VISIBLE, N_HIDDEN, BATCH = 784, 1000, 100


def load_mnist(root: str) -> torch.Tensor:
    """The 60,000 training images as ``(60000, 784)`` float32 in ``[0, 1]``; never downloads."""
    import torchvision

    images = torchvision.datasets.MNIST(root=root, train=True, download=False).data
    return images.reshape(len(images), -1).to(torch.float32).div_(255)


def gemm_rate(size: int = 2048, repeats: int = 5) -> float:
    """Best float32 ``size^3`` matrix-product rate of this process, in flop/s."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def ebmzoo_epoch(data: torch.Tensor) -> Callable[[], None]:
    """One epoch of the real training path: RBMTrainer.train_epoch with CD-1."""
    from ebmzoo_rbm.models import BernoulliRBM
    from ebmzoo_rbm.samplers import ContrastiveDivergence
    from ebmzoo_rbm.training import RBMTrainer, TrainConfig

    generator = torch.Generator().manual_seed(0)
    model = BernoulliRBM(N_VISIBLE, N_HIDDEN, generator=generator)
    trainer = RBMTrainer(
        model, ContrastiveDivergence(k=1), TrainConfig(batch_size=BATCH), generator
    )
    return lambda: trainer.train_epoch(data)


def sklearn_epoch(data: torch.Tensor) -> Callable[[], None]:
    """One ``fit`` epoch of scikit-learn's BernoulliRBM (``n_iter=1``, ``batch_size=100``)."""
    from sklearn.neural_network import BernoulliRBM as SklearnRBM

    array = data.numpy()

    def run() -> None:
        SklearnRBM(
            n_components=N_HIDDEN, learning_rate=0.1, batch_size=BATCH, n_iter=1, random_state=0
        ).fit(array)

    return run


def plain_torch_epoch(data: torch.Tensor) -> Callable[[], None]:
    """A CD-1 epoch as one would write it by hand in PyTorch, with the same update rule."""
    generator = torch.Generator().manual_seed(0)
    weight = 0.1 * torch.randn(N_VISIBLE, N_HIDDEN, generator=generator)
    visible_bias = torch.zeros(N_VISIBLE)
    hidden_bias = torch.zeros(N_HIDDEN)
    increments = [
        torch.zeros_like(weight),
        torch.zeros_like(visible_bias),
        torch.zeros_like(hidden_bias),
    ]
    rate, cost, momentum = 0.1, 0.0002, 0.5

    def run() -> None:
        nonlocal weight, visible_bias, hidden_bias
        w_inc, vb_inc, hb_inc = increments
        order = torch.randperm(len(data), generator=generator)
        for begin in range(0, len(data), BATCH):
            v = data[order[begin : begin + BATCH]]
            pos_hidden = torch.sigmoid(v @ weight + hidden_bias)
            hidden_states = (torch.rand(pos_hidden.shape, generator=generator) < pos_hidden).float()
            neg_visible = torch.sigmoid(hidden_states @ weight.T + visible_bias)
            neg_hidden = torch.sigmoid(neg_visible @ weight + hidden_bias)
            n = v.shape[0]
            grad = (v.T @ pos_hidden - neg_visible.T @ neg_hidden) / n
            w_inc = momentum * w_inc + rate * (grad - cost * weight)
            vb_inc = momentum * vb_inc + rate * (v.sum(0) - neg_visible.sum(0)) / n
            hb_inc = momentum * hb_inc + rate * (pos_hidden.sum(0) - neg_hidden.sum(0)) / n
            weight = weight + w_inc
            visible_bias = visible_bias + vb_inc
            hidden_bias = hidden_bias + hb_inc
        increments[:] = [w_inc, vb_inc, hb_inc]

    return run


def profile_ebmzoo(data: torch.Tensor, rows: int) -> None:
    """Print torch.profiler's operator table for ebmzoo training on the first ``rows`` images."""
    subset = data[:rows].clone()
    run = ebmzoo_epoch(subset)
    run()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


def blas_threads() -> str:
    """Threads of the BLAS libraries numpy (and so scikit-learn) uses."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    pools = [f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info()]
    return ", ".join(pools) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default="../shared/data", help="folder holding MNIST/raw")
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per implementation")
    parser.add_argument(
        "--rows", type=int, default=None, help="time epochs over the first ROWS images only"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--profile", action="store_true", help="profile ebmzoo's epoch instead")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_mnist(args.data_root)
    if args.rows:
        data = data[: args.rows].clone()
    if args.profile:
        profile_ebmzoo(data, rows=min(len(data), 10_000))
        return

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads; numpy BLAS: {blas_threads()}")
    gemm = gemm_rate()
    bound = gemm / FLOPS_PER_IMAGE
    print(f"float32 GEMM 2048^3: {gemm / 1e9:.1f} GFLOP/s -> bound {bound:,.0f} images/s")

    runs = {
        "ebmzoo": ebmzoo_epoch(data),
        "scikit-learn": sklearn_epoch(data),
        "plain torch": plain_torch_epoch(data),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)

    rate = {name: len(data) / seconds for name, seconds in best.items()}
    print(
        f"{'implementation':<14} {'s/epoch':>8} {'images/s':>10} {'of bound':>9} {'ebmzoo is':>10}"
    )
    for name in runs:
        print(
            f"{name:<14} {best[name]:>8.2f} {rate[name]:>10,.0f} {rate[name] / bound:>9.1%} "
            f"{rate['ebmzoo'] / rate[name]:>9.2f}x"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
