"""Onboarding and membership: visitor → contributor → member, and out again.

A person's Discord roles are the live truth for what they may do; ``Member.status`` records what the bot did
(or saw): it changes only after the matching Discord change succeeded, so the database never says that
something happened that did not. The Discord side (roles, messages) belongs to the cog; every function here
takes plain values and writes one audit event in the same transaction as the change it records.

The path:

- joining the server (``record_join``) makes a visitor; agreeing to the charter (``accept_charter``) records
  the version and time, and with the contributor role the person becomes a contributor;
- the introduction (``save_profile``) is the profile;
- ``apply_for_membership`` opens an application and, when the cooperative decides admissions together, a
  linked decision; its close hook marks the application admitted or declined inside the closing
  transaction, and ``confirm_admission`` records the status once the member role was granted;
- moderators promote, demote and remove (``check_change`` before the Discord side, ``record_change`` after);
  a person steps down or leaves the cooperative themselves (``Change.LEAVE``) or leaves the server
  (``record_departure``). History stays: rows are never deleted.

The package: ``profiles`` (joining, leaving, introductions), ``charter``, ``admission``, ``changes``
(promote, demote, remove, leave). Callers use ``governance.membership`` as one module.
"""

from __future__ import annotations

from governance.membership._common import (
    ADMISSION_KINDS,
    ADMISSION_LINK,
    CHARTER_LINK,
    MAX_CHARTER,
    MAX_DISPLAY_NAME,
    MAX_REASON,
    MAX_SKILL_SEARCH,
    MAX_SKILLS,
    MAX_STATEMENT,
    MAX_TIMEZONE,
    MAX_WHAT_THEY_DO,
    MAX_WHY,
    NO_MEMBER_ROLE,
    ApplicationOpened,
    Change,
    CharterAcceptance,
    CharterChange,
    Profile,
    ProfileDraft,
    ProfileSaved,
    clean_profile,
    clean_reason,
    locked_member,
    standing_of,
)
from governance.membership.admission import (
    admission_of,
    apply_for_membership,
    configure_admission,
    confirm_admission,
    decline_application,
    on_admission_decision_closed,
    withdraw_application,
)
from governance.membership.changes import check_change, record_change
from governance.membership.charter import (
    accept_charter,
    adopted_charter,
    charter_to_accept,
    check_charter_version,
    on_charter_decision_closed,
    propose_charter,
    set_charter,
)
from governance.membership.profiles import (
    get_member,
    profiles,
    record_departure,
    record_join,
    save_profile,
    users_with_skill,
)

__all__ = [
    "ADMISSION_KINDS",
    "ADMISSION_LINK",
    "CHARTER_LINK",
    "MAX_CHARTER",
    "MAX_DISPLAY_NAME",
    "MAX_REASON",
    "MAX_SKILLS",
    "MAX_SKILL_SEARCH",
    "MAX_STATEMENT",
    "MAX_TIMEZONE",
    "MAX_WHAT_THEY_DO",
    "MAX_WHY",
    "NO_MEMBER_ROLE",
    "ApplicationOpened",
    "Change",
    "CharterAcceptance",
    "CharterChange",
    "Profile",
    "ProfileDraft",
    "ProfileSaved",
    "accept_charter",
    "admission_of",
    "adopted_charter",
    "apply_for_membership",
    "charter_to_accept",
    "check_change",
    "check_charter_version",
    "clean_profile",
    "clean_reason",
    "configure_admission",
    "confirm_admission",
    "decline_application",
    "get_member",
    "locked_member",
    "on_admission_decision_closed",
    "on_charter_decision_closed",
    "profiles",
    "propose_charter",
    "record_change",
    "record_departure",
    "record_join",
    "save_profile",
    "set_charter",
    "standing_of",
    "users_with_skill",
    "withdraw_application",
]
