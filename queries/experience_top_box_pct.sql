-- Patient experience: share of "Always" (top-box) answers per survey item, by quarter and
-- team. Blank and not-applicable answers are not valid answers and are excluded.
select
    cast(date_trunc('quarter', s.completed_date) as date) as period_start,
    s.team,
    s.item_code as item,
    sum(case when s.answer = 4 then 1 else 0 end) as numerator,
    count(*) as denominator
from survey_response as s
where s.answer is not null
group by 1, 2, 3
