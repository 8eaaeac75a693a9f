-- Emergency department visits per 1,000 attributed population, per quarter, by team and
-- equity stratum: the quarterly reading of ed_visits_per_1000 that the equity sections of the
-- reports compare groups on (a month is too short for a team's smaller groups: their counts
-- from 1 to 5 are suppressed). The population at risk is the attributed population alive at
-- the start of the quarter.
-- Grain: one row per quarter x team x sex x deprivation quintile x rurality x Indigenous
-- identity (NULL unless the pipeline enables it).
with cells as (
    select pm.period_start, pm.team, pm.sex, pm.rurality,
           pm.deprivation_quintile, pm.indigenous_identity,
           0 as numerator, pm.persons as denominator
    from population_month as pm
    where pm.period_start = cast(date_trunc('quarter', pm.period_start) as date)
    union all
    select cast(date_trunc('quarter', v.arrival) as date) as period_start,
           p.team, p.sex, p.rurality,
           p.deprivation_quintile, p.indigenous_identity,
           1 as numerator, 0 as denominator
    from ed_visit as v
    join person as p on p.person_number = v.person_number
)

select
    period_start,
    team,
    sex,
    rurality,
    deprivation_quintile,
    indigenous_identity,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from cells
group by 1, 2, 3, 4, 5, 6
