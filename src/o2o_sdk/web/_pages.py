"""Server-rendered pages: standard-library string building, every value escaped.

No template engine and no inline script (the CSP allows scripts from the app's own
``/static/`` only); the only inline style is the shop's theme, under a per-response nonce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

import attrs

from ..errors import Refusal
from ..models import AppliedDiscount, Offer, Pickup, Store, Voucher, VoucherStatus

__all__ = ["Page", "esc"]


def esc(value: object) -> str:
    """HTML-escape any value (quotes included)."""
    return escape(str(value), quote=True)


@attrs.frozen
class Page:
    """What every page needs: the mount prefix, the CSP nonce, the shop's name and theme."""

    root: str
    nonce: str
    shop_name: str
    theme: Mapping[str, str] = attrs.field(factory=dict)
    stylesheet: str | None = None

    def url(self, path: str) -> str:
        return f"{self.root}{path}"

    def layout(self, title: str, body: str, *, scripts: Sequence[str] = (), head: str = "", body_class: str = "") -> str:
        theme = ""
        if self.theme:
            rules = "".join(f"--o2o-{esc(k)}:{esc(v)};" for k, v in self.theme.items())
            theme = f'<style nonce="{esc(self.nonce)}">:root{{{rules}}}</style>'
        extra_css = f'<link rel="stylesheet" href="{esc(self.stylesheet)}">' if self.stylesheet else ""
        js = "".join(f'<script src="{esc(self.url(s if s.startswith("/") else "/static/" + s))}" defer></script>' for s in scripts)
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{esc(title)} · {esc(self.shop_name)}</title>"
            f'<link rel="stylesheet" href="{esc(self.url("/static/o2o.css"))}">{theme}{extra_css}{head}{js}</head>'
            f'<body class="o2o {esc(body_class)}"><a class="o2o-skip" href="#main">Skip to content</a>'
            f'<header class="o2o-header"><p class="o2o-shop">{esc(self.shop_name)}</p></header>'
            f'<main id="main" class="o2o-main">{body}</main></body></html>'
        )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def local_time(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return f"{local:%a %d %b %Y, %H:%M}"


def _city(tz: str) -> str:
    return tz.rsplit("/", 1)[-1].replace("_", " ")


def discount_text(discount: AppliedDiscount) -> str:
    amount = f" ({discount.amount})" if discount.amount is not None else ""
    return f"{discount.description or discount.kind.value}{amount}"


def refusal_list(refusals: Iterable[Refusal]) -> str:
    items = "".join(
        f'<li><strong class="o2o-code">{esc(r.code.value)}</strong>: {esc(r.message)}</li>' for r in refusals
    )
    return f'<ul class="o2o-refusals">{items}</ul>'


# --------------------------------------------------------------------------- customer pages


def voucher_page(page: Page, voucher: Voucher, offer: Offer, stores: Sequence[Store], qr_svg: str,
                 url: str, *, expired: bool) -> str:  # fmt: skip
    terms: list[str] = [esc(offer.discount.describe().capitalize())]
    if offer.min_basket is not None:
        terms.append(f"Minimum basket {esc(offer.min_basket)}.")
    if offer.caps.per_customer is not None:
        terms.append(f"Up to {offer.caps.per_customer} per customer.")
    if offer.requires_checkin:
        terms.append("Check in at the store first (scan the code shown at the till).")
    if voucher.customer_id:
        terms.append("Personal: only for the customer it was issued to.")
    terms.append("One use. Show the code at the till.")
    zones = sorted({s.timezone for s in stores}) or ["UTC"]
    expiry = "".join(
        f"<li><time datetime=\"{esc(voucher.expires_at.isoformat())}\">{esc(local_time(voucher.expires_at, z))}</time>"
        f" ({esc(_city(z))} time)</li>"
        for z in zones[:3]
    )
    where = "every store" if offer.stores is None else f"{len(offer.stores)} store{'s' if len(offer.stores) != 1 else ''}"
    if voucher.status is VoucherStatus.REDEEMED:
        state = '<p class="o2o-badge o2o-bad" role="status">This voucher has been used.</p>'
    elif voucher.status is VoucherStatus.REVOKED:
        state = '<p class="o2o-badge o2o-bad" role="status">This voucher was withdrawn by the shop.</p>'
    elif expired:
        state = '<p class="o2o-badge o2o-bad" role="status">This voucher has expired.</p>'
    else:
        state = '<p class="o2o-badge o2o-good" role="status">Ready to use</p>'
    usable = voucher.status is VoucherStatus.ACTIVE and not expired
    qr = (
        f'<figure class="o2o-qr" id="voucher-qr">{qr_svg}<figcaption>Show this at the till'
        f' · code <code class="o2o-token">{esc(voucher.id)}</code></figcaption></figure>'
        if usable else ""
    )  # fmt: skip
    listed = "".join(
        f'<li><strong>{esc(s.name)}</strong><br><span class="o2o-muted">{esc(s.address)}</span></li>' for s in stores[:5]
    )
    offer_attr = f' data-offer="{esc(offer.id)}"'
    body = (
        f'<article class="o2o-card o2o-voucher" aria-labelledby="offer-title">'
        f'<h1 id="offer-title">{esc(offer.title)}</h1>{state}{qr}'
        f'<h2>Terms</h2><ul class="o2o-terms">{"".join(f"<li>{t}</li>" for t in terms)}</ul>'
        f'<h2>Valid until</h2><ul class="o2o-expiry">{expiry}</ul>'
        f'<p class="o2o-muted">Accepted at {where}.</p></article>'
        f'<section class="o2o-card" aria-labelledby="where-title"><h2 id="where-title">Where to use it</h2>'
        f'<div data-o2o-stores data-k="3" data-open="any"{offer_attr}><ul class="o2o-plain">{listed}</ul></div></section>'
        f'<p class="o2o-muted"><a href="{esc(url)}" rel="noreferrer">Link to this voucher</a></p>'
    )
    return page.layout(offer.title, body, scripts=["/widget.js"])


def locator_page(page: Page, *, sku: str | None, service: str | None) -> str:
    attrs_ = "".join(f' data-{k}="{esc(v)}"' for k, v in (("sku", sku), ("service", service)) if v)
    body = (
        '<section class="o2o-card" aria-labelledby="loc-title"><h1 id="loc-title">Find a store</h1>'
        f'<div data-o2o-stores data-k="5" data-open="now"{attrs_}></div></section>'
    )
    return page.layout("Find a store", body, scripts=["/widget.js"])


def message_page(page: Page, title: str, message: str, *, good: bool | None = None, extra: str = "") -> str:
    badge = "" if good is None else f' class="o2o-badge {"o2o-good" if good else "o2o-bad"}" role="status"'
    body = f'<section class="o2o-card"><h1>{esc(title)}</h1><p{badge}>{esc(message)}</p>{extra}</section>'
    return page.layout(title, body)


def checkin_page(page: Page, store: Store, action: str, csrf: str, *, signed_in: bool, login_url: str | None) -> str:
    if signed_in:
        form = (
            f'<form method="post" action="{esc(action)}">{csrf_field(csrf)}'
            '<button class="o2o-button" type="submit">Check in here</button></form>'
        )
    elif login_url:
        form = f'<p>Sign in first, so that we know it is you.</p><p><a class="o2o-button" href="{esc(login_url)}">Sign in</a></p>'
    else:
        form = "<p>Sign in on our website first, then scan the code again.</p>"
    body = (
        f'<section class="o2o-card" aria-labelledby="ci-title"><h1 id="ci-title">Check in at {esc(store.name)}</h1>'
        f'<p class="o2o-muted">{esc(store.address)}</p>{form}</section>'
    )
    return page.layout(f"Check in at {store.name}", body)


def display_page(page: Page, store: Store, qr_svg: str, valid_until: datetime, refresh_s: int) -> str:
    head = f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
    body = (
        f'<section class="o2o-display" aria-labelledby="d-title"><h1 id="d-title">Check in at {esc(store.name)}</h1>'
        f'<figure class="o2o-qr o2o-qr-large" id="checkin-qr">{qr_svg}</figure>'
        '<p class="o2o-lead">Scan with your phone camera to check in.</p>'
        f'<p class="o2o-muted">This code changes every few seconds; the screen renews itself'
        f' (next at {esc(local_time(valid_until, store.timezone))}).</p></section>'
    )
    return page.layout(f"Check in at {store.name}", body, head=head, body_class="o2o-display-page")


def unsubscribe_page(page: Page, action: str, *, done: bool, message: str = "") -> str:
    if done:
        return message_page(page, "Unsubscribed", message or "You will not get these messages any more.", good=True)
    body = (
        '<section class="o2o-card"><h1>Unsubscribe</h1><p>Stop receiving these messages from us?</p>'
        f'<form method="post" action="{esc(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button class="o2o-button" type="submit">Unsubscribe</button></form></section>'
    )
    return page.layout("Unsubscribe", body)


# --------------------------------------------------------------------------- staff pages


def login_page(page: Page, csrf: str, *, error: str = "") -> str:
    err = f'<p class="o2o-badge o2o-bad" role="alert">{esc(error)}</p>' if error else ""
    body = (
        '<section class="o2o-card" aria-labelledby="l-title"><h1 id="l-title">Staff sign-in</h1>'
        f"{err}"
        f'<form method="post" action="{esc(page.url("/staff/login"))}" class="o2o-form">{csrf_field(csrf)}'
        '<label for="api-key">Store API key</label>'
        '<input id="api-key" name="api_key" type="password" autocomplete="off" required>'
        '<button class="o2o-button" type="submit">Sign in</button></form></section>'
    )
    return page.layout("Staff sign-in", body)


def staff_page(page: Page, csrf: str, *, store_label: str, stores: Sequence[Store] | None,
               selected_store: str | None, result: str = "", idempotency_key: str) -> str:  # fmt: skip
    store_field = ""
    if stores is not None:  # admin key: pick the store
        options = "".join(
            f'<option value="{esc(s.id)}"{" selected" if s.id == selected_store else ""}>{esc(s.name)}</option>'
            for s in stores
        )
        store_field = f'<label for="store">Store</label><select id="store" name="store_id">{options}</select>'
    body = (
        f'<section class="o2o-card" aria-labelledby="s-title"><h1 id="s-title">Redeem a voucher</h1>'
        f'<p class="o2o-muted">{esc(store_label)}</p>'
        f'<div id="result" aria-live="polite">{result}</div>'
        f'<form method="post" action="{esc(page.url("/staff/redeem"))}" class="o2o-form" id="redeem-form">'
        f"{csrf_field(csrf)}"
        f'<input type="hidden" name="idempotency_key" value="{esc(idempotency_key)}">{store_field}'
        '<label for="code">Voucher code or link</label>'
        '<input id="code" name="code" autocomplete="off" autocapitalize="off" spellcheck="false" required>'
        '<button type="button" class="o2o-button o2o-secondary" id="scan" hidden>Scan with camera</button>'
        '<video id="scan-video" class="o2o-video" playsinline muted hidden></video>'
        '<label for="basket">Basket total (optional, e.g. 8.40 GBP)</label>'
        '<input id="basket" name="basket" autocomplete="off" inputmode="decimal">'
        '<div class="o2o-actions">'
        '<button class="o2o-button o2o-secondary" type="submit" name="action" value="validate">Check</button>'
        '<button class="o2o-button" type="submit" name="action" value="redeem" id="redeem">Redeem</button></div></form>'
        f'<p class="o2o-links"><a href="{esc(page.url("/staff/display"))}">Check-in display</a></p>'
        f'<form method="post" action="{esc(page.url("/staff/logout"))}">{csrf_field(csrf)}'
        '<button class="o2o-link" type="submit">Sign out</button></form></section>'
    )
    return page.layout("Redeem", body, scripts=["staff.js"])


def staff_result(ok: bool, headline: str, detail: str = "", refusals: Sequence[Refusal] = ()) -> str:
    cls = "o2o-good" if ok else "o2o-bad"
    more = f"<p>{esc(detail)}</p>" if detail else ""
    return (
        f'<div class="o2o-result {cls}" role="{"status" if ok else "alert"}"><p class="o2o-headline">{esc(headline)}</p>'
        f"{more}{refusal_list(refusals) if refusals else ''}</div>"
    )


_PICKUP_STATE_TEXT = {
    "placed": ("We have your order.", None),
    "accepted": ("The store is preparing your order.", None),
    "ready": ("Ready for pickup", True),
    "arrived": ("The store knows you are here.", True),
    "handed_over": ("Collected. Thank you!", True),
    "released": ("This order was not collected in time and has been released.", False),
    "cancelled": ("This pickup was cancelled.", False),
}


def pickup_page(page: Page, pickup: Pickup, info: Mapping[str, str], qr_svg: str, action: str, csrf: str,
                *, notice: str = "") -> str:  # fmt: skip
    """The customer's pickup pass: QR, store, today's hours, deadline, and the "I'm here" button."""
    text, good = _PICKUP_STATE_TEXT[pickup.state.value]
    badge = f'<p class="o2o-badge {"o2o-good" if good else "o2o-bad" if good is False else ""}" role="status">{esc(text)}</p>'
    waiting = pickup.state.value in ("placed", "accepted", "ready", "arrived")
    qr = (f'<figure class="o2o-qr" id="pickup-qr">{qr_svg}<figcaption>Show this at the counter</figcaption></figure>'
          if waiting else "")  # fmt: skip
    items = "".join(f"<li>{i.quantity} &times; {esc(i.name or i.sku)}</li>" for i in pickup.items)
    facts = [f"<dt>Store</dt><dd><strong>{esc(info['store_name'])}</strong><br>{esc(info['store_address'])}</dd>"]
    if info.get("hours_today"):
        facts.append(f"<dt>Open today</dt><dd>{esc(info['hours_today'])}</dd>")
    if info.get("slot"):
        facts.append(f"<dt>Your slot</dt><dd>{esc(info['slot'])}</dd>")
    if info.get("deadline") and waiting:
        facts.append(f"<dt>Collect by</dt><dd>{esc(info['deadline'])} ({esc(_city(info['timezone']))} time)</dd>")
    here = ""
    if pickup.state.value in ("placed", "accepted", "ready"):
        here = (
            f'<form method="post" action="{esc(action)}" class="o2o-form">{csrf_field(csrf)}'
            '<label for="note">Where are you? (optional, e.g. parking bay and car)</label>'
            '<input id="note" name="note" maxlength="200" autocomplete="off">'
            '<button class="o2o-button" type="submit" id="im-here">I\'m here</button></form>'
        )
    elif pickup.state.value == "arrived" and pickup.arrival_note:
        here = f'<p class="o2o-muted">You told us: {esc(pickup.arrival_note)}</p>'
    note = f'<p class="o2o-badge o2o-good" role="status">{esc(notice)}</p>' if notice else ""
    body = (
        f'<article class="o2o-card o2o-pickup" aria-labelledby="pk-title"><h1 id="pk-title">Your pickup</h1>{note}{badge}{qr}'
        f'<dl class="o2o-facts">{"".join(facts)}</dl><h2>Items</h2><ul>{items}</ul>{here}</article>'
    )
    return page.layout("Your pickup", body)


def pickups_board(page: Page, store: Store, pickups: Sequence[Pickup], refresh_s: int) -> str:
    """The store's pickup display: who is here (curbside notes first), what to prepare."""
    head = f'<meta http-equiv="refresh" content="{int(refresh_s)}">'

    def row(p: Pickup) -> str:
        items = ", ".join(f"{i.quantity}&times; {esc(i.name or i.sku)}" for i in p.items)
        note = f' <strong class="o2o-note">{esc(p.arrival_note)}</strong>' if p.arrival_note else ""
        curb = " <span class=\"o2o-badge\">curbside</span>" if p.curbside else ""
        who = esc(p.customer_email or p.customer_id or "guest")
        return f'<li data-pickup="{esc(p.id)}" data-state="{esc(p.state.value)}"><code>{esc(p.id[-6:])}</code> {who}{curb}{note}<br>{items}</li>'

    here = [p for p in pickups if p.state.value == "arrived"]
    todo = [p for p in pickups if p.state.value in ("placed", "accepted")]
    ready = [p for p in pickups if p.state.value == "ready"]
    body = (
        f'<section class="o2o-display" aria-labelledby="pb-title"><h1 id="pb-title">Pickups at {esc(store.name)}</h1>'
        f'<h2>Here now ({len(here)})</h2><ul id="here">{"".join(map(row, here)) or "<li>nobody waiting</li>"}</ul>'
        f'<h2>To prepare ({len(todo)})</h2><ul id="todo">{"".join(map(row, todo)) or "<li>nothing</li>"}</ul>'
        f'<h2>Ready, not collected ({len(ready)})</h2><ul id="ready">{"".join(map(row, ready)) or "<li>none</li>"}</ul>'
        "</section>"
    )
    return page.layout(f"Pickups at {store.name}", body, head=head, body_class="o2o-display-page")
