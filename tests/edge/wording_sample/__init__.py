"""A door-less catalogue for the tests of :mod:`edge.wording`."""
