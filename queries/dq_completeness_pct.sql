-- Data quality: completeness of each mandatory field, per partner source: the share of rows
-- read that were not rejected for a missing value in that field's column.
with missing as (
    select q._source as source, q."column" as column_name,
           count(distinct q._file || ':' || cast(q._line as varchar)) as rows_missing
    from quarantine as q
    where q.reason = 'required value is missing'
    group by 1, 2
),

reads as (
    select m.source, sum(m.rows_read) as rows_read
    from load_manifest as m
    where m.status = 'loaded'
    group by m.source
)

select
    (select min(period_start) from calendar where period_type = 'month') as period_start,
    cast(null as varchar) as team,
    r.source || '.' || coalesce(ms.column_name, '(all mandatory fields)') as item,
    r.rows_read - coalesce(ms.rows_missing, 0) as numerator,
    r.rows_read as denominator
from reads as r
left join missing as ms on ms.source = r.source
