//! Canonical entities as Arrow schemas, in one place.
//!
//! Every warehouse table is one [`Entity`]: its business fields, then the provenance fields
//! every row carries (source, extract file, line, load id), then the partition column
//! `event_month` (`YYYY-MM` of the entity's event date) where the entity has an event date.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;

/// The type of a canonical field, as a partner's text is converted into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A person identifier: pseudonymised with HMAC-SHA256 before it is stored.
    PersonKey,
    /// Free or coded text.
    Text,
    /// A whole number.
    Int,
    /// A number with decimals (a decimal comma is accepted where the source says so).
    Float,
    /// A calendar date.
    Date,
    /// A local date and time (no time zone: partners send local time).
    DateTime,
}

impl FieldType {
    /// The Arrow type the warehouse stores this field as.
    pub fn arrow_type(self) -> DataType {
        match self {
            FieldType::PersonKey | FieldType::Text => DataType::Utf8,
            FieldType::Int => DataType::Int32,
            FieldType::Float => DataType::Float64,
            FieldType::Date => DataType::Date32,
            FieldType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }
}

/// One canonical field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Column name in the warehouse.
    pub name: &'static str,
    /// Canonical type.
    pub ty: FieldType,
    /// Whether a row without this field is rejected.
    pub required: bool,
    /// Allowed values for coded text fields (empty: any value).
    pub allowed: &'static [&'static str],
    /// Inclusive range for numeric fields.
    pub range: Option<(f64, f64)>,
}

const fn f(name: &'static str, ty: FieldType, required: bool) -> FieldDef {
    FieldDef {
        name,
        ty,
        required,
        allowed: &[],
        range: None,
    }
}

