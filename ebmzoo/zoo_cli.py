"""The ``ebmzoo zoo`` command group: list, describe, pull, verify and publish zoo entries.

Every command works on :class:`ebmzoo.zoo.Zoo`, so it honours ``EBMZOO_ZOO_DIR``,
``EBMZOO_CACHE`` and ``EBMZOO_OFFLINE``. Errors are :class:`~ebmzoo.errors.ZooError` and are
printed as one line by the root group.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ebmzoo.errors import ZooError

__all__ = ["zoo"]


def _zoo():
    from ebmzoo.zoo import Zoo

    return Zoo()


@click.group()
def zoo() -> None:
    """Pretrained weights: list, describe, pull, verify and publish zoo entries."""


@zoo.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
def list_(as_json: bool) -> None:
    """List every zoo entry and whether its weights are on this machine."""
    z = _zoo()
    entries = z.entries()
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=2))
        return
    rows = [("NAME", "MODEL", "DATASET", "HERE", "TEST METRICS")]
    for entry in entries:
        here = "yes" if all(z.local_copies(f) for f in entry.files) else "no"
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in entry.metrics.items()) or "-"
        rows.append((entry.name, entry.model, entry.dataset, here, metrics))
    from ebmzoo.cli import print_table  # imported late: ebmzoo.cli imports this module

    print_table(rows)
    if not entries:
        click.echo("(no entries; `ebmzoo zoo publish RUN_DIR NAME` adds one)")


@zoo.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The entry file's JSON object.")
def info(name: str, as_json: bool) -> None:
    """Describe zoo entry NAME: model, files, metrics, recipe and data licence."""
    z = _zoo()
    entry = z.get(name)
    if as_json:
        click.echo(json.dumps(entry.to_json(), indent=2))
        return
    click.echo(f"{entry.name}: {entry.summary}" if entry.summary else entry.name)
    click.echo(f"  from:     {z.origin(name)}")
    click.echo(f"  model:    {entry.model} {json.dumps(dict(entry.model_config))}")
    for key, value in entry.metrics.items():
        click.echo(f"  metric:   {key} = {value:.6g} (test set)")
    click.echo(f"  dataset:  {entry.dataset} (licence: {entry.dataset_licence})")
    click.echo(f"  recipe:   {entry.recipe or '-'} (seed {entry.seed})")
    click.echo(f"  ebmzoo:   {entry.ebmzoo_version or '-'}")
    if entry.storage_dtype:
        click.echo(f"  stored:   {entry.storage_dtype} (loaded as the model's dtypes)")
    for file in entry.files:
        copies = z.local_copies(file)
        click.echo(f"  file:     {file.name} ({file.size} bytes)")
        click.echo(f"    sha256: {file.sha256}")
        for source in file.sources:
            click.echo(f"    source: {source}")
        click.echo(f"    here:   {copies[0] if copies else 'no (ebmzoo zoo pull ' + name + ')'}")
    if entry.recipe_config is not None:
        config = json.dumps(dict(entry.recipe_config), indent=2).replace("\n", "\n  ")
        click.echo(f"  config:   {config}")


@zoo.command()
@click.argument("names", nargs=-1)
@click.option("--all", "pull_all", is_flag=True, help="Pull every entry.")
def pull(names: tuple[str, ...], pull_all: bool) -> None:
    """Fetch and verify the files of entry NAMES (or --all); print where they are."""
    z = _zoo()
    if pull_all:
        names = tuple(z.names())
    elif not names:
        raise ZooError("name an entry to pull, e.g. `ebmzoo zoo pull NAME`, or pass --all")
    for name in names:
        for path in z.fetch(name).values():
            click.echo(f"{name}: {path}")


@zoo.command()
@click.argument("name", required=False)
def verify(name: str | None) -> None:
    """Re-hash the local and cached files of entry NAME (default: every entry)."""
    checks = _zoo().verify(name)
    rows = [("ENTRY", "FILE", "STATUS", "WHERE / DETAIL")]
    for c in checks:
        rows.append((c.entry, c.file, c.status, c.detail or c.location or "-"))
    from ebmzoo.cli import print_table  # imported late: ebmzoo.cli imports this module

    print_table(rows)
    bad = [c for c in checks if c.status == "mismatch"]
    if bad:
        raise ZooError(f"{len(bad)} file(s) failed verification; see the table above")


@zoo.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("name")
@click.option(
    "--file",
    "weights",
    metavar="WEIGHTS_NAME",
    help="Weights file in RUN_DIR (default: the only one that is not an RBM).",
)
@click.option("--summary", default="", help="One line for `ebmzoo zoo list`.")
@click.option("--dataset", help="Data set name (default: the one the run recorded).")
@click.option("--licence", help="Data set licence, e.g. 'CC BY-SA 3.0' for MNIST.")
@click.option(
    "--metrics",
    "metrics_key",
    metavar="KEY",
    help="Object of metrics.json with this model's test metrics.",
)
@click.option("--url", "urls", multiple=True, help="Where the file will also be hosted.")
@click.option(
    "--storage-dtype",
    type=click.Choice(["float32", "float16", "bfloat16"]),
    help="Store floating tensors in this dtype (loading restores the model's).",
)
@click.option("--replace", is_flag=True, help="Overwrite an existing user entry of that name.")
def publish(
    run_dir, name, weights, summary, dataset, licence, metrics_key, urls, storage_dtype, replace
) -> None:
    """Turn a finished `ebmzoo run` directory RUN_DIR into zoo entry NAME."""
    from ebmzoo.zoo import user_zoo_dir

    z = _zoo()
    entry = z.publish(
        run_dir,
        name,
        file=weights,
        summary=summary,
        dataset=dataset,
        licence=licence,
        metrics_key=metrics_key,
        urls=urls,
        storage_dtype=storage_dtype,
        replace=replace,
    )
    file = entry.weights_file
    click.echo(f"published {entry.name}: {file.name} ({file.size} bytes, sha256 {file.sha256})")
    click.echo(f"entry file: {user_zoo_dir() / (entry.name + '.json')}")
