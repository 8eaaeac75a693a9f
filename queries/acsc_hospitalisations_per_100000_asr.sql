-- Hospitalisations for ambulatory care sensitive conditions per 100,000 population younger
-- than 75, directly age-standardised to the 2011 Canadian standard population cut at 74
-- (CIHI's definition: urgent admissions whose main diagnosis is in the `acsc` group of
-- queries/reference/conditions.yaml), per calendar year. The population at risk is the
-- attributed population alive on 1 January.
-- Grain: one row per year x team x sex x standard age band.
with cells as (
    select pm.period_start, pm.team, pm.sex, pm.birth_year,
           0 as numerator, pm.persons as denominator
    from population_month as pm
    where date_part('month', pm.period_start) = 1
      and cast(date_part('year', pm.period_start) as bigint) - pm.birth_year < 75
    union all
    select cast(date_trunc('year', a.admit_date) as date) as period_start,
           p.team, p.sex, p.birth_year,
           1 as numerator, 0 as denominator
    from admission as a
    join person as p on p.person_number = a.person_number
    where a.admit_category = 'urgent'
      and vigie_condition('acsc', a.diagnosis)
      and cast(date_part('year', a.admit_date) as bigint) - p.birth_year < 75
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
