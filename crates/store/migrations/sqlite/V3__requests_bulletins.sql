-- Lecture requests and dispatch, photos, bulletins and notifications.
-- Times are Unix seconds; dates are TEXT YYYY-MM-DD.

-- A lecturer account's lecturer (its key), for "my assignments".
ALTER TABLE users ADD COLUMN lecturer_key TEXT;

-- A unit's order for a lecture. state is domain::RequestState; lecturer_id the
-- lecturer assigned (or who claimed it); open_scope the division whose lecture groups
-- may claim it while it is open; session_id the report once held.
CREATE TABLE requests (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id),
    unit_id        INTEGER NOT NULL REFERENCES units (id),
    topics         INTEGER NOT NULL,
    audiences      INTEGER NOT NULL,
    window_from    TEXT    NOT NULL,
    window_to      TEXT    NOT NULL,
    headcount      INTEGER NOT NULL,
    note           TEXT    NOT NULL DEFAULT '',
    state          TEXT    NOT NULL,
    lecturer_id    INTEGER REFERENCES lecturers (id),
    open_scope     INTEGER,
    session_id     INTEGER REFERENCES sessions (id),
    rating         INTEGER,
    rating_comment TEXT    NOT NULL DEFAULT '',
    reason         TEXT    NOT NULL DEFAULT '',
    requested_by   TEXT    NOT NULL,
    created        INTEGER NOT NULL,
    updated        INTEGER NOT NULL
);
CREATE INDEX requests_unit     ON requests (unit_id);
CREATE INDEX requests_state    ON requests (state, updated);
CREATE INDEX requests_lecturer ON requests (lecturer_id);

-- Every step a request took, in order.
CREATE TABLE request_history (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    note       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX request_history_request ON request_history (request_id, id);

-- Photos, checked by content on upload, kept in the database so that a backup of the
-- database is a backup of everything.
CREATE TABLE photos (
    id           INTEGER PRIMARY KEY,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    uploaded_by  TEXT    NOT NULL,
    created      INTEGER NOT NULL
);
CREATE TABLE session_photos (
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    photo_id   INTEGER NOT NULL REFERENCES photos (id),
    PRIMARY KEY (session_id, photo_id)
);

-- Bulletins: drafts until published; scope_id the division of the author's scope (NULL:
-- the whole tree). Published ones are public.
CREATE TABLE bulletins (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER REFERENCES campaigns (id),
    scope_id    INTEGER,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    published   INTEGER
);
CREATE INDEX bulletins_published ON bulletins (status, published);
CREATE TABLE bulletin_sessions (
    bulletin_id INTEGER NOT NULL REFERENCES bulletins (id),
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    PRIMARY KEY (bulletin_id, session_id)
);
CREATE TABLE bulletin_photos (
    bulletin_id INTEGER NOT NULL REFERENCES bulletins (id),
    photo_id    INTEGER NOT NULL REFERENCES photos (id),
    PRIMARY KEY (bulletin_id, photo_id)
);

-- In-app notifications; key makes an alert sent once per account.
CREATE TABLE notifications (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    link    TEXT    NOT NULL DEFAULT '',
    read    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, key)
);
