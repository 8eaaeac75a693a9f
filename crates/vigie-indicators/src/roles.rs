//! What the reports do with an indicator: its roles (`roles:` in `queries/<id>.yaml`).
//!
//! A report section that shows a particular indicator (the peer-comparison headline, the
//! experience items, the data-quality columns) finds it by role, never by id, so that an
//! indicator can be renamed, or replaced by another one, without touching Rust. Sections
//! that show every indicator of a kind select on metadata instead (`target`, `method`,
//! `evaluation`), and the program evaluation by its `evaluation: {estimand, outcome}`.

use std::fmt;

use serde::Deserialize;

use crate::catalogue::{Estimand, EvaluationOutcome, IndicatorDef, IndicatorMeta, StratumDim};

/// A role an indicator plays in the reports; the closed set the catalogue accepts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `peer_headline`: the rate whose peer position heads the feedback report (the key
    /// figure card and the large funnel plot). One indicator at most; it needs a total
    /// (`include_total`) and a funnel plot (a `wilson` percentage or a `poisson_rate`).
    PeerHeadline,
    /// `experience_by_item`: patient experience by survey item (feedback report). One
    /// indicator at most, stratified by `item`.
    ExperienceByItem,
    /// `data_quality`: about the data rather than about care: kept out of the care team's
    /// indicator table. The three roles below imply it.
    DataQuality,
    /// `rejected_rows`: the percentage of rows rejected per partner source (accountability
    /// data-quality table; it also withholds the manifest's rejected count when suppressed).
    /// One indicator at most, stratified by `source`.
    RejectedRows,
    /// `completeness`: the completeness of mandatory fields per `source.column` item (the
    /// lowest per source is shown). One indicator at most, stratified by `item`.
    Completeness,
    /// `timeliness`: days since a source's last extract. One indicator at most, stratified
    /// by `source`.
    Timeliness,
}

impl Role {
    /// Every role, in documentation order.
    pub const ALL: [Role; 6] = [
        Role::PeerHeadline,
        Role::ExperienceByItem,
        Role::DataQuality,
        Role::RejectedRows,
        Role::Completeness,
        Role::Timeliness,
    ];

    /// The spelling in YAML (`roles: [peer_headline]`).
    pub fn yaml_name(self) -> &'static str {
        match self {
            Role::PeerHeadline => "peer_headline",
            Role::ExperienceByItem => "experience_by_item",
            Role::DataQuality => "data_quality",
            Role::RejectedRows => "rejected_rows",
            Role::Completeness => "completeness",
            Role::Timeliness => "timeliness",
        }
    }

    /// Whether at most one indicator of the catalogue may declare the role (a section shows
    /// one indicator for it).
    pub fn is_unique(self) -> bool {
        !matches!(self, Role::DataQuality)
    }

    /// Whether the role marks an indicator about the data rather than about care.
    pub fn is_data_quality(self) -> bool {
        matches!(
            self,
            Role::DataQuality | Role::RejectedRows | Role::Completeness | Role::Timeliness
        )
    }

    /// The stratum the section reads the indicator by, if any.
    pub fn required_stratum(self) -> Option<StratumDim> {
        match self {
            Role::ExperienceByItem | Role::Completeness => Some(StratumDim::Item),
            Role::RejectedRows | Role::Timeliness => Some(StratumDim::Source),
            Role::PeerHeadline | Role::DataQuality => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.yaml_name())
    }
}

impl IndicatorMeta {
    /// Whether the indicator declares `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the indicator is about the data rather than about care.
    pub fn is_data_quality(&self) -> bool {
        self.roles.iter().any(|r| r.is_data_quality())
    }
}

/// The indicator of the catalogue that plays `role` (the catalogue loader guarantees there
/// is at most one for a unique role; for another role, the first in catalogue order).
pub fn with_role(catalogue: &[IndicatorDef], role: Role) -> Option<&IndicatorMeta> {
    catalogue.iter().map(|d| &d.meta).find(|m| m.has_role(role))
}

/// The program-evaluation indicator of `outcome` and `estimand` (at most one: checked by the
/// catalogue loader).
pub fn evaluation_indicator(
    catalogue: &[IndicatorDef],
    outcome: EvaluationOutcome,
    estimand: Estimand,
) -> Option<&IndicatorMeta> {
    catalogue.iter().map(|d| &d.meta).find(|m| {
        m.evaluation
            .is_some_and(|e| e.outcome == outcome && e.estimand == estimand)
    })
}
