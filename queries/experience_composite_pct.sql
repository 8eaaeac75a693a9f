-- Patient experience composite: per respondent, the share of their valid answers that are
-- "Always"; the indicator is the mean of these shares over respondents, by quarter and team.
with respondents as (
    select
        s.response_id,
        s.team,
        cast(date_trunc('quarter', min(s.completed_date)) as date) as period_start,
        cast(sum(case when s.answer = 4 then 1 else 0 end) as double) / count(*) as top_box_share
    from survey_response as s
    where s.answer is not null
    group by s.response_id, s.team
)

select
    period_start,
    team,
    sum(top_box_share) as numerator,
    count(*) as denominator
from respondents
group by 1, 2
