"""Reports computed from a derivation: operation counts, gradient flow and memory.

Each report is a record made by a function (:func:`~symbackprop.analysis.cost.cost`,
:func:`~symbackprop.analysis.flow.gradient_flow`, :func:`~symbackprop.analysis.memory.memory`);
the printers take reports as input and never compute them.  The public modules
:mod:`symbackprop.cost`, :mod:`symbackprop.flow` and :mod:`symbackprop.memory`
re-export what is here.
"""
