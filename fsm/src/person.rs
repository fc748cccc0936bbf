//! The two sides and the references that name one person on a side.

use serde::{Deserialize, Serialize};

use crate::key::{IntercomId, SalesforceId};

/// One of the two synced systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The Intercom workspace.
    Intercom,
    /// The Salesforce org.
    Salesforce,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Intercom => Side::Salesforce,
            Side::Salesforce => Side::Intercom,
        }
    }
}

/// The role of an Intercom contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntercomRole {
    /// A signed-up user.
    User,
    /// A lead (visitor who left contact details).
    Lead,
}

/// The sObject type of a Salesforce person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SalesforceObject {
    /// A `Lead` record.
    Lead,
    /// A `Contact` record.
    Contact,
}

/// An Intercom contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntercomRef {
    /// The contact id.
    pub id: IntercomId,
    /// The contact's role.
    pub role: IntercomRole,
}

/// A Salesforce Lead or Contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SalesforceRef {
    /// The 18-character record id.
    pub id: SalesforceId,
    /// Whether the record is a Lead or a Contact.
    pub object: SalesforceObject,
}

/// A person on either side.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "side", rename_all = "snake_case")]
pub enum PersonRef {
    /// An Intercom contact.
    Intercom(IntercomRef),
    /// A Salesforce Lead or Contact.
    Salesforce(SalesforceRef),
}

impl PersonRef {
    /// The side the person lives on.
    pub fn side(&self) -> Side {
        match self {
            PersonRef::Intercom(_) => Side::Intercom,
            PersonRef::Salesforce(_) => Side::Salesforce,
        }
    }
}
