"""Safety Index use cases, one module per group; import each from the module that owns it:

- ``ingest``: incident facts (from events and imports) and the incremental update of stored scores;
- ``compute``: computing and recomputing scores, ranks and warnings (backfill, daily job) and the
  supervision tickets they trigger;
- ``tickets``: running supervision tickets (list, assign, act, close, escalate);
- ``assessment``: the period assessment per town and responsible agency;
- ``common``: the few names they share.

Reading the index for pages and exports lives in ``jingwu.safety_index.views``.
"""
