-- Supervision finds planned sessions past their date without reading every session.
CREATE INDEX sessions_planned ON sessions (campaign_id, held_on) WHERE status = 'planned';
