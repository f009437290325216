"""Complaintflow: complaint handling for financial institutions, modelled in BPMN.

Importing ``app`` or ``app.engine`` must not import Flask: the engine is driven alike by tests, the CLI,
the scheduler and the web adapter (``app.web``).
"""
