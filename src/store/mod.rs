//! The redb store: every durable fact of the server in one file.
