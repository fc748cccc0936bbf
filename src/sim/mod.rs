//! In-process simulators of the Salesforce and Intercom REST APIs.
