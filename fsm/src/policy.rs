//! Sync rules: which attributes are mapped, which way they flow and who wins a conflict.

use serde::{Deserialize, Serialize};

use crate::person::Side;

/// How one mapped attribute flows, and which side wins when both sides changed it since the
/// last time they agreed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// Both ways; in a conflict the change with the newer source timestamp wins, and Salesforce
    /// wins a tie.
    #[default]
    NewestWins,
    /// Both ways; in a conflict Salesforce wins.
    PreferSalesforce,
    /// Both ways; in a conflict Salesforce wins unless its value is blank, then Intercom wins.
    PreferSalesforceUnlessBlank,
    /// Both ways; in a conflict Intercom wins.
    PreferIntercom,
    /// Only Intercom changes flow, to Salesforce; Salesforce changes stay in Salesforce.
    IntercomToSalesforceOnly,
    /// Only Salesforce changes flow, to Intercom; Intercom changes stay in Intercom.
    SalesforceToIntercomOnly,
    /// Mapped but not synced in either direction.
    DoNotSync,
}

impl ConflictPolicy {
    /// Returns true when changes made on `from` are copied to the other side.
    pub fn flows_from(self, from: Side) -> bool {
        match self {
            ConflictPolicy::NewestWins
            | ConflictPolicy::PreferSalesforce
            | ConflictPolicy::PreferSalesforceUnlessBlank
            | ConflictPolicy::PreferIntercom => true,
            ConflictPolicy::IntercomToSalesforceOnly => from == Side::Intercom,
            ConflictPolicy::SalesforceToIntercomOnly => from == Side::Salesforce,
            ConflictPolicy::DoNotSync => false,
        }
    }

    /// Returns true when values are written to `to`.
    pub fn flows_to(self, to: Side) -> bool {
        self.flows_from(to.other())
    }
}

/// One mapped attribute pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedAttribute {
    /// The stable attribute id shared by both sides' values, such as `"phone"` or
    /// `"custom_attributes.plan"`.
    pub id: String,
    /// The direction and conflict rule of this attribute.
    pub policy: ConflictPolicy,
}

impl MappedAttribute {
    /// Builds a mapped attribute.
    pub fn new(id: impl Into<String>, policy: ConflictPolicy) -> Self {
        MappedAttribute {
            id: id.into(),
            policy,
        }
    }
}

/// The operator's sync settings, as the machine needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRules {
    /// The mapped attributes. Attribute values outside this list are ignored.
    pub attributes: Vec<MappedAttribute>,
    /// The attribute id whose value is the mapping key, `"email"` by default. The server
    /// normalizes it into each event's key.
    pub key_attribute: String,
    /// Creates a Salesforce Lead for an Intercom person that matches no Salesforce record.
    /// Off by default.
    pub create_leads_for_unmatched: bool,
}

impl SyncRules {
    /// Builds rules for `attributes`, keyed by email, without automatic Lead creation.
    pub fn new(attributes: Vec<MappedAttribute>) -> Self {
        SyncRules {
            attributes,
            key_attribute: "email".to_owned(),
            create_leads_for_unmatched: false,
        }
    }
}

impl Default for SyncRules {
    /// Email, name and phone both ways with newest wins, and email opt-out mapped to
    /// `HasOptedOutOfEmail`.
    fn default() -> Self {
        SyncRules::new(
            ["email", "name", "phone", "unsubscribed_from_emails"]
                .into_iter()
                .map(|id| MappedAttribute::new(id, ConflictPolicy::NewestWins))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_policies_flow_one_way() {
        let policy = ConflictPolicy::IntercomToSalesforceOnly;
        assert!(policy.flows_from(Side::Intercom));
        assert!(!policy.flows_from(Side::Salesforce));
        assert!(policy.flows_to(Side::Salesforce));
    }

    #[test]
    fn do_not_sync_flows_nowhere() {
        assert!(!ConflictPolicy::DoNotSync.flows_from(Side::Intercom));
        assert!(!ConflictPolicy::DoNotSync.flows_from(Side::Salesforce));
    }
}
