"""What the tests share: workspaces made in tmp_path, doit run as a user runs it, tiny wheels, and
real servers (nginx, BuildGrid, a counting HTTP server). Imported as `helpers.<module>`: pytest
puts tests/ on sys.path (pyproject.toml, `pythonpath`)."""
