-- Attachments of QA inspections (issue 25): the evidence an inspector establishes the true
-- situation with (a VHR image clip, a field sheet, a photo) kept with the inspection it backs.
-- The file lives in the photo store (var/ or S3, by settings) under a content-addressed key;
-- the row keeps the name it was uploaded with, its type as read from its bytes, its size and
-- SHA-256. Append-only like the inspections: a later inspection of the unit gets its own.
CREATE TABLE qa_attachments (
    id            bigserial PRIMARY KEY,
    inspection_id bigint NOT NULL REFERENCES qa_inspections ON DELETE CASCADE,
    filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 128),
    media_type    text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/tiff', 'application/pdf')),
    bytes         bigint NOT NULL CHECK (bytes > 0),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    store_key     text NOT NULL,
    uploaded_by   text NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (inspection_id, sha256)
);
