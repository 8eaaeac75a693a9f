-- Share of care-coordination program participants with contacts from more than one provider
-- type (e.g. the coordinator and a social worker, home care or their family physician) in
-- their first 90 days after enrolment (days 0 to 89), by quarter of enrolment and enrolling
-- team. Left out: participants enrolled less than 90 days before the end of the data, and
-- those who died within their first 90 days.
-- Grain: one row per quarter x team.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
),

enrolled as (
    select e.person_number, e.team, e.enrolment_date
    from enrolment as e
    cross join data_end as d
    join person as p on p.person_number = e.person_number
    where e.enrolment_date is not null
      and e.enrolment_date + interval '90 days' <= d.last_day
      and (p.death_date is null or p.death_date >= e.enrolment_date + interval '90 days')
),

provider_types as (
    select n.person_number, n.enrolment_date, count(distinct k.provider_type) as types
    from enrolled as n
    join contact as k on k.person_number = n.person_number
    where k.contact_date >= n.enrolment_date
      and k.contact_date < n.enrolment_date + interval '90 days'
    group by n.person_number, n.enrolment_date
)

select
    cast(date_trunc('quarter', n.enrolment_date) as date) as period_start,
    n.team,
    sum(case when t.types > 1 then 1 else 0 end) as numerator,
    count(*) as denominator
from enrolled as n
left join provider_types as t
    on t.person_number = n.person_number and t.enrolment_date = n.enrolment_date
group by 1, 2
