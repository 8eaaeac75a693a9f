-- Data quality: problems found per partner source and reason, as a share of the rows read
-- from that source. A rejected row may have several problems.
with problems as (
    select
        q._source as source,
        trim(split_part(split_part(q.reason, ' (', 1), ':', 1)) as reason_class,
        count(distinct q._file || ':' || cast(q._line as varchar)) as rows_with_problem
    from quarantine as q
    group by 1, 2
),

-- Each content of a file read once (see dq_rows_rejected_pct.sql).
decided as (
    select
        m.source,
        m.rows_read,
        row_number() over (
            partition by m.source, m.content_sha256
            order by m.finished_at desc, m.load_id desc
        ) as newest
    from load_manifest as m
    where m.status in ('loaded', 'rejected')
),

reads as (
    select d.source, sum(d.rows_read) as rows_read
    from decided as d
    where d.newest = 1
    group by d.source
)

select
    (select min(period_start) from calendar where period_type = 'month') as period_start,
    cast(null as varchar) as team,
    p.source || ': ' || p.reason_class as item,
    p.rows_with_problem as numerator,
    r.rows_read as denominator
from problems as p
join reads as r on r.source = p.source
