"""`python -m anyplace` is the `anyplace` command."""

from anyplace.cli import main

main()
