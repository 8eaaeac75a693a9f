-- Share of discharges to the community after a stay for a chronic condition (the stay's
-- diagnosis in a group of queries/reference/conditions.yaml: COPD, heart failure, diabetes,
-- mental health and addictions) followed by a primary-care contact (family physician or
-- nurse practitioner) within 7 days, by quarter of discharge and condition group: the
-- populations integrated care targets, too few per month for a team. A discharge counts when the
-- stay ended alive to the community (`home`, `home_with_support`); a transfer to another
-- hospital does not (the stay continues there, and its own discharge counts). Day 0 is the
-- discharge day: a contact that day counts, as do contacts on days 1 to 7. Left out, because
-- their 7 days are not theirs to use: persons who died by day 7, discharges followed by a new
-- admission by day 7, and discharges less than 7 days before the end of the hospital data or
-- whose day 7 is after the last contact loaded (no contact data: no result, rather than 0 %).
-- The rules are those of followup_7d_after_discharge_pct.
-- Grain: one row per quarter x team x condition group.
with data_end as (
    select max(period_end) as last_day
    from calendar
    where period_type = 'month'
),

groups as (
    select 'copd' as condition
    union all select 'heart_failure'
    union all select 'diabetes'
    union all select 'mental_health_addictions'
),

contact_data as (
    select max(contact_date) as last_contact
    from contact
),

discharges as (
    select a.person_number, a.admit_date, a.discharge_date, a.diagnosis
    from admission as a
    cross join data_end as d
    cross join contact_data as k
    where a.discharge_date is not null
      and a.discharge_disposition in ('home', 'home_with_support')
      and a.discharge_date + interval '7 days' < d.last_day
      and a.discharge_date + interval '7 days' <= k.last_contact
),

readmitted as (
    select distinct s.person_number, s.discharge_date
    from discharges as s
    join admission as r on r.person_number = s.person_number
    where r.admit_date >= s.discharge_date
      and r.admit_date <= s.discharge_date + interval '7 days'
      and not (r.admit_date = s.admit_date and r.discharge_date = s.discharge_date)
),

followed as (
    select distinct s.person_number, s.discharge_date
    from discharges as s
    join contact as c on c.person_number = s.person_number
    where c.provider_type in ('family_physician', 'nurse_practitioner')
      and c.contact_date >= s.discharge_date
      and c.contact_date <= s.discharge_date + interval '7 days'
),

eligible as (
    select
        s.person_number,
        s.discharge_date,
        s.diagnosis,
        case when f.person_number is null then 0 else 1 end as followed_up
    from discharges as s
    left join readmitted as r
        on r.person_number = s.person_number and r.discharge_date = s.discharge_date
    left join followed as f
        on f.person_number = s.person_number and f.discharge_date = s.discharge_date
    where r.person_number is null
)

select
    cast(date_trunc('quarter', e.discharge_date) as date) as period_start,
    p.team,
    g.condition,
    sum(e.followed_up) as numerator,
    count(*) as denominator
from eligible as e
join groups as g on vigie_condition(g.condition, e.diagnosis)
join person as p on p.person_number = e.person_number
where p.death_date is null or p.death_date > e.discharge_date + interval '7 days'
group by 1, 2, 3
