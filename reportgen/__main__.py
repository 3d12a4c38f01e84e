"""``python -m reportgen``: the command line, as the ``reportgen`` script runs it."""

from reportgen.cli import main

if __name__ == "__main__":
    main()
