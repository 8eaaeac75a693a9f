-- Emergency department visits per 1,000, directly age-standardised to the 2011 Canadian standard population,
-- per month. Grain: one row per month x team x sex x standard age band.
with cells as (
    select pm.period_start, pm.team, pm.sex, pm.birth_year, 0 as numerator, pm.persons as denominator
    from population_month as pm
    union all
    select cast(date_trunc('month', v.arrival) as date) as period_start,
           p.team, p.sex, p.birth_year, 1 as numerator, 0 as denominator
    from ed_visit as v
    join person as p on p.person_number = v.person_number
)

select
    period_start,
    team,
    sex,
    vigie_std_age_band(cast(date_part('year', period_start) as bigint) - birth_year) as std_age_band,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from cells
group by 1, 2, 3, 4
