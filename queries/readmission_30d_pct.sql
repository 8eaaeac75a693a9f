-- Share of hospital stays followed by an urgent readmission within 30 days of discharge,
-- by month of discharge. Stays discharged less than 30 days before the end of the data are
-- left out: their follow-up is incomplete.
-- Grain: one row per month x team x sex x age band.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
),

stays as (
    select a.person_number, a.admit_date, a.discharge_date
    from admission as a
    cross join data_end as d
    where a.discharge_date is not null
      and a.discharge_date < d.last_day - interval '30 days'
),

urgent as (
    select person_number, admit_date
    from admission
    where admit_category = 'urgent'
),

-- The readmission window is a condition of the join, not of what is counted after it: each
-- stay meets only the urgent admissions in its 30 days (a third of the rows a join on the
-- person alone gave at province scale, each stay paired with every stay of the person).
flagged as (
    select
        s.person_number,
        s.discharge_date,
        max(case when r.person_number is null then 0 else 1 end) as readmitted
    from stays as s
    left join urgent as r
        on r.person_number = s.person_number
        and r.admit_date > s.discharge_date
        and r.admit_date <= s.discharge_date + interval '30 days'
    group by s.person_number, s.admit_date, s.discharge_date
)

select
    cast(date_trunc('month', f.discharge_date) as date) as period_start,
    p.team,
    p.sex,
    vigie_age_band(cast(date_part('year', f.discharge_date) as bigint) - p.birth_year) as age_band,
    sum(f.readmitted) as numerator,
    count(*) as denominator
from flagged as f
join person as p on p.person_number = f.person_number
group by 1, 2, 3, 4
