//! Photos: checked by content, kept in the database, attached to sessions and bulletins.
