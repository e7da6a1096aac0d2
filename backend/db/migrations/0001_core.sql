-- Core schema of the CbM platform. Applied once, in a transaction, by `cbm db migrate`.
-- Later changes come as new numbered files; an applied file is never edited.

CREATE EXTENSION IF NOT EXISTS postgis;

-- ---------------------------------------------------------------- users, roles, grants
CREATE TABLE users (
    id            serial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{2,64}$'),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'analyst', 'consumer')),
    full_name     text,
    email         text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- aoi '*' grants every AOI.
CREATE TABLE aoi_grants (
    user_id    integer NOT NULL REFERENCES users ON DELETE CASCADE,
    aoi        text NOT NULL CHECK (aoi = '*' OR aoi ~ '^[a-z][a-z0-9_]{1,31}$'),
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by text,
    PRIMARY KEY (user_id, aoi)
);

-- ---------------------------------------------------------------- parcel sets and parcels
CREATE TABLE parcel_sets (
    id          serial PRIMARY KEY,
    aoi         text NOT NULL CHECK (aoi ~ '^[a-z][a-z0-9_]{1,31}$'),
    year        integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    ptype       text NOT NULL DEFAULT '' CHECK (ptype ~ '^[a-z0-9_]{0,16}$'),
    srid        integer NOT NULL CHECK (srid > 0),
    n_parcels   integer NOT NULL DEFAULT 0,
    extent      geometry(Polygon, 4326),
    source      text,
    report      jsonb NOT NULL DEFAULT '{}',
    imported_at timestamptz NOT NULL DEFAULT now(),
    imported_by text,
    UNIQUE (aoi, year, ptype)
);

-- `id` is a dense integer per set (1..n): the label burnt into parcel label rasters.
-- `geom` is in the set's native CRS (parcel_sets.srid); area_m2 is the geodesic/equal-area area.
CREATE TABLE parcels (
    set_id    integer NOT NULL REFERENCES parcel_sets ON DELETE CASCADE,
    id        integer NOT NULL CHECK (id > 0),
    pid       text NOT NULL,
    cropcode  text,
    cropname  text,
    area_m2   double precision NOT NULL CHECK (area_m2 > 0),
    attrs     jsonb NOT NULL DEFAULT '{}',
    geom      geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (set_id, id),
    UNIQUE (set_id, pid)
);
CREATE INDEX parcels_geom_gix ON parcels USING gist (geom);
CREATE INDEX parcels_crop_idx ON parcels (set_id, cropcode);

-- ---------------------------------------------------------------- image catalogue
-- kind: 's2' Sentinel-2 L2A, 'bs' S1 backscatter, 'c6' S1 6-day coherence.
-- bands: the asset names in the order of the stats arrays in `signatures`.
CREATE TABLE images (
    id          serial PRIMARY KEY,
    item_id     text NOT NULL,
    collection  text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('s2', 'bs', 'c6')),
    datetime    timestamptz NOT NULL,
    footprint   geometry(MultiPolygon, 4326) NOT NULL,
    cloud_cover real CHECK (cloud_cover IS NULL OR cloud_cover BETWEEN 0 AND 100),
    epsg        integer,
    bands       text[] NOT NULL,
    item        jsonb NOT NULL,
    item_hash   text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (collection, item_id)
);
CREATE INDEX images_footprint_gix ON images USING gist (footprint);
CREATE INDEX images_kind_time_idx ON images (kind, datetime);

-- ---------------------------------------------------------------- extraction job queue
-- One job per (image, parcel set). Workers claim with FOR UPDATE SKIP LOCKED; a running job
-- whose lease expired is claimable again; rows and the 'done' status commit together.
CREATE TABLE extraction_jobs (
    id          bigserial PRIMARY KEY,
    image_id    integer NOT NULL REFERENCES images ON DELETE CASCADE,
    set_id      integer NOT NULL REFERENCES parcel_sets ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    not_before  timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    worker      text,
    error       text,
    n_parcels   integer,
    n_rows      integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    UNIQUE (image_id, set_id)
);
CREATE INDEX extraction_jobs_todo_idx ON extraction_jobs (set_id, status, not_before)
    WHERE status IN ('pending', 'running');

