//! Field metadata of the simulated objects and the describe results built from it. The same
//! metadata drives write-time validation and SOQL checks, so a describe edit through the
//! control API changes what the API accepts.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::ids::SObjectType;

/// A field's Salesforce data type, as `type` in describe results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    Boolean,
    Reference,
    String,
    Textarea,
    Picklist,
    Combobox,
    Email,
    Phone,
    Url,
    Int,
    Double,
    Currency,
    Date,
    DateTime,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Boolean => "boolean",
            FieldType::Reference => "reference",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Combobox => "combobox",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
        }
    }

    fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double | FieldType::Currency => "xsd:double",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            _ => "xsd:string",
        }
    }

    /// Returns whether values are JSON strings that SOQL compares as text.
    pub fn is_text(self) -> bool {
        !matches!(
            self,
            FieldType::Boolean
                | FieldType::Int
                | FieldType::Double
                | FieldType::Currency
                | FieldType::Date
                | FieldType::DateTime
        )
    }

    pub fn is_number(self) -> bool {
        matches!(
            self,
            FieldType::Int | FieldType::Double | FieldType::Currency
        )
    }
}

/// One field of an sObject with the describe flags the simulator enforces.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    /// Maximum number of characters for text fields, 0 for the rest.
    pub length: usize,
    pub createable: bool,
    pub updateable: bool,
    pub nillable: bool,
    pub defaulted_on_create: bool,
    pub default_value: Option<String>,
    pub filterable: bool,
    pub sortable: bool,
    pub unique: bool,
    pub external_id: bool,
    pub custom: bool,
    pub name_field: bool,
    pub restricted_picklist: bool,
    pub picklist_values: Vec<String>,
    pub reference_to: Vec<&'static str>,
    pub relationship_name: Option<String>,
    /// Hidden by field-level security: absent from describe, rejected on write and in SOQL.
    pub hidden: bool,
}

impl FieldDef {
    fn new(name: &str, label: &str, field_type: FieldType, length: usize) -> FieldDef {
        FieldDef {
            name: name.to_string(),
            label: label.to_string(),
            field_type,
            length,
            createable: true,
            updateable: true,
            nillable: true,
            defaulted_on_create: false,
            default_value: None,
            filterable: true,
            sortable: true,
            unique: false,
            external_id: false,
            custom: false,
            name_field: false,
            restricted_picklist: false,
            picklist_values: Vec::new(),
            reference_to: Vec::new(),
            relationship_name: None,
            hidden: false,
        }
    }

    /// Marks a field that the system fills in and no user may write.
    fn system(mut self) -> FieldDef {
        self.createable = false;
        self.updateable = false;
        self.nillable = false;
        self.defaulted_on_create = true;
        self
    }

    fn read_only(mut self) -> FieldDef {
        self.createable = false;
        self.updateable = false;
        self
    }

    fn required(mut self) -> FieldDef {
        self.nillable = false;
        self
    }

    fn picklist(mut self, values: &[&str], default: Option<&str>) -> FieldDef {
        self.picklist_values = values.iter().map(|value| value.to_string()).collect();
        if let Some(default) = default {
            self.default_value = Some(default.to_string());
            self.defaulted_on_create = true;
            self.nillable = false;
        }
        self
    }