const fn coded(name: &'static str, required: bool, allowed: &'static [&'static str]) -> FieldDef {
    FieldDef {
        name,
        ty: FieldType::Text,
        required,
        allowed,
        range: None,
    }
}

const fn ranged(name: &'static str, ty: FieldType, required: bool, lo: f64, hi: f64) -> FieldDef {
    FieldDef {
        name,
        ty,
        required,
        allowed: &[],
        range: Some((lo, hi)),
    }
}

use FieldType::*;

const PERSON: &[FieldDef] = &[
    f("person_key", PersonKey, true),
    ranged("birth_year", Int, true, 1890.0, 2100.0),
    coded("sex", true, &["F", "M", "X"]),
    coded("language", true, &["fr", "en", "other"]),
    coded("rurality", false, &["urban", "rural"]),
    f("area", Text, false),
    f("team", Text, false),
    f("death_date", Date, false),
];

const ED_VISIT: &[FieldDef] = &[
    f("person_key", PersonKey, true),
    f("arrival", DateTime, true),
    f("facility", Text, true),
    ranged("triage", Int, false, 1.0, 5.0),
    coded(
        "disposition",
        false,
        &[
            "home",
            "left_without_being_seen",
            "transferred",
            "admitted",
            "died",
            "other",
        ],
    ),
    f("diagnosis", Text, false),
];

const ADMISSION: &[FieldDef] = &[
    f("person_key", PersonKey, true),
    f("admit_date", Date, true),
    f("discharge_date", Date, false),
    f("facility", Text, true),
    coded("admit_category", false, &["urgent", "elective"]),
    f("diagnosis", Text, false),
    ranged("alc_days", Float, false, 0.0, 36500.0),
    coded("discharge_disposition", false, DISCHARGE_DISPOSITIONS),
];

/// `admission.discharge_disposition`: where the person went at discharge. `home` and
/// `home_with_support` (home-care services arranged) are discharges *to the community*, the
/// ones a primary-care follow-up is expected after; `transferred` is to another acute-care
/// hospital (the stay continues there).
pub const DISCHARGE_DISPOSITIONS: &[&str] = &[
    "home",
    "home_with_support",
    "long_term_care",
    "transferred",
    "died",
    "left_against_advice",
    "other",
];

/// `contact.provider_type` and a referral's `from_provider_type`/`to_provider_type`: the code
/// list a source maps its own provider codes to.
pub const PROVIDER_TYPES: &[&str] = &[
    "family_physician",
    "nurse_practitioner",
    "specialist",
    "home_care",
    "community_agency",
    "social_worker",
    "program_coordinator",
    "other",
];

/// Provider types of primary care: the contacts that count as a follow-up after discharge.
pub const PRIMARY_CARE_PROVIDER_TYPES: &[&str] = &["family_physician", "nurse_practitioner"];

/// `contact.mode`.
pub const CONTACT_MODES: &[&str] = &["in_person", "phone", "video", "home_visit"];

const ENROLMENT: &[FieldDef] = &[
    f("person_key", PersonKey, true),
    f("program", Text, true),
    f("team", Text, true),
    f("referral_date", Date, true),
    f("first_contact_date", Date, false),
    f("enrolment_date", Date, false),
    f("care_plan_date", Date, false),
    f("end_date", Date, false),
];

/// One ambulatory, primary-care, home-care, community or program contact. `contact_start`
/// carries the time when the source sends it; `program` names the program the contact belongs
/// to; `referral_id` the referral the contact answers (`referral.referral_id`).
const CONTACT: &[FieldDef] = &[
    f("person_key", PersonKey, true),
    f("contact_date", Date, true),
    f("contact_start", DateTime, false),
    coded("provider_type", true, PROVIDER_TYPES),
    coded("mode", false, CONTACT_MODES),
    f("organisation", Text, false),
    f("program", Text, false),
    f("referral_id", Text, false),
];

/// One referral and its loop: accepted, first appointment, report returned to the referring
/// clinician. Dates left empty are steps not (yet) reached.
const REFERRAL: &[FieldDef] = &[
    f("referral_id", Text, true),
    f("person_key", PersonKey, true),
    f("referral_date", Date, true),
    f("from_organisation", Text, false),
    coded("from_provider_type", false, PROVIDER_TYPES),
    f("to_organisation", Text, true),
    coded("to_provider_type", false, PROVIDER_TYPES),
    f("reason", Text, false),
    f("accepted_date", Date, false),
    f("first_appointment_date", Date, false),
    f("report_returned_date", Date, false),
];

/// Who answered a survey: the patient, a caregiver answering about the patient's care, or
/// a proxy answering for the patient (only when the platform sends it).
pub const RESPONDENT_TYPES: &[&str] = &["patient", "caregiver", "proxy"];

/// `survey_response.answer_status`: see [`crate::config::AnswerStatus`].
pub const ANSWER_STATUSES: &[&str] = &["valid", "not_applicable", "missing"];

const SURVEY_RESPONSE: &[FieldDef] = &[
    f("response_id", Text, true),
    f("person_key", PersonKey, false),
    f("team", Text, true),
    f("completed_date", Date, true),
    coded("language", false, &["fr", "en", "other"]),
    coded("respondent_type", false, RESPONDENT_TYPES),
    // Filled from the source's instrument, never mapped.
    f("instrument", Text, false),
    f("item_code", Text, true),
    // A value of the item's scale (the instrument decides which), null unless valid.
    f("answer", Int, false),
    coded("answer_status", false, ANSWER_STATUSES),
];

/// Area-level reference attributes (e.g. the deprivation quintile of a postal or
/// dissemination area), one row per area and attribute; strata reach them through the
/// person's `area` (`strata.yaml`: `source: { area: ATTRIBUTE }`).
const AREA_ATTRIBUTE: &[FieldDef] = &[
    f("area", Text, true),
    f("attribute", Text, true),
    f("value", Text, false),
];

/// Person-level attributes that come from a source of their own (e.g. self-identified
/// Indigenous identity under a data-sharing agreement), one row per person and attribute;
/// kept out of the registry so that a governed attribute is read only where enabled.
const PERSON_ATTRIBUTE: &[FieldDef] = &[
    f("person_key", PersonKey, true),
    f("attribute", Text, true),
    f("value", Text, false),
];

/// Provenance fields carried by every warehouse row, after the business fields.
pub const PROVENANCE_FIELDS: [&str; 4] = ["_source", "_file", "_line", "_load_id"];

/// Name of the partition column (`YYYY-MM` of the event date).
pub const EVENT_MONTH: &str = "event_month";

/// A canonical entity: one warehouse table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// The population registry: one row per person.
    Person,
    /// One emergency-department visit.
    EdVisit,
    /// One inpatient stay.
    Admission,
    /// One enrolment (with its referral) in a care-coordination program.
    Enrolment,
    /// One answer to one survey item (surveys arrive wide and are unpivoted).
    SurveyResponse,
    /// One attribute of one area (a reference table, e.g. deprivation quintiles).
    AreaAttribute,
    /// One attribute of one person from a source other than the registry.
    PersonAttribute,
    /// One ambulatory, primary-care, home-care, community or program contact.
    Contact,
    /// One referral to a service, with its loop (accepted, seen, report returned).
    Referral,
}

