//! A room's members and their presence: `● online`, `◐ away`, `○ offline`
//! with the time they were last seen — whatever the server last said
//! (it announces `offline` only after its grace period, so a reconnect does
//! not flap here either).

use super::RoomView;
use heartlink_protocol::{Member, PresenceStatus, User, UserId};

/// A member and their presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub user: User,
    pub online: bool,
    pub status: PresenceStatus,
    /// For an offline member: when they were last seen (Unix ms), if the server said.
    pub last_seen: Option<u64>,
}

impl MemberView {
    /// A member as `joined`/`members` list them; an older server's `online` alone still says enough.
    pub fn from_member(member: Member) -> Self {
        let status = status_of(member.online, member.status);
        let last_seen = member.last_seen.filter(|_| status == PresenceStatus::Offline);
        Self { user: member.user, online: status != PresenceStatus::Offline, status, last_seen }
    }
}

/// The status a presence frame means: `status` when given, else `online`.
pub fn status_of(online: bool, status: Option<PresenceStatus>) -> PresenceStatus {
    match status {
        Some(status) => status,
        None if online => PresenceStatus::Online,
        None => PresenceStatus::Offline,
    }
}

fn rank(status: PresenceStatus) -> u8 {
    match status {
        PresenceStatus::Online => 0,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 2,
    }
}

impl RoomView {
    /// Replaces the member list, returning the users that were not members before.
    pub fn set_members(&mut self, members: Vec<Member>) -> Vec<User> {
        let known: Vec<UserId> = self.members.iter().map(|m| m.user.id).collect();
        let new = members.iter().filter(|m| !known.contains(&m.user.id)).map(|m| m.user.clone()).collect();
        self.members = members.into_iter().map(MemberView::from_member).collect();
        self.sort_members();
        new
    }

    /// Adds members from a further `members` page (known ones are updated).
    pub fn add_members(&mut self, members: Vec<Member>) {
        for member in members {
            let view = MemberView::from_member(member);
            match self.members.iter_mut().find(|m| m.user.id == view.user.id) {
                Some(known) => *known = view,
                None => self.members.push(view),
            }
        }
        self.sort_members();
    }

    pub fn add_member(&mut self, user: User) {
        if !self.members.iter().any(|m| m.user.id == user.id) {
            self.members.push(MemberView { user, online: true, status: PresenceStatus::Online, last_seen: None });
            self.sort_members();
        }
    }

    pub fn remove_member(&mut self, user: UserId) {
        self.members.retain(|m| m.user.id != user);
        self.typing.remove(&user);
    }

    /// Sets a member's presence; returns their status before if it changed.
    pub fn set_presence(&mut self, user: UserId, status: PresenceStatus, last_seen: Option<u64>) -> Option<PresenceStatus> {
        let member = self.members.iter_mut().find(|m| m.user.id == user)?;
        let before = member.status;
        member.status = status;
        member.online = status != PresenceStatus::Offline;
        if status == PresenceStatus::Offline {
            member.last_seen = last_seen.or(member.last_seen);
        } else {
            member.last_seen = None;
        }
        self.sort_members();
        (before != status).then_some(before)
    }

    /// A member by name (case-insensitive), for `/kick NAME`, `@` completion.
    pub fn member_named(&self, name: &str) -> Option<&User> {
        let name = name.trim_start_matches('@');
        self.members.iter().map(|m| &m.user).find(|user| user.username.eq_ignore_ascii_case(name))
    }

    fn sort_members(&mut self) {
        self.members.sort_by(|a, b| rank(a.status).cmp(&rank(b.status)).then_with(|| a.user.username.cmp(&b.user.username)));
    }
}
