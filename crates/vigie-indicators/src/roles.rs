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
    /// `care_pathway`: what happens between hospital visits (follow-up after discharge, the
    /// referral loop, program intensity): the feedback report's pathway section, in
    /// catalogue order, and the quality-improvement dashboard's pathway row. Any number.
    CarePathway,
}

impl Role {
    /// Every role, in documentation order.
    pub const ALL: [Role; 7] = [
        Role::PeerHeadline,
        Role::ExperienceByItem,
        Role::DataQuality,
        Role::RejectedRows,
        Role::Completeness,
        Role::Timeliness,
        Role::CarePathway,
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
            Role::CarePathway => "care_pathway",
        }
    }

    /// Whether at most one indicator of the catalogue may declare the role (a section shows
    /// one indicator for it).
    pub fn is_unique(self) -> bool {
        !matches!(self, Role::DataQuality | Role::CarePathway)
    }

    /// Whether the role marks an indicator about the data rather than about care.
    pub fn is_data_quality(self) -> bool {
        matches!(
            self,
            Role::DataQuality | Role::RejectedRows | Role::Completeness | Role::Timeliness
        )
    }

    /// The stratum the section reads the indicator by, if any.
    pub fn required_stratum(self) -> Option<&'static str> {
        match self {
            Role::ExperienceByItem | Role::Completeness => Some(StratumDim::ITEM),
            Role::RejectedRows | Role::Timeliness => Some(StratumDim::SOURCE),
            Role::PeerHeadline | Role::DataQuality | Role::CarePathway => None,
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

/// Every indicator of the catalogue that plays `role`, in catalogue order.
pub fn all_with_role(catalogue: &[IndicatorDef], role: Role) -> Vec<&IndicatorMeta> {
    catalogue
        .iter()
        .map(|d| &d.meta)
        .filter(|m| m.has_role(role))
        .collect()
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use vigie_model::ConfigError;

    use super::*;
    use crate::catalogue::load_catalogue;

    fn repository_queries() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries")
    }

    /// A copy of the repository's catalogue in a temporary directory.
    fn copy_of_catalogue() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        for e in std::fs::read_dir(repository_queries()).expect("queries") {
            let path = e.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
        dir
    }

    /// Rewrites one line of a metadata file.
    fn edit(dir: &Path, id: &str, from: &str, to: &str) {
        let path = dir.join(format!("{id}.yaml"));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{id}.yaml has {from:?}");
        std::fs::write(&path, text.replace(from, to)).expect("write");
    }

    /// The problems of a catalogue that must not load: (file name, line, key, message).
    fn problems(dir: &Path) -> Vec<(String, Option<usize>, String, String)> {
        match load_catalogue(dir) {
            Err(ConfigError::Invalid(problems)) => problems
                .into_iter()
                .map(|p| {
                    let file = p.file.file_name().expect("name").to_string_lossy().into();
                    (file, p.line, p.key, p.message)
                })
                .collect(),
            Err(e) => panic!("expected catalogue problems, got {e}"),
            Ok(_) => panic!("the catalogue loaded"),
        }
    }

    #[test]
    fn the_repository_catalogue_declares_every_role_a_report_needs() {
        let catalogue = load_catalogue(&repository_queries()).expect("catalogue");
        for role in Role::ALL {
            let holders = catalogue.iter().filter(|d| d.meta.has_role(role)).count();
            assert!(holders >= 1, "no indicator has the role {role}");
            if role.is_unique() {
                assert_eq!(holders, 1, "{role}");
            }
        }
    }

    #[test]
    fn a_pathway_step_without_the_pathway_role_is_a_catalogue_error() {
        let dir = copy_of_catalogue();
        edit(
            dir.path(),
            "referral_accepted_pct",
            "roles: [care_pathway]\n",
            "",
        );
        let p = problems(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        let (file, line, key, message) = &p[0];
        assert_eq!(file, "referral_accepted_pct.yaml");
        assert!(key.starts_with("pathway_step"), "{key}");
        assert!(line.is_some(), "{p:?}");
        assert!(message.contains("care_pathway"), "{message}");
    }

    #[test]
    fn an_unknown_role_is_a_catalogue_error_with_file_line_and_key() {
        let dir = copy_of_catalogue();
        edit(
            dir.path(),
            "ed_visits_per_1000",
            "roles: [peer_headline]",
            "roles: [headline]",
        );
        let p = problems(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        let (file, line, key, message) = &p[0];
        assert_eq!(file, "ed_visits_per_1000.yaml");
        assert!(key.starts_with("roles"), "{key}");
        let text = std::fs::read_to_string(dir.path().join(file)).expect("read");
        let expected = text
            .lines()
            .position(|l| l.starts_with("roles:"))
            .map(|i| i + 1);
        assert_eq!(*line, expected);
        assert!(message.contains("unknown variant `headline`"), "{message}");
        assert!(
            message.contains("peer_headline"),
            "names the roles: {message}"
        );
    }

    #[test]
    fn a_unique_role_declared_twice_is_a_catalogue_error() {
        let dir = copy_of_catalogue();
        // admissions_per_1000 sorts before ed_visits_per_1000: the second holder is named.
        let path = dir.path().join("admissions_per_1000.yaml");
        let mut text = std::fs::read_to_string(&path).expect("read");
        text.push_str("roles: [peer_headline]\n");
        std::fs::write(&path, text).expect("write");
        let p = problems(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        let (file, line, key, message) = &p[0];
        assert_eq!(file, "ed_visits_per_1000.yaml");
        assert_eq!(key, "roles");
        assert!(line.is_some());
        assert!(
            message.contains("already declared by admissions_per_1000"),
            "{message}"
        );
    }

    #[test]
    fn a_role_needs_its_stratum_and_the_headline_a_funnel() {
        let dir = copy_of_catalogue();
        edit(
            dir.path(),
            "dq_days_since_last_extract",
            "strata: [source]",
            "strata: []",
        );
        edit(
            dir.path(),
            "ed_visits_per_1000",
            "roles: [peer_headline]",
            "roles: []",
        );
        edit(
            dir.path(),
            "alc_days_pct",
            "method: ratio_of_sums",
            "method: ratio_of_sums\nroles: [peer_headline]",
        );
        let p = problems(dir.path());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p.iter()
                .any(|(f, _, k, m)| f == "dq_days_since_last_extract.yaml"
                    && k == "roles"
                    && m.contains("add `source` to `strata`"))
        );
        assert!(p.iter().any(|(f, _, k, m)| f == "alc_days_pct.yaml"
            && k == "roles"
            && m.contains("funnel plot")));
    }

    #[test]
    fn one_indicator_per_evaluation_figure() {
        let dir = copy_of_catalogue();
        edit(
            dir.path(),
            "program_ed_change_naive",
            "estimand: naive",
            "estimand: adjusted",
        );
        let p = problems(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "program_ed_change_naive.yaml");
        assert_eq!(p[0].2, "evaluation");
    }
}
