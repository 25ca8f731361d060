"""``python -m ebmzoo`` runs the command line."""

from ebmzoo.cli import main

main()
