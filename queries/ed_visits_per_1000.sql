-- Emergency department visits per 1,000 attributed population, per month, by team and stratum.
-- Grain: one row per month x team x sex x language x rurality x age band x deprivation
-- quintile x Indigenous identity (NULL unless the pipeline enables it).
with cells as (
    select pm.period_start, pm.team, pm.sex, pm.language, pm.rurality, pm.birth_year,
           pm.deprivation_quintile, pm.indigenous_identity,
           0 as numerator, pm.persons as denominator
    from population_month as pm
    union all
    select cast(date_trunc('month', v.arrival) as date) as period_start,
           p.team, p.sex, p.language, p.rurality, p.birth_year,
           p.deprivation_quintile, p.indigenous_identity,
           1 as numerator, 0 as denominator
    from ed_visit as v
    join person as p on p.person_number = v.person_number
)

select
    period_start,
    team,
    sex,
    language,
    rurality,
    vigie_age_band(cast(date_part('year', period_start) as bigint) - birth_year) as age_band,
    deprivation_quintile,
    indigenous_identity,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from cells
group by 1, 2, 3, 4, 5, 6, 7, 8
