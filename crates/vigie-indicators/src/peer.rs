//! Peer comparison: a team's published value against funnel-plot limits around its region's
//! value (Spiegelhalter 2005, through `vigie_stats::funnel`). The reports lay these figures out;
//! the statistics live here, next to the indicator metadata that decides which funnel applies.

use vigie_stats::{
    FunnelLimits, FunnelPosition, ProportionFunnelMethod, classify, proportion_funnel_limits,
    rate_funnel_limits,
};

use crate::catalogue::{Direction, IndicatorMeta, Method, Unit};
use crate::results::IndicatorResult;

/// Which funnel an indicator is drawn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelKind {
    /// A proportion (exact binomial limits; the size is a whole number of persons or events).
    Proportion,
    /// A rate per person (Poisson limits; the size is the population).
    Rate,
}

impl FunnelKind {
    /// The funnel of an indicator, if it has one: Wilson percentages and Poisson rates per
    /// 1,000 (their denominators are counts, the sizes a funnel needs).
    pub fn of(m: &IndicatorMeta) -> Option<FunnelKind> {
        match (m.method, m.unit) {
            (Method::Wilson, Unit::Percent) => Some(FunnelKind::Proportion),
            (Method::PoissonRate, Unit::RatePer1000) => Some(FunnelKind::Rate),
            _ => None,
        }
    }
}

/// The funnel of one indicator, period and stratum: centred on the region's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeerFunnel {
    kind: FunnelKind,
    /// The region's numerator / denominator (a fraction, or events per person).
    rate: f64,
    /// From the rate to the indicator's unit (100 for a percentage, 1,000 per 1,000).
    multiplier: f64,
}

impl PeerFunnel {
    /// The funnel around `region`'s published row; None when the indicator has no funnel or
    /// the region's numerator or denominator is missing or not positive.
    pub fn around(m: &IndicatorMeta, region: &IndicatorResult) -> Option<PeerFunnel> {
        let kind = FunnelKind::of(m)?;
        let (numerator, denominator) = (region.numerator?, region.denominator?);
        if denominator <= 0.0 || numerator <= 0.0 {
            return None;
        }
        Some(PeerFunnel {
            kind,
            rate: numerator / denominator,
            multiplier: m.unit.multiplier(),
        })
    }

    /// The centre line (the region's value), in the indicator's unit.
    pub fn centre(&self) -> f64 {
        self.rate * self.multiplier
    }

    /// The 95 % and 99.8 % limits at `size` (a denominator), in the indicator's unit.
    pub fn limits(&self, size: f64) -> Option<FunnelLimits> {
        let l = match self.kind {
            FunnelKind::Proportion => proportion_funnel_limits(
                self.rate.clamp(0.0, 1.0),
                size.round().max(1.0),
                ProportionFunnelMethod::ExactBinomial,
            )
            .ok()?,
            FunnelKind::Rate => rate_funnel_limits(self.rate, size).ok()?,
        };
        Some(FunnelLimits {
            target: self.centre(),
            lower_95: l.lower_95 * self.multiplier,
            upper_95: l.upper_95 * self.multiplier,
            lower_998: l.lower_998 * self.multiplier,
            upper_998: l.upper_998 * self.multiplier,
        })
    }

    /// Where `value` at `size` falls; None when the size is not positive.
    pub fn band(&self, value: f64, size: f64) -> Option<PeerBand> {
        if size <= 0.0 {
            return None;
        }
        let c = classify(value, &self.limits(size)?);
        Some(match (c.at_998, c.at_95) {
            (FunnelPosition::Above, _) => PeerBand::Above998,
            (FunnelPosition::Below, _) => PeerBand::Below998,
            (_, FunnelPosition::Above) => PeerBand::Above95,
            (_, FunnelPosition::Below) => PeerBand::Below95,
            _ => PeerBand::Within,
        })
    }
}

/// Where a team sits on the funnel of its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerBand {
    /// Within the 95 % limits.
    Within,
    /// Above the 95 % limit, within the 99.8 % one.
    Above95,
    /// Below the 95 % limit, within the 99.8 % one.
    Below95,
    /// Above the 99.8 % limit.
    Above998,
    /// Below the 99.8 % limit.
    Below998,
}

/// Whether a position is good news, given the indicator's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerTone {
    /// Outside the limits on the better side.
    Favourable,
    /// Outside the limits on the worse side.
    Unfavourable,
    /// Within the limits, or an indicator without a better side.
    Neutral,
}

impl PeerBand {
    /// Stable code (CSS class and text key): within, above_95, below_95, above_998, below_998.
    pub fn code(self) -> &'static str {
        match self {
            PeerBand::Within => "within",
            PeerBand::Above95 => "above_95",
            PeerBand::Below95 => "below_95",
            PeerBand::Above998 => "above_998",
            PeerBand::Below998 => "below_998",
        }
    }

    /// Good news or bad, with the indicator's direction.
    pub fn tone(self, direction: Direction) -> PeerTone {
        let above = matches!(self, PeerBand::Above95 | PeerBand::Above998);
        match (self, direction) {
            (PeerBand::Within, _) | (_, Direction::Neither) => PeerTone::Neutral,
            (_, Direction::HigherIsBetter) if above => PeerTone::Favourable,
            (_, Direction::LowerIsBetter) if !above => PeerTone::Favourable,
            _ => PeerTone::Unfavourable,
        }
    }
}

impl PeerTone {
    /// Stable code (CSS class and text key).
    pub fn code(self) -> &'static str {
        match self {
            PeerTone::Favourable => "favourable",
            PeerTone::Unfavourable => "unfavourable",
            PeerTone::Neutral => "neutral",
        }
    }
}

/// The position of a team's `row` on the funnel around its `region`: None without a funnel,
/// a value or a positive size.
pub fn peer_band(
    m: &IndicatorMeta,
    row: &IndicatorResult,
    region: &IndicatorResult,
) -> Option<PeerBand> {
    let funnel = PeerFunnel::around(m, region)?;
    funnel.band(row.value?, row.denominator?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_follows_the_direction() {
        use Direction::*;
        assert_eq!(PeerBand::Above95.tone(HigherIsBetter), PeerTone::Favourable);
        assert_eq!(
            PeerBand::Above998.tone(LowerIsBetter),
            PeerTone::Unfavourable
        );
        assert_eq!(PeerBand::Below95.tone(LowerIsBetter), PeerTone::Favourable);
        assert_eq!(
            PeerBand::Below998.tone(HigherIsBetter),
            PeerTone::Unfavourable
        );
        assert_eq!(PeerBand::Below998.tone(Neither), PeerTone::Neutral);
        assert_eq!(PeerBand::Within.tone(LowerIsBetter), PeerTone::Neutral);
    }
}
