-- Data quality: share of the rows read from each partner source that were rejected, over
-- every load (rejected files count whole). Grain: one row per source.
select
    (select min(period_start) from calendar where period_type = 'month') as period_start,
    cast(null as varchar) as team,
    m.source,
    sum(m.rows_rejected) as numerator,
    sum(m.rows_read) as denominator
from load_manifest as m
-- Held and discarded files changed nothing; a released file counts once, when loaded.
where m.status in ('loaded', 'rejected')
group by m.source