impl Entity {
    /// Every entity, in dependency-free order.
    pub const ALL: [Entity; 9] = [
        Entity::Person,
        Entity::EdVisit,
        Entity::Admission,
        Entity::Enrolment,
        Entity::SurveyResponse,
        Entity::AreaAttribute,
        Entity::PersonAttribute,
        Entity::Contact,
        Entity::Referral,
    ];

    /// The warehouse table name.
    pub fn table_name(self) -> &'static str {
        match self {
            Entity::Person => "person",
            Entity::EdVisit => "ed_visit",
            Entity::Admission => "admission",
            Entity::Enrolment => "enrolment",
            Entity::SurveyResponse => "survey_response",
            Entity::AreaAttribute => "area_attribute",
            Entity::PersonAttribute => "person_attribute",
            Entity::Contact => "contact",
            Entity::Referral => "referral",
        }
    }

    /// Business fields, in table order.
    pub fn fields(self) -> &'static [FieldDef] {
        match self {
            Entity::Person => PERSON,
            Entity::EdVisit => ED_VISIT,
            Entity::Admission => ADMISSION,
            Entity::Enrolment => ENROLMENT,
            Entity::SurveyResponse => SURVEY_RESPONSE,
            Entity::AreaAttribute => AREA_ATTRIBUTE,
            Entity::PersonAttribute => PERSON_ATTRIBUTE,
            Entity::Contact => CONTACT,
            Entity::Referral => REFERRAL,
        }
    }

    /// Looks a business field up by name.
    pub fn field(self, name: &str) -> Option<&'static FieldDef> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// The field whose month partitions the table, if the entity has events.
    pub fn event_date_field(self) -> Option<&'static str> {
        match self {
            Entity::Person | Entity::AreaAttribute | Entity::PersonAttribute => None,
            Entity::EdVisit => Some("arrival"),
            Entity::Admission => Some("admit_date"),
            Entity::Enrolment => Some("referral_date"),
            Entity::SurveyResponse => Some("completed_date"),
            Entity::Contact => Some("contact_date"),
            Entity::Referral => Some("referral_date"),
        }
    }

    /// The field naming the person the row is about, if the entity has one: its rows also
    /// carry the person's number ([`PERSON_NUMBER`](crate::PERSON_NUMBER)).
    pub fn person_key_field(self) -> Option<&'static FieldDef> {
        self.fields().iter().find(|f| f.ty == FieldType::PersonKey)
    }

    /// Pairs (later, earlier) of date fields where the later must not precede the earlier.
    pub fn date_order_rules(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Entity::Admission => &[("discharge_date", "admit_date")],
            Entity::Enrolment => &[
                ("first_contact_date", "referral_date"),
                ("enrolment_date", "referral_date"),
                ("care_plan_date", "enrolment_date"),
                ("end_date", "enrolment_date"),
            ],
            Entity::Referral => &[
                ("accepted_date", "referral_date"),
                ("first_appointment_date", "referral_date"),
                ("report_returned_date", "first_appointment_date"),
            ],
            _ => &[],
        }
    }

    /// The full warehouse schema: business fields, the person number where the entity
    /// names a person, provenance, then the partition column.
    pub fn schema(self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .fields()
            .iter()
            .map(|d| Field::new(d.name, d.ty.arrow_type(), !d.required))
            .collect();
        if let Some(key) = self.person_key_field() {
            fields.push(Field::new(
                crate::PERSON_NUMBER,
                DataType::Int32,
                !key.required,
            ));
        }
        fields.push(Field::new("_source", DataType::Utf8, false));
        fields.push(Field::new("_file", DataType::Utf8, false));
        fields.push(Field::new("_line", DataType::Int64, false));
        fields.push(Field::new("_load_id", DataType::Utf8, false));
        if self.event_date_field().is_some() {
            fields.push(Field::new(EVENT_MONTH, DataType::Utf8, false));
        }
        Arc::new(Schema::new(fields))
    }

    /// Partition columns of the table.
    pub fn partition_columns(self) -> Vec<String> {
        match self.event_date_field() {
            Some(_) => vec![EVENT_MONTH.to_string()],
            None => vec![],
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.table_name())
    }
}

