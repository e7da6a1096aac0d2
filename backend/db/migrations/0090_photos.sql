-- Geotagged photos attached to parcels (issue 26). One row per stored photo: the original and
-- its EXIF-free thumbnail live in the photo store (var/ or S3, by settings) under the keys
-- given here; the EXIF position, local time, bearing and accuracy as read; the parcel the
-- photo is linked to (the one holding the position, or the declared one with the distance);
-- and the checks stored as they were when the photo came in. A photo is stored once per set:
-- the same content (SHA-256) again is refused.
CREATE TABLE photos (
    id           bigserial PRIMARY KEY,
    set_id       integer NOT NULL,
    parcel_id    integer NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type   text NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes > 0),
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    original_key text NOT NULL,
    thumb_key    text NOT NULL,
    lon          double precision CHECK (lon BETWEEN -180 AND 180),
    lat          double precision CHECK (lat BETWEEN -90 AND 90),
    taken_local  timestamp,                 -- EXIF DateTimeOriginal (camera's wall clock)
    utc_offset   text CHECK (utc_offset ~ '^[+-][0-9]{2}:[0-9]{2}$'),  -- OffsetTimeOriginal
    bearing      real CHECK (bearing >= 0 AND bearing < 360),
    bearing_ref  text CHECK (bearing_ref IN ('T', 'M')),
    accuracy_m   real CHECK (accuracy_m >= 0),
    declared_pid text,
    inside       boolean,                   -- the position lies in the linked parcel
    distance_m   double precision CHECK (distance_m >= 0),
    condition    text,
    checks       jsonb NOT NULL,
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (set_id, sha256),
    FOREIGN KEY (set_id, parcel_id) REFERENCES parcels (set_id, id) ON DELETE CASCADE
);
CREATE INDEX photos_parcel_idx ON photos (set_id, parcel_id, taken_local);
