"""The console's operations pages: residents' help alerts, the kiosk fleet with its step funnel,
the audit log, and (admins) accounts and tokens."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from starlette.responses import Response

from backend import alerts, staff
from backend.console import html as ui
from backend.console.html import bi, h
from backend.console.review_pages import flash
from backend.console.web import Ctx

ALERT_KINDS = {
    "help": ("居民求助", "Resident needs help"),
    "maintenance_lockout": ("维护锁定", "Maintenance lockout"),
}
ALERT_STATUS = {
    "open": ("待处理", "Open", "bad"),
    "acknowledged": ("已确认", "Acknowledged", "warn"),
    "closed": ("已关闭", "Closed", "ok"),
}
ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出登录", "take": "领取", "release": "放回队列",
    "view": "查看申请", "view_attachment": "查看照片", "complete": "办结", "reject": "退回",
    "search": "查询", "alert_ack": "确认求助", "alert_close": "关闭求助", "csrf_refused": "表单被拒",
    "account_add": "新建账号", "account_passwd": "修改密码", "account_disable": "停用账号",
    "account_enable": "启用账号", "token_add": "发放令牌", "token_revoke": "吊销令牌",
}  # fmt: skip
DEVICE_STATE = {"ok": ("正常", "ok"), "degraded": ("告警", "warn"), "down": ("故障", "bad")}
ROLES = {"camera": "摄像头", "card_reader": "读卡器", "printer": "打印机", "a4_printer": "A4 打印机"}


# -- alerts ---------------------------------------------------------------------------------------


def alerts_page(ctx: Ctx) -> Response:
    show_all = bool(ctx.query.get("all"))
    items = alerts.list_alerts(ctx.store, include_closed=show_all)
    now = time.time()
    csrf = ctx.session.csrf if ctx.session else ""
    rows = []
    for item in reversed(items) if show_all else items:
        zh, en, kind = ALERT_STATUS.get(item["status"], (item["status"], "", "info"))
        aid = item["alert_id"]
        actions = ""
        if item["status"] == "open":
            actions += ui.post_form(
                f"alerts/{aid}/ack", csrf, ui.button("确认前往", "Acknowledge", "primary")
            )
        if item["status"] != "closed":
            actions += " " + ui.post_form(f"alerts/{aid}/close", csrf, ui.button("已处理，关闭", "Close"))
        where = (
            " / ".join(
                part
                for part in (ui.service_text(item["service"]), h(ui.step_text(item["step"])))
                if item["service"] and part
            )
            or "-"
        )
        rows.append(
            [
                h(item["kiosk_id"]),
                bi(*ALERT_KINDS.get(item["kind"], (item["kind"], ""))),
                f"{h(item['screen'])}<br><span class='muted'>{where}</span>",
                f"{ui.when(item['received_ts'])}<br>"
                f"<span class='muted'>{ui.ago(now - item['received_ts'])}</span>",
                ui.tag(bi(zh, en), kind),
                f'<span id="alert-{h(aid)}">{actions}</span>',
            ]
        )
    heads = [
        ("终端", "Kiosk"),
        ("类型", "Kind"),
        ("页面", "Screen"),
        ("时间", "Raised"),
        ("状态", "Status"),
        ("处理", "Action"),
    ]
    toggle = (
        f'<a href="{ui.url("alerts")}">{bi("只看未关闭", "Open only")}</a>'
        if show_all
        else f'<a href="{ui.url("alerts?all=1")}">{bi("含已关闭", "Include closed")}</a>'
    )
    body = f"{flash(ctx)}<p>{toggle}</p>{ui.table(heads, rows, 'alerts')}"
    return ctx.page("居民求助", "Help alerts", body, here="alerts")


def alert_action(action: str) -> Any:
    def handler(ctx: Ctx) -> Response:
        aid = str(ctx.path["alert_id"])
        change = alerts.acknowledge_alert if action == "ack" else alerts.close_alert
        if not change(ctx.store, aid):
            return ctx.back("alerts", "alert_gone")
        ctx.actor.audit(ctx.store, f"alert_{action}", aid)
        return ctx.back("alerts", "acked" if action == "ack" else "closed")

    return handler


# -- fleet ----------------------------------------------------------------------------------------


def funnel(kiosks: list[dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """Per service, its steps (most started first) with summed outcome counts across ``kiosks``."""
    sums: dict[str, dict[str, dict[str, int]]] = {}
    for kiosk in kiosks:
        for item in kiosk["steps"]:
            step = sums.setdefault(item["service"], {}).setdefault(item["step"], {})
            step[item["outcome"]] = step.get(item["outcome"], 0) + int(item["count"])
    return {
        service: sorted(steps.items(), key=lambda kv: (-kv[1].get("started", 0), kv[0]))
        for service, steps in sorted(sums.items())
    }


def funnel_chart(service: str, steps: list[tuple[str, dict[str, int]]]) -> str:
    """An inline SVG bar per step: residents who started it, split into went on (blue), gave up or
    timed out (red) and failed (orange)."""
    label_w, bar_w, row_h = 170, 430, 28
    peak = max([counts.get("started", 0) for _, counts in steps] + [1])
    height = row_h * len(steps) + 30
    parts = [
        f'<svg class="chart" width="{label_w + bar_w + 190}" height="{height}" role="img"'
        f' aria-label="{h(service)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (step, counts) in enumerate(steps):
        y = 8 + i * row_h
        started = counts.get("started", 0)
        gave_up = counts.get("abandoned", 0) + counts.get("timed_out", 0)
        failed = counts.get("failed", 0)
        went_on = max(0, started - gave_up - failed)
        x = float(label_w)
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{h(ui.step_text(step))}</text>')
        for value, colour in ((went_on, "#2f6db5"), (gave_up, "#b3261e"), (failed, "#c77700")):
            w = bar_w * value / peak
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{colour}"/>')
            x += w
        share = f"{100 * gave_up / started:.0f}%" if started else "-"
        parts.append(
            f'<text x="{x + 8:.1f}" y="{y + 16}">{started} 人 · 放弃 {gave_up} ({share})'
            f"{f' · 失败 {failed}' if failed else ''}</text>"
        )
    legend_y = height - 8
    parts.append(
        f'<rect x="{label_w}" y="{legend_y - 11}" width="12" height="12" fill="#2f6db5"/>'
        f'<text x="{label_w + 16}" y="{legend_y}">继续 went on</text>'
        f'<rect x="{label_w + 130}" y="{legend_y - 11}" width="12" height="12" fill="#b3261e"/>'
        f'<text x="{label_w + 146}" y="{legend_y}">放弃或超时 gave up</text>'
        f'<rect x="{label_w + 300}" y="{legend_y - 11}" width="12" height="12" fill="#c77700"/>'
        f'<text x="{label_w + 316}" y="{legend_y}">失败 failed</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def fleet_page(ctx: Ctx) -> Response:
    kiosks = ctx.store.kiosks()
    now = time.time()
    silent_after = ctx.settings.silent_after_s
    rows = []
    silent = 0
    for kiosk in kiosks:
        health = kiosk["health"] if isinstance(kiosk["health"], dict) else {}
        quiet = now - kiosk["last_seen_ts"]
        silent += quiet > silent_after
        state = (
            ui.tag(bi("失联", "Silent"), "bad")
            if quiet > silent_after
            else ui.tag(bi("在线", "Online"), "ok")
        )
        devices = []
        for role, device in sorted((health.get("devices") or {}).items()):
            word, kind = DEVICE_STATE.get(
                str(device.get("state", "")), (str(device.get("state", "?")), "info")
            )
            code = f" <span class='muted'>{h(device.get('code', ''))}</span>" if device.get("code") else ""
            devices.append(f"{h(ROLES.get(role, role))} {ui.tag(h(word), kind)}{code}")
        queue = health.get("queue") or {}
        oldest = queue.get("oldest_pending_age_s")
        queue_text = f"{h(queue.get('pending', '-'))} 件"
        if oldest:
            waited = ui.ago(float(oldest)).replace("前", "")
            queue_text += f"<br><span class='muted'>最早一件已等 {waited}</span>"
        if queue.get("dead"):
            dead = h(f"死信 {queue['dead']}")
            queue_text += f"<br>{ui.tag(dead, 'bad')}"
        rows.append(
            [
                h(kiosk["kiosk_id"]),
                state,
                f"{ui.when(kiosk['last_seen_ts'])}<br><span class='muted'>{ui.ago(quiet)}</span>",
                "<br>".join(devices) or "-",
                queue_text,
                h(health.get("version", "-")),
            ]
        )
    heads = [
        ("终端", "Kiosk"),
        ("状态", "State"),
        ("最后心跳", "Last heartbeat"),
        ("设备", "Devices"),
        ("待发送", "Outbox queue"),
        ("版本", "Version"),
    ]
    summary = (
        f'<div class="card stats"><span><b>{len(kiosks)}</b>{bi("终端", "Kiosks")}</span>'
        f"<span><b>{silent}</b>{bi(f'失联（{silent_after / 60:.0f} 分钟无心跳）', 'Silent')}</span></div>"
    )
    charts = (
        "".join(
            f'<div class="card"><h2>{ui.service_text(service)}</h2>{funnel_chart(service, steps)}</div>'
            for service, steps in funnel(kiosks).items()
        )
        or f"<p class='muted'>{bi('尚无统计', 'No step statistics yet')}</p>"
    )
    body = (
        f"{summary}{ui.table(heads, rows, 'kiosks')}"
        f"<h2>{bi('各步骤办理情况（居民在哪一步放弃）', 'Where residents give up, per step')}</h2>{charts}"
    )
    return ctx.page("终端状态", "Kiosk fleet", body, here="fleet")


# -- audit ----------------------------------------------------------------------------------------


def _day_ts(text: str, end: bool = False) -> float:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return 0.0
    return day.timestamp() + (86400 if end else 0)


def audit_page(ctx: Ctx) -> Response:
    q = {k: ctx.query.get(k, "").strip()[:64] for k in ("actor", "action", "target", "since", "until")}
    rows = staff.audit_log(
        ctx.store,
        actor=q["actor"],
        action=q["action"],
        target=q["target"],
        since_ts=_day_ts(q["since"]),
        until_ts=_day_ts(q["until"], end=True),
    )

    def field(name: str, zh: str, en: str, kind: str = "text") -> str:
        return (
            f'<label for="f-{name}">{bi(zh, en)}</label> '
            f'<input type="{kind}" id="f-{name}" name="{name}" value="{h(q[name])}" size="14"> '
        )

    form = (
        f'<form method="get" action="{ui.url("audit")}" class="card" id="audit-filter">'
        + field("actor", "人员", "Who")
        + field("action", "操作", "Action")
        + field("target", "对象", "Target")
        + field("since", "从", "From", "date")
        + field("until", "至", "To", "date")
        + ui.button("筛选", "Filter", "primary")
        + "</form>"
    )
    table = ui.table(
        [
            ("时间", "When"),
            ("人员", "Who"),
            ("途径", "Via"),
            ("操作", "Action"),
            ("对象", "Target"),
            ("说明", "Detail"),
            ("来源", "From"),
        ],
        (
            [
                ui.when(r["ts"]),
                h(r["actor"]),
                h(r["via"]),
                f"{h(ACTIONS.get(r['action'], ''))} <small>{h(r['action'])}</small>",
                h(r["target"]),
                h(r["detail"]),
                h(r["peer"]),
            ]
            for r in rows
        ),
        "audit",
    )
    return ctx.page("审计日志", "Audit log", form + table, here="audit")


# -- accounts (admin) -----------------------------------------------------------------------------


def accounts_page(ctx: Ctx) -> Response:
    csrf = ctx.session.csrf if ctx.session else ""
    rows = []
    for item in staff.list_accounts(ctx.store):
        user = item["username"]
        if user == ctx.actor.account.username:
            state, action = (
                ui.tag(bi("正常", "Active"), "ok"),
                f"<span class='muted'>{bi('本人', 'You')}</span>",
            )
        elif item["disabled"]:
            state, action = ui.tag(bi("已停用", "Disabled"), "bad"), ui.post_form(
                f"accounts/{user}/enable", csrf, ui.button("启用", "Enable"))  # fmt: skip
        else:
            state = ui.tag(bi("正常", "Active"), "ok")
            action = ui.post_form(
                f"accounts/{user}/disable", csrf, ui.button("停用", "Disable", "danger"),
                confirm=f"停用 {user}？其会话和令牌立即失效。",
            )  # fmt: skip
        locked = ""
        if item["locked_until_ts"] > time.time():
            locked = "<br>" + ui.tag(bi("暂时锁定", "Locked"), "warn")
        rows.append([h(user), h(ui.ROLE_TEXT.get(item["role"], item["role"])), state + locked,
                     h(item["tokens"]), action])  # fmt: skip
    tokens = [
        [
            h(t["token_id"]),
            h(t["username"]),
            h(t["label"] or "-"),
            ui.when(t["created_ts"]),
            ui.when(t["last_used_ts"]) if t["last_used_ts"] else "-",
            ui.tag(bi("已吊销", "Revoked"), "bad")
            if t["revoked"]
            else ui.post_form(f"tokens/{t['token_id']}/revoke", csrf, ui.button("吊销", "Revoke", "danger")),
        ]
        for t in staff.list_tokens(ctx.store)
    ]
    body = (
        f"{flash(ctx)}<p class='muted'>新建账号、改密码、发放令牌：在后台主机上运行 "
        "<code>kiosk-backend staff add|passwd|token</code>。</p>"
        + ui.table(
            [("用户名", "User"), ("角色", "Role"), ("状态", "State"), ("令牌", "Tokens"), ("操作", "Action")],
            rows,
            "accounts",
        )
        + f"<h2>{bi('接口令牌', 'API tokens')}</h2>"
        + ui.table(
            [
                ("令牌", "Token"),
                ("用户", "User"),
                ("用途", "Label"),
                ("发放", "Issued"),
                ("最后使用", "Last used"),
                ("操作", "Action"),
            ],
            tokens,
            "tokens",
        )
    )
    return ctx.page("账号管理", "Accounts", body, here="accounts")


def account_action(disable: bool) -> Any:
    def handler(ctx: Ctx) -> Response:
        user = str(ctx.path["username"])
        if disable and user == ctx.actor.account.username:
            return ctx.back("accounts", "self")
        try:
            staff.set_disabled(ctx.store, user, disable)
        except staff.StaffError:
            return ctx.back("accounts")
        ctx.actor.audit(ctx.store, "account_disable" if disable else "account_enable", user)
        return ctx.back("accounts", "account_changed")

    return handler


def revoke_token(ctx: Ctx) -> Response:
    token_id = str(ctx.path["token_id"])
    if staff.revoke_token(ctx.store, token_id):
        ctx.actor.audit(ctx.store, "token_revoke", token_id)
    return ctx.back("accounts", "token_revoked")
