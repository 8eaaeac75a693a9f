-- Patient experience: share of each item's top-box answers (its own top box, from the survey
-- instrument: "Always" on the frequency scale, "Excellent" on the rating scale, 9-10 on the
-- 0-10 scale), by quarter and team. Only valid answers count: not applicable and missing
-- answers are kept in survey_response with a null answer, which the join on the answer leaves
-- out (no `answer_status` filter needed: reading that column of every answer cost a fifth
-- of the query at province scale).
with answers as (
    select
        s.completed_date,
        s.team,
        s.item_code,
        a.top_box
    from survey_response as s
    inner join survey_item_answer as a
        on a.instrument = s.instrument
        and a.item_code = s.item_code
        and a.answer = s.answer
),

-- Counted per day first: the quarter is then taken of a few thousand day rows rather than
-- of every answer (millions at province scale).
days as (
    select
        completed_date,
        team,
        item_code,
        sum(case when top_box then 1 else 0 end) as numerator,
        count(*) as denominator
    from answers
    group by 1, 2, 3
)

select
    cast(date_trunc('quarter', completed_date) as date) as period_start,
    team,
    item_code as item,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from days
group by 1, 2, 3