    fn references(mut self, targets: &[&'static str], relationship: &str) -> FieldDef {
        self.reference_to = targets.to_vec();
        self.relationship_name = Some(relationship.to_string());
        self
    }

    fn unfilterable(mut self) -> FieldDef {
        self.filterable = false;
        self.sortable = false;
        self
    }

    fn checkbox(name: &str, label: &str) -> FieldDef {
        let mut field = FieldDef::new(name, label, FieldType::Boolean, 0);
        field.nillable = false;
        field.defaulted_on_create = true;
        field.default_value = Some("false".to_string());
        field
    }

    /// Builds the external-id field that makes creates from Intercom idempotent.
    fn intercom_id() -> FieldDef {
        let mut field = FieldDef::new("Intercom_Id__c", "Intercom Id", FieldType::String, 255);
        field.external_id = true;
        field.unique = true;
        field.custom = true;
        field
    }

    /// Whether a create must supply this field: Salesforce's rule is createable, not
    /// nillable and not defaulted on create, except for checkboxes, which default to false.
    pub fn is_required_on_create(&self) -> bool {
        self.createable
            && !self.nillable
            && !self.defaulted_on_create
            && self.field_type != FieldType::Boolean
    }

    fn describe(&self) -> Value {
        let picklist: Vec<Value> = self
            .picklist_values
            .iter()
            .map(|value| {
                json!({
                    "active": true,
                    "defaultValue": self.default_value.as_deref() == Some(value.as_str()),
                    "label": value,
                    "validFor": null,
                    "value": value,
                })
            })
            .collect();
        let is_id = self.field_type == FieldType::Id;
        let mut head = json!({
            "aggregatable": true,
            "autoNumber": false,
            "byteLength": self.length * 3,
            "calculated": false,
            "calculatedFormula": null,
            "cascadeDelete": false,
            "caseSensitive": false,
            "controllerName": null,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value,
            "defaultValueFormula": null,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": false,
            "deprecatedAndHidden": false,
            "digits": 0,
            "displayLocationInDecimal": false,
            "externalId": self.external_id,
            "filterable": self.filterable,
            "groupable": self.sortable && self.field_type != FieldType::DateTime,
            "htmlFormatted": false,
            "idLookup": is_id || self.external_id || self.field_type == FieldType::Email,
        });
        let rest = json!({
            "inlineHelpText": null,
            "label": self.label,
            "length": self.length,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": false,
            "nillable": self.nillable,
            "permissionable": self.createable && self.nillable,
            "picklistValues": picklist,
            "precision": 0,
            "referenceTo": self.reference_to,
            "relationshipName": self.relationship_name,
            "relationshipOrder": null,
            "restrictedDelete": false,
            "restrictedPicklist": self.restricted_picklist,
            "scale": 0,
            "soapType": self.field_type.soap_type(),
            "sortable": self.sortable,
            "type": self.field_type.name(),
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": false,
        });
        // The entry is built in two halves because one `json!` call this large exceeds the
        // macro recursion limit.
        if let (Value::Object(head), Value::Object(tail)) = (&mut head, rest) {
            head.extend(tail);
        }
        head
    }
}

/// The fields of one sObject type, in describe order, with a case-insensitive index.
#[derive(Debug, Clone)]
pub struct ObjectSchema {
    pub object: SObjectType,
    pub fields: Vec<FieldDef>,
    index: HashMap<String, usize>,
}

impl ObjectSchema {
    fn new(object: SObjectType, fields: Vec<FieldDef>) -> ObjectSchema {
        let index = fields
            .iter()
            .enumerate()
            .map(|(position, field)| (field.name.to_ascii_lowercase(), position))
            .collect();
        ObjectSchema {
            object,
            fields,
            index,
        }
    }

    /// Finds a visible field by name, ignoring case as Salesforce does.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        let position = *self.index.get(&name.to_ascii_lowercase())?;
        let field = &self.fields[position];
        (!field.hidden).then_some(field)
    }

    fn field_mut(&mut self, name: &str) -> Option<&mut FieldDef> {
        let position = *self.index.get(&name.to_ascii_lowercase())?;
        Some(&mut self.fields[position])
    }

    pub fn visible_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|field| !field.hidden)
    }

    /// Builds the `DescribeSObjectResult` body for API version `version` (such as `60.0`).
    pub fn describe(&self, version: &str, instance_url: &str) -> Value {
        let name = self.object.name();
        let base = format!("/services/data/v{version}/sobjects/{name}");
        let fields: Vec<Value> = self.visible_fields().map(FieldDef::describe).collect();
        json!({
            "activateable": false,
            "childRelationships": [],
            "createable": true,
            "custom": false,
            "customSetting": false,
            "deletable": true,
            "deprecatedAndHidden": false,
            "feedEnabled": true,
            "fields": fields,
            "keyPrefix": self.object.key_prefix(),
            "label": name,
            "labelPlural": format!("{name}s"),
            "layoutable": true,
            "mergeable": matches!(self.object, SObjectType::Lead | SObjectType::Contact | SObjectType::Account),
            "name": name,
            "queryable": true,
            "recordTypeInfos": [{
                "available": true,
                "defaultRecordTypeMapping": true,
                "master": true,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
            }],
            "replicateable": true,
            "retrieveable": true,
            "searchable": true,
            "triggerable": true,
            "undeletable": true,
            "updateable": true,
            "urls": {
                "compactLayouts": format!("{base}/describe/compactLayouts"),
                "describe": format!("{base}/describe"),
                "layouts": format!("{base}/describe/layouts"),
                "rowTemplate": format!("{base}/{{ID}}"),
                "sobject": base,
                "uiDetailTemplate": format!("{instance_url}/{{ID}}"),
                "uiEditTemplate": format!("{instance_url}/{{ID}}/e"),
                "uiNewRecord": format!("{instance_url}/{}/e", self.object.key_prefix()),
            },
        })
    }

    /// Builds the short entry used by the global describe and the sObject basic information.
    pub fn summary(&self, version: &str) -> Value {
        let name = self.object.name();
        let base = format!("/services/data/v{version}/sobjects/{name}");
        json!({
            "activateable": false,
            "createable": true,
            "custom": false,
            "customSetting": false,
            "deletable": true,
            "deprecatedAndHidden": false,
            "feedEnabled": true,
            "keyPrefix": self.object.key_prefix(),
            "label": name,
            "labelPlural": format!("{name}s"),
            "layoutable": true,
            "mergeable": true,
            "name": name,
            "queryable": true,
            "replicateable": true,
            "retrieveable": true,
            "searchable": true,
            "triggerable": true,
            "undeletable": true,
            "updateable": true,
            "urls": {
                "describe": format!("{base}/describe"),
                "rowTemplate": format!("{base}/{{ID}}"),
                "sobject": base,
            },
        })
    }
}

