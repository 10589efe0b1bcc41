//! Supervision: waiting requests, overdue planned sessions, trailing regions, rankings, notifications.
