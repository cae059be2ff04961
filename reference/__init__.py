"""The reference continuous-learning service, vigil's built-in system under test.

Run it with ``python -m reference`` (see ``reference/README.md``). It stands
alone: it never imports ``vigil``, ``flows`` or ``tasks``.
"""