impl FromStr for Entity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Entity::ALL
            .into_iter()
            .find(|e| e.table_name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Entity::ALL.iter().map(|e| e.table_name()).collect();
                format!(
                    "unknown entity \"{s}\" (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Schema of the quarantine table: where each rejected record came from and why.
/// The offending value is masked when the column holds an identifier.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("_source", DataType::Utf8, false),
        Field::new("_file", DataType::Utf8, false),
        Field::new("_line", DataType::Int64, false),
        Field::new("_load_id", DataType::Utf8, false),
        Field::new("column", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
        Field::new("person_key", DataType::Utf8, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_carries_provenance_and_partition() {
        for e in Entity::ALL {
            let schema = e.schema();
            for p in PROVENANCE_FIELDS {
                assert!(schema.field_with_name(p).is_ok(), "{e} lacks {p}");
            }
            // Every row naming a person carries its number, nullable exactly as the key.
            let number = schema.field_with_name(crate::PERSON_NUMBER).ok();
            match e.person_key_field() {
                Some(key) => assert_eq!(
                    number.map(|n| (n.is_nullable(), n.data_type().clone())),
                    Some((!key.required, DataType::Int32)),
                    "{e}"
                ),
                None => assert!(number.is_none(), "{e}"),
            }
            assert_eq!(
                schema.field_with_name(EVENT_MONTH).is_ok(),
                e.event_date_field().is_some()
            );
            if let Some(ev) = e.event_date_field() {
                assert!(
                    e.field(ev).is_some_and(|f| f.required),
                    "{e}.{ev} must be required"
                );
            }
        }
    }

    #[test]
    fn date_rules_name_real_date_fields() {
        for e in Entity::ALL {
            for (later, earlier) in e.date_order_rules() {
                assert_eq!(e.field(later).map(|f| f.ty), Some(FieldType::Date));
                assert_eq!(e.field(earlier).map(|f| f.ty), Some(FieldType::Date));
            }
        }
    }

    #[test]
    fn answer_statuses_are_the_instrument_statuses() {
        let codes: Vec<&str> = crate::config::AnswerStatus::ALL
            .iter()
            .map(|s| s.code())
            .collect();
        assert_eq!(codes, ANSWER_STATUSES);
        assert_eq!(
            Entity::SurveyResponse
                .field("answer_status")
                .map(|f| f.allowed),
            Some(ANSWER_STATUSES)
        );
    }

    #[test]
    fn entity_names_round_trip() {
        for e in Entity::ALL {
            assert_eq!(e.table_name().parse::<Entity>(), Ok(e));
        }
        assert!("patients".parse::<Entity>().is_err());
    }
}
