-- Data quality: days since each partner source last delivered an extract (as of the
-- computation date).
select
    (select min(period_start) from calendar where period_type = 'month') as period_start,
    cast(null as varchar) as team,
    m.source,
    cast(cast(current_date() as int) - cast(cast(max(m.finished_at) as date) as int) as double) as numerator,
    1.0 as denominator
from load_manifest as m
where m.status in ('loaded', 'rejected', 'held')
group by m.source
