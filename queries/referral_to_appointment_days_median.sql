-- Days from a referral to its first appointment, by quarter of referral and the referred
-- person's team. Grain: one row per referral seen (a referral not accepted, or accepted but
-- not yet seen, has no wait to measure: referral_accepted_pct and the report loop show them).
select
    cast(date_trunc('quarter', r.referral_date) as date) as period_start,
    p.team,
    cast(cast(r.first_appointment_date as int) - cast(r.referral_date as int) as double) as observation
from referral as r
join person as p on p.person_number = r.person_number
where r.first_appointment_date is not null
