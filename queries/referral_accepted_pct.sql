-- Share of referrals accepted by the service they were sent to, by quarter of referral and
-- the referred person's team. Referrals sent less than 30 days before the end of the data are
-- left out: a service may still be reviewing them.
-- Grain: one row per quarter x team.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
)

select
    cast(date_trunc('quarter', r.referral_date) as date) as period_start,
    p.team,
    sum(case when r.accepted_date is not null then 1 else 0 end) as numerator,
    count(*) as denominator
from referral as r
cross join data_end as d
join person as p on p.person_number = r.person_number
where r.referral_date + interval '30 days' < d.last_day
group by 1, 2
