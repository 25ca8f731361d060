"""The ``ebmzoo`` command line (click).

User errors (every :class:`~ebmzoo.errors.EbmzooError`) print one line on stderr and exit with
status 2; ``--debug`` shows the traceback instead. Plugins add subcommands through the
``ebmzoo_commands`` hook.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import click

from ebmzoo import __version__
from ebmzoo.errors import EbmzooError
from ebmzoo.registry import KINDS, get_registry
from ebmzoo.zoo_cli import zoo

__all__ = ["main"]

LISTABLE = [kind for kind in KINDS if kind not in ("commands",)]


class _Group(click.Group):
    """The root group: adds plugin subcommands lazily and turns user errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(entry.name for entry in _plugin_commands())
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        for entry in _plugin_commands():
            if entry.name == name:
                return entry.command
        return None

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's own signature
        debug = ctx.params.get("debug", False)
        try:
            return super().invoke(ctx)
        except EbmzooError as err:
            if debug:
                raise
            click.echo(f"error: {err}", err=True)
            ctx.exit(getattr(err, "exit_code", 2))
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("interrupted", err=True)
            ctx.exit(130)


def _plugin_commands() -> list:
    try:
        return get_registry().entries("commands")
    except EbmzooError:
        return []


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ebmzoo")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(debug: bool, verbose: bool) -> None:
    """ebmzoo: a plugin-style model zoo for energy-based models on PyTorch."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # A broken plugin is reported by `ebmzoo plugins`; it should not clutter every command.
    logging.getLogger("ebmzoo.registry").setLevel(logging.DEBUG if debug else logging.ERROR)


main.add_command(zoo)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per plugin.")
def plugins(as_json: bool) -> None:
    """Show installed plugins, whether they work, and what they register."""
    registry = get_registry()
    if as_json:
        click.echo(json.dumps([p.to_json() for p in registry.plugins], indent=2))
        return
    rows = [("PLUGIN", "VERSION", "STATUS", "REGISTERS / ERROR")]
    for p in registry.plugins:
        what = (
            p.error
            if p.error
            else "; ".join(
                f"{kind}: {', '.join(names)}" for kind, names in sorted(p.registers.items())
            )
        )
        rows.append((p.name, p.version or "-", p.status, what or "-"))
    print_table(rows)


@main.command(name="list")
@click.argument("kind", required=False, type=click.Choice(LISTABLE))
def list_(kind: str | None) -> None:
    """List registered names (all kinds, or one KIND)."""
    registry = get_registry()
    rows = [("KIND", "NAME", "PLUGIN", "SUMMARY")]
    for k in [kind] if kind else LISTABLE:
        for entry in registry.entries(k):
            rows.append((k, entry.name, registry.owner(k, entry.name), _summary(entry)))
    print_table(rows)


@main.command()
@click.argument("name")
def info(name: str) -> None:
    """Describe a registered NAME (model, sampler, stacker, recipe, dataset)."""
    registry = get_registry()
    found = [(kind, rec) for kind, rec in registry.find(name) if kind != "commands"]
    if not found:
        from ebmzoo.errors import UnknownNameError, suggest

        hint = suggest(name, registry.all_names())
        raise UnknownNameError(f"nothing is registered as {name!r}.{hint}")
    for kind, record in found:
        click.echo(f"{name} ({kind[:-1] if kind.endswith('s') else kind})")
        click.echo(f"  plugin:  {registry.owner(kind, name)}")
        click.echo(f"  summary: {_summary(record)}")
        target = getattr(record, "factory", None) or getattr(record, "run", None)
        if target is not None:
            click.echo(f"  object:  {target.__module__}.{target.__qualname__}")
        if kind == "recipes":
            from ebmzoo import config as cfg

            if record.source is not None:
                click.echo(f"  file:    {record.source}")
            defaults = cfg.to_mapping(cfg.build(record.config_type, record.defaults))
            click.echo("  config:  " + json.dumps(defaults, indent=2).replace("\n", "\n  "))


@main.command()
@click.argument("recipe", required=False)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set finetune.epochs=5 (repeatable).",
)
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="A TOML file of config values."
)
@click.option(
    "--out",
    "out_base",
    type=click.Path(path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Folder in which a fresh run directory is made.",
)
@click.option(
    "--data-root",
    type=click.Path(path_type=Path),
    help="Folder with an existing copy of the data (e.g. ../shared/data).",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the run (default 0).")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path),
    help="Continue an interrupted run from its last checkpoint (its --data-root is reused).",
)
def run(
    recipe, overrides, config_file, out_base, data_root, device, seed, print_config, resume_dir
) -> None:
    """Run RECIPE (a registered name or a .toml recipe file)."""
    from ebmzoo import distributed, launcher

    registry = get_registry()
    if resume_dir is not None:
        if recipe or overrides or config_file or seed is not None:
            raise EbmzooError(
                "--resume continues a run exactly as it was configured; drop RECIPE, --set, "
                "--config and --seed"
            )
        resolved = launcher.resolve_resume(registry, resume_dir)
        if data_root is None and resolved.data_root is not None:
            data_root = Path(resolved.data_root)
    elif recipe is None:
        raise EbmzooError(
            "name a recipe to run, e.g. `ebmzoo run hinton2006-digits`; "
            "`ebmzoo list recipes` shows them"
        )
    else:
        resolved = launcher.resolve(
            registry, recipe, config_file=config_file, overrides=overrides, seed=seed
        )
        if data_root is not None:
            resolved = dataclasses.replace(resolved, data_root=str(data_root.resolve()))
    if print_config:
        click.echo(json.dumps(resolved.to_json(), indent=2))
        return

    dev = launcher.pick_device(device)
    launcher.check_data_root(data_root)
    rank, world_size = distributed.setup(dev)
    dev = distributed.local_device(dev)
    distributed.quiet_other_ranks(rank, world_size)
    try:
        if resume_dir is not None:
            out_dir = resume_dir
        else:
            out_dir = distributed.agree_on_run_dir(
                lambda: launcher.new_run_dir(out_base, resolved.recipe.name)
            )
        progress = sys.stderr.isatty()
        metrics = launcher.launch(
            resolved,
            out_dir=out_dir,
            resume=resume_dir is not None,
            device=dev,
            data_root=data_root,
            progress=progress,
            rank=rank,
            world_size=world_size,
        )
    except KeyboardInterrupt:
        interrupted = EbmzooError(f"interrupted; continue with: ebmzoo run --resume {out_dir}")
        interrupted.exit_code = 130  # the shell's convention for a run stopped by Ctrl-C
        raise interrupted from None
    except RuntimeError as err:
        # A dead peer shows as a transport error on the survivors: say so in one line.
        lost = distributed.peer_failure(err, rank) if world_size > 1 else None
        if lost is None:
            raise
        raise lost from err
    finally:
        distributed.teardown()
    if rank == 0:
        click.echo(_metrics_summary(metrics))
        click.echo(f"run directory: {out_dir}")


def _metrics_summary(metrics: dict) -> str:
    lines = []
    for method, values in metrics.items():
        if isinstance(values, dict):
            shown = ", ".join(
                f"{k}={v:.4g}" for k, v in values.items() if isinstance(v, int | float)
            )
            lines.append(f"{method}: {shown}")
    return "\n".join(lines)


def _summary(record) -> str:
    return getattr(record, "summary", "") or ""


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Print rows as left-aligned columns; the first row is the header."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*cells, str(row[-1])]).rstrip())
