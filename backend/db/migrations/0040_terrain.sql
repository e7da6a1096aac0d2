-- Terrain per parcel (issue 24): from a DEM (COG/VRT) imported for a parcel set, each parcel's
-- mean elevation, mean and max slope (degrees, on the DEM grid in ground metres) and aspect
-- (circular mean of the downslope bearing, degrees clockwise from north; NULL where flat).
CREATE TABLE terrain_sources (
    set_id       integer PRIMARY KEY REFERENCES parcel_sets ON DELETE CASCADE,
    source       text NOT NULL,
    crs          text NOT NULL,
    pixel_m      real NOT NULL CHECK (pixel_m > 0),  -- mean ground pixel size (x, y) in metres
    imported_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parcel_terrain (
    set_id      integer NOT NULL REFERENCES terrain_sources ON DELETE CASCADE,
    parcel_id   integer NOT NULL,
    elevation   real NOT NULL,
    slope_mean  real NOT NULL CHECK (slope_mean >= 0 AND slope_mean <= 90),
    slope_max   real NOT NULL CHECK (slope_max >= slope_mean AND slope_max <= 90),
    aspect      real CHECK (aspect >= 0 AND aspect < 360),
    n_pixels    integer NOT NULL CHECK (n_pixels > 0),
    PRIMARY KEY (set_id, parcel_id),
    FOREIGN KEY (set_id, parcel_id) REFERENCES parcels (set_id, id) ON DELETE CASCADE
);
