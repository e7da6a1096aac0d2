-- QA inspectors (issue 25): who inspects a sample. Only an assigned inspector records inspections
-- through the API, and while one of the sample's units is not inspected yet the API hides the
-- system's decisions from that inspector on every other route (backend/api/blind.py).
CREATE TABLE qa_inspectors (
    sample_id   integer NOT NULL REFERENCES qa_samples ON DELETE CASCADE,
    user_id     integer NOT NULL REFERENCES users ON DELETE CASCADE,
    assigned_by text,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sample_id, user_id)
);
CREATE INDEX qa_inspectors_user_idx ON qa_inspectors (user_id);
