"""The composition root: the one package that may import every other one.

The ``madoguchi`` command line (``madoguchi.cli``, one module per subcommand), the role → app
table (``madoguchi.roles``), the appliance doctor and its per-role checks (``madoguchi.doctor``),
the demo and the local stack starter. The libraries and apps below it never import it; see
docs/architecture.md.
"""
