"""Signing in and out, the interface language, and the handover of a rep's customers."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from ..audit import record_event
from ..edits import Reassignment, reassign_customers
from ..lock import write_lock
from ..queries import list_owners
from ..users import SignInError, SignInThrottledError, list_users, sign_in
from .auth import LANGUAGE_COOKIE, safe_next
from .render import LANGUAGES
from .visit import Visit, page

#: Seconds a handover waits for a running sync or import to finish.
LOCK_WAIT = 30.0


@page(public=True)
def signin_page(visit: Visit) -> Response:
    """The sign-in form; a signed-in visitor goes on to where they were going."""
    target = safe_next(visit.param("next"))
    if visit.user is not None:
        return RedirectResponse(target, status_code=303)
    return visit.render("signin.html", target=target, error=None, email="")


@page(public=True)
def signin_submit(visit: Visit) -> Response:
    """Check the password (throttled per account and address, audited) and start a fresh session."""
    target = safe_next(visit.field("next"))
    email = visit.field("email")
    try:
        user = sign_in(visit.archive, email, visit.field("password"), address=visit.address)
    except SignInThrottledError:
        return visit.render("signin.html", status=429, target=target, email=email,
                            error=visit.gettext("Too many failed sign-ins; wait 15 minutes and try again."))
    except SignInError:
        return visit.render("signin.html", status=401, target=target, email=email,
                            error=visit.gettext("Wrong e-mail address or password."))
    # A new session (and CSRF token) at every sign-in: nothing planted before it carries over.
    visit.session.clear()
    visit.session.update(uid=user.id, stamp=user.stamp)
    return RedirectResponse(target, status_code=303)


@page()
def signout_submit(visit: Visit) -> Response:
    """End the session (audited)."""
    record_event(visit.archive, visit.user.email, "signout", "", visit.address)
    visit.session.clear()
    return RedirectResponse("/signin", status_code=303)


@page(public=True)
def language_switch(visit: Visit) -> Response:
    """Remember the language chosen (a cookie) and go back."""
    code = visit.request.path_params["code"]
    if code in LANGUAGES:
        visit.cookies[LANGUAGE_COOKIE] = code
    return RedirectResponse(safe_next(visit.param("next")), status_code=303)


def _handover_form(visit: Visit, *, done: Reassignment | None = None, error: str | None = None,
                   status: int = 200) -> Response:
    owners = list_owners(visit.archive).owners
    reps = [u for u in list_users(visit.archive).users if not u.is_disabled]
    return visit.render("handover.html", status=status, owners=owners, users=reps, done=done, error=error,
                        previous=visit.field("from") or visit.param("from"), owner=visit.field("to"))


@page(roles=("admin", "manager"))
def handover_page(visit: Visit) -> Response:
    """The handover form: every owner the customers name, the users to hand to."""
    return _handover_form(visit)


@page(roles=("admin", "manager"))
def handover_submit(visit: Visit) -> Response:
    """Reassign every customer of one owner to another, under the archive's write lock; audited."""
    previous, owner = visit.field("from"), visit.field("to")
    with write_lock(visit.archive.settings, f"dossier web: handover by {visit.user.email}", wait=LOCK_WAIT):
        done = reassign_customers(visit.archive, previous, owner)
    record_event(visit.archive, visit.user.email, "reassign",
                 f"{done.previous} -> {done.owner}: {len(done.customers)} customers", visit.address)
    return _handover_form(visit, done=done)
