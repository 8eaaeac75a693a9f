-- Contacts of care-coordination program participants per participant-month, by month,
-- enrolling team and provider type: every contact of a participant (the program's own and
-- the services they were linked to) from the enrolment day to the program's end day (the
-- death, or the end of the data while it runs), over the days enrolled in the month: the
-- denominator is in participant-days (whole numbers, so that sums up the hierarchy are exact
-- in any order), read by the unit as participant-months of 30.4375 days.
-- Grain: one row per month x team x provider type.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
),

provider_types as (
    select 'family_physician' as provider_type
    union all select 'nurse_practitioner'
    union all select 'specialist'
    union all select 'home_care'
    union all select 'community_agency'
    union all select 'social_worker'
    union all select 'program_coordinator'
    union all select 'other'
),

enrolled as (
    select
        e.person_number,
        e.team,
        e.enrolment_date as start_day,
        least(
            coalesce(e.end_date + interval '1 day', d.last_day),
            coalesce(p.death_date + interval '1 day', d.last_day)
        ) as end_before
    from enrolment as e
    cross join data_end as d
    join person as p on p.person_number = e.person_number
    where e.enrolment_date is not null
),

exposure as (
    select
        c.period_start,
        n.team,
        cast(least(n.end_before, c.period_end) as int)
        - cast(greatest(n.start_day, c.period_start) as int) as days
    from enrolled as n
    join calendar as c
        on c.period_type = 'month'
       and c.period_start < n.end_before
       and c.period_end > n.start_day
),

-- Summed per month and team before meeting the provider types: one row per enrolment-month
-- and provider type would be millions of rows at province scale.
exposure_cells as (
    select period_start, team, sum(days) as days
    from exposure
    group by period_start, team
),

cells as (
    select x.period_start, x.team, t.provider_type, 0 as numerator, x.days as denominator
    from exposure_cells as x
    cross join provider_types as t
    union all
    select
        cast(date_trunc('month', k.contact_date) as date) as period_start,
        n.team,
        k.provider_type,
        1 as numerator,
        0 as denominator
    from contact as k
    join enrolled as n
        on n.person_number = k.person_number
       and k.contact_date >= n.start_day
       and k.contact_date < n.end_before
)

select
    period_start,
    team,
    provider_type,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from cells
group by 1, 2, 3
