"""``python -m llvm_to_air`` runs the command-line interface."""

from llvm_to_air.cli import main

main()
