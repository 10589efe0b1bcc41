//! Bulletins: drafts, publication, the public list, page and Atom feed.
