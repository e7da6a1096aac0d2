"""Annual quality assessment of the area monitoring system (issue 25).

``sampling`` (design: sizes, strata, allocation, the draw; pure), ``samples`` (draw and store a
sample over a set's decisions), ``inspections`` (blind inspections: API and CSV),
``estimation`` (weighted estimates and intervals; pure), ``measure`` (a sample's estimates,
confusion tables, disagreements) and ``report`` (HTML/PDF report stored as an audit record).
SQL lives in ``backend.db.queries_qa``.
"""
