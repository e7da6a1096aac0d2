-- Reviewer verdicts on traffic-light decisions: the start of the quality-assessment workflow.
-- Append-only: a reviewer who changes their mind adds a row; the latest row per reviewer counts.
-- A verdict belongs to one decision (run, parcel, condition) and goes with it.
CREATE TABLE reviews (
    id          bigserial PRIMARY KEY,
    run_id      integer NOT NULL,
    set_id      integer NOT NULL,
    parcel_id   integer NOT NULL,
    condition   text NOT NULL,
    verdict     text NOT NULL CHECK (verdict IN ('agree', 'disagree', 'unsure')),
    comment     text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    reviewer    text NOT NULL CHECK (reviewer ~ '^[A-Za-z0-9_.@ -]{2,64}$'),
    reviewed_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (run_id, set_id, parcel_id, condition)
        REFERENCES decisions (run_id, set_id, parcel_id, condition) ON DELETE CASCADE
);
CREATE INDEX reviews_decision_idx ON reviews (set_id, parcel_id, condition, reviewed_at DESC);
CREATE INDEX reviews_run_idx ON reviews (run_id, reviewed_at DESC);
