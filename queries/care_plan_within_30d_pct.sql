-- Share of enrolments with a care plan within 30 days of enrolment, by quarter of
-- enrolment. Enrolments less than 30 days before the end of the data are left out.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
)

select
    cast(date_trunc('quarter', e.enrolment_date) as date) as period_start,
    e.team,
    sum(case when e.care_plan_date is not null
              and e.care_plan_date <= e.enrolment_date + interval '30 days' then 1 else 0 end) as numerator,
    count(*) as denominator
from enrolment as e
cross join data_end as d
where e.enrolment_date is not null
  and e.enrolment_date + interval '30 days' < d.last_day
group by 1, 2
