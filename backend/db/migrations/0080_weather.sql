-- Daily weather per parcel set (issue 24): one source per set, its cells (grid cells or
-- stations), one row per cell and variable holding the whole daily series (compact: a
-- country-year is cells x variables rows, not parcels x days), and each parcel's link to its
-- cells with area weights summing to 1 (a parcel spanning cells gets an area-weighted mix).
CREATE TABLE weather_sources (
    id          serial PRIMARY KEY,
    set_id      integer NOT NULL UNIQUE REFERENCES parcel_sets ON DELETE CASCADE,
    source      text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('grid', 'stations')),
    first_day   date NOT NULL,
    n_days      integer NOT NULL CHECK (n_days > 0),
    variables   text[] NOT NULL,
    units       jsonb NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE weather_series (
    source_id integer NOT NULL REFERENCES weather_sources ON DELETE CASCADE,
    cell      integer NOT NULL,
    variable  text NOT NULL,
    vals      bytea NOT NULL,  -- n_days float32 little-endian, NaN where the file has no value
    PRIMARY KEY (source_id, cell, variable)
);

CREATE TABLE weather_links (
    source_id integer NOT NULL REFERENCES weather_sources ON DELETE CASCADE,
    parcel_id integer NOT NULL,
    cell      integer NOT NULL,
    weight    real NOT NULL CHECK (weight > 0 AND weight <= 1.0001),
    PRIMARY KEY (source_id, parcel_id, cell)
);
