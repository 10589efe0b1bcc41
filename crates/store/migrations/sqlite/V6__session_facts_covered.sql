-- Drill-downs read every held session of a region's units: with the columns they
-- need in the index, they no longer look each session up in the table.
DROP INDEX sessions_unit;
CREATE INDEX sessions_unit ON sessions (campaign_id, unit_id, held_on, status, headcount, topics);
-- The unread count of every page header counts index entries only.
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read = 0;
