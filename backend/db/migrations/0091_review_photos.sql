-- A reviewer may cite photos of the parcel as the reason of a verdict (issue 26 item 3). The ids
-- are checked by the service (photos of the same set and parcel) when the verdict is stored; the
-- array keeps them with the verdict in the append-only history. A photo is never deleted while
-- a review cites it: photos go only with their parcel (ON DELETE CASCADE of 0090), and so do
-- the reviews.
ALTER TABLE reviews ADD COLUMN photo_ids bigint[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(photo_ids) <= 50);
