-- Share of referrals seen whose consultation report came back to the referring clinician
-- within 30 days of the first appointment (the loop closed), by quarter of the appointment
-- and the referred person's team. Appointments less than 30 days before the end of the data
-- are left out: their report may still come.
-- Grain: one row per quarter x team.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
)

select
    cast(date_trunc('quarter', r.first_appointment_date) as date) as period_start,
    p.team,
    sum(case
        when r.report_returned_date <= r.first_appointment_date + interval '30 days' then 1
        else 0 end) as numerator,
    count(*) as denominator
from referral as r
cross join data_end as d
join person as p on p.person_number = r.person_number
where r.first_appointment_date is not null
  and r.first_appointment_date + interval '30 days' < d.last_day
group by 1, 2
