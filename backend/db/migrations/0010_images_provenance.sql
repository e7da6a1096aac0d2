-- Issue 17: provider band sets, provenance, composites, seasons.
-- images: who published the image, from which platform and orbit, which mask it has
-- ('SCL' or 'none'), the interval of a composite (datetime is then its nominal date), and the
-- image it duplicates when the same acquisition was published again (no jobs for it).
ALTER TABLE images
    ADD COLUMN provider       text NOT NULL DEFAULT '',
    ADD COLUMN platform       text,
    ADD COLUMN orbit_state    text CHECK (orbit_state IS NULL OR orbit_state IN ('ascending', 'descending')),
    ADD COLUMN relative_orbit integer,
    ADD COLUMN tile           text,
    ADD COLUMN mask           text NOT NULL DEFAULT 'none' CHECK (mask IN ('SCL', 'none')),
    ADD COLUMN start_datetime timestamptz,
    ADD COLUMN end_datetime   timestamptz,
    ADD COLUMN duplicate_of   integer REFERENCES images ON DELETE SET NULL;

UPDATE images SET
    mask = CASE WHEN item->'assets' ? coalesce(item->'properties'->'cbm:assets'->>'SCL', 'SCL')
                THEN 'SCL' ELSE 'none' END,
    platform = lower(item->'properties'->>'platform'),
    orbit_state = CASE lower(item->'properties'->>'sat:orbit_state')
                  WHEN 'ascending' THEN 'ascending' WHEN 'descending' THEN 'descending' END,
    relative_orbit = (item->'properties'->>'sat:relative_orbit')::integer,
    start_datetime = (item->'properties'->>'start_datetime')::timestamptz,
    end_datetime = (item->'properties'->>'end_datetime')::timestamptz
WHERE kind IN ('s2', 'bs', 'c6');

CREATE INDEX images_acquisition_idx ON images (kind, platform, tile, datetime);

-- parcel_sets: the season whose images get extraction jobs (NULL: 1 October of the previous
-- year to 31 December of the set's year).
ALTER TABLE parcel_sets
    ADD COLUMN season_start date,
    ADD COLUMN season_end   date,
    ADD CONSTRAINT parcel_sets_season_check CHECK (season_start IS NULL OR season_end IS NULL
                                                   OR season_start <= season_end);

CREATE FUNCTION cbm_in_season(ts timestamptz, ps parcel_sets) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT ts >= coalesce(ps.season_start, make_date(ps.year - 1, 10, 1))::timestamp AT TIME ZONE 'UTC'
       AND ts <  (coalesce(ps.season_end, make_date(ps.year, 12, 31)) + 1)::timestamp AT TIME ZONE 'UTC'
$$;
