-- Days from enrolment in the care-coordination program to the participant's first home-care
-- or community-agency contact (the linkage to services), by quarter of enrolment and
-- enrolling team. Grain: one row per participant linked while enrolled (a participant not
-- linked yet has no delay to measure).
with enrolled as (
    select e.person_number, e.team, e.enrolment_date, e.end_date
    from enrolment as e
    where e.enrolment_date is not null
),

first_linkage as (
    select n.person_number, n.team, n.enrolment_date, min(k.contact_date) as first_day
    from enrolled as n
    join contact as k on k.person_number = n.person_number
    where k.provider_type in ('home_care', 'community_agency')
      and k.contact_date >= n.enrolment_date
      and (n.end_date is null or k.contact_date <= n.end_date)
    group by n.person_number, n.team, n.enrolment_date
)

select
    cast(date_trunc('quarter', f.enrolment_date) as date) as period_start,
    f.team,
    cast(cast(f.first_day as int) - cast(f.enrolment_date as int) as double) as observation
from first_linkage as f
