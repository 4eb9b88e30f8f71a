"""A tiny flask app with a console script; `cluster` prints its status page without a server."""
import click
import flask

app = flask.Flask(__name__)


@app.route("/")
def status() -> str:
    return "cluster: ok"


@click.command()
def main() -> None:
    """Render the status page once through flask's test client."""
    with app.test_client() as client:
        click.echo(client.get("/").get_data(as_text=True))
