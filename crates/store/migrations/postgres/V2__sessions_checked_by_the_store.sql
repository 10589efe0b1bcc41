-- Sessions' references to units and campaigns are checked by the store before any
-- write (every import resolves each row's unit and campaign first). As foreign keys
-- they cost a trigger and an index probe per row, half the time of a national import
-- of millions of sessions, so PostgreSQL leaves them to the store. Units and
-- campaigns are never deleted.
ALTER TABLE sessions DROP CONSTRAINT sessions_unit_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_campaign_id_fkey;

-- External ids are matched exactly, never sorted for people: byte order ("C") makes
-- each comparison in their unique index a memcmp instead of a locale's rules.
ALTER TABLE sessions ALTER COLUMN ext_id TYPE TEXT COLLATE "C";
