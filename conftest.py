"""Root conftest: puts the repository on sys.path and loads the shared fixtures."""

pytest_plugins = ["tests.support.pg_fixture", "tests.support.fixtures"]
