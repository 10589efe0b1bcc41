-- Sign-in cookies are signed by the server (web::auth) rather than stored: signing in
-- writes nothing, so it works while a long import holds the write lock. The key they
-- are signed with is kept here; a cookie signed out before it expires is remembered
-- here until then. Bearer tokens stay in auth_tokens.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE revoked_cookies (
    nonce   TEXT    PRIMARY KEY,
    expires BIGINT  NOT NULL
);
DELETE FROM auth_tokens WHERE kind = 'cookie';
