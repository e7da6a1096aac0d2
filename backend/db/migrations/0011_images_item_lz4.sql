-- images.item (the STAC item JSON, ~5-70 kB for real provider items) is compressed with lz4
-- instead of pglz: writing 10 000 real items spent about a third of its server time in pglz,
-- and chips/extraction read the item back. Existing rows keep pglz until rewritten (both are
-- read transparently). A server built without lz4 keeps pglz, with a notice.
DO $$
BEGIN
    ALTER TABLE images ALTER COLUMN item SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: images.item stays pglz-compressed';
END
$$;
