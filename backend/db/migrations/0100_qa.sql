-- Annual quality assessment (issue 25): samples of decisions, blind inspections, stored reports.
-- A sample is drawn over the decisions of one marker run (one row per parcel x condition); each
-- sampled unit keeps its stratum, the system's colour at sampling time and its inclusion
-- probability. Samples, inspections and reports are append-only audit records: a new sample for
-- the same year gets its own id and never replaces an earlier one.
CREATE TABLE qa_samples (
    id          serial PRIMARY KEY,
    set_id      integer NOT NULL REFERENCES parcel_sets ON DELETE CASCADE,
    run_id      integer NOT NULL REFERENCES marker_runs ON DELETE CASCADE,
    conditions  text[] NOT NULL,
    seed        bigint NOT NULL,
    design      jsonb NOT NULL,        -- method, strata, allocation, sizes, frame counts, versions
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_samples_set_idx ON qa_samples (set_id, created_at);

CREATE TABLE qa_units (
    sample_id   integer NOT NULL REFERENCES qa_samples ON DELETE CASCADE,
    set_id      integer NOT NULL,
    parcel_id   integer NOT NULL,
    condition   text NOT NULL,
    stratum     text NOT NULL,
    colour      text NOT NULL CHECK (colour IN ('green', 'yellow', 'red')),
    incl_prob   double precision NOT NULL CHECK (incl_prob > 0 AND incl_prob <= 1),
    PRIMARY KEY (sample_id, parcel_id, condition),
    FOREIGN KEY (set_id, parcel_id) REFERENCES parcels (set_id, id) ON DELETE CASCADE
);

-- Append-only: the latest inspection of a unit counts; earlier ones stay as history.
CREATE TABLE qa_inspections (
    id           bigserial PRIMARY KEY,
    sample_id    integer NOT NULL,
    parcel_id    integer NOT NULL,
    condition    text NOT NULL,
    truth        text NOT NULL CHECK (truth IN ('compliant', 'not_compliant', 'cannot_tell')),
    method       text NOT NULL CHECK (method IN ('field_visit', 'vhr_image', 'photo')),
    inspector    text NOT NULL CHECK (length(btrim(inspector)) BETWEEN 2 AND 64),
    inspected_on date NOT NULL,
    comment      text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (sample_id, parcel_id, condition)
        REFERENCES qa_units (sample_id, parcel_id, condition) ON DELETE CASCADE
);
CREATE INDEX qa_inspections_unit_idx ON qa_inspections (sample_id, parcel_id, condition, recorded_at DESC);

CREATE TABLE qa_reports (
    id          serial PRIMARY KEY,
    sample_id   integer NOT NULL REFERENCES qa_samples ON DELETE CASCADE,
    versions    jsonb NOT NULL,        -- catalogue, rule and marker versions in force
    estimates   jsonb NOT NULL,
    html        text NOT NULL,
    sha256      text NOT NULL,
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
