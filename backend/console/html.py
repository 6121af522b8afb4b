"""HTML building blocks of the staff console: escaping, the page frame, forms with their CSRF field.

Plain string templates, no template engine: every value that reaches the page goes through
:func:`h` (``html.escape`` with quotes), and the few fragments that are already HTML are built by
these functions only. Chinese first, English smaller beside it (:func:`bi`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence

PREFIX = "/console"

NAV = (
    ("queue", "审核队列", "Review", "review"),
    ("search", "查询", "Search", "review"),
    ("alerts", "求助", "Alerts", "alerts"),
    ("fleet", "终端", "Kiosks", "fleet"),
    ("audit", "审计日志", "Audit log", "audit"),
    ("accounts", "账号", "Accounts", "accounts"),
)

REQUEST_TYPES = {
    "household.temp_id_certificate": ("临时身份证明", "Temporary identity certificate"),
    "household.household_certificate": ("户籍证明", "Household registration certificate"),
    "household.id_card_renewal": ("身份证换领/补领", "ID card renewal or replacement"),
    "photo.id_photo": ("证件照", "ID photo"),
    "vehicle.traffic_fine": ("交通违法缴款", "Traffic fine"),
    "vehicle.plate_reissue": ("补领机动车号牌", "Licence plate re-issue"),
    "vehicle.vehicle_licence_reissue": ("补领行驶证", "Vehicle licence re-issue"),
    "vehicle.driving_licence_renewal": ("驾驶证换证", "Driving licence renewal"),
    "vehicle.driving_licence_replacement": ("驾驶证补证", "Driving licence replacement"),
    "vehicle.inspection_sticker": ("免检车辆检验标志", "Inspection sticker"),
    "system.test": ("测试", "Test"),
}
SERVICES = {
    "temp-id-certificate": "临时身份证明",
    "household-certificate": "户籍证明",
    "id-card-renewal": "身份证换领/补领",
    "id-photo": "证件照",
    "traffic-fine": "交通违法缴款",
    "plate-reissue": "补领机动车号牌",
    "vehicle-licence-reissue": "补领行驶证",
    "driving-licence-renewal": "驾驶证换证",
    "driving-licence-replacement": "驾驶证补证",
    "inspection-sticker": "免检车辆检验标志",
    "request-status": "办理进度查询",
}
STEPS = {
    "consent": "须知", "identity": "身份核验", "photo": "拍照", "details": "填写", "verify": "核验",
    "review": "核对", "submit": "提交", "print": "打印", "done": "完成", "card": "读卡",
    "kind": "办理类型", "delivery": "领取方式", "address": "地址", "payment": "缴费", "spec": "规格",
    "how": "方式", "plate": "号牌", "violations": "违法记录", "vehicle": "车辆", "health": "身体条件",
    "lookup": "查询",
}  # fmt: skip
# what the payload's enum values mean, for the review page
VALUES = {
    "travel": "出行", "hotel": "住宿", "bank": "银行业务", "exam": "考试", "other": "其他",
    "school": "入学", "employment": "就业", "social_security": "社保", "property": "房产",
    "renewal": "换领", "replacement": "补领", "expired": "有效期满", "damaged": "损坏",
    "lost": "遗失", "info_changed": "信息变更", "pickup": "窗口自取", "mail": "邮寄",
    "male": "男", "female": "女", "resident": "居民身份证",
}  # fmt: skip
STATUS_TEXT = {
    "received": ("待审核", "Waiting", "info"),
    "in_progress": ("办理中", "In progress", "warn"),
    "done": ("已办结", "Done", "ok"),
    "rejected": ("未通过", "Rejected", "bad"),
}
ROLE_TEXT = {"reviewer": "审核员", "supervisor": "值班主管", "admin": "管理员"}


def h(value: object) -> str:
    return html.escape(str(value), quote=True)


def bi(zh: str, en: str) -> str:
    """Chinese, then the English in a smaller, dark grey span."""
    return f"{h(zh)} <small>{h(en)}</small>"


def tag(text: str, kind: str) -> str:
    return f'<span class="tag {h(kind)}">{text}</span>'


def status_tag(status: str) -> str:
    zh, en, kind = STATUS_TEXT.get(status, (status, status, "info"))
    return tag(bi(zh, en), kind)


def service_text(service: str) -> str:
    zh = SERVICES.get(service)
    return f"{h(zh)} <small>{h(service)}</small>" if zh else h(service)


def step_text(step: str) -> str:
    zh = STEPS.get(step)
    return f"{zh} {step}" if zh else step  # plain text (an SVG label)


def value_text(value: object) -> str:
    zh = VALUES.get(value) if isinstance(value, str) else None
    return f"{h(zh)} <small>{h(value)}</small>" if zh else h(value)


def type_text(request_type: str) -> str:
    zh, en = REQUEST_TYPES.get(request_type, (request_type, ""))
    return bi(zh, en) if en else h(zh)


def when(ts: float | str) -> str:
    """A stored time as local ``YYYY-MM-DD HH:MM:SS`` (ISO strings are shown as they are, minus
    the fraction)."""
    if isinstance(ts, str):
        return h(ts.replace("T", " ")[:19])
    return h(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))) if ts else "-"


def ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} 秒前"
    if seconds < 5400:
        return f"{seconds / 60:.0f} 分钟前"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} 小时前"
    return f"{seconds / 86400:.0f} 天前"


def url(path: str) -> str:
    return h(f"{PREFIX}/{path.lstrip('/')}")


def post_form(
    action: str, csrf: str, body: str, *, confirm: str = "", css: str = "inline", form_id: str = ""
) -> str:
    """A POST form to ``action`` (under the console) carrying the session's CSRF token."""
    extra = f' data-confirm="{h(confirm)}"' if confirm else ""
    extra += f' id="{h(form_id)}"' if form_id else ""
    return (
        f'<form method="post" action="{url(action)}" class="{h(css)}"{extra}>'
        f'<input type="hidden" name="csrf" value="{h(csrf)}">{body}</form>'
    )


