-- Alternate-level-of-care days as a share of inpatient days, by month of discharge.
-- Grain: one row per month x team.
with stays as (
    select
        a.person_number,
        a.discharge_date,
        coalesce(a.alc_days, 0) as alc_days,
        cast(cast(a.discharge_date as int) - cast(a.admit_date as int) as double) as inpatient_days
    from admission as a
    where a.discharge_date is not null
)

select
    cast(date_trunc('month', s.discharge_date) as date) as period_start,
    p.team,
    sum(s.alc_days) as numerator,
    sum(s.inpatient_days) as denominator,
    count(*) as cell_count
from stays as s
join person as p on p.person_number = s.person_number
group by 1, 2
