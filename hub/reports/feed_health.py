"""数据接口运行情况 Partner feed health: events applied and messages rejected (dead letters) per source per day, the
day's first-to-last span of applied events, and the feed's lag: for each applied event, the time from when the
partner sent it (its CloudEvent `time`, or its Kafka record timestamp when it has none: ``applied_events.sent_at``)
to when the hub applied it (``applied_at``); median and maximum per source and day, in seconds. Events with no sent
time (applied before revision 0015) count in the events column but in no lag. Consumer lag in messages is a live
number (metrics, `hub connector status`), not kept per day."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from statistics import median

from sqlalchemy import select

from hub.adapters.orm import AppliedEventRow, DeadLetterRow
from hub.domain.calendar import office_day_start, office_time
from hub.reports.base import Column, Param, Report


def query(ctx):
    first = ctx.today - timedelta(days=ctx.params["days"] - 1)
    since = office_day_start(first)
    until = office_day_start(ctx.today + timedelta(days=1))
    days: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, None, None, []])
    for source, at, sent in ctx.session.execute(
            select(AppliedEventRow.source, AppliedEventRow.applied_at, AppliedEventRow.sent_at)
            .where(AppliedEventRow.applied_at >= since, AppliedEventRow.applied_at < until)):
        at = office_time(at)
        g = days[(at.date(), source.rsplit("/", 1)[-1])]
        g[0] += 1
        g[3] = at if g[3] is None or at < g[3] else g[3]
        g[4] = at if g[4] is None or at > g[4] else g[4]
        if sent is not None:
            g[5].append((at - office_time(sent)).total_seconds())
    for connector, at, replayed in ctx.session.execute(
            select(DeadLetterRow.connector, DeadLetterRow.created_at, DeadLetterRow.replayed_at)
            .where(DeadLetterRow.created_at >= since, DeadLetterRow.created_at < until)):
        g = days[(office_time(at).date(), connector)]
        g[1] += 1
        g[2] += replayed is None
    return [[day, source, n, dead, waiting, a.strftime("%H:%M:%S") if a else "", b.strftime("%H:%M:%S") if b else "",
             len(lags), round(median(lags), 1) if lags else None, round(max(lags), 1) if lags else None]
            for (day, source), (n, dead, waiting, a, b, lags) in sorted(days.items())]


REPORT = Report(
    name="feed-health",
    title="数据接口运行情况 Partner feed health",
    purpose="Per source and office day (UTC+8) over the last N days: events applied, dead letters, dead letters not replayed, "
            "first and last applied time, and lag from sending (CloudEvent time, else Kafka timestamp) to applying: "
            "events timed, median and max seconds.",
    params=(Param("days", "int", "How many days, today included.", default=14, min=1, max=366),),
    columns=(Column("day", "日期"), Column("source", "来源"), Column("events", "已处理事件"),
             Column("dead_letters", "拒收消息"), Column("not_replayed", "待重放"), Column("first_at", "首条时间"),
             Column("last_at", "末条时间"), Column("timed_events", "有发送时间事件"),
             Column("lag_median_s", "延迟中位数(秒)"), Column("lag_max_s", "最大延迟(秒)")),
    query=query,
    district_scoped=False,  # the feeds are city-wide
)