/// A change to one field's describe flags, sent to `PATCH /_sim/describe/{object}/{field}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPatch {
    pub hidden: Option<bool>,
    pub required: Option<bool>,
    pub filterable: Option<bool>,
    pub restricted: Option<bool>,
    pub length: Option<usize>,
    pub createable: Option<bool>,
    pub updateable: Option<bool>,
    pub picklist_values: Option<Vec<String>>,
}

/// The metadata of every simulated object.
#[derive(Debug, Clone)]
pub struct Schema {
    objects: HashMap<SObjectType, ObjectSchema>,
}

impl Default for Schema {
    fn default() -> Schema {
        let objects = SObjectType::ALL
            .into_iter()
            .map(|object| (object, ObjectSchema::new(object, default_fields(object))))
            .collect();
        Schema { objects }
    }
}

impl Schema {
    pub fn object(&self, object: SObjectType) -> &ObjectSchema {
        &self.objects[&object]
    }

    /// Applies a describe edit and returns the field's new describe entry, or `None` when the
    /// object has no such field.
    pub fn patch_field(
        &mut self,
        object: SObjectType,
        field_name: &str,
        patch: &FieldPatch,
    ) -> Option<Value> {
        let schema = self.objects.get_mut(&object)?;
        let field = schema.field_mut(field_name)?;
        if let Some(hidden) = patch.hidden {
            field.hidden = hidden;
        }
        if let Some(required) = patch.required {
            field.nillable = !required;
            if required {
                field.defaulted_on_create = false;
            }
        }
        if let Some(filterable) = patch.filterable {
            field.filterable = filterable;
        }
        if let Some(restricted) = patch.restricted {
            field.restricted_picklist = restricted;
        }
        if let Some(length) = patch.length {
            field.length = length;
        }
        if let Some(createable) = patch.createable {
            field.createable = createable;
        }
        if let Some(updateable) = patch.updateable {
            field.updateable = updateable;
        }
        if let Some(values) = &patch.picklist_values {
            field.picklist_values = values.clone();
        }
        Some(field.describe())
    }
}

/// Fields every simulated object has, in the order Salesforce lists them.
fn system_fields(object: SObjectType, mergeable: bool) -> Vec<FieldDef> {
    let mut fields = vec![
        FieldDef::new("Id", &format!("{object} ID"), FieldType::Id, 18).system(),
        FieldDef::checkbox("IsDeleted", "Deleted").system(),
    ];
    if mergeable {
        fields.push(
            FieldDef::new(
                "MasterRecordId",
                "Master Record ID",
                FieldType::Reference,
                18,
            )
            .read_only()
            .references(&[object_static_name(object)], "MasterRecord"),
        );
    }
    fields
}

fn object_static_name(object: SObjectType) -> &'static str {
    object.name()
}

