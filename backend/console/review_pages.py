"""The console's login and review pages: log in and out, the queue, one request, search."""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.responses import RedirectResponse, Response

from backend import review, staff
from backend.console import html as ui
from backend.console.html import bi, h
from backend.console.web import LOGIN_COOKIE, SESSION_COOKIE, Ctx, peer_of, set_cookie
from backend.staff_sessions import close_session, open_session, purge_sessions

MESSAGES = {
    "taken": ("已领取下一件申请。", "The next request is yours.", True),
    "released": ("已放回队列。", "Put back in the queue.", True),
    "empty": ("当前没有待审核的申请。", "No request is waiting.", True),
    "done": ("已办结。", "Completed.", True),
    "rejected": ("已退回，居民在进度查询页可看到原因。", "Rejected; the resident sees the reason.", True),
    "reason_required": ("退回须填写原因。", "A rejection needs a reason.", False),
    "not_yours": ("请先领取该申请。", "Take the request first.", False),
    "not_open": ("该申请已办结或不存在。", "The request is finished or unknown.", False),
    "acked": ("已确认，请尽快前往。", "Acknowledged: please go now.", True),
    "closed": ("已关闭。", "Closed.", True),
    "alert_gone": ("该求助已处理。", "That alert was handled already.", False),
    "account_changed": ("账号已更新。", "Account updated.", True),
    "token_revoked": ("令牌已吊销。", "Token revoked.", True),
    "self": ("不能停用自己的账号。", "You cannot disable your own account.", False),
}

LOGIN_REASONS = {
    "bad_credentials": ("用户名或密码错误。", "Wrong username or password."),
    "disabled": ("该账号已停用。", "This account is disabled."),
}

IDENTIFIED_BY = {
    "card": ("身份证读卡 + 现场人脸 1:1 比对（终端完成）", "ID card read + live face 1:1 match at the kiosk"),
    "number_photo": ("号码 + 现场照片，后台人口库比对", "Number + live photo matched by the backend"),
}
FIELD_NAMES = {
    "id_number": ("公民身份号码", "ID number"),
    "name": ("姓名", "Name"),
    "sex": ("性别", "Sex"),
    "nation": ("民族", "Ethnicity"),
    "birth_date": ("出生日期", "Date of birth"),
    "address": ("住址", "Address"),
    "card_type": ("证件类型", "Card type"),
    "phone": ("联系电话", "Phone"),
    "purpose": ("用途", "Purpose"),
    "copies": ("份数", "Copies"),
    "delivery": ("领取方式", "Delivery"),
    "mail_address": ("邮寄地址", "Mail address"),
    "kind": ("办理类型", "Kind"),
    "reason": ("原因", "Reason"),
    "plate": ("号牌号码", "Plate"),
    "payment_id": ("缴费单号", "Payment"),
    "verification_id": ("核验编号", "Verification"),
}
REASON_LABEL = "退回原因（居民可见，请勿写入个人信息）"
PAYMENT_TEXT = {"paid": ("已缴费", "Paid", "ok"), "pending": ("待缴费", "Pending", "warn")}


def flash(ctx: Ctx) -> str:
    key = ctx.query.get("msg", "")
    if key not in MESSAGES:
        return ""
    zh, en, ok = MESSAGES[key]
    return ui.message(zh, en, ok)


# -- login ----------------------------------------------------------------------------------------


