-- Patient experience: share of each item's top-box answers (its own top box, from the survey
-- instrument: "Always" on the frequency scale, "Excellent" on the rating scale, 9-10 on the
-- 0-10 scale), by quarter and team. Only valid answers count: not applicable and missing
-- answers are kept in survey_response but are not answers to score.
with answers as (
    select
        cast(date_trunc('quarter', s.completed_date) as date) as period_start,
        s.team,
        s.item_code,
        a.top_box
    from survey_response as s
    inner join survey_item_answer as a
        on a.instrument = s.instrument
        and a.item_code = s.item_code
        and a.answer = s.answer
    where s.answer_status = 'valid'
)

select
    period_start,
    team,
    item_code as item,
    sum(case when top_box then 1 else 0 end) as numerator,
    count(*) as denominator
from answers
group by 1, 2, 3
