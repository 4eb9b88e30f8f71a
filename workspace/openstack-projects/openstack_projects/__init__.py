"""A tiny console script that uses the packages its part shares with the cluster part."""
from importlib.metadata import version

import certifi
import click


@click.command()
def main() -> None:
    """Print the versions of the shared packages it runs with."""
    bundle = "found" if certifi.where() else "missing"
    click.echo(f"openstack-projects: flask {version('flask')}, click {version('click')}, certifi bundle {bundle}")
