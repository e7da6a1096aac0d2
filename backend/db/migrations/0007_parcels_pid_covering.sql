-- A time-series request finds the parcel by (set, agency pid) and needs only its internal id:
-- with the id in the unique index that lookup is an index-only scan, so a parcel whose rows
-- are not cached costs one random read less (the parcels heap page, which holds the geometry).
-- (Index-only scans need the visibility map, which (auto)vacuum sets after an import.)
ALTER TABLE parcels ADD CONSTRAINT parcels_set_pid_key UNIQUE (set_id, pid) INCLUDE (id);
ALTER TABLE parcels DROP CONSTRAINT parcels_set_id_pid_key;