def button(zh: str, en: str, kind: str = "", name: str = "", value: str = "", element_id: str = "") -> str:
    attrs = f' class="{h(kind)}"' if kind else ""
    attrs += f' name="{h(name)}" value="{h(value)}"' if name else ""
    attrs += f' id="{h(element_id)}"' if element_id else ""
    return f'<button type="submit"{attrs}>{bi(zh, en)}</button>'


def table(headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]], table_id: str = "") -> str:
    """A table whose cells are already HTML (built with :func:`h`)."""
    head = "".join(f"<th>{bi(zh, en)}</th>" for zh, en in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{bi("暂无", "None")}</td></tr>'
    ident = f' id="{h(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def message(text_zh: str, text_en: str, ok: bool = True) -> str:
    return f'<div class="msg {"ok" if ok else "bad"}" id="msg">{bi(text_zh, text_en)}</div>'


def frame(
    title_zh: str,
    title_en: str,
    body: str,
    *,
    here: str = "",
    user: str = "",
    role: str = "",
    permissions: frozenset[str] = frozenset(),
    csrf: str = "",
    idle_s: float = 0,
) -> str:
    """The whole page: header (who is logged in, logout), the pages this person may open, body."""
    who = ""
    nav = ""
    if user:
        logout = post_form("logout", csrf, button("退出登录", "Log out", element_id="logout"))
        idle = (
            f' <span class="en">自动退出 Auto logout: <span id="idle-left" data-seconds="{int(idle_s)}"'
            f' data-login="{url("login?expired=1")}">{int(idle_s // 60)} 分钟</span></span>'
            if idle_s
            else ""
        )
        who = f'<div class="who">{h(user)} · {h(ROLE_TEXT.get(role, role))}{idle}{logout}</div>'
        links = "".join(
            f'<a href="{url(page)}"{" class=here" if page == here else ""}>{bi(zh, en)}</a>'
            for page, zh, en, perm in NAV
            if perm in permissions
        )
        nav = f"<nav>{links}</nav>"
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta http-equiv="X-UA-Compatible" content="IE=edge">'
        f"<title>{h(title_zh)} · 民警工作台</title>"
        f'<link rel="stylesheet" href="{url("static/console.css")}"></head><body>'
        '<header><div class="brand">公安自助服务终端 · 民警工作台<small>Staff console</small></div>'
        f"{who}</header>"
        f"{nav}<main><h1>{bi(title_zh, title_en)}</h1>{body}</main>"
        f'<script src="{url("static/console.js")}"></script></body></html>'
    )
