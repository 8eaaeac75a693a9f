-- Emergency department visits for a chronic condition per 1,000 attributed population, per
-- month, by condition group (the visit's diagnosis in a group of
-- queries/reference/conditions.yaml: COPD, heart failure, diabetes, mental health and
-- addictions) and team. Each group has the whole population at risk: no pooled total.
-- Grain: one row per month x team x condition group.
with groups as (
    select 'copd' as condition
    union all select 'heart_failure'
    union all select 'diabetes'
    union all select 'mental_health_addictions'
),

-- A group's visits counted by person and month first, then given their person's team: the
-- count keeps the optimiser from joining every visit to the person table first (a national
-- registry: a hash table of 40M persons' teams).
chronic_visits as (
    select v.person_number,
           cast(date_trunc('month', v.arrival) as date) as period_start,
           g.condition,
           count(*) as visits
    from ed_visit as v
    join groups as g on vigie_condition(g.condition, v.diagnosis)
    group by 1, 2, 3
),

cells as (
    select pm.period_start, pm.team, g.condition, 0 as numerator, pm.persons as denominator
    from population_month as pm
    cross join groups as g
    union all
    select c.period_start, p.team, c.condition, c.visits as numerator, 0 as denominator
    from chronic_visits as c
    join person as p on p.person_number = c.person_number
)

select
    period_start,
    team,
    condition,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from cells
group by 1, 2, 3
