-- Accounts of the web application. scope_id is the division an account is confined
-- to (NULL: the whole tree, the campaign office); unit_code the one unit of a unit
-- contact. password is an argon2 PHC string; times are Unix seconds.
CREATE TABLE users (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL UNIQUE,
    role      TEXT    NOT NULL,
    scope_id  INTEGER,
    unit_code TEXT,
    password  TEXT    NOT NULL,
    created   INTEGER NOT NULL
);

-- Sign-in cookies and API tokens, by the SHA-256 of their secret: a leaked table
-- gives no usable token. csrf is the form token paired with a cookie.
CREATE TABLE auth_tokens (
    hash     TEXT    PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind     TEXT    NOT NULL,
    csrf     TEXT    NOT NULL DEFAULT '',
    created  INTEGER NOT NULL,
    expires  INTEGER
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

-- The web lists a campaign's sessions newest first.
CREATE INDEX sessions_day ON sessions (campaign_id, held_on);
