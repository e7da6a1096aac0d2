-- Review workflow (issue 21): verdicts confirm / override (to green or red, with a mandatory
-- reason) / field_visit next to the legacy agree / disagree / unsure of 0005; and the review
-- queue: one row per parcel and marker run with its worst colour, built from the decisions.
ALTER TABLE reviews DROP CONSTRAINT reviews_verdict_check;
ALTER TABLE reviews ADD CONSTRAINT reviews_verdict_check
    CHECK (verdict IN ('confirm', 'override', 'field_visit', 'agree', 'disagree', 'unsure'));
ALTER TABLE reviews ADD COLUMN colour text CHECK (colour IN ('green', 'red'));
ALTER TABLE reviews ADD COLUMN reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 2000);
ALTER TABLE reviews ADD CONSTRAINT reviews_override_reason CHECK (
    (verdict = 'override') = (colour IS NOT NULL) AND (verdict <> 'override' OR length(btrim(reason)) >= 3));

-- One row per parcel of a run's decisions. A cache of the (immutable) decisions of the run:
-- rebuilt when review_queue_builds.n_decisions no longer matches; `reviewed`/`verdict` are kept
-- up to date when a review is stored.
CREATE TABLE review_queue (
    run_id      integer NOT NULL REFERENCES marker_runs ON DELETE CASCADE,
    set_id      integer NOT NULL,
    parcel_id   integer NOT NULL,
    pid         text NOT NULL,
    colour_rank smallint NOT NULL,           -- 0 red, 1 yellow, 2 green (worst of the parcel)
    conditions  text[] NOT NULL,             -- condition ids
    cond_colours text[] NOT NULL,            -- 'condition:colour'
    confidence  real NOT NULL,               -- lowest confidence among the worst-colour decisions; -1 none
    area_m2     double precision NOT NULL,
    cropcode    text NOT NULL,
    cropname    text NOT NULL,
    reviewed    boolean NOT NULL DEFAULT false,
    verdict     text,
    PRIMARY KEY (run_id, parcel_id),
    FOREIGN KEY (set_id, parcel_id) REFERENCES parcels (set_id, id) ON DELETE CASCADE
);
CREATE INDEX review_queue_colour_idx ON review_queue (run_id, colour_rank, pid);
CREATE INDEX review_queue_conf_idx ON review_queue (run_id, confidence, pid);
CREATE INDEX review_queue_area_idx ON review_queue (run_id, area_m2, pid);
CREATE INDEX review_queue_crop_idx ON review_queue (run_id, cropname, pid);
CREATE INDEX review_queue_reviewed_idx ON review_queue (run_id, reviewed, pid);
CREATE INDEX review_queue_pid_idx ON review_queue (run_id, pid);
CREATE INDEX review_queue_conds_gin ON review_queue USING gin (cond_colours);
CREATE INDEX review_queue_cond_gin ON review_queue USING gin (conditions);

CREATE TABLE review_queue_builds (
    run_id      integer PRIMARY KEY REFERENCES marker_runs ON DELETE CASCADE,
    n_decisions bigint NOT NULL,
    built_at    timestamptz NOT NULL DEFAULT now()
);