/// Audit and ownership fields, listed after the object's own fields.
fn audit_fields() -> Vec<FieldDef> {
    vec![
        FieldDef::new("OwnerId", "Owner ID", FieldType::Reference, 18)
            .references(&["User"], "Owner")
            .required()
            .defaulted(),
        FieldDef::new("CreatedDate", "Created Date", FieldType::DateTime, 0).system(),
        FieldDef::new("CreatedById", "Created By ID", FieldType::Reference, 18)
            .system()
            .references(&["User"], "CreatedBy"),
        FieldDef::new(
            "LastModifiedDate",
            "Last Modified Date",
            FieldType::DateTime,
            0,
        )
        .system(),
        FieldDef::new(
            "LastModifiedById",
            "Last Modified By ID",
            FieldType::Reference,
            18,
        )
        .system()
        .references(&["User"], "LastModifiedBy"),
        FieldDef::new("SystemModstamp", "System Modstamp", FieldType::DateTime, 0).system(),
    ]
}

impl FieldDef {
    fn defaulted(mut self) -> FieldDef {
        self.defaulted_on_create = true;
        self
    }

    fn name_field(mut self) -> FieldDef {
        self.name_field = true;
        self
    }
}

const SALUTATIONS: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."];
const LEAD_SOURCES: &[&str] = &[
    "Advertisement",
    "Employee Referral",
    "External Referral",
    "Partner",
    "Public Relations",
    "Seminar - Internal",
    "Seminar - Partner",
    "Trade Show",
    "Web",
    "Word of mouth",
    "Other",
];
const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Technology",
    "Other",
];

fn person_fields(object: SObjectType) -> Vec<FieldDef> {
    vec![
        FieldDef::new("LastName", "Last Name", FieldType::String, 80).required(),
        FieldDef::new("FirstName", "First Name", FieldType::String, 40),
        FieldDef::new("Salutation", "Salutation", FieldType::Picklist, 40)
            .picklist(SALUTATIONS, None),
        FieldDef::new(
            "Name",
            &format!("Full Name of {object}"),
            FieldType::String,
            121,
        )
        .read_only()
        .required()
        .defaulted()
        .name_field(),
        FieldDef::new("Title", "Title", FieldType::String, 128),
        FieldDef::new("Phone", "Phone", FieldType::Phone, 40),
        FieldDef::new("MobilePhone", "Mobile Phone", FieldType::Phone, 40),
        FieldDef::new("Email", "Email", FieldType::Email, 80),
        FieldDef::checkbox("HasOptedOutOfEmail", "Email Opt Out"),
        FieldDef::new("LeadSource", "Lead Source", FieldType::Picklist, 40)
            .picklist(LEAD_SOURCES, None),
        FieldDef::new("Description", "Description", FieldType::Textarea, 32000).unfilterable(),
    ]
}

