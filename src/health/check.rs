//! The org-setup part of the healthcheck: a pure function of the objects' describes.

use std::collections::{BTreeMap, BTreeSet};

use super::finding::{Finding, FindingKind};

/// Fields intersync reads or writes, by object.
pub const REQUIRED_FIELDS: &[(&str, &[&str])] = &[
    (
        "Lead",
        &[
            "Email",
            "LastName",
            "FirstName",
            "Company",
            "Phone",
            "Status",
            "LeadSource",
            "OwnerId",
        ],
    ),
    ("Contact", &["Email"]),
    ("Account", &["OwnerId"]),
    (
        "Task",
        &[
            "Description",
            "CreatedById",
            "ActivityDate",
            "Subject",
            "Type",
            "Status",
            "Priority",
            "OwnerId",
        ],
    ),
];

/// Fields the poller and the lookups filter on in SOQL, by object.
pub const FILTERED_FIELDS: &[(&str, &[&str])] = &[
    ("Lead", &["Email", "SystemModstamp", "Id", "IsConverted"]),
    ("Contact", &["Email", "SystemModstamp", "Id"]),
];

/// What the healthcheck needs to know of one field from a describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFacts {
    pub name: String,
    pub filterable: bool,
    pub nillable: bool,
    pub createable: bool,
    pub defaulted_on_create: bool,
}

/// Finds the setup problems of the described objects.
///
/// `described` maps an object name to its visible fields; an object missing from it was not
/// described and is skipped. `sent` lists, per object intersync creates, the fields it sets;
/// required fields are checked only for those objects.
pub fn check_org_setup(
    described: &BTreeMap<String, Vec<FieldFacts>>,
    sent: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (object, required) in REQUIRED_FIELDS {
        let Some(fields) = described.get(*object) else {
            continue;
        };
        let missing: Vec<String> = required
            .iter()
            .filter(|name| !fields.iter().any(|field| field.name == **name))
            .map(|name| (*name).to_owned())
            .collect();
        if !missing.is_empty() {
            findings.push(Finding {
                kind: FindingKind::MissingOrHidden,
                object: (*object).to_owned(),
                message: format!(
                    "{object} fields {} are missing or hidden from the integration user; \
                     make them visible in the user's profile or permission set",
                    missing.join(", ")
                ),
                fields: missing,
            });
        }
    }

    for (object, filtered) in FILTERED_FIELDS {
        let Some(fields) = described.get(*object) else {
            continue;
        };
        let not_filterable: Vec<String> = filtered
            .iter()
            .filter(|name| {
                fields
                    .iter()
                    .any(|field| field.name == **name && !field.filterable)
            })
            .map(|name| (*name).to_owned())
            .collect();
        if !not_filterable.is_empty() {
            findings.push(Finding {
                kind: FindingKind::NotFilterable,
                object: (*object).to_owned(),
                message: format!(
                    "{object} fields {} must be filterable for polling and matching",
                    not_filterable.join(", ")
                ),
                fields: not_filterable,
            });
        }
    }

    for (object, fields) in described {
        let Some(sent_fields) = sent.get(object) else {
            continue;
        };
        let unsent: Vec<String> = fields
            .iter()
            .filter(|field| field.createable && !field.nillable && !field.defaulted_on_create)
            .filter(|field| !sent_fields.contains(&field.name))
            .map(|field| field.name.clone())
            .collect();
        if !unsent.is_empty() {
            findings.push(Finding {
                kind: FindingKind::RequiredNotSent,
                object: object.clone(),
                message: format!(
                    "the org requires {object} fields {} on create and intersync does not send them; \
                     give them a default value or map an attribute to them",
                    unsent.join(", ")
                ),
                fields: unsent,
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> FieldFacts {
        FieldFacts {
            name: name.to_owned(),
            filterable: true,
            nillable: true,
            createable: true,
            defaulted_on_create: false,
        }
    }

    fn contact_with(fields: Vec<FieldFacts>) -> BTreeMap<String, Vec<FieldFacts>> {
        BTreeMap::from([("Contact".to_owned(), fields)])
    }

    #[test]
    fn complete_contact_has_no_findings() {
        let described = contact_with(vec![field("Email"), field("SystemModstamp"), field("Id")]);
        assert!(check_org_setup(&described, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn hidden_email_is_reported() {
        let described = contact_with(vec![field("SystemModstamp"), field("Id")]);
        let findings = check_org_setup(&described, &BTreeMap::new());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].kind, FindingKind::MissingOrHidden);
        assert_eq!(findings[0].object, "Contact");
        assert_eq!(findings[0].fields, vec!["Email".to_owned()]);
    }

    #[test]
    fn unfilterable_email_is_reported() {
        let mut email = field("Email");
        email.filterable = false;
        let described = contact_with(vec![email, field("SystemModstamp"), field("Id")]);
        let findings = check_org_setup(&described, &BTreeMap::new());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].kind, FindingKind::NotFilterable);
        assert_eq!(findings[0].fields, vec!["Email".to_owned()]);
    }

    #[test]
    fn required_field_not_sent_is_reported() {
        let mut region = field("Region__c");
        region.nillable = false;
        let described = contact_with(vec![
            field("Email"),
            field("SystemModstamp"),
            field("Id"),
            region,
        ]);
        let nothing_sent = BTreeMap::from([("Contact".to_owned(), BTreeSet::new())]);
        let findings = check_org_setup(&described, &nothing_sent);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].kind, FindingKind::RequiredNotSent);
        assert_eq!(findings[0].fields, vec!["Region__c".to_owned()]);

        let sent = BTreeMap::from([(
            "Contact".to_owned(),
            BTreeSet::from(["Region__c".to_owned()]),
        )]);
        assert!(check_org_setup(&described, &sent).is_empty());
    }
}
