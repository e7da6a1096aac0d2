"""``python -m backend`` runs the ``cbm`` command."""

from backend.cli import main

main()
