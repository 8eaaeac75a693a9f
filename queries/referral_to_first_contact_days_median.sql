-- Days from referral to first contact with the care-coordination team, by quarter of
-- referral and enrolling team. Grain: one row per referral with a first contact.
select
    cast(date_trunc('quarter', e.referral_date) as date) as period_start,
    e.team,
    cast(cast(e.first_contact_date as int) - cast(e.referral_date as int) as double) as observation
from enrolment as e
where e.first_contact_date is not null
