-- The campaign core: the division tree, units, campaigns, lecturers, sessions, and
-- the coverage roll-ups kept in step with sessions (see crates/store/src/coverage.rs).

-- A division's id is its official code as a number (codes never start with 0, so the
-- number keeps the digits and the level). Each row carries its ancestor at every level
-- above the village (itself at its own level) so that "under R" is one equality.
CREATE TABLE divisions (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    level       INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    parent_id   INTEGER REFERENCES divisions (id),
    province_id INTEGER,
    city_id     INTEGER,
    county_id   INTEGER,
    township_id INTEGER,
    units       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX divisions_parent   ON divisions (parent_id);
CREATE INDEX divisions_province ON divisions (province_id, level);
CREATE INDEX divisions_city     ON divisions (city_id, level);
CREATE INDEX divisions_county   ON divisions (county_id, level);
CREATE INDEX divisions_level    ON divisions (level);

-- Every village-level division is a unit (kind 'village', its code the division's);
-- organizations are units attached to a division of any level. bucket_id is the
-- unit's deepest ancestor at county level or above: the group whose coverage is kept.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    division_id INTEGER NOT NULL REFERENCES divisions (id),
    bucket_id   INTEGER NOT NULL REFERENCES divisions (id)
);
CREATE INDEX units_division ON units (division_id);
CREATE INDEX units_bucket   ON units (bucket_id);

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    title      TEXT    NOT NULL,
    start_date TEXT    NOT NULL,
    deadline   TEXT    NOT NULL,
    target     REAL    NOT NULL,
    extra      TEXT    NOT NULL DEFAULT ''
);

-- Topics and audiences: slot is the bit a session's set uses and never changes while
-- a session uses it; position is the order of the campaign file.
CREATE TABLE topics (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    slot        INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    extra       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, slot),
    UNIQUE (campaign_id, key)
);
CREATE TABLE audiences (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    slot        INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    extra       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, slot),
    UNIQUE (campaign_id, key)
);

CREATE TABLE lecture_groups (
    id          INTEGER PRIMARY KEY,
    division_id INTEGER NOT NULL UNIQUE REFERENCES divisions (id),
    name        TEXT    NOT NULL
);

CREATE TABLE lecturers (
    id       INTEGER PRIMARY KEY,
    key      TEXT    NOT NULL UNIQUE,
    name     TEXT    NOT NULL,
    group_id INTEGER NOT NULL REFERENCES lecture_groups (id),
    topics   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX lecturers_group ON lecturers (group_id);

-- topics and audiences are sets of slots (bit i = slot i).
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    ext_id      TEXT,
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    held_on     TEXT    NOT NULL,
    headcount   INTEGER NOT NULL CHECK (headcount >= 0),
    topics      INTEGER NOT NULL,
    audiences   INTEGER NOT NULL,
    format      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_ext ON sessions (campaign_id, ext_id) WHERE ext_id IS NOT NULL;
CREATE INDEX sessions_unit ON sessions (campaign_id, unit_id, held_on);

CREATE TABLE session_lecturers (
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    lecturer_id INTEGER NOT NULL REFERENCES lecturers (id),
    PRIMARY KEY (session_id, lecturer_id)
) WITHOUT ROWID;
CREATE INDEX session_lecturers_lecturer ON session_lecturers (lecturer_id);

-- Coverage roll-ups. bucket_days: each bucket's own daily tally; rollup_days: for every
-- division at county level or above, the sum of bucket_days over the buckets under it.
-- topics is the per-slot count list, space-separated.
CREATE TABLE bucket_days (
    campaign_id INTEGER NOT NULL,
    bucket_id   INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    covered     INTEGER NOT NULL,
    sessions    INTEGER NOT NULL,
    audience    INTEGER NOT NULL,
    topics      TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, bucket_id, day)
) WITHOUT ROWID;
CREATE TABLE rollup_days (
    campaign_id INTEGER NOT NULL,
    division_id INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    covered     INTEGER NOT NULL,
    sessions    INTEGER NOT NULL,
    audience    INTEGER NOT NULL,
    topics      TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, division_id, day)
) WITHOUT ROWID;