def login_form(ctx: Ctx, problem: tuple[str, str] | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    note = ""
    if problem:
        note = ui.message(*problem, ok=False)
    elif ctx.query.get("expired"):
        note = ui.message("长时间未操作，已自动退出，请重新登录。", "Logged out after inactivity.", ok=False)
    elif ctx.query.get("bye"):
        note = ui.message("已退出登录。", "Logged out.")
    body = (
        f'<div class="login card">{note}<form method="post" action="{ui.url("login")}" id="login">'
        f'<input type="hidden" name="csrf" value="{h(token)}">'
        f'<label for="username">{bi("用户名", "Username")}</label>'
        '<input type="text" id="username" name="username" autocomplete="username" autofocus required>'
        f'<label for="password">{bi("密码", "Password")}</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password" required>'
        f"<p>{ui.button('登录', 'Log in', 'primary', element_id='login-submit')}</p></form>"
        '<p class="muted">连续输错密码会暂时锁定账号。 <span class="en">Repeated wrong passwords lock'
        " the account for a while.</span></p></div>"
    )
    answer = ctx.page("登录", "Log in", body, status=status)
    set_cookie(answer, ctx.request, LOGIN_COOKIE, token, max_age=3600)
    return answer


def login(ctx: Ctx) -> Response:
    presented, expected = ctx.form.get("csrf", ""), ctx.request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(presented.encode(), expected.encode()):
        return login_form(ctx, ("表单已失效，请重新登录。", "The form expired: log in again."), 403)
    username = ctx.form.get("username", "").strip().lower()[:32]
    result = staff.check_login(ctx.store, username, ctx.form.get("password", ""))
    peer = peer_of(ctx.request)
    if result.account is None:
        staff.audit(ctx.store, username or "-", "console", "login_failed", username, result.reason, peer)
        if result.reason == "locked":
            minutes = max(1, int(result.retry_after_s // 60 + 1))
            problem = (
                f"密码错误次数过多，账号已锁定，请 {minutes} 分钟后再试。",
                f"Too many wrong passwords: try again in {minutes} min.",
            )
            return login_form(ctx, problem, 429)
        return login_form(ctx, LOGIN_REASONS.get(result.reason, LOGIN_REASONS["bad_credentials"]), 401)
    purge_sessions(ctx.store, ctx.settings.idle_s)  # rows of browsers that never came back
    cookie, _session = open_session(ctx.store, result.account)
    staff.audit(ctx.store, username, "console", "login", username, "", peer)
    answer = RedirectResponse(f"{ui.PREFIX}/queue", status_code=303)
    set_cookie(answer, ctx.request, SESSION_COOKIE, cookie, max_age=None)
    answer.delete_cookie(LOGIN_COOKIE, path=ui.PREFIX)
    return answer


def logout(ctx: Ctx) -> Response:
    close_session(ctx.store, ctx.request.cookies.get(SESSION_COOKIE, ""))
    ctx.actor.audit(ctx.store, "logout")
    answer = RedirectResponse(f"{ui.PREFIX}/login?bye=1", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path=ui.PREFIX)
    return answer


def home(ctx: Ctx) -> Response:
    return RedirectResponse(f"{ui.PREFIX}/queue", status_code=303)


# -- queue ----------------------------------------------------------------------------------------


def _request_row(item: dict[str, Any]) -> list[str]:
    rid = item["request_id"]
    return [
        f'<a href="{ui.url("requests/" + rid)}">{h(rid[-12:])}</a>',
        ui.type_text(item.get("request_type", "")),
        h(item.get("kiosk_id", "")),
        ui.when(item.get("received_at", "")),
    ]


def queue(ctx: Ctx) -> Response:
    stats = ctx.store.stats()["by_status"]
    counts = "".join(
        f"<span><b>{int(stats.get(s, 0))}</b>{bi(*ui.STATUS_TEXT[s][:2])}</span>" for s in ui.STATUS_TEXT
    )
    take = ui.post_form("queue/take", ctx.session.csrf if ctx.session else "", ui.button(
        "领取下一件", "Take the next request", "primary", element_id="take-next"))  # fmt: skip
    mine = review.held_by(ctx.store, ctx.actor.account.username)
    waiting = ctx.store.list("received", 20)
    headers = [("编号", "Number"), ("业务", "Service"), ("终端", "Kiosk"), ("受理时间", "Received")]
    body = (
        f'{flash(ctx)}<div class="card stats">{counts}</div><p>{take}</p>'
        f"<h2>{bi('我正在办理', 'Held by me')}</h2>{ui.table(headers, map(_request_row, mine), 'mine')}"
        f"<h2>{bi('等待审核（最早的 20 件）', 'Waiting (oldest 20)')}</h2>"
        f"{ui.table(headers, map(_request_row, waiting), 'waiting')}"
    )
    return ctx.page("审核队列", "Review queue", body, here="queue")


def take(ctx: Ctx) -> Response:
    job = review.take_next(ctx.store, ctx.actor)
    if job is None:
        return ctx.back("queue", "empty")
    return ctx.back(f"requests/{job['request_id']}", "taken")


# -- one request ----------------------------------------------------------------------------------


def _grouped(digits: str) -> str:
    """``633504210057`` -> ``6335 0421 0057``, as residents read it on their receipt."""
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _dl(items: list[tuple[str, str]]) -> str:
    """A definition list of (label HTML, value HTML) pairs."""
    return '<dl class="fields">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _fields(values: dict[str, Any]) -> str:
    out = []
    for key, value in values.items():
        zh, en = FIELD_NAMES.get(key, (key, ""))
        if key == "identified_by":
            continue  # shown as the verification
        shown = value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False)
        out.append((bi(zh, en) if en else h(zh), ui.value_text(shown)))
    return _dl(out)


def _payment(ctx: Ctx, payment_id: str) -> str:
    if not payment_id:
        return bi("本申请无缴费", "No payment in this request")
    status = None
    lookup = getattr(ctx.lookups, "payment_status", None)
    if payment_id and lookup is not None:
        status = lookup(payment_id)
    if status is None:
        return (
            f"{h(payment_id or '-')} <span class='muted'>{bi('（本后台无记录）', '(no record here)')}</span>"
        )
    zh, en, kind = PAYMENT_TEXT.get(status["status"], (status["status"], status["status"], "bad"))
    return f"{ui.tag(bi(zh, en), kind)} ¥{int(status['amount_fen']) / 100:.2f} · {h(payment_id)}"


def request_page(ctx: Ctx) -> Response:
    rid = str(ctx.path["request_id"])
    found = review.detail(ctx.store, ctx.actor, rid)
    if found is None:
        return ctx.page(
            "未找到", "Not found", ui.message("没有这个申请。", "No such request.", False), status=404
        )
    env = found["envelope"]
    payload = env.get("payload", {})
    applicant, fields = payload.get("applicant", {}), payload.get("fields", {})
    photos = "".join(
        f'<img class="photo" alt="{h(item.get("name", "photo"))}" id="photo-{i}"'
        f' src="{ui.url(f"requests/{rid}/attachments/{i}")}">'
        for i, item in enumerate(env.get("attachments", []))
    )
    ident = IDENTIFIED_BY.get(applicant.get("identified_by", ""), (applicant.get("identified_by", "-"), ""))
    verification = bi(*ident) if ident[1] else h(ident[0])
    if fields.get("verification_id"):
        verification += f" · {h(fields['verification_id'])}"
    summary = _dl(
        [
            (bi("受理号", "Acceptance number"), h(_grouped(str(env.get("acceptance_number", ""))) or "-")),
            (bi("申请编号", "Request id"), h(rid)),
            (bi("业务", "Service"), ui.type_text(env.get("request_type", ""))),
            (bi("终端", "Kiosk"), h(f"{env.get('kiosk_id', '')} #{env.get('sequence', '')}")),
            (bi("受理时间", "Received"), ui.when(found["received_at"])),
            (bi("办理人", "Held by"), h(found["worker"] or "-")),
        ]
    )
    status_line = ui.status_tag(found["status"]) + (
        f" {bi('原因', 'Reason')}: {h(found['reason'])}" if found["reason"] else ""
    )
    actions = ""
    account = ctx.actor.account
    mine = found["status"] == "in_progress" and found["worker"] == account.username
    if found["status"] in ("received", "in_progress") and (mine or account.role in ("supervisor", "admin")):
        csrf = ctx.session.csrf if ctx.session else ""
        complete = ui.post_form(
            f"requests/{rid}/complete", csrf, ui.button("办结", "Complete", "primary", element_id="complete"),
            confirm="确认办结？ Complete this request?", form_id="complete-form",
        )  # fmt: skip
        reject = ui.post_form(
            f"requests/{rid}/reject",
            csrf,
            f'<label for="reason">{bi(REASON_LABEL, "Reason, shown to the resident")}'
            '</label><textarea id="reason" name="reason" rows="2" maxlength="300" required></textarea>'
            f"<p>{ui.button('退回', 'Reject', 'danger', element_id='reject')}</p>",
            css="",
            form_id="reject-form",
        )
        release = ""
        if found["status"] == "in_progress":
            release = " " + ui.post_form(
                f"requests/{rid}/release", csrf, ui.button("放回队列", "Put back", element_id="release")
            )
        actions = f'<div class="card"><p>{complete}{release}</p>{reject}</div>'
    elif found["status"] in ("received", "in_progress"):
        actions = ui.message("请先在审核队列领取该申请。", "Take it from the queue first.", ok=False)
    body = (
        f"{flash(ctx)}<p id='status'>{status_line}</p>{actions}"
        f'<div class="card">{photos}<h2>{bi("申请信息", "Request")}</h2>{summary}'
        f"<h2>{bi('申请人', 'Applicant')}</h2>{_fields(applicant)}"
        f"<h2>{bi('核验结果', 'Verification')}</h2><p id='verification'>{verification}</p>"
        f"<h2>{bi('缴费', 'Payment')}</h2>"
        f"<p id='payment'>{_payment(ctx, str(fields.get('payment_id', '')))}</p>"
        f"<h2>{bi('填写内容', 'Fields')}</h2>{_fields(fields)}</div>"
    )
    return ctx.page("申请详情", "Request", body, here="queue")


def attachment(ctx: Ctx) -> Response:
    found = review.attachment(ctx.store, ctx.actor, str(ctx.path["request_id"]), int(ctx.path["index"]))
    if found is None:
        return Response(b"", status_code=404)
    media_type, data = found
    return Response(data, media_type=media_type)


def release(ctx: Ctx) -> Response:
    rid = str(ctx.path["request_id"])
    try:
        review.release(ctx.store, ctx.actor, rid)
    except review.ReviewError as exc:
        return ctx.back(f"requests/{rid}", exc.code)
    return ctx.back("queue", "released")


def finish(status: str) -> Any:
    def handler(ctx: Ctx) -> Response:
        rid = str(ctx.path["request_id"])
        try:
            review.finish(ctx.store, ctx.actor, rid, status, ctx.form.get("reason", ""))
        except review.ReviewError as exc:
            return ctx.back(f"requests/{rid}", exc.code)
        return ctx.back("queue", status)

    return handler


# -- search ---------------------------------------------------------------------------------------


def search(ctx: Ctx) -> Response:
    query = ctx.query.get("q", "").strip()[:64]
    form = (
        f'<form method="get" action="{ui.url("search")}" class="card" id="search-form">'
        f'<label for="q">{bi("受理号、申请编号或其末 12 位", "Acceptance number, request id or its last 12")}'
        f'</label><br><input type="search" id="q" name="q" value="{h(query)}" size="40"> '
        f"{ui.button('查询', 'Search', 'primary', element_id='search')}</form>"
    )
    results = ""
    if query:
        found = review.search(ctx.store, ctx.actor, query)
        rows = [
            [
                f'<a href="{ui.url("requests/" + item["request_id"])}">{h(item["request_id"])}</a>',
                ui.type_text(item.get("request_type", "")),
                ui.status_tag(item.get("status", "")),
                ui.when(item.get("received_at", "")),
            ]
            for item in found
        ]
        heads = [
            ("申请编号", "Request id"),
            ("业务", "Service"),
            ("状态", "Status"),
            ("受理时间", "Received"),
        ]
        results = ui.table(heads, rows, "results")
    return ctx.page("查询", "Search", form + results, here="search")
