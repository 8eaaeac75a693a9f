-- Hospital admissions per 1,000, directly age-standardised to the 2011 Canadian standard population,
-- per month. Grain: one row per month x team x sex x standard age band.
with months as (
    select period_start
    from calendar
    where period_type = 'month'
),

population_groups as (
    select
        p.team,
        p.sex,
        p.birth_year,
        cast(date_trunc('month', p.death_date) as date) as death_month,
        count(*) as persons
    from person as p
    group by 1, 2, 3, 4
),

cells as (
    select m.period_start, g.team, g.sex, g.birth_year, 0 as numerator, g.persons as denominator
    from population_groups as g
    cross join months as m
    where g.death_month is null or g.death_month >= m.period_start
    union all
    select cast(date_trunc('month', v.admit_date) as date) as period_start,
           p.team, p.sex, p.birth_year, 1 as numerator, 0 as denominator
    from admission as v
    join person as p on p.person_key = v.person_key
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
