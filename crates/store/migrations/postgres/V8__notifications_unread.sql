-- The unread count of every page header counts index entries only (the SQLite twin,
-- V6, also widens sessions_unit; PostgreSQL's drill-downs are within target without it).
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read = 0;
