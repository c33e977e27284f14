"""货不对版: evidence, from our records alone, that a channel served another model than the one named.

Three signals, one module each, each yielding ``findings.Finding`` for a day range:

* ``reported`` — responses whose ``metadata.response_model`` (kept by the gateway connectors) names
  another model than the event's, up to snapshots and provider prefixes (``names``);
* ``shift`` — mean prompt or output tokens per request beyond K·σ of the same model on other channels;
* ``price_table`` — vendor usage rows whose charge matches only another model's prices.

``services.mismatch_scan`` runs them and upserts ``MismatchFlag`` by its key (nightly: ``tasks``; on
demand: the page and ``manage.py mismatch_scan``); ``selectors`` reads the records behind a flag; ``pack``
writes the dispute pack (CSV and PDF) for the vendor; ``views`` are the staff pages under
``/upstream/mismatch/``.
"""
