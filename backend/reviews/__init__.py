"""Reviews as data: verdicts on decisions, the review queue and the decision exports (issue 21).

``service`` holds the rules (who may review, what a valid verdict is, which run counts),
``export`` turns decisions with their reviews into CSV, GeoPackage and a printable HTML sheet.
SQL lives in ``backend.db.queries_reviews`` and ``backend.db.queries_queue``.
"""
