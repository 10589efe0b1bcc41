-- Live meetings: a main venue and branch venues, each joined by a link with its own
-- unguessable token; the chair's link carries the chair's rights. Times are Unix
-- seconds; agenda is JSON ([{"speaker", "title"}]).
CREATE TABLE meetings (
    id          INTEGER PRIMARY KEY,
    title       TEXT    NOT NULL,
    starts_at   TEXT    NOT NULL,
    campaign_id INTEGER REFERENCES campaigns (id),
    agenda      TEXT    NOT NULL DEFAULT '[]',
    chair_token TEXT    NOT NULL UNIQUE,
    state       TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    closed      INTEGER
);

CREATE TABLE venues (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    unit_id    INTEGER NOT NULL REFERENCES units (id),
    main       INTEGER NOT NULL DEFAULT 0,
    token      TEXT    NOT NULL UNIQUE,
    headcount  INTEGER NOT NULL DEFAULT 0,
    signed_in  INTEGER,
    session_id INTEGER REFERENCES sessions (id)
);
CREATE INDEX venues_meeting ON venues (meeting_id);