fn default_fields(object: SObjectType) -> Vec<FieldDef> {
    use FieldType as T;
    let mergeable = !matches!(object, SObjectType::Task);
    let mut fields = system_fields(object, mergeable);
    match object {
        SObjectType::Lead => {
            fields.extend(person_fields(object));
            fields.extend([
                FieldDef::new("Company", "Company", T::String, 255).required(),
                FieldDef::new("Street", "Street", T::Textarea, 255),
                FieldDef::new("City", "City", T::String, 40),
                FieldDef::new("State", "State/Province", T::String, 80),
                FieldDef::new("PostalCode", "Zip/Postal Code", T::String, 20),
                FieldDef::new("Country", "Country", T::String, 80),
                FieldDef::new("Website", "Website", T::Url, 255),
                FieldDef::new("Status", "Status", T::Picklist, 40).picklist(
                    &["New", "Contacted", "Nurturing", "Qualified", "Unqualified"],
                    Some("New"),
                ),
                FieldDef::new("Industry", "Industry", T::Picklist, 40).picklist(INDUSTRIES, None),
                FieldDef::new("Rating", "Rating", T::Picklist, 40)
                    .picklist(&["Hot", "Warm", "Cold"], None),
                FieldDef::new("NumberOfEmployees", "Employees", T::Int, 0),
                FieldDef::checkbox("IsConverted", "Converted").read_only(),
                FieldDef::new("ConvertedDate", "Converted Date", T::Date, 0).read_only(),
                FieldDef::new(
                    "ConvertedAccountId",
                    "Converted Account ID",
                    T::Reference,
                    18,
                )
                .read_only()
                .references(&["Account"], "ConvertedAccount"),
                FieldDef::new(
                    "ConvertedContactId",
                    "Converted Contact ID",
                    T::Reference,
                    18,
                )
                .read_only()
                .references(&["Contact"], "ConvertedContact"),
                FieldDef::new(
                    "ConvertedOpportunityId",
                    "Converted Opportunity ID",
                    T::Reference,
                    18,
                )
                .read_only()
                .references(&["Opportunity"], "ConvertedOpportunity"),
                FieldDef::intercom_id(),
            ]);
        }
        SObjectType::Contact => {
            fields.push(
                FieldDef::new("AccountId", "Account ID", T::Reference, 18)
                    .references(&["Account"], "Account"),
            );
            fields.extend(person_fields(object));
            fields.extend([
                FieldDef::new("Department", "Department", T::String, 80),
                FieldDef::new("MailingStreet", "Mailing Street", T::Textarea, 255),
                FieldDef::new("MailingCity", "Mailing City", T::String, 40),
                FieldDef::new("MailingState", "Mailing State/Province", T::String, 80),
                FieldDef::new(
                    "MailingPostalCode",
                    "Mailing Zip/Postal Code",
                    T::String,
                    20,
                ),
                FieldDef::new("MailingCountry", "Mailing Country", T::String, 80),
                FieldDef::new("Birthdate", "Birthdate", T::Date, 0),
                FieldDef::intercom_id(),
            ]);
        }
        SObjectType::Account => {
            fields.extend([
                FieldDef::new("Name", "Account Name", T::String, 255)
                    .required()
                    .name_field(),
                FieldDef::new("Type", "Account Type", T::Picklist, 40).picklist(
                    &[
                        "Prospect",
                        "Customer - Direct",
                        "Customer - Channel",
                        "Other",
                    ],
                    None,
                ),
                FieldDef::new("Industry", "Industry", T::Picklist, 40).picklist(INDUSTRIES, None),
                FieldDef::new("Phone", "Account Phone", T::Phone, 40),
                FieldDef::new("Website", "Website", T::Url, 255),
                FieldDef::new("BillingCity", "Billing City", T::String, 40),
                FieldDef::new("BillingCountry", "Billing Country", T::String, 80),
                FieldDef::new("NumberOfEmployees", "Employees", T::Int, 0),
                FieldDef::new("AnnualRevenue", "Annual Revenue", T::Currency, 0),
                FieldDef::new("Description", "Account Description", T::Textarea, 32000)
                    .unfilterable(),
            ]);
        }
        SObjectType::Task => {
            fields.extend([
                FieldDef::new("WhoId", "Name ID", T::Reference, 18)
                    .references(&["Contact", "Lead"], "Who"),
                FieldDef::new("WhatId", "Related To ID", T::Reference, 18)
                    .references(&["Account", "Case"], "What"),
                FieldDef::new("Subject", "Subject", T::Combobox, 255)
                    .picklist(&["Call", "Send Letter", "Send Quote", "Other"], None),
                FieldDef::new("ActivityDate", "Due Date Only", T::Date, 0),
                FieldDef::new("Status", "Status", T::Picklist, 40).picklist(
                    &[
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    ],
                    Some("Not Started"),
                ),
                FieldDef::new("Priority", "Priority", T::Picklist, 40)
                    .picklist(&["High", "Normal", "Low"], Some("Normal")),
                FieldDef::new("Description", "Description", T::Textarea, 32000).unfilterable(),
            ]);
        }
        SObjectType::Case => {
            fields.extend([
                FieldDef::new("CaseNumber", "Case Number", T::String, 30)
                    .read_only()
                    .required()
                    .defaulted()
                    .name_field(),
                FieldDef::new("ContactId", "Contact ID", T::Reference, 18)
                    .references(&["Contact"], "Contact"),
                FieldDef::new("AccountId", "Account ID", T::Reference, 18)
                    .references(&["Account"], "Account"),
                FieldDef::new("SuppliedName", "Name", T::String, 80),
                FieldDef::new("SuppliedEmail", "Email Address", T::Email, 80),
                FieldDef::new("Status", "Status", T::Picklist, 40)
                    .picklist(&["New", "Working", "Escalated", "Closed"], Some("New")),
                FieldDef::new("Origin", "Case Origin", T::Picklist, 40)
                    .picklist(&["Phone", "Email", "Web"], None),
                FieldDef::new("Priority", "Priority", T::Picklist, 40)
                    .picklist(&["High", "Medium", "Low"], Some("Medium")),
                FieldDef::new("Subject", "Subject", T::String, 255),
                FieldDef::new("Description", "Description", T::Textarea, 32000).unfilterable(),
            ]);
        }
    }
    fields.extend(audit_fields());
    fields
}
