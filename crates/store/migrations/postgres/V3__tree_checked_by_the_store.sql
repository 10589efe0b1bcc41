-- Like sessions (V2), the division tree's references are checked by the store before
-- any write: the division importer resolves every parent in the file or the stored
-- tree and refuses the whole file if one is missing, and units are placed only under
-- stored divisions. As foreign keys they cost 1.9 million trigger checks, a third of
-- the time of importing the national tree. Divisions and units are never deleted.
ALTER TABLE divisions DROP CONSTRAINT divisions_parent_id_fkey;
ALTER TABLE units DROP CONSTRAINT units_division_id_fkey;
ALTER TABLE units DROP CONSTRAINT units_bucket_id_fkey;
