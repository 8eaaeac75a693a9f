-- Patient experience composite: per respondent, the share of their valid answers that are in
-- their item's top box (each item scored on its own scale, from the survey instrument); the
-- indicator is the mean of these shares over respondents, by quarter and team.
-- Shares are summed as integers (millionths of millionths, truncated: an error below 1e-12
-- per respondent), not as floating-point numbers, whose sum depends on the order rows
-- arrive in: the same answers give the same bits whether the whole table is read (a full
-- compute) or only the recomputed quarter (a weekly refresh).
with answers as (
    select
        s.response_id,
        s.team,
        s.completed_date,
        a.top_box
    from survey_response as s
    inner join survey_item_answer as a
        on a.instrument = s.instrument
        and a.item_code = s.item_code
        and a.answer = s.answer
    -- Valid answers only: the others have a null answer, which the join leaves out.
),

respondents as (
    select
        response_id,
        team,
        cast(date_trunc('quarter', min(completed_date)) as date) as period_start,
        sum(case when top_box then 1 else 0 end) * 1000000000000 / count(*) as top_box_share_e12
    from answers
    group by response_id, team
)

select
    period_start,
    team,
    cast(sum(cast(top_box_share_e12 as decimal(38, 0))) as double) / 1e12 as numerator,
    count(*) as denominator
from respondents
group by 1, 2
