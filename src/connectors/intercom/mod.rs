//! The Intercom REST API connector.
