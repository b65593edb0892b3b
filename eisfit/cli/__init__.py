"""The ``eisfit`` command: one module per subcommand, shared option parsing in `options`.

`main.main` builds the parser and dispatches; the console entry point is `main.entry`.
"""
