"""Lets ``python -m statuswatch`` behave exactly like the ``statuswatch`` console script."""

from statuswatch.cli import main

main()
