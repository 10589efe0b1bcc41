-- Meeting halls: an office's meeting room (at province, city, county or township
-- level) that joins meetings as a venue. A hall is not a unit: it never enters any
-- coverage figure, and its attendance is kept in the meeting's record only.
CREATE TABLE halls (
    id          INTEGER PRIMARY KEY,
    division_id INTEGER NOT NULL UNIQUE REFERENCES divisions (id),
    name        TEXT    NOT NULL
);

-- Work the store does once on opening, after a migration that needs logic beyond SQL
-- (recounting units, rebuilding coverage roll-ups).
CREATE TABLE upkeep (
    task TEXT PRIMARY KEY
);

-- Earlier versions made a hall an agency unit coded M<division> ("…会场") whenever a
-- meeting asked for a venue in every city or county, and a closed meeting's sign-ins
-- there became held sessions: meetings moved coverage. Those units (used by venues and
-- by nothing else: no request, account or session of their own) become halls again.
CREATE TEMP TABLE old_halls AS
SELECT u.id, u.code, u.name, u.division_id FROM units u
WHERE u.kind = 'agency' AND u.code = 'M' || u.division_id
  AND EXISTS (SELECT 1 FROM venues v WHERE v.unit_id = u.id)
  AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.unit_id = u.id)
  AND NOT EXISTS (SELECT 1 FROM users a WHERE a.unit_code = u.code)
  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.unit_id = u.id AND (s.ext_id IS NULL OR s.ext_id NOT LIKE 'meeting-%'));

INSERT INTO halls (division_id, name) SELECT division_id, name FROM old_halls;

-- A venue is a unit's or a hall's, never both. SQLite cannot drop a NOT NULL in
-- place: the table is made anew, the attendance (headcount, sign-in time) kept.
CREATE TABLE venues_new (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    unit_id    INTEGER REFERENCES units (id),
    hall_id    INTEGER REFERENCES halls (id),
    main       INTEGER NOT NULL DEFAULT 0,
    token      TEXT    NOT NULL UNIQUE,
    headcount  INTEGER NOT NULL DEFAULT 0,
    signed_in  INTEGER,
    session_id INTEGER REFERENCES sessions (id),
    CHECK ((unit_id IS NULL) <> (hall_id IS NULL))
);
INSERT INTO venues_new (id, meeting_id, unit_id, hall_id, main, token, headcount, signed_in, session_id)
SELECT v.id, v.meeting_id,
       CASE WHEN o.id IS NULL THEN v.unit_id END,
       h.id,
       v.main, v.token, v.headcount, v.signed_in,
       CASE WHEN o.id IS NULL THEN v.session_id END
FROM venues v
LEFT JOIN old_halls o ON o.id = v.unit_id
LEFT JOIN halls h ON h.division_id = o.division_id;
DROP TABLE venues;
ALTER TABLE venues_new RENAME TO venues;
CREATE INDEX venues_meeting ON venues (meeting_id);

-- The held sessions those sign-ins became, and the units themselves, go.
DELETE FROM session_lecturers WHERE session_id IN (SELECT s.id FROM sessions s JOIN old_halls o ON o.id = s.unit_id);
DELETE FROM session_photos WHERE session_id IN (SELECT s.id FROM sessions s JOIN old_halls o ON o.id = s.unit_id);
DELETE FROM bulletin_sessions WHERE session_id IN (SELECT s.id FROM sessions s JOIN old_halls o ON o.id = s.unit_id);
DELETE FROM sessions WHERE unit_id IN (SELECT id FROM old_halls);
DELETE FROM units WHERE id IN (SELECT id FROM old_halls);

-- Unit counts and every campaign's roll-ups are rebuilt when the store opens.
INSERT INTO upkeep (task) SELECT 'recount' WHERE EXISTS (SELECT 1 FROM old_halls);

DROP TABLE old_halls;
