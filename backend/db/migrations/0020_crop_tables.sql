-- Crop tables (issue 19): code -> name, optional group and EuroCrops HCAT code, per AOI and year.
-- Loaded with `cbm import crops FILE --aoi --year` (replaced as a whole), independently of the
-- parcel sets; where a parcel has a crop code but no name, the name served is the table's.
CREATE TABLE crop_tables (
    aoi        text    NOT NULL,
    year       integer NOT NULL,
    cropcode   text    NOT NULL,
    cropname   text,
    crop_group text CHECK (crop_group IN ('arable', 'grassland', 'permanent', 'fallow',
                                          'landscape', 'other')),
    hcat_code  text,
    PRIMARY KEY (aoi, year, cropcode)
);
