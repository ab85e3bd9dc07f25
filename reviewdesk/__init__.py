"""reviewdesk: human review of LLM outputs, end to end. The packages read as the data flow, and each
imports only the ones before it (tests/test_layering.py keeps it so):

    ingest -> sample -> prescore -> review -> labels -> agreement -> quality -> datasets -> feedback

on a shared base (`config`, `errors`, `queues`, `stores`, and the declarations in `schemas/`), with
`demo` and `cli` on top. Each stage package's front door (its `__init__`) shows how to use it.
"""
