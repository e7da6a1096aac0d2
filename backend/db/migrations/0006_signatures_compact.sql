-- Compact signatures: ≤ 60 bytes per band-row on disk including indexes (issue 5).
--
-- * stats: the float32 values of stats[band][8] (count, mean, std, min, max, p25, p50, p75),
--   band-major, packed big-endian in a bytea (no 32-byte array header; a short S1 row fits a
--   1-byte varlena header). The band order is images.bands.
-- * hist: the 12 SCL class counts packed as big-endian int16 (NULL for S1).
-- * the unique key is (parcel_id, image_id) per partition (set_id is constant in a partition,
--   so it is not repeated in every index entry); "rows of one image" is a BRIN index, since a
--   job writes one image's rows together.
--
-- SQL access for analysts: cbm_stat(stats, band_position, stat_position) -> real,
-- cbm_stats(stats) -> real[band][8], cbm_hist(hist) -> smallint[12]; Python: backend.extraction.pgcopy.

-- (Not STRICT, so that the planner inlines them: NULL in gives NULL out all the same.)
CREATE FUNCTION cbm_float4(u bigint) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN (u >> 23) & 255 = 255 THEN
        CASE WHEN u & 8388607 <> 0 THEN 'NaN'::real
             WHEN u >> 31 = 1 THEN '-Infinity'::real ELSE 'Infinity'::real END
    WHEN (u >> 23) & 255 = 0 THEN ((1 - 2 * (u >> 31)) * (u & 8388607) * 2::float8 ^ (-149))::real
    ELSE ((1 - 2 * (u >> 31)) * (8388608 + (u & 8388607)) * 2::float8 ^ (((u >> 23) & 255) - 150))::real
END $$;
COMMENT ON FUNCTION cbm_float4(bigint) IS 'The float32 whose IEEE 754 bits are the low 32 bits of u.';

CREATE FUNCTION cbm_stat(stats bytea, band integer, stat integer) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT cbm_float4(('x' || encode(substring(stats FROM ((band - 1) * 8 + stat - 1) * 4 + 1 FOR 4), 'hex'))
                  ::bit(32)::bigint)
$$;
COMMENT ON FUNCTION cbm_stat(bytea, integer, integer) IS
    'Statistic stat (1 count, 2 mean, 3 std, 4 min, 5 max, 6 p25, 7 p50, 8 p75) of band band '
    '(position in images.bands, from 1) of a packed signatures.stats value.';

CREATE FUNCTION cbm_stats(stats bytea) RETURNS real[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT array_agg(ARRAY[cbm_stat(stats, b, 1), cbm_stat(stats, b, 2), cbm_stat(stats, b, 3),
                       cbm_stat(stats, b, 4), cbm_stat(stats, b, 5), cbm_stat(stats, b, 6),
                       cbm_stat(stats, b, 7), cbm_stat(stats, b, 8)] ORDER BY b)
FROM generate_series(1, length(stats) / 32) AS b
$$;
COMMENT ON FUNCTION cbm_stats(bytea) IS 'A packed signatures.stats value as real[band][8].';

CREATE FUNCTION cbm_hist(hist bytea) RETURNS smallint[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT array_agg(((get_byte(hist, 2 * k) << 8) | get_byte(hist, 2 * k + 1))::smallint ORDER BY k)
FROM generate_series(0, length(hist) / 2 - 1) AS k
$$;
COMMENT ON FUNCTION cbm_hist(bytea) IS 'A packed signatures.hist value as smallint[12] (SCL class 0..11).';

-- Existing rows: pack in place (the table is rewritten once).
CREATE FUNCTION cbm_pack_float4(a real[]) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT string_agg(float4send(x), ''::bytea ORDER BY o) FROM unnest(a) WITH ORDINALITY AS u(x, o)
$$;
CREATE FUNCTION cbm_pack_int2(a smallint[]) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT string_agg(int2send(x), ''::bytea ORDER BY o) FROM unnest(a) WITH ORDINALITY AS u(x, o)
$$;

ALTER TABLE signatures DROP CONSTRAINT signatures_pkey;
DROP INDEX signatures_image_idx;
ALTER TABLE signatures
    ALTER COLUMN stats TYPE bytea USING cbm_pack_float4(stats),
    ALTER COLUMN hist TYPE bytea USING cbm_pack_int2(hist);
ALTER TABLE signatures ADD CONSTRAINT signatures_stats_len CHECK (length(stats) % 32 = 0 AND length(stats) > 0),
                       ADD CONSTRAINT signatures_hist_len CHECK (length(hist) = 24);
DROP FUNCTION cbm_pack_float4(real[]);
DROP FUNCTION cbm_pack_int2(smallint[]);

CREATE INDEX signatures_image_brin ON signatures USING brin (image_id);

CREATE OR REPLACE FUNCTION cbm_create_signature_partition(p_set_id integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF signatures FOR VALUES IN (%s)',
        'signatures_s' || p_set_id, p_set_id);
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %I (parcel_id, image_id)',
                   'signatures_s' || p_set_id || '_key', 'signatures_s' || p_set_id);
END $$;

DO $$
DECLARE part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'signatures'::regclass LOOP
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (parcel_id, image_id)', part::text || '_key', part);
    END LOOP;
END $$;
