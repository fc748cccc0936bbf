//! HTTP clients of the Salesforce and Intercom REST APIs.