-- ---------------------------------------------------------------- signatures
-- The largest table: one row per parcel x image (not per band, to stay compact), partitioned
-- by parcel set (a partition is created with its set). `stats` is a 2-D real array
-- [band][stat] with the bands in images.bands order and the stats in the order
-- count, mean, std, min, max, p25, p50, p75 (std is the population std, ddof 0).
-- `n_total` is the number of parcel pixels on the image grid (valid or not), `hist` the SCL
-- class histogram (index = class 0..11, S2 only) of the parcel's pixels on the 20 m grid, as
-- smallint: parcels are at most 10 km2 (the importer's limit) = 25 000 pixels at 20 m.
CREATE TABLE signatures (
    set_id    integer NOT NULL,
    parcel_id integer NOT NULL,
    image_id  integer NOT NULL,
    n_total   integer NOT NULL,
    valid_frac real NOT NULL CHECK (valid_frac BETWEEN 0 AND 1),
    hist      smallint[],
    stats     real[] NOT NULL,
    PRIMARY KEY (set_id, parcel_id, image_id)
) PARTITION BY LIST (set_id);
CREATE INDEX signatures_image_idx ON signatures (set_id, image_id);

-- ---------------------------------------------------------------- markers and decisions
CREATE TABLE marker_runs (
    id          serial PRIMARY KEY,
    set_id      integer NOT NULL REFERENCES parcel_sets ON DELETE CASCADE,
    scheme      text,
    catalogue_version text,
    params      jsonb NOT NULL DEFAULT '{}',
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    started_by  text
);

CREATE TABLE marker_results (
    run_id      integer NOT NULL REFERENCES marker_runs ON DELETE CASCADE,
    set_id      integer NOT NULL,
    parcel_id   integer NOT NULL,
    marker      text NOT NULL,
    seq         smallint NOT NULL DEFAULT 0,
    version     text NOT NULL,
    start_date  date,
    end_date    date,
    value       real,
    confidence  real CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
    evidence    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, set_id, parcel_id, marker, seq),
    FOREIGN KEY (set_id, parcel_id) REFERENCES parcels (set_id, id) ON DELETE CASCADE
);
CREATE INDEX marker_results_parcel_idx ON marker_results (set_id, parcel_id);

CREATE TABLE decisions (
    run_id      integer NOT NULL REFERENCES marker_runs ON DELETE CASCADE,
    set_id      integer NOT NULL,
    parcel_id   integer NOT NULL,
    condition   text NOT NULL,
    colour      text NOT NULL CHECK (colour IN ('green', 'yellow', 'red')),
    reason      text NOT NULL,
    evidence    jsonb NOT NULL DEFAULT '{}',
    rule_version text NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, set_id, parcel_id, condition),
    FOREIGN KEY (set_id, parcel_id) REFERENCES parcels (set_id, id) ON DELETE CASCADE
);
CREATE INDEX decisions_parcel_idx ON decisions (set_id, parcel_id);
CREATE INDEX decisions_colour_idx ON decisions (run_id, condition, colour);

-- ---------------------------------------------------------------- batch runs
CREATE TABLE batch_runs (
    id          text PRIMARY KEY,
    notebook    text NOT NULL,
    parameters  jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'failed', 'partial', 'cancelled')),
    started_by  text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    scheduler   text,
    n_chunks    integer NOT NULL DEFAULT 0,
    rows_written bigint NOT NULL DEFAULT 0,
    output_dir  text
);

CREATE TABLE batch_chunks (
    run_id      text NOT NULL REFERENCES batch_runs ON DELETE CASCADE,
    chunk       integer NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    job_ids     bigint[] NOT NULL DEFAULT '{}',
    rows_written bigint NOT NULL DEFAULT 0,
    error       text,
    output_path text,
    started_at  timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (run_id, chunk)
);

-- ---------------------------------------------------------------- audit log
CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text,
    action  text NOT NULL,
    target  text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Create the signature partition of a parcel set (called by the importer in its transaction).
CREATE FUNCTION cbm_create_signature_partition(p_set_id integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF signatures FOR VALUES IN (%s)',
        'signatures_s' || p_set_id, p_set_id);
END $$;
