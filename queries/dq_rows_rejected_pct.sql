-- Data quality: share of the rows read from each partner source that were rejected, over
-- every load (rejected files count whole). Grain: one row per source.
-- Each content of a file counts once: a rejected file read again unchanged
-- (`--retry-rejected`) adds a manifest entry with the same figures, and content rejected
-- then loaded once its source spec was fixed counts as loaded.
with decided as (
    select
        m.source,
        m.rows_read,
        m.rows_rejected,
        row_number() over (
            partition by m.source, m.content_sha256
            order by m.finished_at desc, m.load_id desc
        ) as newest
    from load_manifest as m
    -- Held and discarded files changed nothing; a released file counts once, when loaded.
    where m.status in ('loaded', 'rejected')
)

select
    (select min(period_start) from calendar where period_type = 'month') as period_start,
    cast(null as varchar) as team,
    d.source,
    sum(d.rows_rejected) as numerator,
    sum(d.rows_read) as denominator
from decided as d
where d.newest = 1
group by d.source
