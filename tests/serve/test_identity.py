"""Who did it: every writer records the person that current_actor() names, in this order:
JUPYTERHUB_USER, the page identity convolab serve gives a kernel (CONVOLAB_JUPYTER_USER),
CONVOLAB_USER, then the operating-system user."""

from __future__ import annotations

import getpass

import pytest

import convolab
import convolab.live
from convolab import settings
from convolab.flags import add_manual_flag, decide
from convolab.live.base import LiveCall
from convolab.store import current_actor
from convolab.widgets.detail import ConversationDetail
from convolab.widgets.page_store import PageStore
from tests.fakes import keyword_scorer

IDENTITIES = ("JUPYTERHUB_USER", "CONVOLAB_JUPYTER_USER", "CONVOLAB_USER")


@pytest.fixture
def nobody(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in IDENTITIES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_most_specific_identity_wins(nobody: pytest.MonkeyPatch) -> None:
    assert current_actor() == getpass.getuser()
    nobody.setenv("CONVOLAB_USER", "carol")
    assert current_actor() == "carol"
    nobody.setenv("CONVOLAB_JUPYTER_USER", "page-bob")
    assert current_actor() == "page-bob"
    nobody.setenv("JUPYTERHUB_USER", "hub-alice")
    assert current_actor() == "hub-alice"
    nobody.setenv("JUPYTERHUB_USER", "  ")  # blank counts as unset
    assert current_actor() == "page-bob"


def test_a_page_kernel_is_its_reviewer_and_never_sees_the_server_token() -> None:
    env = settings.page_kernel_environment(
        {"PATH": "/bin", "JUPYTERHUB_USER": "server-owner", "CONVOLAB_SERVE_TOKEN": "secret-token-value"},
        user="bob", extra={"CONVOLAB_DB": "/data/store.duckdb"})
    assert env == {"PATH": "/bin", "CONVOLAB_DB": "/data/store.duckdb", "CONVOLAB_JUPYTER_USER": "bob"}


@pytest.fixture
def flagged(sample_lab):
    cid = sample_lab.list_conversations(limit=1)["id"][0]
    flag_id = add_manual_flag(sample_lab, cid, "needs_look", reason="planted", reviewer="setup")
    return sample_lab, cid, flag_id


def _audit_actor(lab, action: str) -> str:
    return lab.list_audit(limit=50).filter(action=action)["actor"][0]


def test_decisions_and_manual_flags_record_the_acting_person(flagged, nobody) -> None:
    lab, cid, flag_id = flagged
    nobody.setenv("CONVOLAB_USER", "erin")
    decide(lab, flag_id, "confirmed")
    new_flag = add_manual_flag(lab, cid, "second_look", reason="by erin")
    assert lab.list_flags(conversation_id=cid).filter(flag_id=flag_id)["reviewer"][0] == "erin"
    assert lab.execute("SELECT created_by FROM flags WHERE flag_id = ?", [new_flag]).scalar() == "erin"
    assert _audit_actor(lab, "confirm_flag") == "erin" and _audit_actor(lab, "add_manual_flag") == "erin"


def test_the_detail_view_asks_at_each_action_not_at_construction(flagged, nobody) -> None:
    lab, cid, flag_id = flagged
    nobody.setenv("CONVOLAB_USER", "first")
    detail = ConversationDetail(lab)
    detail.show(cid)
    nobody.setenv("CONVOLAB_JUPYTER_USER", "frank")  # what convolab serve gives a page's kernel
    detail._decide(flag_id, "dismissed", "")
    detail._delete(None)
    assert _audit_actor(lab, "dismiss_flag") == "frank"
    assert lab.list_audit(target=cid, limit=1)["actor"][0] == "frank"  # the delete


def test_the_detail_view_on_a_page_store_records_the_page_identity(flagged, nobody) -> None:
    lab, cid, flag_id = flagged
    path = lab.path
    lab.close()
    nobody.setenv("CONVOLAB_JUPYTER_USER", "grace")
    detail = ConversationDetail(PageStore(path))
    detail.show(cid)
    detail._decide(flag_id, "confirmed", "page store")
    with convolab.open(path, read_only=True) as again:
        assert again.list_flags(conversation_id=cid).filter(flag_id=flag_id)["reviewer"][0] == "grace"


def test_live_actions_record_the_acting_person(lab, nobody) -> None:
    nobody.setenv("CONVOLAB_USER", "heidi")
    center = convolab.live.connect("simulated", lab=lab, calls=0, scorer=keyword_scorer, autostart=False,
                                   post_call_scoring=False)
    try:
        center._calls["call-1"] = LiveCall(id="call-1", contact="+15555550123")
        center.take_over("call-1")
    finally:
        center.close()
    assert _audit_actor(lab, "live.take_over") == "heidi"
