//! The team's indicators this period: the table, their history (SPC charts), their peers
//! (funnel plots), and the peer-comparison headline (the indicator with the `peer_headline`
//! role) at the top of the report.

use serde::Serialize;
use vigie_indicators::{IndicatorMeta, IndicatorResult, Method, Role, Unit};

use crate::charts::{FunnelChart, SpcChart};
use crate::data::{ALL, Notes, is_monthly};
use crate::format;
use crate::i18n::text;
use crate::sections::{FULL_WIDTH, HALF_WIDTH, MissingRole, Scope};
use crate::views::{
    self, CellView, PeerPosition, Status, cell, funnel_chart, name, peer_position, signal,
    spc_chart, target_status,
};

/// Points on an SPC chart of a monthly indicator: two years.
const SPC_POINTS_MONTHLY: usize = 24;
/// Points on an SPC chart of a quarterly or yearly indicator.
const SPC_POINTS_OTHER: usize = 12;

/// One row of the indicator table.
#[derive(Serialize)]
pub struct IndicatorRow {
    id: String,
    pub name: String,
    period: String,
    team: CellView,
    region: CellView,
    target: String,
    pub status: Option<Status>,
    signal: Option<Status>,
    peer: Option<PeerPosition>,
}

/// The key figure of the headline indicator: the team beside the region, and its position
/// among its peers.
#[derive(Serialize)]
pub struct KeyPeer {
    indicator: String,
    /// What the value counts, after it ("per 1,000"; nothing for a percentage).
    unit: &'static str,
    period: String,
    team: CellView,
    region: CellView,
    position: Option<PeerPosition>,
}

/// The peer-comparison headline: the key figure card and the large funnel plot.
#[derive(Serialize)]
pub struct Headline {
    key_peer: Option<KeyPeer>,
    ed_funnel: Option<FunnelChart>,
    /// Said in the section when no indicator has the `peer_headline` role.
    ed_missing: Vec<MissingRole>,
}

/// An indicator of the table with its rows this period (the team's, the region's).
pub struct Shown<'a> {
    m: &'a IndicatorMeta,
    row: Option<&'a IndicatorResult>,
    region: Option<&'a IndicatorResult>,
}

impl<'a> Shown<'a> {
    /// The indicator.
    pub fn meta(&self) -> &'a IndicatorMeta {
        self.m
    }

    fn period_label(&self, s: &Scope<'_>) -> String {
        let any = self.row.or(self.region);
        any.map(|r| format::period_of(r.period_type, r.period_start, r.period_end, s.lang))
            .unwrap_or_default()
    }

    fn team_cell(&self, s: &Scope<'_>, notes: &mut Notes) -> CellView {
        cell(self.row, self.m, &s.team_label, notes, s.lang)
    }

    fn region_cell(&self, s: &Scope<'_>, notes: &mut Notes) -> CellView {
        cell(self.region, self.m, &s.region_label, notes, s.lang)
    }

    fn peer(&self, s: &Scope<'_>) -> Option<PeerPosition> {
        match (self.row, self.region) {
            (Some(r), Some(g)) if !r.is_suppressed() && !g.is_suppressed() => {
                peer_position(self.m, r, g, s.lang)
            }
            _ => None,
        }
    }

    fn is_headline(&self) -> bool {
        self.m.has_role(Role::PeerHeadline)
    }
}

/// The indicators of the table, with rows this period: every care indicator with a total
/// stratum (not program evaluation, not data quality); targets first, then the headline,
/// then the rest in catalogue order.
pub fn shown<'a>(s: &Scope<'a>) -> Vec<Shown<'a>> {
    let mut metas: Vec<&IndicatorMeta> = s
        .catalogue
        .iter()
        .map(|d| &d.meta)
        .filter(|m| {
            m.include_total && m.method != Method::ProgramEvaluation && !m.is_data_quality()
        })
        .collect();
    metas.sort_by_key(|m| (m.target.is_none(), !m.has_role(Role::PeerHeadline)));
    metas
        .into_iter()
        .filter_map(|m| {
            let row = s.data.find(&m.id, s.team, ALL, ALL, s.period);
            let region = s.data.find(&m.id, crate::data::REGION, ALL, ALL, s.period);
            (row.is_some() || region.is_some()).then_some(Shown { m, row, region })
        })
        .collect()
}

/// The indicator table.
pub fn table(s: &Scope<'_>, shown: &[Shown<'_>], notes: &mut Notes) -> Vec<IndicatorRow> {
    shown
        .iter()
        .map(|x| IndicatorRow {
            id: x.m.id.clone(),
            name: name(x.m, s.lang),
            period: x.period_label(s),
            team: x.team_cell(s, notes),
            region: x.region_cell(s, notes),
            target: views::target_text(x.m, s.lang),
            status: target_status(x.row, s.lang),
            signal: signal(x.row, s.lang),
            peer: x.peer(s),
        })
        .collect()
}

/// The history of each indicator the team has a row for: an SPC chart of its series.
pub fn history(s: &Scope<'_>, shown: &[Shown<'_>]) -> Vec<SpcChart> {
    shown
        .iter()
        .filter_map(|x| {
            let r = x.row?;
            let series = s
                .data
                .series(&x.m.id, s.team, ALL, ALL, r.period_type, r.period_start);
            let points = if is_monthly(r) {
                SPC_POINTS_MONTHLY
            } else {
                SPC_POINTS_OTHER
            };
            spc_chart(
                &format!("spc-{}", x.m.id),
                x.m,
                &series,
                |p| s.period.overlaps(p.period_start, p.period_end),
                points,
                HALF_WIDTH,
                s.lang,
            )
        })
        .collect()
}

/// The funnel plots of the indicators other than the headline (drawn at the top).
pub fn peer_funnels(s: &Scope<'_>, shown: &[Shown<'_>]) -> Vec<FunnelChart> {
    shown
        .iter()
        .filter(|x| !x.is_headline())
        .filter_map(|x| {
            let r = x.row?;
            funnel_chart(
                &format!("funnel-{}", x.m.id),
                x.m,
                s.data,
                r,
                Some(s.team),
                HALF_WIDTH,
                s.lang,
            )
        })
        .collect()
}

/// The peer-comparison headline: the key figure card and the large funnel plot.
pub fn headline(s: &Scope<'_>, shown: &[Shown<'_>], notes: &mut Notes) -> Headline {
    let mut ed_missing = Vec::new();
    if s.by_role(Role::PeerHeadline, &mut ed_missing).is_none() {
        return Headline {
            key_peer: None,
            ed_funnel: None,
            ed_missing,
        };
    }
    let Some(x) = shown.iter().find(|x| x.is_headline()) else {
        return Headline {
            key_peer: None,
            ed_funnel: None,
            ed_missing,
        };
    };
    let ed_funnel = x.row.and_then(|r| {
        funnel_chart(
            &format!("funnel-{}", x.m.id),
            x.m,
            s.data,
            r,
            Some(s.team),
            FULL_WIDTH,
            s.lang,
        )
    });
    Headline {
        key_peer: Some(KeyPeer {
            indicator: name(x.m, s.lang),
            unit: match x.m.unit {
                Unit::RatePer1000 => text("per_1000", s.lang),
                Unit::RatePer100000 => text("per_100000", s.lang),
                _ => "",
            },
            period: x.period_label(s),
            team: x.team_cell(s, notes),
            region: x.region_cell(s, notes),
            position: x.peer(s),
        }),
        ed_funnel,
        ed_missing,
    }
}
